"""A grader that cannot run is never a grade: `grade` exits 2 with one line and writes no score;
`grade batch` flags the row `grader-error` with empty point cells, keeps going, exits 2, and
grades the row again on the next run.

Two ways to a worker that never starts: a start-up limit no worker can meet (on every machine),
and, where this machine can show it, root without CAP_SYS_ADMIN (`drop` mode) with a Python
installation that other users cannot read (the case of a default container).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.kit import EXERCISES, kit_root

KIT = kit_root()
NO_START = ("--limit", "startup_timeout_s=0.001")


def grade(*args: str, cwd: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "grader.cli", *args]
    if prefix:  # a shell command line for capsh
        command = [*prefix, " ".join(f"'{part}'" for part in command)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "PYTHONPATH": str(KIT)})


def python_readable_by_others() -> bool:
    path = Path(os.path.realpath(sys.executable))
    return all(folder.stat().st_mode & 0o001 for folder in path.parents)


CAPSH = ("capsh", "--drop=cap_sys_admin", "--", "-c")
needs_unreadable_python = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("capsh") is None or python_readable_by_others(),
    reason="needs root, capsh, and a Python installation other users cannot read")


def assert_no_grade(done: subprocess.CompletedProcess[str], json_path: Path) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot grade on this machine" in lines[0], done.stderr
    assert not json_path.exists()
    assert "total" not in done.stdout


@pytest.mark.parametrize("prefix", [(), pytest.param(CAPSH, marks=needs_unreadable_python)],
                         ids=["startup-limit", "capsh-drop"])
def test_grade_writes_no_score_when_the_worker_cannot_start(
    tmp_path: Path, prefix: tuple[str, ...]
) -> None:
    limit = NO_START if not prefix else ()
    done = grade("--reference", "--exercise", "activations", *limit, "--json",
                 str(tmp_path / "r.json"), cwd=tmp_path, prefix=prefix)
    assert_no_grade(done, tmp_path / "r.json")


@pytest.mark.parametrize("prefix", [(), pytest.param(CAPSH, marks=needs_unreadable_python)],
                         ids=["startup-limit", "capsh-drop"])
def test_batch_flags_the_row_and_writes_no_points(tmp_path: Path, prefix: tuple[str, ...]) -> None:
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    shutil.copy(KIT / "solutions" / "activations.py", tmp_path / "subs" / "alice")
    limit = NO_START if not prefix else ()
    done = grade("batch", "subs", "--out", "gradebook.csv", "-j", "1", *limit, cwd=tmp_path,
                 prefix=prefix)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "grader-error" in done.stderr
    with (tmp_path / "gradebook.csv").open() as file:
        (row,) = list(csv.DictReader(file))
    assert row["flags"] == "grader-error"
    assert [row[e] for e in EXERCISES] == [""] * len(EXERCISES) and row["total"] == ""
    # Not recorded as done: the next run grades it again (and here fails again the same way).
    again = grade("batch", "subs", "--out", "gradebook.csv", "-j", "1", *limit, cwd=tmp_path,
                  prefix=prefix)
    assert "1 to grade" in again.stderr, again.stderr
