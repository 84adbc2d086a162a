"""The grade command's calls, outputs and exit statuses (no suite run: see test_grading.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from grader.cli import main
from grader.grading.manifest import MANIFEST
from grader.kit import EXERCISES, kit_root

SOLUTION = '''"""Activations."""
import numpy as np


def relu(z):
    """max(z, 0)."""
    # BEGIN SOLUTION
    return np.maximum(z, 0)
    # END SOLUTION
'''


def grade(*args: str, kit: Path | None = None) -> Result:
    """`grade ARGS`, on this kit or on the copy `kit`."""
    return CliRunner().invoke(main, list(args), obj=kit)


def one_line_error(result: Result) -> str:
    """The whole output of a refused call: exit status 2 and one line, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def passing_report() -> dict[str, Any]:
    """A pytest-json-report report where every test of the kit's manifest passed."""
    ok = {"outcome": "passed"}
    entries = json.loads((kit_root() / MANIFEST).read_text())
    return {"duration": 1.5, "tests": [
        {"nodeid": e["id"], "outcome": "passed", "setup": ok, "call": ok, "teardown": ok}
        for e in entries
    ]}


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(passing_report()))
    return path


def test_report_scores_a_saved_report(report_file: Path, tmp_path: Path) -> None:
    result = grade("report", str(report_file), "--json", str(tmp_path / "out" / "result.json"),
                   "--gradescope", str(tmp_path / "results.json"))
    assert result.exit_code == 0, result.output
    assert "100.00 / 100.00" in result.output
    written = json.loads((tmp_path / "out" / "result.json").read_text())
    assert (written["score"], written["max_score"]) == (100.0, 100.0)
    assert [e["name"] for e in written["exercises"]] == list(EXERCISES)
    gradescope = json.loads((tmp_path / "results.json").read_text())
    assert gradescope["score"] == 100.0 and gradescope["execution_time"] == 2


def test_report_of_one_exercise(report_file: Path, tmp_path: Path) -> None:
    result = grade("report", str(report_file), "--exercise", "losses",
                   "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "r.json").read_text())
    assert [e["name"] for e in written["exercises"]] == ["losses"]
    assert {t["exercise"] for t in written["tests"]} == {"losses"}


def test_report_of_an_empty_run_scores_zero_and_still_exits_0(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text('{"tests": []}')
    result = grade("report", str(tmp_path / "empty.json"))
    assert result.exit_code == 0 and "0.00 / 100.00" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("{oops", "is not JSON"), ('{"tests": 7}', "not a pytest-json-report")],
    ids=["missing", "not-json", "not-a-report"],
)
def test_report_refuses_what_is_no_report(content: str | None, message: str,
                                          tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    assert message in one_line_error(grade("report", str(path)))


def test_an_unknown_exercise_is_a_bad_call_naming_the_valid_ones() -> None:
    line = one_line_error(grade("--exercise", "lossses"))
    assert "lossses" in line and all(name in line for name in EXERCISES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--submission", "no/such/path"], "does not exist"),
        (["--submission", "pyproject.toml"], "is not a submission"),
        (["--submission", "exercises", "--reference"], "not both"),
        (["--no-such-option"], "No such option"),
        (["-v", "report", "r.json"], "put options after the subcommand"),
        (["frobnicate"], "No such command"),
    ],
    ids=["missing-path", "not-a-submission", "both-sources", "unknown-option", "option-order",
         "unknown-command"],
)
def test_bad_calls_exit_2_with_one_line(args: list[str], message: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(kit_root())
    assert message in one_line_error(grade(*args))


def test_reference_without_solutions_says_so(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no solutions/" in one_line_error(grade("--reference", kit=tmp_path))


def test_grade_outside_a_checkout_says_where_to_run_it(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "no exercises/ here" in one_line_error(grade())


def test_version() -> None:
    result = grade("--version")
    assert result.exit_code == 0 and result.output.startswith("grade, version ")


def test_stubs_check_then_regenerate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    (tmp_path / "solutions" / "activations.py").write_text(SOLUTION)
    stale = grade("stubs", "--check", kit=tmp_path)
    assert stale.exit_code == 1 and "run `grade stubs`" in stale.output
    assert grade("stubs", kit=tmp_path).output.strip() == "rewrote activations.py"
    assert "NotImplementedError" in (tmp_path / "exercises" / "activations.py").read_text()
    assert grade("stubs", "--check", kit=tmp_path).exit_code == 0


def test_stubs_need_solutions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no solutions/" in one_line_error(grade("stubs", kit=tmp_path))


def test_doctor_reports_versions_and_a_fix_for_each_problem() -> None:
    result = grade("doctor")
    assert result.exit_code in (0, 1), result.output
    names = [line.split()[1] for line in result.output.splitlines() if not line.startswith(" ")]
    for name in ("Python", "NumPy", "PyTorch", "CUDA", "kit", "exercises", "suites", "manifest"):
        assert name in names, result.output
    lines = result.output.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("PROBLEM"):
            assert lines[number + 1].split()[0] == "fix:", result.output
    assert result.exit_code == (1 if any(x.startswith("PROBLEM") for x in lines) else 0)


def readme_commands() -> list[str]:
    """The command lines of the README's bash blocks."""
    text = (kit_root() / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_readme_command_is_run_by_ci() -> None:
    ci = (kit_root() / ".ci" / "run").read_text()
    commands = readme_commands()
    assert "pytest" in commands and any(c.startswith("pip install") for c in commands)
    # A whole command: at a line's start, after `&&` or `(`; then the line's end, `)` or `|`.
    missing = [c for c in commands
               if not re.search(rf"(^|&& |\()\s*{re.escape(c)}\s*($|\)|\|)", ci, re.MULTILINE)]
    assert not missing, f"README commands that .ci/run does not run: {missing}"
