"""Sandboxes started from a process that has already imported the heavy libraries.

Starting a worker is starting a Python, and a submission's matmul then imports PyTorch: about
3.5 s of CPU per submission on a small machine, more than all its tests together. A batch
grades hundreds of submissions, so it starts one *zygote* instead:

    grade batch
      ├─ zygote      python -I, a clean environment, NumPy and PyTorch imported; forks on request
      │    └─ supervisor (a fork: isolation/supervisor.py, as `python -I` would run it)
      │         └─ keeper └─ worker (a fork, not an exec: the libraries are already there)
      └─ pytest child ─ proxy: asks the zygote for a sandbox over a Unix socket

What the worker inherits is the zygote's memory: the libraries, the grader's runtime code and an
environment of four variables, nothing of the grader's own (the zygote is started with that
environment, so even /proc/self/environ holds nothing else). Everything the supervisor does to
the worker (user, limits, namespaces, root, descriptors) happens after the fork, as for a worker
started by `python -I`.

One request, one connection (a SOCK_SEQPACKET message: the spec as JSON, and the descriptors
of the supervisor's stdin, stdout and stderr and of the worker's channel and output file). The
forked supervisor answers with its process id and the connection closes. The zygote itself never
reads a request: its child does, so nothing a client sends can change the zygote.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grader.kit import kit_root
from grader.sandbox.limits import MINIMAL_PATH, THREAD_VARS, driver_env
from grader.sandbox.runtime.channel import wait_ready

assert sys.platform == "linux", "the zygote is the Linux modes'"  # see isolation/linux.py

# What a submission's worker would import anyway, and is slow to: PyTorch alone is seconds.
PRELOAD = ("numpy", "torch")
# The supervisor's stdin, stdout, stderr, then the worker's requests, replies and output.
SUPERVISOR_FDS = 3
SPEC_FDS = ("requests", "replies", "output")
MAX_SPEC_BYTES = 1 << 16
PID = struct.Struct("<q")
ZYGOTE_BOOT = ("import sys; sys.path.insert(0, {!r}); "
               "from grader.sandbox.zygote import serve; serve(sys.argv[1], sys.argv[2:])")
READY_TIMEOUT_S = 60.0


class ZygoteError(Exception):
    """The zygote did not start, or did not answer a request; one line."""


def zygote_env() -> dict[str, str]:
    """The zygote's whole environment, and so its workers' initial one.

    One thread per library, as in a worker: a process forked with a thread pool running would
    inherit its locks but not its threads.
    """
    return {"PATH": MINIMAL_PATH, "LANG": "C.UTF-8", **dict.fromkeys(THREAD_VARS, "1"),
            # The dynamic loader reads LD_LIBRARY_PATH once, at start: a forked worker finds
            # the GPU driver's libraries only if the zygote started with it.
            **driver_env(os.environ)}


# --- the zygote ------------------------------------------------------------------------------


def preload(modules: Sequence[str]) -> None:
    """Import `modules` (those that are installed), and the runtime code of a worker."""
    for name in (*modules, "grader.sandbox.isolation.supervisor", "grader.sandbox.runtime.worker"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def reap_children(signum: int, frame: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def serve(socket_path: str, modules: Sequence[str]) -> None:
    """Listen at `socket_path`, say so on stdout, preload, then fork a supervisor per request.

    The zygote ends with the process that started it (PR_SET_PDEATHSIG), or when killed.
    """
    from grader.sandbox.isolation.linux import PR_SET_PDEATHSIG, prctl

    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Reaped as they end (their CPU time then counts in the batch's own, as a child's would).
    signal.signal(signal.SIGCHLD, reap_children)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(socket_path)
    listener.listen(64)
    # Clients may connect from now on: they wait in the backlog while the libraries load.
    os.write(1, b"listening\n")
    preload(modules)
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            try:
                supervise(connection)
            finally:
                os._exit(0)
        connection.close()


def supervise(connection: socket.socket) -> None:
    """In the forked child: take the request's descriptors, answer our pid, become a supervisor."""
    from grader.sandbox.isolation.supervisor import supervise_spec

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    data, fds, _, _ = socket.recv_fds(connection, MAX_SPEC_BYTES, SUPERVISOR_FDS + len(SPEC_FDS))
    if len(fds) != SUPERVISOR_FDS + len(SPEC_FDS):
        return
    for target, fd in enumerate(fds[:SUPERVISOR_FDS]):
        os.dup2(fd, target)
        os.close(fd)
    spec = json.loads(data)
    spec["fds"] = dict(zip(SPEC_FDS, fds[SUPERVISOR_FDS:], strict=True))
    spec["preloaded"] = True
    connection.sendall(PID.pack(os.getpid()))
    connection.close()
    supervise_spec(spec)


@contextlib.contextmanager
def running_zygote(preload_modules: Sequence[str] = PRELOAD) -> Iterator[Path]:
    """Start a zygote for the duration of the block; yields its socket's path.

    The socket lies in a folder only this user can enter: only the grader's own processes
    (the pytest children of a batch) can ask for a sandbox.
    """
    folder = Path(tempfile.mkdtemp(prefix="kit-zygote-"))
    path = folder / "socket"
    process = subprocess.Popen(
        [sys.executable, "-I", "-B", "-c", ZYGOTE_BOOT.format(str(kit_root())), str(path),
         *preload_modules],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
        env=zygote_env(), start_new_session=True,
    )
    try:
        assert process.stdout is not None
        greeting = process.stdout.fileno()
        if not wait_ready(greeting, False, READY_TIMEOUT_S) or (
            os.read(greeting, 64) != b"listening\n"
        ):
            raise ZygoteError("the sandbox zygote did not start")
        yield path
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


# --- the client (the proxy, in a pytest child) -----------------------------------------------


class ForkedSupervisor:
    """A supervisor forked by the zygote, with the few parts of `subprocess.Popen` the proxy
    uses: `stdout` (its status), `communicate` (close its stdin, read its status to the end)
    and `kill`. It is not our child: it is signalled through a pidfd and never waited for."""

    def __init__(self, pid: int, stdin: int, stdout: int) -> None:
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.stdin: Any = os.fdopen(stdin, "wb", buffering=0)
        self.stdout: Any = os.fdopen(stdout, "rb", buffering=0)

    def communicate(self, timeout: float | None = None) -> tuple[bytes, None]:
        """Close its stdin (the keeper then ends the worker) and read its stdout until EOF."""
        with contextlib.suppress(OSError):
            self.stdin.close()
        deadline = None if timeout is None else time.monotonic() + timeout
        chunks = []
        fd = self.stdout.fileno()
        while chunk := self.read(fd, deadline, timeout):
            chunks.append(chunk)
        self.stdout.close()
        os.close(self.pidfd)
        return b"".join(chunks), None

    @staticmethod
    def read(fd: int, deadline: float | None, timeout: float | None) -> bytes:
        """The next bytes of `fd` (b"" at its end); TimeoutExpired past the deadline."""
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and (left <= 0 or not wait_ready(fd, False, left)):
            raise subprocess.TimeoutExpired("supervisor", timeout or 0.0)
        return os.read(fd, 65536)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)


def fork_supervisor(socket_path: Path, spec: dict[str, Any], log_fd: int) -> ForkedSupervisor:
    """Ask the zygote at `socket_path` for a supervisor of `spec` (its "fds" are ours to send).

    The caller closes its copies of the spec's descriptors, as after a Popen.
    """
    control_r, control_w = os.pipe()
    status_r, status_w = os.pipe()
    message = json.dumps({k: v for k, v in spec.items() if k != "fds"}).encode()
    fds = [control_r, status_w, log_fd, *(spec["fds"][name] for name in SPEC_FDS)]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as connection:
            connection.settimeout(READY_TIMEOUT_S)
            connection.connect(str(socket_path))
            socket.send_fds(connection, [message], fds)
            answer = connection.recv(PID.size)
    except OSError as err:
        for fd in (control_w, status_r):
            os.close(fd)
        raise ZygoteError(f"the sandbox zygote did not answer: {err}") from None
    finally:
        os.close(control_r)
        os.close(status_w)
    if len(answer) != PID.size:
        for fd in (control_w, status_r):
            os.close(fd)
        raise ZygoteError("the sandbox zygote did not fork a supervisor")
    return ForkedSupervisor(PID.unpack(answer)[0], control_w, status_r)
