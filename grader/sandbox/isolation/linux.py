"""The Linux system calls of the sandbox, and the worker's file system in the Linux modes: its
staging folder and its own code (as staging.py makes them), and (in namespaces) its whole root,
built from read-only binds.
"""

from __future__ import annotations

import ctypes
import os
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from grader.sandbox.isolation.staging import (
    PRIVATE_FOLDERS,
    copy_runtime,
    stage_exercise_files,
    worker_sys_path,
)
from grader.sandbox.limits import Limits

# Linux only (the namespaces, rootless and drop modes): imported nowhere on the portable path,
# and skipped by the type checker when it checks the grader as macOS or Windows sees it.
assert sys.platform == "linux", "grader.sandbox.isolation.linux is Linux's"

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER = 0x20000000, 0x40000000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
DEVICES = ("null", "zero", "full", "random", "urandom")
WORKER_FDS = 5  # stdin, stdout, stderr, requests, replies
TREE_MEMORY_MARGIN = 256 * 2**20
# User ids given to sandboxes of their own: far above any real account.
PRIVATE_UIDS = 1_000_000_000
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
MNT_DETACH = 2
CAPABILITY_VERSION_3 = 0x20080522
# Per-mount options of /proc/self/mountinfo that a read-only remount must keep (in a user
# namespace they are locked: dropping one is refused).
MOUNT_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
                 "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME,
                 "strictatime": MS_STRICTATIME}

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



def probe(mode: str = "namespaces") -> None:
    """Exit 0 if this process can make the namespaces and mounts of `mode` (namespaces, or
    rootless: the same inside a user namespace of its own)."""
    try:
        if mode == "rootless":
            enter_user_namespace()
        unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("tmpfs", tempfile.gettempdir(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
    except OSError:
        sys.exit(1)


def enter_user_namespace(more_flags: int = 0) -> None:
    """Enter a new user namespace (and `more_flags`' namespaces, owned by it), where this
    process keeps its own user and group ids (mapped to themselves: files keep their owners)
    and has every capability, over the namespaces it owns only. No group can be added to it.
    """
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | more_flags)
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def drop_capabilities() -> None:
    """Give up every capability (of a user namespace's creator): what an exec as a non-zero
    user id would do, for a worker forked without one."""
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: two words each, empty
    check(libc.capset(header, data), "capset")


# --- the worker's files ----------------------------------------------------------------------


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


def python_paths(kit: Path) -> list[Path]:
    """The folders of the Python installation the worker runs on (the grader's own), to bind
    into its root: its prefixes, and the folders of its sys.path outside them.
    """
    found: list[Path] = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        path = Path(prefix).resolve()
        if kit.is_relative_to(path):
            raise RuntimeError(f"the Python installation {path} holds the kit: the worker would "
                               "see the hidden tests; install the kit outside it")
        found.append(path)
    for entry in worker_sys_path(kit):
        path = Path(entry).resolve()
        if path.is_dir():
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
    # With every mount below it (GPU drivers often live in one: /usr/local/nvidia, or single
    # library files bound by nvidia-container-toolkit), each then made read-only: a recursive
    # bind keeps each submount's own flags, writable ones included.
    mount(str(source), target, None, MS_BIND | MS_REC)
    for mount_point, flags in mounts_below(target):
        try:
            mount(None, mount_point, None,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | flags)
        except OSError:  # one that cannot be made read-only is not shown at all
            check(libc.umount2(os.fsencode(mount_point), MNT_DETACH), f"umount {mount_point}")


def mounts_below(target: Path) -> list[tuple[str, int]]:
    """(mount point, its per-mount flags) of every mount at or below `target`, outermost first,
    from /proc/self/mountinfo."""
    found = []
    top = str(target)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        mount_point = unescape_mountinfo(fields[4])
        if mount_point == top or mount_point.startswith(top.rstrip("/") + "/"):
            options = fields[5].split(",")
            found.append((mount_point, sum(MOUNT_OPTIONS.get(o, 0) for o in set(options))))
    return sorted(found, key=lambda item: item[0].count("/"))


def unescape_mountinfo(text: str) -> str:
    """mountinfo writes a space, tab, newline or backslash in a path as an octal escape."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        text = text.replace(code, chr(int(code[1:], 8)))
    return text


def protect_kit(kit: Path) -> None:
    """In `drop` mode (no namespaces: the worker sees the real file system), make the kit's
    private folders unreadable to every other user, the worker's among them (its user id is one
    of its own, in no group). Only the folders' own modes change: without search permission on
    them, nothing below can be reached. Raises PermissionError, with the fix, where it cannot.
    """
    for name in PRIVATE_FOLDERS:
        path = kit / name
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o007:
                path.chmod(mode & ~0o007)
        except FileNotFoundError:
            continue
        except OSError as err:
            raise PermissionError(f"{path} is readable by other users and could not be made "
                                  f"private ({err.strerror}): run `chmod o-rwx {path}` as its "
                                  "owner, then grade again") from None


def build_root(box: Path, spec: dict[str, Any], limits: Limits, uid: int) -> None:
    """Make `box` the worker's whole file system, in new namespaces of the keeper's own (the
    supervisor stays in the grader's: it never sees these mounts)."""
    unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", box, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={limits.scratch_bytes},nr_inodes=4096,mode=755")
    populate(box, spec, uid)
    for system in SYSTEM_PATHS:
        bind_readonly(Path(system), box)
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
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                       ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        (dev / name).symlink_to(link)
    (dev / "shm").mkdir(mode=0o1777)
    (dev / "shm").chmod(0o1777)
    (box / "proc").mkdir()
    mount("proc", box / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    socket.sethostname("sandbox")
    os.chroot(box)
    os.chdir("/")


