"""The submission's worker process as the grader holds it: started through an isolation backend
(grader/sandbox/isolation/) or forked by a zygote, its channel waited on under deadlines, and
stopped with everything it started, with a line on how it ended. `WorkerProcess` is the Linux
modes' (a supervisor and keeper between the grader and the worker); `PortableWorkerProcess` the
`portable` mode's (the worker is the grader's own child, on every OS).

What the worker is asked, and what its replies mean, is client.py's business.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from grader.kit import kit_root
from grader.sandbox.errors import SandboxError
from grader.sandbox.isolation import portable
from grader.sandbox.limits import MINIMAL_PATH, Limits, driver_env
from grader.sandbox.runtime.channel import (
    Channel,
    ChannelClosed,
    Pipes,
    ProtocolError,
    SocketTransport,
    wait_ready,
)
from grader.sandbox.runtime.protocol import Key

SUPERVISOR_BOOT = ("import sys; sys.path.insert(0, {!r}); "
                   "from grader.sandbox.isolation.supervisor import main; main(sys.argv[1])")
STOP_GRACE_S = 10.0
# Windows has none of these but SIGSEGV (and its processes never end by a signal).
SIGNAL_HINTS = {
    getattr(signal, name): hint for name, hint in (
        ("SIGSEGV", "a crash in native code"),
        ("SIGXCPU", "its CPU time limit"),
        ("SIGXFSZ", "a file or output larger than the file size limit"),
        ("SIGKILL", "killed from outside, e.g. for memory"),
    ) if hasattr(signal, name)
}
# In the portable mode, how often a wait on the channel looks whether the worker still runs (a
# process it started may hold the socket open after it died).
WATCH_S = 0.1


class Ended(Exception):
    """The worker ended while the grader waited for it."""


class Expired(Exception):
    """The current call's deadline passed."""


class Supervisor(Protocol):
    """What the grader holds of the process between it and the worker: a `subprocess.Popen`,
    or a zygote's ForkedSupervisor (Linux), which has just these parts of one."""

    stdout: Any  # the keeper's status (a Popen's is typed as optional: it is always a pipe here)

    def communicate(self, *, timeout: float | None = None) -> tuple[Any, Any]: ...

    def kill(self) -> None: ...


class WorkerProcess:
    """One worker at a time (with its keeper and supervisor) and the channel to it.

    `deadlines`: the innermost last; every wait on the channel ends at the last one (Expired).
    """

    def __init__(self, source: Path, limits: Limits, mode: str, zygote: Path | None,
                 private: Path, output_path: Path) -> None:
        self.source, self.limits, self.mode, self.zygote = source, limits, mode, zygote
        self.private, self.output_path = private, output_path
        self.process: Supervisor | None = None
        self.channel: Channel | None = None
        self.deadlines: list[float] = []

    def start(self) -> None:
        """Start a worker and wait for its greeting; SandboxError if it does not come."""
        if sys.platform != "linux":  # `portable` has its own start
            raise SandboxError(f"--isolation {self.mode} needs Linux")
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        output = os.open(self.output_path, os.O_WRONLY | os.O_APPEND)
        spec = {
            "source": str(self.source), "kit": str(kit_root()), "python": sys.executable,
            "mode": self.mode, "limits": self.limits.to_json(), "env": driver_env(os.environ),
            "fds": {"requests": requests_r, "replies": replies_w, "output": output},
        }
        from grader.sandbox import zygote  # Linux's: imported where one may be used

        try:
            with (self.private / "supervisor.log").open("wb") as log:
                if self.zygote is not None:
                    self.process = zygote.fork_supervisor(self.zygote, spec, log.fileno())
                else:
                    self.process = subprocess.Popen(
                        [sys.executable, "-I", "-B", "-c",
                         SUPERVISOR_BOOT.format(str(kit_root())), json.dumps(spec)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                        pass_fds=(requests_r, replies_w, output), cwd="/",
                        env={"PATH": MINIMAL_PATH, "LANG": "C.UTF-8"},
                    )
        except zygote.ZygoteError as err:
            for fd in (requests_w, replies_r):
                os.close(fd)
            raise SandboxError(f"the sandbox did not start: {err}") from None
        finally:
            for fd in (requests_r, replies_w, output):
                os.close(fd)
        self.connect(replies_r, requests_w)
        self.await_greeting()

    def connect(self, replies_r: int, requests_w: int) -> None:
        """The channel, whose waits also watch the keeper's status pipe (written or closed
        when the worker ends)."""
        if sys.platform != "linux" or self.process is None:  # called by start, on Linux
            raise SandboxError("connect: no supervisor to connect to")
        status_fd = self.process.stdout.fileno()
        watched = ((replies_r, select.POLLIN), (requests_w, select.POLLOUT))
        self.pollers = [select.poll() for _ in watched]  # indexed by for_write
        for poller, (fd, event) in zip(self.pollers, watched, strict=True):
            poller.register(fd, event)
            poller.register(status_fd, select.POLLIN)
        self.channel = Channel(Pipes(replies_r, requests_w), wait=self.wait,
                               max_buffer_bytes=self.limits.reply_bytes)

    def await_greeting(self) -> None:
        self.deadlines.append(time.monotonic() + self.limits.startup_timeout_s)
        try:
            hello, _ = self.channel.recv()  # type: ignore[union-attr]
            if Key.HELLO not in hello:
                raise ProtocolError("no greeting")
        except (Ended, Expired, ChannelClosed, ProtocolError) as err:
            status = self.stop() or {}
            why = status.get("error") or f"it ended before it was ready ({err or status})"
            message = f"the sandbox did not start: {why}\n{self.log_tail()}"
            raise SandboxError(message.rstrip()) from None
        finally:
            self.deadlines.pop()

    def log_tail(self) -> str:
        """The end of what explains a start that failed: the supervisor's log."""
        return (self.private / "supervisor.log").read_text(errors="replace")[-2000:]

    def stop(self, ended_s: float = 0.0) -> dict[str, Any] | None:
        """End the worker and everything it started; how it ended (from its keeper), or None
        when no worker was running.

        `ended_s`: how long to wait for the keeper's own report first, when the worker seems to
        have ended by itself (its channel closed before it was reaped).
        """
        process, self.process = self.process, None
        if process is None:
            return None
        early = b""
        if ended_s and wait_ready(process.stdout.fileno(), False, ended_s):
            early = os.read(process.stdout.fileno(), 4096)
        if self.channel is not None:
            self.channel.transport.close()
            self.channel = None
        try:  # closing its stdin tells the keeper to kill, reap and report
            out, _ = process.communicate(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        lines = (early + out).decode(errors="replace").splitlines()
        statuses = [json.loads(line) for line in lines if line.startswith("{")]
        return statuses[0] if statuses else {}

    def wait(self, fd: int, for_write: bool) -> None:
        """Block until `fd` is ready; raise Expired at the deadline, Ended if the worker ended
        (its keeper wrote the status, or closed it)."""
        if sys.platform != "linux":  # the pollers are connect's (`portable` has its own wait)
            raise SandboxError("wait: the Linux modes' wait")
        poller = self.pollers[for_write]
        left = self.deadlines[-1] - time.monotonic()
        if left <= 0:
            raise Expired
        ready = dict(poller.poll(left * 1000))
        if fd not in ready:
            raise Ended if ready else Expired


class PortableWorkerProcess(WorkerProcess):
    """The `portable` mode's worker (grader/sandbox/isolation/portable.py): this process's own
    child, on a socket, in a staging folder of its own; its end is the end of its process group
    (tree, on Windows), and how it ended is its exit status."""

    def __init__(self, source: Path, limits: Limits, private: Path, output_path: Path) -> None:
        super().__init__(source, limits, "portable", None, private, output_path)
        self.worker: subprocess.Popen[bytes] | None = None
        self.box: Path | None = None

    def start(self) -> None:
        """Start a worker and wait for its greeting; SandboxError if it does not come."""
        deadline = time.monotonic() + self.limits.startup_timeout_s
        self.box = portable.make_box(self.source)
        listener, token = portable.listen()
        try:
            with self.output_path.open("ab") as output:  # the child holds its own copy
                self.process = self.worker = portable.spawn(
                    self.box, kit_root(), self.limits, output, listener, token)
            connection = portable.accept_worker(listener, token, self.worker, deadline)
        except OSError as err:  # no Python to start, no socket to make
            self.stop()
            raise SandboxError(f"the sandbox did not start: {err}") from None
        finally:
            listener.close()
        if connection is None:
            status = self.stop() or {}
            raise SandboxError(f"the sandbox did not start: it {ended(status)} before it was "
                               f"ready\n{self.log_tail()}".rstrip())
        self.channel = Channel(SocketTransport(connection), wait=self.wait,
                               max_buffer_bytes=self.limits.reply_bytes)
        self.await_greeting()

    def log_tail(self) -> str:
        """The end of the worker's own output: a traceback, when it failed to start."""
        return self.output_path.read_bytes()[-2000:].decode(errors="replace")

    def stop(self, ended_s: float = 0.0) -> dict[str, Any] | None:
        """End the worker and everything in its group; how it ended, or None when no worker
        was running. `ended_s`: how long to let it end by itself first (its channel closed)."""
        worker, self.worker, self.process = self.worker, None, None
        status = None
        if self.channel is not None:
            self.channel.transport.close()
            self.channel = None
        if worker is not None:
            if ended_s:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(ended_s)
            returncode = worker.returncode
            portable.kill_tree(worker)
            worker.wait()
            status = {"stopped": True} if returncode is None else portable.status_of(returncode)
        if self.box is not None:  # also that of a worker that never started
            shutil.rmtree(self.box, ignore_errors=True)
            self.box = None
        return status

    def wait(self, fd: int, for_write: bool) -> None:
        """Block until the socket is ready; raise Expired at the deadline, Ended if the worker
        process ended (select works on sockets on every OS; poll does not exist on Windows)."""
        watched = [fd]
        while True:
            left = self.deadlines[-1] - time.monotonic()
            if left <= 0:
                raise Expired
            ready = select.select([] if for_write else watched, watched if for_write else [],
                                  [], min(left, WATCH_S))
            if ready[0] or ready[1]:
                return
            if self.worker is None or self.worker.poll() is not None:
                raise Ended


def ended(status: dict[str, Any]) -> str:
    """'died (exit code 3)', 'was killed by SIGSEGV (a crash in native code)', ..."""
    if "signal" in status:
        number = status["signal"]
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = SIGNAL_HINTS.get(number)
        return f"was killed by {name}" + (f" ({hint})" if hint else "")
    if "exit" in status:
        return f"died (exit code {status['exit']})"
    if "error" in status:
        return f"ended: {status['error']}"
    return "ended"
