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
- `none` (not root, or asked for): as `drop`, but the worker runs as the grader's own user.

Modules: `linux` (the system calls, the worker's root), `supervisor` (the processes: keeper,
worker, clean-up). May import: `grader.kit`, `grader.sandbox.limits`. This package's own
module imports nothing platform-specific: choosing a mode works on every OS.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

from grader.kit import kit_root

MODES = ("namespaces", "drop", "none")
PROBE_BOOT = ("import sys; sys.path.insert(0, {!r}); "
              "from grader.sandbox.isolation.linux import probe; probe()")


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

