"""End to end: grade runs the real suites in a child pytest and scores what it reports.

The reference gets full marks, the stubs get zero, a broken or missing exercise file costs only
its exercise, a student's copy (no hidden tests) says who runs them, and a run that hits its
time limit keeps the tests it finished.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import nbformat
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.grading.runner import (
    pytest_command,
    pytest_env,
    pytest_launcher,
    run_suites,
    shards,
    suite_files,
)
from grader.grading.scoring import DID_NOT_FINISH
from grader.kit import EXERCISES, kit_root

ROOT = kit_root()
WITH_SUITES = [e for e in EXERCISES if suite_files(ROOT, [e])]


def grade_json(tmp_path: Path, *args: str, kit: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Run grade with `args` (on the kit copy `kit`, if given); return its output and its
    result JSON."""
    target = tmp_path / "result.json"
    result = CliRunner().invoke(main, [*args, "--json", str(target)], obj=kit)
    assert result.exit_code == 0, result.output
    return result.output, json.loads(target.read_text())


def points(data: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {e["name"]: (e["score"], e["max_score"]) for e in data["exercises"]}


def test_reference_gets_full_marks(tmp_path: Path) -> None:
    output, data = grade_json(tmp_path, "--reference")
    failing = [f"{t['id']}: {t['message']}" for t in data["tests"]
               if t["outcome"] not in ("passed", "skipped")]
    assert not failing, "\n".join(failing)
    assert [e["name"] for e in data["exercises"]] == WITH_SUITES
    assert data["score"] == data["max_score"]
    if list(EXERCISES) == WITH_SUITES:
        assert data["score"] == 100.0 and "100.00 / 100.00" in output


def test_stubs_of_the_checkout_get_zero_and_grade_still_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    _, data = grade_json(tmp_path)
    passing = [t["id"] for t in data["tests"] if t["outcome"] == "passed"]
    assert not passing, f"these tests pass on the stubs: {passing}"
    assert data["score"] == 0.0 and data["max_score"] > 0


def test_exercise_option_grades_only_that_exercise(tmp_path: Path) -> None:
    _, data = grade_json(tmp_path, "--reference", "--exercise", "losses")
    assert list(points(data)) == ["losses"]
    assert {t["exercise"] for t in data["tests"]} == {"losses"}
    assert data["score"] == data["max_score"] == 20.0


def test_a_broken_or_missing_file_costs_only_its_exercise(tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", submission, ignore=shutil.ignore_patterns("__pycache__"))
    (submission / "losses.py").write_text("def mse(pred, target) return 0\n")
    (submission / "perceptron.py").unlink()
    output, data = grade_json(tmp_path, "--submission", str(submission), "--exercise",
                              "activations", "--exercise", "losses", "--exercise", "perceptron")
    scores = points(data)
    assert list(scores) == ["activations", "losses", "perceptron"]
    assert scores["activations"] == (15.0, 15.0)
    assert scores["losses"][0] == 0.0 and scores["perceptron"][0] == 0.0
    assert "losses.py does not compile" in output
    assert "perceptron.py is missing" in output


def test_verbose_shows_what_a_failing_submission_printed_and_cannot_be_forged(
    tmp_path: Path,
) -> None:
    submission = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", submission, ignore=shutil.ignore_patterns("__pycache__"))
    with (submission / "activations.py").open("a") as source:
        source.write(
            "\n_right_relu = relu\n\n"
            "def relu(z):\n"
            "    print('\\x1b[32mPASSED 100/100\\x1b[0m\\x1b]0;owned\\x07\\x1b[2K')\n"
            "    for i in range(20):\n"
            "        print('debug', i)\n"
            "    return _right_relu(z) + 1\n"
        )
    result = CliRunner().invoke(main, ["--submission", str(submission), "--exercise",
                                       "activations", "-v"], color=True)
    assert result.exit_code == 0, result.output
    for sequence in ("\x1b[32mPASSED", "\x1b]0;", "\x1b[2K"):
        assert sequence not in result.output
    lines = click.unstyle(result.output).splitlines()
    assert "      | PASSED 100/100" in lines
    assert not any(line.startswith("PASSED") for line in lines)
    start = lines.index("      | PASSED 100/100")
    assert lines[start + 1:start + 10] == [f"      | debug {i}" for i in range(9)]
    assert lines[start + 10].startswith("      [cut to 10 lines / 1000 characters: ")


def test_a_notebook_of_the_reference_gets_full_marks(tmp_path: Path) -> None:
    cells = [
        nbformat.v4.new_code_cell((ROOT / "solutions" / f"{name}.py").read_text(),
                                  metadata={"tags": [f"exercise:{name}"]})
        for name in ("activations", "losses")
    ]
    path = tmp_path / "week1.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    _, data = grade_json(tmp_path, "--submission", str(path), "--exercise", "activations",
                         "--exercise", "losses")
    assert points(data) == {"activations": (15.0, 15.0), "losses": (20.0, 20.0)}


def test_a_students_copy_grades_the_public_tests_and_names_the_hidden_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "copy"
    (copy / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", copy)
    shutil.copytree(ROOT / "exercises", copy / "exercises")
    shutil.copytree(ROOT / "tests" / "public", copy / "tests" / "public",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("manifest.json", "rubric.toml"):
        shutil.copy(ROOT / "tests" / name, copy / "tests")
    monkeypatch.chdir(copy)
    output, data = grade_json(tmp_path, "--exercise", "activations", kit=copy)
    assert {t["visibility"] for t in data["tests"]} == {"public"}
    assert data["score"] == 0.0 and 0 < data["max_score"] < 15.0
    assert "your instructor runs them" in output


@pytest.mark.parametrize("forked", [False, True], ids=["process", "forked"])
def test_a_run_past_its_time_limit_keeps_the_tests_it_finished(
    tmp_path: Path, forked: bool
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "-p grader.suites.plugin"\n'
    )
    (tmp_path / "tests" / "public").mkdir(parents=True)
    (tmp_path / "tests" / "public" / "test_losses.py").write_text(
        "import time\n\n"
        "def test_quick(impl):\n    assert impl.mse() == 0\n\n"
        "def test_hangs(impl):\n    time.sleep(600)\n\n"
        "def test_never_reached(impl):\n    pass\n"
    )
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "losses.py").write_text("def mse():\n    return 0\n")
    run = run_suites(tmp_path, tmp_path / "impl", ["losses"], timeout=6, forked=forked)
    assert run.timed_out and "1 passed" in run.output
    outcomes = {t["nodeid"].rsplit("::", 1)[1]: t for t in run.report["tests"]}
    assert outcomes["test_quick"]["call"]["outcome"] == "passed"
    assert "test_never_reached" not in outcomes
    from grader.grading.scoring import outcome_of

    assert outcome_of(outcomes["test_hangs"])[1] == DID_NOT_FINISH


def test_the_child_reads_the_kits_configuration_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p evil")
    monkeypatch.setenv("PYTEST_PLUGINS", "evil")
    env = pytest_env()
    assert "PYTEST_ADDOPTS" not in env and "PYTEST_PLUGINS" not in env
    assert env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
    files = suite_files(ROOT, ["losses"])
    command = pytest_command(ROOT, Path("/staged"), files, Path("/private/report.json"))
    assert command[:len(pytest_launcher())] == pytest_launcher()
    command = command[len(pytest_launcher()):]  # pytest's own arguments
    assert command[command.index("-c") + 1] == str(ROOT / "pyproject.toml")
    assert command[command.index("--rootdir") + 1] == str(ROOT)
    assert command[command.index("--impl") + 1] == str(Path("/staged"))
    assert command[-len(files):] == [str(f) for f in files]
    assert all("losses" in Path(f).name for f in command[-len(files):])


def test_pytorchs_exercise_runs_beside_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert shards(EXERCISES) == [list(EXERCISES[:-1]), ["matmul"]]
    assert shards(["losses", "sgd"]) == [["losses", "sgd"]]
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert shards(EXERCISES) == [list(EXERCISES)]
