"""The Linux system calls of the sandbox, and the worker's file system: its staging folder,
its own code, and (in namespaces) its whole root, built from read-only binds.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.kit import EXERCISES
from grader.sandbox.limits import Limits

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


