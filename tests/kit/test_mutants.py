"""The suites tell right from wrong: the reference passes, every buggy variant fails.

A mutant is a common student mistake written as a one-place edit of the reference:
`tests/kit/mutants/<exercise>.py` holds `MUTANTS`, a list of dicts with `name`, `old` (text that
occurs exactly once in `solutions/<exercise>.py`), `new` (its buggy replacement) and `why`.
Each mutant is graded on its own exercise's public and hidden suites, which must fail it.
"""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.kit import EXERCISES, kit_root

ROOT = kit_root()
MUTANT_DIR = Path(__file__).parent / "mutants"


def load_mutants() -> list[tuple[str, dict[str, str]]]:
    found = []
    for exercise in EXERCISES:
        path = MUTANT_DIR / f"{exercise}.py"
        if path.is_file():
            found += [(exercise, m) for m in runpy.run_path(str(path))["MUTANTS"]]
    return found


def suite_files(exercise: str) -> list[str]:
    files = sorted(ROOT.glob(f"tests/public/test_{exercise}*.py"))
    files += sorted(ROOT.glob(f"tests/hidden/test_{exercise}*.py"))
    return [str(f.relative_to(ROOT)) for f in files]


def run_suites(exercise: str, impl: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               "-p", "no:hypothesispytest",
               "--impl", str(impl), *suite_files(exercise)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def stage_reference(tmp_path: Path) -> Path:
    staged = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", staged, ignore=shutil.ignore_patterns("__pycache__"))
    return staged


@pytest.mark.parametrize("exercise", [e for e in EXERCISES if suite_files(e)])
def test_reference_passes_its_suites(exercise: str, tmp_path: Path) -> None:
    result = run_suites(exercise, stage_reference(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(
    ("exercise", "mutant"), load_mutants(), ids=lambda v: v if isinstance(v, str) else v["name"]
)
def test_suites_catch_mutant(exercise: str, mutant: dict[str, str], tmp_path: Path) -> None:
    staged = stage_reference(tmp_path)
    path = staged / f"{exercise}.py"
    source = path.read_text()
    assert source.count(mutant["old"]) == 1, (
        f"mutant {mutant['name']}: its 'old' text must occur once in solutions/{exercise}.py"
    )
    path.write_text(source.replace(mutant["old"], mutant["new"]))
    result = run_suites(exercise, staged)
    assert result.returncode == 1, (
        f"mutant {mutant['name']} ({mutant['why']}) was not caught:\n{result.stdout[-3000:]}"
    )


def test_every_exercise_has_three_mutants() -> None:
    counts = {e: 0 for e in EXERCISES}
    for exercise, _ in load_mutants():
        counts[exercise] += 1
    assert all(n >= 3 for n in counts.values()), counts
