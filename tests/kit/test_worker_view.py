"""What the worker sees: a sys.path that reaches no private folder of the kit, in every mode; the
system's submounts (where GPU drivers live), read-only; the GPU driver's environment and
nothing else of the grader's; and in `drop` mode, no readable kit.

A scenario (`impl.run`) runs in the worker and reports what it found, as data.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.kit import kit_root
from grader.sandbox.client import WorkerClient
from grader.sandbox.isolation import default_mode
from grader.sandbox.isolation.linux import PRIVATE_FOLDERS, protect_kit
from grader.sandbox.limits import Limits
from grader.sandbox.remote import SandboxImpl

KIT = kit_root()
ROOT = os.geteuid() == 0
NAMESPACES = default_mode() == "namespaces"
# `drop` here runs as uid 0 unless the Python installation is readable by every user (CI makes
# such a venv for the drop-mode runs): a fresh user id would not start otherwise.
# `portable` takes its worker's sys.path from `python -I`, as the Linux modes' supervisor does.
MODES = sorted({default_mode(), "none", "portable", *(["drop"] if ROOT else [])})


def readable_by_others(path: Path) -> bool:
    """Whether a user in no group of ours can read `path` (every folder above it searchable)."""
    path = path.resolve()
    for folder in [*reversed(path.parents)]:
        if not stat.S_IMODE(folder.stat().st_mode) & 0o001:
            return False
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o004)


PYTHON_FOR_EVERYONE = readable_by_others(Path(os.__file__)) and readable_by_others(
    Path(os.path.realpath(os.sys.executable)))


def what_the_worker_sees(module: Any, probes: list[str]) -> dict[str, Any]:
    """Scenario run in the worker: its sys.path, what it finds at `probes`, its environment."""
    import importlib.util
    import os
    import sys

    found = {}
    for path in probes:
        try:
            with open(path) as file:
                found[path] = file.read()
        except OSError as err:
            found[path] = type(err).__name__
    writable = {}
    for path in probes:
        try:
            with open(path, "a"):
                writable[path] = True
        except OSError:
            writable[path] = False
    return {"sys_path": list(sys.path), "files": found, "writable": writable,
            "env": dict(os.environ),
            "importable": {name: importlib.util.find_spec(name) is not None
                           for name in ("solutions", "tests", "numpy")}}


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "activations.py").write_text("def ok():\n    return 'ok'\n")
    return folder


@contextlib.contextmanager
def worker(folder: Path, mode: str, limits: Limits | None = None) -> Iterator[SandboxImpl]:
    client = WorkerClient(folder, limits or Limits(call_timeout_s=30), mode)
    try:
        yield SandboxImpl(client, "activations")
    finally:
        client.close()


def reaches_private_folder(entry: str) -> bool:
    path = Path(entry).resolve()
    return KIT.is_relative_to(path) or any(path.is_relative_to(KIT / p) for p in PRIVATE_FOLDERS)


@pytest.mark.parametrize("mode", MODES)
def test_the_workers_sys_path_reaches_no_private_folder_of_the_kit(
    submission: Path, mode: str
) -> None:
    with worker(submission, mode, Limits(uid=0) if mode == "drop" else None) as impl:
        seen = impl.run(what_the_worker_sees, [])
    assert seen["importable"]["numpy"], seen["sys_path"]
    assert not seen["importable"]["solutions"] and not seen["importable"]["tests"]
    assert not [entry for entry in seen["sys_path"] if reaches_private_folder(entry)], (
        seen["sys_path"])


def test_the_worker_gets_the_gpu_drivers_variables_and_nothing_else(
    submission: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setenv("NVIDIA_DRIVER_CAPABILITIES", "compute,utility")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/usr/local/nvidia/lib64")
    monkeypatch.setenv("KIT_TEST_TOKEN", "secret")
    with worker(submission, default_mode()) as impl:
        env = impl.run(what_the_worker_sees, [])["env"]
    assert env["CUDA_VISIBLE_DEVICES"] == "3"
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert env["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64"
    assert "KIT_TEST_TOKEN" not in env


@contextlib.contextmanager
def tmpfs_under(folder: Path) -> Iterator[Path]:
    """A tmpfs mounted at a new folder under `folder` (a system folder), removed afterwards."""
    libc = ctypes.CDLL(None, use_errno=True)
    mount_point = folder / f"kit-test-{secrets.token_hex(4)}"
    mount_point.mkdir(parents=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                       check=True)
        try:
            yield mount_point
        finally:
            libc.umount2(os.fsencode(mount_point), 2)
    finally:
        mount_point.rmdir()


@pytest.mark.skipif(not (ROOT and NAMESPACES), reason="the worker's own root needs namespaces")
def test_a_mount_under_a_system_folder_is_seen_by_the_worker_read_only(
    submission: Path,
) -> None:
    # As a GPU driver under /usr/local/nvidia, a separate mount inside a bound system folder.
    with tmpfs_under(Path("/usr/local")) as mount_point:
        library = mount_point / "libdriver.so.1"
        library.write_text("the driver")
        with worker(submission, "namespaces") as impl:
            seen = impl.run(what_the_worker_sees, [str(library)])
    assert seen["files"][str(library)] == "the driver"
    assert seen["writable"][str(library)] is False


@pytest.mark.skipif(not ROOT, reason="drop mode is root's")
def test_drop_mode_makes_the_kits_private_folders_unreadable_to_others(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    for name in (*PRIVATE_FOLDERS, "grader"):
        (kit / name).mkdir(parents=True)
        (kit / name).chmod(0o755)
    protect_kit(kit)
    for name in PRIVATE_FOLDERS:
        assert stat.S_IMODE((kit / name).stat().st_mode) == 0o750
    assert stat.S_IMODE((kit / "grader").stat().st_mode) == 0o755  # not private: students have it


@pytest.mark.skipif(not (ROOT and PYTHON_FOR_EVERYONE),
                    reason="needs root and a Python installation every user can read "
                    "(CI runs this in such a venv)")
def test_in_drop_mode_the_worker_cannot_read_the_kit(submission: Path) -> None:
    solution = KIT / "solutions" / "activations.py"
    with worker(submission, "drop") as impl:
        seen = impl.run(what_the_worker_sees, [str(solution), str(KIT / "tests" / "rubric.toml")])
    assert seen["files"][str(solution)] == "PermissionError"
    assert seen["files"][str(KIT / "tests" / "rubric.toml")] == "PermissionError"


def test_a_correct_submission_that_prints_100_mb_gets_full_marks(tmp_path: Path) -> None:
    """Its output is dropped past the kept part, never an error in its own code; grade -v still
    says how much it printed."""
    folder = tmp_path / "loud"
    folder.mkdir()
    reference = (KIT / "solutions" / "activations.py").read_text()
    (folder / "activations.py").write_text(reference + LOUD_RELU)
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "--submission", str(folder), "--exercise",
         "activations", "--json", str(tmp_path / "result.json")],
        cwd=KIT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["score"] == result["max_score"] == 15.0, done.stdout


LOUD_RELU = '''

_relu, _shouted = relu, []


def relu(z):
    """max(z, 0), and 100 MB of chatter the first time."""
    if not _shouted:
        _shouted.append(True)
        print("x" * 100_000_000)
    print("relu called")
    return _relu(z)
'''
