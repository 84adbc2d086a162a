"""Isolation backends: where the worker process lives and what it can see.

    pytest (trusted)
      └─ supervisor   python -I, grader code (root when the grader is); its own session
           └─ keeper  PID 1 of a new PID namespace: builds the worker's root, starts the worker,
                │     reaps, and when the worker ends kills everything left in the namespace
                └─ worker  python -I as an unprivileged user in /submission (runtime/worker.py)
                     └─ whatever the submission starts (all of it dies with the keeper)

The modes, chosen by the grader (`auto`: the strongest this machine allows, `default_mode`):
- `namespaces` (root): new mount, PID, network, IPC and UTS namespaces. The worker's root is a
  small tmpfs holding /submission (the exercise files), /tmp, /kit (the worker's own code), and
  read-only binds of the system (/usr, /etc, ..., with every submount: GPU drivers live in
  submounts) and of the Python installation: the kit's tests, solutions, .git and reports are
  not in it. The worker runs as a user id of its own, with no new privileges and no network.
- `drop` (root without CAP_SYS_ADMIN, e.g. a default Docker container): no namespaces; the
  supervisor is the keeper, a child subreaper (a double fork or setsid still leaves every
  process below it); the worker runs as a user id of its own in a private staging folder.
  The kit's private folders are made unreadable to other users first (`protect_kit`).
- `rootless` (not root, Linux with user namespaces): the `namespaces` picture inside a user
  namespace of the grader's own: the same small root, no network, its own PID and IPC; the
  worker keeps the user's id (the only one mapped) but no capability.
- `none` (asked for, or where nothing above is possible on Linux): as `drop`, but the worker
  runs as the grader's own user and can read whatever that user can: feedback, not evidence.
- `portable` (`auto` on macOS and Windows; on Linux when asked for): no supervisor, nothing
  Linux's. The worker is the grader's own child in a private staging folder, reached over a
  socket on 127.0.0.1; the grader's clock ends it with its process group (POSIX) or tree
  (Windows); resource limits where the OS has them (POSIX, macOS too). It runs as the grader's
  user and can read whatever that user can: feedback, not evidence.

Modules: `staging` (the worker's files, on every OS), `linux` (the system calls, the worker's
root), `supervisor` (the processes: keeper, worker, clean-up), `portable` (the portable mode's
worker). May import: `grader.kit`, `grader.sandbox.limits`. This package's own module imports
nothing platform-specific: choosing a mode works on every OS, and so does everything the
`portable` mode imports (staging, portable).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

from grader.kit import kit_root

MODES = ("namespaces", "rootless", "drop", "none", "portable")
# Modes where the submission cannot read the kit's files: a grade that is evidence.
HIDES_KIT = frozenset({"namespaces", "rootless", "drop"})
PROBE_BOOT = ("import sys; sys.path.insert(0, {!r}); "
              "from grader.sandbox.isolation.linux import probe; probe(sys.argv[1])")


# Who may ask for each mode (the rest is the kernel's to allow, tried by `probe`).
NEEDS_ROOT = {"namespaces": True, "drop": True, "rootless": False}


@functools.cache
def can_run(mode: str) -> bool:
    """Whether this machine can give the worker `mode` (namespaces are tried in a process of
    their own: a kernel or container may refuse them)."""
    if mode == "portable":
        return True
    if mode == "none":  # the supervisor's processes are built from Linux's calls
        return sys.platform == "linux"
    if not sys.platform.startswith("linux"):
        return False
    if NEEDS_ROOT[mode] != (os.geteuid() == 0):
        return False
    if mode == "drop":  # root without namespaces: only a change of user id is needed
        return True
    probe = subprocess.run(
        [sys.executable, "-I", "-c", PROBE_BOOT.format(str(kit_root())), mode],
        capture_output=True, timeout=60, check=False,
    )
    return probe.returncode == 0


@functools.cache
def default_mode() -> str:
    """`auto`: the strongest mode this machine allows. As root `namespaces` where the kernel
    lets us make them, else `drop` (a container without CAP_SYS_ADMIN); for any other user
    `rootless` where user namespaces are allowed (some hardened kernels and AppArmor rules
    refuse them), else `none`. Elsewhere (macOS, Windows) `portable`, the only mode there.
    """
    if not sys.platform.startswith("linux"):
        return "portable"
    return next((mode for mode in ("namespaces", "rootless", "drop") if can_run(mode)), "none")


def unavailable(mode: str) -> str | None:
    """Why this machine cannot give the worker `mode`, in one line; None where it can."""
    if mode == "auto" or can_run(mode):
        return None
    why = {"namespaces": "needs root with CAP_SYS_ADMIN (a default container lacks it)",
           "rootless": "needs a non-root user on Linux with user namespaces allowed",
           "drop": "needs root on Linux",
           "none": "needs Linux (elsewhere: --isolation portable)"}[mode]
    return f"--isolation {mode} {why}; --isolation auto picks the strongest mode here"

