"""The suites tell right from wrong: the reference passes, every buggy variant fails.

A mutant is a common student mistake written as a one-place edit of the reference:
`tests/kit/mutants/<exercise>.py` holds `MUTANTS`, a list of dicts with `name`, `old` (text that
occurs exactly once in `solutions/<exercise>.py`), `new` (its buggy replacement) and `why`.
Each mutant is graded on its own exercise's public and hidden suites, which must fail it.
A mutant may also name, in `may_pass`, the test functions it is allowed to pass (those about
something its bug does not touch): its suites then run to the end and every other test must
fail, so that a half-done exercise keeps earning nothing for the half it did not do.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.kit import EXERCISES, kit_root

ROOT = kit_root()
MUTANT_DIR = Path(__file__).parent / "mutants"
DRIVER = Path(__file__).with_name("suite_runs.py")


def load_mutants() -> list[tuple[str, dict[str, str]]]:
    found = []
    for exercise in EXERCISES:
        path = MUTANT_DIR / f"{exercise}.py"
        if path.is_file():
            found += [(exercise, m) for m in runpy.run_path(str(path))["MUTANTS"]]
    return found


MUTANTS = load_mutants()


def stage(folder: Path, exercise: str, mutant: dict[str, str] | None) -> str | None:
    """Copy the reference into `folder`, with `mutant` applied; a complaint if it cannot be."""
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    if mutant is None:
        return None
    path = folder / f"{exercise}.py"
    source = path.read_text()
    if source.count(mutant["old"]) != 1:
        return f"its 'old' text must occur once in solutions/{exercise}.py"
    path.write_text(source.replace(mutant["old"], mutant["new"]))
    return None


def run_exercise(
    exercise: str, folders: list[Path], to_the_end: list[Path]
) -> list[dict[str, Any]]:
    ends = [arg for folder in to_the_end for arg in ("--to-the-end", str(folder))]
    result = subprocess.run([sys.executable, str(DRIVER), exercise, *map(str, folders), *ends],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """Every exercise's suites on the reference and on each of its mutants, keyed by
    (exercise, mutant name or "reference"): one process per exercise, as many at once as cores."""
    base = tmp_path_factory.mktemp("mutants")
    plans: dict[str, list[tuple[str, Path]]] = {}
    to_the_end: dict[str, list[Path]] = {}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for exercise in EXERCISES:
        cases = [("reference", None)] + [(m["name"], m) for e, m in MUTANTS if e == exercise]
        for name, mutant in cases:
            folder = base / exercise / name
            complaint = stage(folder, exercise, mutant)
            if complaint:
                found[exercise, name] = {"exit_code": None, "output": complaint}
            else:
                plans.setdefault(exercise, []).append((name, folder))
                if mutant is not None and "may_pass" in mutant:
                    to_the_end.setdefault(exercise, []).append(folder)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = {
            e: pool.submit(run_exercise, e, [f for _, f in plan], to_the_end.get(e, []))
            for e, plan in plans.items()
        }
        for exercise, plan in plans.items():
            for (name, _), outcome in zip(plan, runs[exercise].result(), strict=True):
                found[exercise, name] = outcome
    return found


@pytest.mark.parametrize("exercise", EXERCISES)
def test_reference_passes_its_suites(
    exercise: str, outcomes: dict[tuple[str, str], dict[str, Any]]
) -> None:
    outcome = outcomes[exercise, "reference"]
    assert outcome["exit_code"] == 0, outcome["output"]


@pytest.mark.parametrize(
    ("exercise", "mutant"), MUTANTS, ids=lambda v: v if isinstance(v, str) else v["name"]
)
def test_suites_catch_mutant(
    exercise: str, mutant: dict[str, str], outcomes: dict[tuple[str, str], dict[str, Any]]
) -> None:
    outcome = outcomes[exercise, mutant["name"]]
    assert outcome["exit_code"] == 1, (
        f"mutant {mutant['name']} ({mutant['why']}) was not caught:\n{outcome['output']}"
    )
    if "may_pass" in mutant:
        unearned = [
            test for test in outcome["passed"]
            if test.split("::")[-1].split("[")[0] not in mutant["may_pass"]
        ]
        assert not unearned, f"mutant {mutant['name']} ({mutant['why']}) passes {unearned}"


def test_may_pass_names_tests_that_exist() -> None:
    names = {entry["id"].split("::")[-1].split("[")[0]
             for entry in json.loads((ROOT / "tests" / "manifest.json").read_text())}
    unknown = {m["name"]: sorted(set(m.get("may_pass", [])) - names) for _, m in MUTANTS}
    assert not any(unknown.values()), unknown


def test_every_exercise_has_three_mutants() -> None:
    counts = {e: 0 for e in EXERCISES}
    for exercise, _ in MUTANTS:
        counts[exercise] += 1
    assert all(n >= 3 for n in counts.values()), counts
