"""The `portable` mode: a worker on any OS, built only from what every OS has.

    pytest (trusted)
      └─ worker  python -I -S -B -u, a child of the pytest process in a session (POSIX) or
           │     process group (Windows) of its own, in a private staging folder
           └─ whatever the submission starts (killed with the worker's group / tree)

- Files: a private staging folder (`make_box`) holding a copy of the exercise files, a copy of
  the runtime and a /tmp of its own, as the `none` mode's (staging.py).
- Channel: the worker connects to a socket the grader listens on at 127.0.0.1 (port 0: one the
  OS picks) and proves itself with a random token it got on stdin; both ends then speak the
  frames of runtime/channel.py over that socket (its `SocketTransport`). No fd is passed,
  nothing forks.
- Time: the grader's clock (client.py's deadlines); at the end, the grader kills the worker's
  whole process group (POSIX: `killpg`) or tree (Windows: `taskkill /F /T`).
- Limits: the worker sets RLIMIT_DATA, FSIZE, NOFILE, CPU and CORE on itself before it imports
  anything else (runtime/portable.py), on POSIX (macOS too); none on Windows.

Nothing here imports or calls anything Linux-only: `resource` is imported by the worker only,
and only where the OS has it.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from grader.sandbox.isolation.staging import copy_runtime, stage_exercise_files, worker_sys_path
from grader.sandbox.limits import Limits, driver_env, portable_rlimits, worker_env

PORTABLE_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
                 "from grader.sandbox.runtime.portable import main; main()")
TOKEN_BYTES = 16  # 32 hex digits
# How long one wait for the worker's connection lasts before its process is looked at again.
ACCEPT_SLICE_S = 0.1
# How long a connection may take to send the token: the worker sends it as it connects; a local
# process that connects and says nothing must not hold the wait up until the deadline.
TOKEN_WAIT_S = 5.0


def make_box(source: Path) -> Path:
    """A private folder: box/kit (the worker's code), box/submission (a copy of the exercise
    files of `source`, the worker's folder) and box/tmp."""
    box = Path(tempfile.mkdtemp(prefix="kit-sandbox-"))  # only this user can enter it (POSIX)
    copy_runtime(box / "kit")
    for name in ("submission", "tmp"):
        (box / name).mkdir()
    stage_exercise_files(source, box / "submission")
    return box


def spawn(box: Path, kit: Path, limits: Limits, output: IO[bytes],
          listener: socket.socket, token: str) -> subprocess.Popen[bytes]:
    """Start the worker in `box`, its stdout and stderr to `output`, told on its stdin where to
    connect and how to prove itself."""
    paths = [str(box / "kit"), *worker_sys_path(kit, isolated_sys_path())]
    env = worker_env(str(box / "submission"), str(box / "tmp"), driver_env(os.environ))
    process = subprocess.Popen(
        # -I: isolated (no user site, no PYTHON* variables, no script folder on sys.path);
        # -S: no site (sys.path is exactly `paths`); -B: no bytecode written; -u: output
        # unbuffered, so each test sees its own prints.
        [sys.executable, "-I", "-S", "-B", "-u", "-c", PORTABLE_BOOT, json.dumps(paths)],
        stdin=subprocess.PIPE, stdout=output, stderr=output, cwd=box / "submission", env=env,
        **own_group(),
    )
    spec = {"port": listener.getsockname()[1], "token": token,
            "rlimits": portable_rlimits(limits)}
    assert process.stdin is not None
    with contextlib.suppress(OSError):  # a worker that died at once: its exit status says why
        process.stdin.write(json.dumps(spec).encode())
    with contextlib.suppress(OSError):
        process.stdin.close()
    return process


@functools.cache
def isolated_sys_path() -> tuple[str, ...]:
    """The sys.path of `python -I` on this Python, as the Linux modes' supervisor has it when it
    takes the worker's from its own: none of this process's PYTHONPATH, user site-packages or
    script folder (pytest adds the suites' folders)."""
    found = subprocess.run(
        [sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return tuple(json.loads(found.stdout))


def own_group() -> dict[str, Any]:
    """Popen's arguments that put the worker in a group of its own, so that its whole tree can
    be killed, and a Ctrl-C at the grader's terminal reaches the grader, not the worker."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def listen() -> tuple[socket.socket, str]:
    """A socket listening on 127.0.0.1 (a port the OS picks), and the token a worker must send."""
    return socket.create_server(("127.0.0.1", 0)), secrets.token_hex(TOKEN_BYTES)


def accept_worker(listener: socket.socket, token: str, process: subprocess.Popen[bytes],
                  deadline: float) -> socket.socket | None:
    """The connection of the worker `process`, once it has sent `token`; None if it ended, or
    the deadline passed, first. A connection that sends anything else is closed and the wait
    goes on: any local process may connect to the port, only the worker knows the token."""
    expected = token.encode()
    while (left := deadline - time.monotonic()) > 0 and process.poll() is None:
        listener.settimeout(min(left, ACCEPT_SLICE_S))
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        connection.settimeout(max(0.01, min(TOKEN_WAIT_S, deadline - time.monotonic())))
        received = b""
        with contextlib.suppress(OSError):
            while len(received) < len(expected) and (chunk := connection.recv(
                    len(expected) - len(received))):
                received += chunk
        if hmac.compare_digest(received, expected):
            connection.settimeout(None)
            # Frames are small and each waits for an answer: Nagle's delay would cost every call.
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return connection
        connection.close()
    return None


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill the worker and everything it started that stayed in its group (POSIX: a process that
    made a session of its own escapes) or below it (Windows: while the worker lives)."""
    if sys.platform == "win32":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        process.kill()  # where taskkill is missing or failed
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def status_of(returncode: int) -> dict[str, Any]:
    """How the worker ended, as the Linux keeper reports it (process.py's `ended`)."""
    return {"signal": -returncode} if returncode < 0 else {"exit": returncode}
