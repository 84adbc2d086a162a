"""The sandbox's processes: the supervisor, its keeper and the worker; limits, user, clean-up.

The keeper ends the worker's tree when the worker ends or when its stdin (the grader's end of
the control pipe) closes, then reports how the worker ended as one JSON line on its stdout. As
root, the keeper's tree is also put in a memory cgroup of its own where the machine allows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.sandbox.isolation import linux
from grader.sandbox.isolation.staging import WORKER_BOOT, worker_sys_path
from grader.sandbox.limits import Limits, apply_rlimits, worker_env

assert sys.platform == "linux", "the supervisor is the Linux modes'"  # see linux.py

TREE_MEMORY_MARGIN = 256 * 2**20

def start_worker(spec: dict[str, Any], limits: Limits, root: Path, uid: int | None) -> int:
    """Fork the worker: limits, then the user `uid` (None: stay), then `python -I` on its code."""
    fds = spec["fds"]
    pid = os.fork()
    if pid:
        return pid
    # A copy of the status pipe above the fds set up below (fd 1 becomes the output file).
    status_fd = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, linux.WORKER_FDS)
    try:
        os.setsid()  # out of the grader's terminal: a Ctrl-C reaches the grader, not the worker
        if spec.get("preloaded"):  # the libraries' memory is not the submission's to pay
            limits = replace(limits, memory_bytes=limits.memory_bytes + data_in_use())
        apply_rlimits(limits, os.getuid() if uid is None else uid)
        with contextlib.suppress(OSError):  # the first the OOM killer takes, not the keeper
            Path("/proc/self/oom_score_adj").write_text("1000")
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        if spec["mode"] == "rootless":  # the user namespace's capabilities stay with the keeper
            linux.drop_capabilities()
        os.chdir(root / "submission")
        devnull = os.open(os.devnull, os.O_RDWR)
        # The worker's fds 0 to 4: stdin, stdout, stderr, requests, replies (runtime/channel.py).
        moved = [os.dup(fd) for fd in (devnull, fds["output"], fds["output"],
                                       fds["requests"], fds["replies"])]
        for target, fd in enumerate(moved):
            os.dup2(fd, target)
        # Everything else goes; status_fd (close-on-exec) stays to report a failed exec.
        os.closerange(linux.WORKER_FDS, status_fd)
        os.closerange(status_fd + 1, os.sysconf("SC_OPEN_MAX"))
        env = worker_env(str(root / "submission"), str(root / "tmp"), spec.get("env", {}))
        paths = [str(root / "kit"), *spec["sys_path"]]
        if spec.get("preloaded"):
            become_worker(root, paths, env, status_fd)
        # -I: isolated (no user site, no PYTHON* variables, no script folder on sys.path);
        # -S: no site (sys.path is exactly `paths`); -B: no bytecode written; -u: output
        # unbuffered, so each test sees its own prints.
        os.execve(spec["python"], [spec["python"], "-I", "-S", "-B", "-u", "-c", WORKER_BOOT,
                                   json.dumps(paths)], env)
    except PermissionError as err:
        report({"error": f"the worker could not start as user {uid}: {err} (the Python "
                         "installation must be readable by every user)"}, status_fd)
    except BaseException as err:
        report({"error": f"the worker could not start: {err}"}, status_fd)
    os._exit(127)


def data_in_use() -> int:
    """Bytes this process already counts against RLIMIT_DATA (VmData in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


def become_worker(root: Path, paths: list[str], env: dict[str, str], status_fd: int) -> None:
    """Run the worker in this process, forked from a zygote (grader/sandbox/zygote.py) that is
    already `python -I -B` with the libraries imported: what `python -u -c WORKER_BOOT` would set up
    (environment, sys.path, unbuffered streams on fds 0 to 2, fresh random seeds), then serve.

    The zygote's modules of the grader are in memory; their package now looks for more of them
    in the worker's own copy of its code, as a worker started by exec would.
    """
    import io
    import random

    import numpy as np

    # What an exec would have found out: the new user must be able to run this Python.
    for path in (sys.executable, os.path.dirname(os.__file__)):
        if not os.access(path, os.R_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", path)
    # A user change without an exec leaves the process undumpable (its /proc files the old
    # user's); an exec would have reset that, as this does.
    linux.prctl(linux.PR_SET_DUMPABLE, 1)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = paths
    # The zygote ran site: an editable install's finder would still map the kit's packages.
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if not type(finder).__module__.startswith("__editable__")]
    sys.path_importer_cache.clear()
    for name in ("grader", "grader.sandbox", "grader.sandbox.runtime"):
        module = sys.modules.get(name)
        if module is not None:
            module.__path__ = [str(root / "kit" / name.replace(".", "/"))]
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    setattr(sys, "__stdin__", sys.stdin)  # noqa: B010 (typeshed makes __stdin__ Final)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    # Every fork would otherwise share the zygote's random state.
    random.seed()
    np.random.seed()
    from grader.sandbox.runtime.worker import main

    os.close(status_fd)  # no exec closes it here; the submission must never write a status
    try:
        main()
    except SystemExit as stop:  # as the interpreter ends on an uncaught SystemExit
        if stop.code is None or isinstance(stop.code, int):
            os._exit((stop.code or 0) & 0xFF)
        print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    os._exit(1)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (parents first)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                text = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def reap() -> list[tuple[int, int]]:
    """Collect every child that ended: [(pid, wait status)]."""
    ended: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append((pid, status))


def kill_everything_below(in_namespace: bool) -> None:
    """SIGKILL every process this keeper started, directly or not, until none is left.

    As PID 1 of its namespace, kill(-1) reaches them all at once; otherwise the keeper is a
    child subreaper, so a double fork or setsid still leaves them below it in /proc.
    """
    for _ in range(1000):
        targets = [-1] if in_namespace else descendants(os.getpid())
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        reap()
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        time.sleep(0.001)


def status_of(wait_status: int) -> dict[str, Any]:
    if os.WIFSIGNALED(wait_status):
        return {"signal": os.WTERMSIG(wait_status)}
    return {"exit": os.waitstatus_to_exitcode(wait_status)}


def keep(worker: int, control_fd: int) -> dict[str, Any]:
    """Wait for the worker to end, or for the grader to ask for the end (any byte, or EOF).

    Orphans of the submission are reaped on the way: they are this process's children now.
    """
    worker_fd = os.pidfd_open(worker)
    poller = select.poll()
    poller.register(control_fd, select.POLLIN)
    poller.register(worker_fd, select.POLLIN)
    stopping = False
    while True:
        for pid, wait_status in reap():
            if pid == worker:
                os.close(worker_fd)
                return {"stopped": True} if stopping else status_of(wait_status)
        ready = {fd for fd, _ in poller.poll(1000)}
        if worker_fd in ready:
            continue  # it ended on its own: reaped above, with its own status
        if control_fd in ready and not stopping:
            stopping = True
            poller.unregister(control_fd)
            os.kill(worker, signal.SIGKILL)


def memory_cgroup(limit: int) -> Path | None:
    """A new child of this process's memory cgroup, capped at `limit` bytes for everything in
    it (cgroup v1 or v2); None where this machine does not let us make one (not root, a
    read-only /sys/fs/cgroup, a v2 parent that cannot delegate memory)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if controllers == "memory":  # v1
            parent = Path("/sys/fs/cgroup/memory", path.lstrip("/"))
            limit_file = "memory.limit_in_bytes"
        elif number == "0" and Path("/sys/fs/cgroup/cgroup.controllers").exists():  # v2
            parent = Path("/sys/fs/cgroup", path.lstrip("/"))
            limit_file = "memory.max"
        else:
            continue
        group = parent / f"kit-sandbox-{os.getpid()}"
        try:
            group.mkdir()
            (group / limit_file).write_text(str(limit))
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def join_cgroup(group: Path | None) -> None:
    """Put this process, and so all it starts, in `group`."""
    if group is not None:
        (group / "cgroup.procs").write_text("0")


def remove_cgroup(group: Path | None) -> None:
    """Leave `group` (where this process is in it) and remove it, once its processes are gone."""
    if group is None:
        return
    with contextlib.suppress(OSError):
        (group.parent / "cgroup.procs").write_text("0")
    for _ in range(200):
        try:
            group.rmdir()
            return
        except OSError:  # the last processes are still being torn down
            time.sleep(0.01)


def report(status: dict[str, Any], fd: int = 1) -> None:
    """One JSON line on the status pipe (the supervisor's stdout), if the grader still reads."""
    with contextlib.suppress(OSError):
        os.write(fd, (json.dumps(status) + "\n").encode())


def run_keeper(spec: dict[str, Any], limits: Limits, box: Path, in_namespace: bool,
               group: Path | None) -> None:
    """Build the worker's world, start it, keep it until it ends, end its tree, report."""
    uid = spec["uid"]
    join_cgroup(group)
    spec["sys_path"] = worker_sys_path(Path(spec["kit"]).resolve())
    if spec["mode"] == "drop":
        linux.protect_kit(Path(spec["kit"]).resolve())
    if in_namespace:
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        linux.build_root(box, spec, limits, uid)
        root = Path("/")
    else:
        linux.populate(box, spec, uid)
        box.chmod(0o700 if uid is None else 0o711)
        root = box
    worker = start_worker(spec, limits, root, uid)
    for fd in spec["fds"].values():
        os.close(fd)
    status = keep(worker, control_fd=0)
    kill_everything_below(in_namespace)
    report(status)


def main(spec_json: str) -> None:
    """The supervisor: started by the grader with the spec of one sandbox as JSON."""
    supervise_spec(json.loads(spec_json))


def supervise_spec(spec: dict[str, Any]) -> None:
    """The supervisor's work (its stdin, stdout and the spec's fds are the grader's pipes)."""
    # Out of the grader's process group: a signal to the grader's group (an interrupt, or the
    # runner's final SIGKILL) leaves the supervisor, which then sees its stdin close and kills
    # the worker's whole tree itself, before it ends.
    os.setsid()
    linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
    limits = Limits.from_json(spec["limits"])
    # A user id of its own as root; rootless and none can only keep the user's.
    spec["uid"] = None if spec["mode"] in ("none", "rootless") else linux.sandbox_uid(limits)
    box = Path(tempfile.mkdtemp(prefix="kit-sandbox-"))
    # Memory for the whole tree: the worker's own limit, and room for its libraries' pages and
    # the keeper. Per process, RLIMIT_DATA gives a MemoryError first.
    root = os.geteuid() == 0
    group = memory_cgroup(limits.memory_bytes + TREE_MEMORY_MARGIN) if root else None
    try:
        if spec["mode"] in ("namespaces", "rootless"):
            try:
                # The keeper, forked next, is PID 1 of a new PID namespace (rootless: inside a
                # user namespace of its own, where it may make the others and mount).
                if spec["mode"] == "rootless":
                    linux.enter_user_namespace(linux.CLONE_NEWPID)
                else:
                    linux.unshare(linux.CLONE_NEWPID)
            except PermissionError as err:
                raise PermissionError(
                    f"{err}: {spec['mode']} isolation is refused on this machine; "
                    "--isolation auto picks what it allows (docs/security.md)"
                ) from None
            keeper = os.fork()
            if keeper == 0:
                try:
                    run_keeper(spec, limits, box, True, group)
                except BaseException as err:
                    report({"error": f"the sandbox could not start: {err}"})
                finally:
                    os._exit(0)  # never back into the supervisor's code
            for fd in spec["fds"].values():
                os.close(fd)
            os.waitpid(keeper, 0)
        else:
            run_keeper(spec, limits, box, False, group)
    except Exception as err:
        report({"error": f"the sandbox could not start: {err}"})
    finally:
        remove_cgroup(group)
        if spec["mode"] in ("namespaces", "rootless"):
            with contextlib.suppress(OSError):  # never recursive: nothing to delete out here
                os.rmdir(box)  # its contents lived in the keeper's mount namespace
        else:
            shutil.rmtree(box, ignore_errors=True)
