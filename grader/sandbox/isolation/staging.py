"""The worker's files, the same in every mode and on every OS: its private copy of the exercise
files, its own code (the runtime, copied whole), and its sys.path, which reaches no private
folder of the kit. Nothing here is platform-specific: the `portable` mode uses it on macOS and
Windows, the Linux modes (linux.py) inside their roots.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from grader.kit import EXERCISES

# The worker's own code, copied whole into its root (nothing else of the kit is visible there):
# the runtime package, under empty parent packages so that it keeps its import name.
RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
RUNTIME_PARENTS = ("grader", "grader/sandbox")
# Run with -S (no site: no .pth file runs, so nothing of an editable install's finder or path
# reaches the worker): the whole sys.path is set here, from `worker_sys_path`.
WORKER_BOOT = ("import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
               "from grader.sandbox.runtime.worker import main; main()")
# The kit's folders that no submission may read: hidden tests, solutions, history.
PRIVATE_FOLDERS = ("tests", "solutions", ".git")
# Open an exercise file without following a link, or waiting on a FIFO, where the OS can say so
# (Windows has neither flag: links are refused by `lstat` there); bytes as they are (O_BINARY:
# no newline translation on Windows).
OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
              | getattr(os, "O_BINARY", 0))


def stage_exercise_files(source: Path, staging: Path) -> list[str]:
    """Copy the exercise files of `source` (regular files only: links are never followed)."""
    staged = []
    for exercise in EXERCISES:
        path = source / f"{exercise}.py"
        try:
            if not hasattr(os, "O_NOFOLLOW") and path.is_symlink():
                continue
            fd = os.open(path, OPEN_FLAGS)
        except OSError:  # missing, or a link: that exercise is absent
            continue
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            (staging / path.name).write_bytes(file.read())
        staged.append(path.name)
    return staged


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


def reaches_kit(path: Path, kit: Path) -> bool:
    """Whether `path` on sys.path would let an import reach the kit's private folders: the kit's
    root or a folder above it (the solutions would be importable), or a folder inside a
    private one."""
    return kit.is_relative_to(path) or any(
        path.is_relative_to(kit / private) for private in PRIVATE_FOLDERS)


def worker_sys_path(kit: Path, entries: Iterable[str] | None = None) -> list[str]:
    """The worker's whole sys.path, less its own code's folder: this Python's (`entries`, by
    default this process's sys.path: the standard library, site-packages, and what their .pth
    files added: a venv may reach another's site-packages), never an entry that reaches the kit
    (`reaches_kit`). However the kit was installed (editable: its root is on sys.path; a venv
    inside the checkout), nothing of its tests or solutions can be imported.
    """
    kept = []
    for entry in dict.fromkeys(sys.path if entries is None else entries):
        if not entry or not os.path.isabs(entry):  # "" and relative: the current folder
            continue
        if not reaches_kit(Path(entry).resolve(), kit):
            kept.append(entry)
    return kept
