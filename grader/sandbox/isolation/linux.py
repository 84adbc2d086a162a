"""Where the submission's process runs: its own namespaces and root, no privileges, no leftovers.

    pytest (trusted)
      └─ supervisor   python -I, grader code (root when the grader is); its own session
           └─ keeper  PID 1 of a new PID namespace: builds the worker's root, starts the worker,
                │     reaps, and when the worker ends kills everything left in the namespace
                └─ worker  python -I as an unprivileged user in /submission (runtime/worker.py)
                     └─ whatever the submission starts (all of it dies with the keeper)

Three modes, chosen by the grader (`auto`: the strongest this machine allows, see
`default_mode`):
- `namespaces` (root): new mount, PID, network, IPC and UTS namespaces. The worker's root is a
  small tmpfs holding /submission (the exercise files), /tmp, /kit (the worker's own code), and
  read-only binds of the system (/usr, /etc, ...) and of the Python installation: the kit's
  tests, solutions, .git and reports are not in it. The worker runs as a user id of its own,
  with no new privileges and no network.
- `drop` (root without CAP_SYS_ADMIN, e.g. a default Docker container): no namespaces; the
  supervisor is the keeper, a child subreaper (a double fork or setsid still leaves every
  process below it); the worker runs as a user id of its own in a private staging folder.
  Files stay protected by their permissions only.
- `none` (not root: a student's machine): as `drop`, but the worker runs as the student.

As root, the keeper's tree is also put in a memory cgroup of its own where the machine allows.
The keeper ends the tree when the worker ends or when its stdin (the grader's end of the
control pipe) closes, then reports how the worker ended as one JSON line on its stdout.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES, kit_root
from grader.sandbox.limits import Limits, apply_rlimits, worker_env

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
DEVICES = ("null", "zero", "full", "random", "urandom")
# The worker's own code, copied whole into its root (nothing else of the kit is visible there):
# the runtime package, under empty parent packages so that it keeps its import name.
RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
RUNTIME_PARENTS = ("grader", "grader/sandbox")
WORKER_FDS = 5  # stdin, stdout, stderr, requests, replies
TREE_MEMORY_MARGIN = 256 * 2**20
# User ids given to sandboxes of their own: far above any real account.
PRIVATE_UIDS = 1_000_000_000
PROBE_BOOT = ("import sys; sys.path.insert(0, {!r}); "
              "from grader.sandbox.isolation.linux import probe; probe()")
WORKER_BOOT = ("import sys; sys.path.insert(0, {!r}); "
               "from grader.sandbox.runtime.worker import main; main()")

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    check(libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str | Path, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    def c(text: str | Path | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    check(libc.mount(c(source), c(target), c(fstype), ctypes.c_ulong(flags), c(data)),
          f"mount {target}")


def prctl(option: int, value: int) -> None:
    check(libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0),
                     ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def sandbox_uid(limits: Limits) -> int:
    """The worker's user id: the configured one, else one of its own (from the supervisor's pid)."""
    return limits.uid if limits.uid is not None else PRIVATE_UIDS + os.getpid() % 10**6


@functools.cache
def default_mode() -> str:
    """`namespaces` as root where the kernel lets us make them, `drop` as root where it does
    not (a container without CAP_SYS_ADMIN), `none` for any other user."""
    if os.geteuid() != 0:
        return "none"
    probe = subprocess.run(
        [sys.executable, "-I", "-c", PROBE_BOOT.format(str(kit_root()))],
        capture_output=True, timeout=60, check=False,
    )
    return "namespaces" if probe.returncode == 0 else "drop"


def probe() -> None:
    """Exit 0 if this process can make the namespaces and mounts of the `namespaces` mode."""
    try:
        unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("tmpfs", tempfile.gettempdir(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
    except OSError:
        sys.exit(1)


# --- the worker's files ----------------------------------------------------------------------


def stage_exercise_files(source: Path, staging: Path) -> list[str]:
    """Copy the exercise files of `source` (regular files only: links are never followed)."""
    staged = []
    for exercise in EXERCISES:
        path = source / f"{exercise}.py"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO: no wait
        except OSError:  # missing, or a link: that exercise is absent
            continue
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            (staging / path.name).write_bytes(file.read())
        staged.append(path.name)
    return staged


def populate(box: Path, spec: dict[str, Any], uid: int | None) -> None:
    """box/kit (the worker's code, read-only), box/submission and box/tmp (the worker's own)."""
    copy_runtime(box / "kit")
    submission, tmp = box / "submission", box / "tmp"
    submission.mkdir()
    tmp.mkdir()
    staged = stage_exercise_files(Path(spec["source"]), submission)
    if uid is not None:
        for path in (submission, tmp, *(submission / name for name in staged)):
            os.chown(path, uid, uid)
    submission.chmod(0o700)
    tmp.chmod(0o1777 if spec["mode"] == "namespaces" else 0o700)


def copy_runtime(kit_copy: Path) -> None:
    """kit_copy/grader/sandbox/runtime: the runtime's modules, readable by the worker's user."""
    runtime_copy = kit_copy / "grader" / "sandbox" / "runtime"
    runtime_copy.mkdir(parents=True)
    for parent in RUNTIME_PARENTS:
        (kit_copy / parent / "__init__.py").touch()
    for source in RUNTIME.glob("*.py"):
        shutil.copyfile(source, runtime_copy / source.name)
    for path in (kit_copy, *kit_copy.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)


def python_paths(kit: Path) -> list[Path]:
    """The folders of the Python installation the worker runs on (the grader's own).

    Its prefixes, and the folders on sys.path outside them (a venv may reach another's
    site-packages through a .pth file), but never the kit itself: an editable install puts the
    kit's root on sys.path, and the worker must not see the hidden tests.
    """
    found: list[Path] = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        path = Path(prefix).resolve()
        if kit.is_relative_to(path):
            raise RuntimeError(f"the Python installation {path} holds the kit: the worker would "
                               "see the hidden tests; install the kit outside it")
        found.append(path)
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and not kit.is_relative_to(path) and not any(
            path.is_relative_to(kit / private) for private in ("tests", "solutions", ".git")
        ):
            found.append(path)
    return [
        path for path in dict.fromkeys(found)
        if not any(path.is_relative_to(p) for p in SYSTEM_PATHS)
        and not any(path != other and path.is_relative_to(other) for other in found)
    ]


def bind_readonly(source: Path, root: Path) -> None:
    """Show `source` at the same path under `root`, read-only (a link is copied as a link)."""
    target = root / source.relative_to("/")
    if source.is_symlink():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(os.readlink(source))
        return
    if not source.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    mount(str(source), target, None, MS_BIND)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def build_root(box: Path, spec: dict[str, Any], limits: Limits, uid: int) -> None:
    """Make `box` the worker's whole file system, in new namespaces of the keeper's own (the
    supervisor stays in the grader's: it never sees these mounts)."""
    unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", box, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={limits.scratch_bytes},nr_inodes=4096,mode=755")
    populate(box, spec, uid)
    for path in SYSTEM_PATHS:
        bind_readonly(Path(path), box)
    for path in python_paths(Path(spec["kit"]).resolve()):
        for parent in reversed(path.parents):  # reachable by nobody, whatever /root's mode
            (box / parent.relative_to("/")).mkdir(mode=0o755, exist_ok=True)
        bind_readonly(path, box)
    dev = box / "dev"
    dev.mkdir()
    # The GPU's nodes where there is one (nvidia-caps is a folder of them).
    for name in [*DEVICES, *(p.name for p in Path("/dev").glob("nvidia*"))]:
        source, target = Path("/dev", name), dev / name
        if source.is_dir():
            target.mkdir()
        else:
            target.touch()
        mount(str(source), target, None, MS_BIND | MS_REC)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        (dev / name).symlink_to(target)
    (dev / "shm").mkdir(mode=0o1777)
    (dev / "shm").chmod(0o1777)
    (box / "proc").mkdir()
    mount("proc", box / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    socket.sethostname("sandbox")
    os.chroot(box)
    os.chdir("/")


# --- processes -------------------------------------------------------------------------------


def start_worker(spec: dict[str, Any], limits: Limits, root: Path, uid: int | None) -> int:
    """Fork the worker: limits, then the user `uid` (None: stay), then `python -I` on its code."""
    fds = spec["fds"]
    pid = os.fork()
    if pid:
        return pid
    # A copy of the status pipe above the fds set up below (fd 1 becomes the output file).
    status_fd = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, WORKER_FDS)
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
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        os.chdir(root / "submission")
        devnull = os.open(os.devnull, os.O_RDWR)
        # The worker's fds 0 to 4: stdin, stdout, stderr, requests, replies (runtime/wire.py).
        moved = [os.dup(fd) for fd in (devnull, fds["output"], fds["output"],
                                       fds["requests"], fds["replies"])]
        for target, fd in enumerate(moved):
            os.dup2(fd, target)
        # Everything else goes; status_fd (close-on-exec) stays to report a failed exec.
        os.closerange(WORKER_FDS, status_fd)
        os.closerange(status_fd + 1, os.sysconf("SC_OPEN_MAX"))
        home = str(root / "submission")
        if spec.get("preloaded"):
            become_worker(root, worker_env(home, str(root / "tmp")), status_fd)
        # -I: isolated (no user site, no PYTHON* variables, no script folder on sys.path);
        # -B: no bytecode written; -u: output unbuffered, so each test sees its own prints.
        os.execve(spec["python"], [spec["python"], "-I", "-B", "-u", "-c",
                                   WORKER_BOOT.format(str(root / "kit"))],
                  worker_env(home, str(root / "tmp")))
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


def become_worker(root: Path, env: dict[str, str], status_fd: int) -> None:
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
    prctl(PR_SET_DUMPABLE, 1)
    os.environ.clear()
    os.environ.update(env)
    sys.path[0] = str(root / "kit")
    for name in ("grader", "grader.sandbox", "grader.sandbox.runtime"):
        module = sys.modules.get(name)
        if module is not None:
            module.__path__ = [str(root / "kit" / name.replace(".", "/"))]
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
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
    ended = []
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
    if in_namespace:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        build_root(box, spec, limits, uid)
        root = Path("/")
    else:
        populate(box, spec, uid)
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
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    limits = Limits.from_json(spec["limits"])
    spec["uid"] = None if spec["mode"] == "none" else sandbox_uid(limits)
    box = Path(tempfile.mkdtemp(prefix="kit-sandbox-"))
    # Memory for the whole tree: the worker's own limit, and room for its libraries' pages and
    # the keeper. Per process, RLIMIT_DATA gives a MemoryError first.
    root = os.geteuid() == 0
    group = memory_cgroup(limits.memory_bytes + TREE_MEMORY_MARGIN) if root else None
    try:
        if spec["mode"] == "namespaces":
            try:
                unshare(CLONE_NEWPID)  # the keeper, forked next, is PID 1 of a new PID namespace
            except PermissionError as err:
                raise PermissionError(
                    f"{err}: namespaces need CAP_SYS_ADMIN (a default container lacks it); "
                    "--sandbox-isolation auto or drop run a weaker sandbox (docs/security.md)"
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
        if spec["mode"] == "namespaces":
            with contextlib.suppress(OSError):  # never recursive: nothing to delete out here
                os.rmdir(box)  # its contents lived in the keeper's mount namespace
        else:
            shutil.rmtree(box, ignore_errors=True)
