"""Feedback a student can act on, end to end: where a failure comes from, and Gradescope rows.

Two tests grade for real (the `grade` command runs the suites); the batch's feedback is checked
with the suites' report stood in for, since grading itself is tested in test_grading.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.cohort.batch import feedback_text
from grader.grading import pipeline
from grader.grading.pipeline import grade_submission, load_setup
from grader.grading.runner import Run
from grader.grading.submission import stage_submission
from grader.kit import kit_root

ROOT = kit_root()
SAFE_SIGMOID = ("    e = np.exp(-np.abs(z))\n"
                "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))")
NAIVE_SIGMOID = "    return 1 / (1 + np.exp(-z))"  # overflows for z = -1e4


def overflowing_submission(folder: Path) -> Path:
    """The reference, with the textbook sigmoid that overflows."""
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    activations = folder / "activations.py"
    source = activations.read_text()
    assert source.count(SAFE_SIGMOID) == 1
    activations.write_text(source.replace(SAFE_SIGMOID, NAIVE_SIGMOID))
    return folder


def test_grade_says_first_that_backprop_uses_the_failing_activations(tmp_path: Path) -> None:
    submission = overflowing_submission(tmp_path / "submission")
    results = tmp_path / "results.json"
    outcome = CliRunner().invoke(main, [
        "--submission", str(submission), "--exercise", "activations", "--exercise", "backprop",
        "--json", str(tmp_path / "result.json"), "--gradescope", str(results)])
    assert outcome.exit_code == 0, outcome.output
    result = json.loads((tmp_path / "result.json").read_text())
    failing = [t for t in result["tests"] if t["outcome"] not in ("passed", "skipped")]
    activations = sum(t["exercise"] == "activations" for t in failing)
    assert activations and any(t["exercise"] == "backprop" for t in failing), outcome.output
    cause = (f"backprop uses your activations, which fail {activations} tests: "
             "fix those first")
    lines = click.unstyle(outcome.output).splitlines()
    heading = lines.index("backprop", lines.index("Why points were lost (grade -v shows the "
                                                  "full reports):"))
    assert lines[heading + 1] == f"  {cause}", outcome.output
    assert not any("activations uses" in line for line in lines)
    # Gradescope: each failing backprop row says it first (these are hidden rows: all counted).
    rows = [r for r in json.loads(results.read_text())["tests"]
            if r["name"].startswith("backprop:") and r["status"] == "failed"]
    assert rows and all(r["output"].startswith(cause + "\n\n") for r in rows
                        if r["visibility"] == "after_published")


def test_reference_gradescope_rows_are_one_per_test_function(tmp_path: Path) -> None:
    results, result = tmp_path / "results.json", tmp_path / "result.json"
    outcome = CliRunner().invoke(main, ["--reference", "--gradescope", str(results),
                                        "--json", str(result)])
    assert outcome.exit_code == 0, outcome.output
    data, cases = json.loads(results.read_text()), json.loads(result.read_text())["tests"]
    functions = {t["id"].partition("[")[0] for t in cases
                 if not (t["outcome"] == "skipped" and t["max_score"] == 0)}
    assert len(data["tests"]) == len(functions) < len(cases) / 2
    assert data["score"] == 100.0
    assert len({r["name"] for r in data["tests"]}) == len(data["tests"])
    assert all(r["status"] == "passed" and r["output"] == "" for r in data["tests"])
    # The result JSON keeps every case.
    assert len(cases) == len({t["id"] for t in cases}) > len(functions)


def failing_report(ids: list[str], failing: set[str]) -> dict[str, Any]:
    """A pytest-json-report report of `ids` in which those in `failing` failed."""
    def entry(nodeid: str) -> dict[str, Any]:
        if nodeid not in failing:
            ok = {"outcome": "passed"}
            return {"nodeid": nodeid, "outcome": "passed", "setup": ok, "call": ok,
                    "teardown": ok}
        call = {"outcome": "failed", "crash": {"message": "FloatingPointError: overflow"}}
        return {"nodeid": nodeid, "outcome": "failed", "setup": {"outcome": "passed"},
                "call": call}
    return {"tests": [entry(i) for i in ids]}


def test_batch_feedback_says_first_where_failures_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = load_setup(ROOT)
    staged = stage_submission(overflowing_submission(tmp_path / "submission"), tmp_path / "s")
    ids = [t.id for t in setup.manifest.tests]
    failing = {i for i in ids if "sigmoid" in i and "activations" in i} | {
        next(i for i in ids if i.startswith("tests/public/test_backprop.py"))}
    monkeypatch.setattr(pipeline, "run_suites",
                        lambda *args, **kwargs: Run(failing_report(ids, failing)))
    result = grade_submission(setup, staged).result
    feedback = feedback_text("alice", staged.kind, result).splitlines()
    activations = sum("activations" in i for i in failing)
    at = feedback.index("backprop")
    assert feedback[at + 1] == (f"  backprop uses your activations, which fail {activations} "
                                "tests: fix those first")
