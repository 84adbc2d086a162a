"""The recipe "Adding an exercise" (docs/architecture.md) works as written.

In a copy of the kit, a toy exercise `dot` is added by the recipe's steps 1 to 5 (a record, a
solution, a public and a hidden suite, rubric points, then `grade stubs`, `manifest` and
`notebooks`), and `grade` runs in the copy with the copy's grader: the toy is staged, run in
the sandbox, scored and listed wherever the exercises are; the reference earns its points and
100.00 in all, its stub nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.grading.rubric import RUBRIC, load_rubric
from grader.kit import EXERCISES, kit_root

ROOT = kit_root()
NAME = "dot"
POINTS = 5
# Step 1: the record, added at the end of RECORDS in grader/kit.py.
RECORD = f'''    Exercise(
        name="{NAME}",
        position={len(EXERCISES) + 1},
        trap="A Python loop over the elements is slow: `x @ w` does it in one call.",
    ),
'''
# Step 2: the reference, its student part fenced.
SOLUTION = '''"""The dot product: what a neuron computes before its activation."""

from __future__ import annotations

import numpy as np


def dot(x: np.ndarray, w: np.ndarray) -> float:
    """sum_i x[i] * w[i] of two vectors of shape (N,), as a Python float.

        dot(x, w) = x_1 w_1 + ... + x_N w_N

    Vectors of different shapes are a ValueError.
    """
    # BEGIN SOLUTION
    if x.shape != w.shape:
        raise ValueError(f"dot: shapes {x.shape} and {w.shape} differ")
    return float(x @ w)
    # END SOLUTION
'''
# Step 3: its suites, through `impl` (and `ref` in the hidden one).
PUBLIC = '''"""Public tests of the toy exercise dot."""

import numpy as np

from grader.suites.checks import assert_close, expect_value_error


def test_dot_by_hand(impl) -> None:
    assert_close(impl.dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])), 11.0, "dot([1, 2], [3, 4])")


def test_dot_refuses_shapes_that_differ(impl) -> None:
    with expect_value_error("dot(ones(2), ones(3))"):
        impl.dot(np.ones(2), np.ones(3))
'''
HIDDEN = '''"""Hidden tests of the toy exercise dot."""

import numpy as np
import pytest

from grader.suites.checks import assert_close


@pytest.mark.weight(2)
def test_dot_matches_reference(impl, ref) -> None:
    x, w = np.random.default_rng(0).standard_normal((2, 50))
    assert_close(impl.dot(x, w), ref.dot(x, w), "dot(random x, w)")
'''


def tracked_files(root: Path) -> list[str]:
    """The kit's files as git sees them (tracked, and new ones not ignored): no venv, no caches."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, text=True,
    )
    if listed.returncode != 0:
        pytest.skip(f"the kit is not a git checkout here: {listed.stderr.strip()}")
    return [name for name in listed.stdout.split("\0") if name]


def copy_kit(dest: Path) -> None:
    for name in tracked_files(ROOT):
        source = ROOT / name
        if source.is_file():  # not a file deleted and not yet committed
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name, follow_symlinks=False)


def add_record(kit_py: Path) -> None:
    text = kit_py.read_text()
    records = re.search(r"^RECORDS: .*?^\)\n", text, re.MULTILINE | re.DOTALL)
    assert records, "grader/kit.py: no `RECORDS: ... = (` ... `)` block to add the record to"
    end = records.end() - len(")\n")
    kit_py.write_text(text[:end] + RECORD + text[end:])


def rebalance_rubric(rubric: Path) -> None:
    """The toy's points, taken from the exercise with the most, so the total stays 100."""
    points = dict(load_rubric(rubric).points)
    points[max(points, key=lambda name: points[name])] -= POINTS
    points[NAME] = POINTS
    rubric.write_text("[points]\n" + "".join(f"{n} = {v:g}\n" for n, v in points.items()))


def copy_env(kit: Path) -> dict[str, str]:
    """This environment, with the copy first on the path: its grader is the one imported."""
    path = os.pathsep.join([str(kit), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "PYTHONPATH": path}


def grade(kit: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m grader.cli ARGS` in the copy, with the copy's grader."""
    done = subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=kit,
                          env=copy_env(kit), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"grade {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


def points_of(data: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {e["name"]: (e["score"], e["max_score"]) for e in data["exercises"]}


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the kit with the toy exercise added by the recipe, generated files made."""
    copy = tmp_path_factory.mktemp("kit")
    copy_kit(copy)
    add_record(copy / "grader" / "kit.py")
    (copy / "solutions" / f"{NAME}.py").write_text(SOLUTION)
    (copy / "tests" / "public" / f"test_{NAME}.py").write_text(PUBLIC)
    (copy / "tests" / "hidden" / f"test_{NAME}.py").write_text(HIDDEN)
    rebalance_rubric(copy / RUBRIC)
    for command in ("stubs", "manifest", "notebooks"):
        grade(copy, command)
    return copy


def test_the_generated_files_include_the_toy(kit: Path) -> None:
    stub = (kit / "exercises" / f"{NAME}.py").read_text()
    assert f'raise NotImplementedError("{NAME}: dot is not implemented yet")' in stub
    assert "x @ w" not in stub
    manifest = json.loads((kit / "tests" / "manifest.json").read_text())
    assert {(t["visibility"], t["weight"]) for t in manifest if t["exercise"] == NAME} == {
        ("public", 1), ("hidden", 2)}
    notebook = (kit / "notebooks" / f"{NAME}.ipynb").read_text()
    assert f"# Exercise {len(EXERCISES) + 1}: {NAME}" in notebook
    assert "A Python loop over the elements is slow" in notebook


def test_the_gradebook_and_the_time_limits_count_the_toy(kit: Path) -> None:
    total, *columns = subprocess.run(
        [sys.executable, "-c", "from grader.cohort.gradebook import COLUMNS\n"
         "from grader.sandbox.limits import Limits\n"
         "print(Limits().total_timeout_s, *COLUMNS)"],
        cwd=kit, env=copy_env(kit), capture_output=True, text=True, check=True,
    ).stdout.split()
    assert columns[1:len(EXERCISES) + 3] == [*EXERCISES, NAME, "total"]
    assert float(total) == 40.0 * (len(EXERCISES) + 1)  # the toy brings its own 40 s


def test_the_reference_gets_full_marks_with_the_toy(kit: Path) -> None:
    done = grade(kit, "--reference", "--json", "out.json")
    data = json.loads((kit / "out.json").read_text())
    assert list(points_of(data)) == [*EXERCISES, NAME]
    assert points_of(data)[NAME] == (POINTS, POINTS)
    toy = [t for t in data["tests"] if t["exercise"] == NAME]
    assert {t["visibility"] for t in toy} == {"public", "hidden"}
    assert all(t["outcome"] == "passed" for t in toy), toy
    assert data["score"] == data["max_score"] == 100.0
    assert "100.00 / 100.00" in done.stdout


def test_the_toys_stub_scores_zero(kit: Path) -> None:
    grade(kit, "--exercise", NAME, "--json", "stub.json")  # the copy's exercises/, its stubs
    data = json.loads((kit / "stub.json").read_text())
    assert points_of(data) == {NAME: (0.0, POINTS)}
    toy = [t for t in data["tests"] if t["exercise"] == NAME]
    assert toy and all("dot: dot is not implemented yet" in t["message"] for t in toy), toy
