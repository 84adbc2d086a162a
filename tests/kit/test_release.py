"""The student release holds no answer and no hidden test, installs, and grades.

Installing: a fresh venv that sees this interpreter's site-packages through a .pth file (so
torch is not installed again), then `pip install --no-deps -e <release>`: no network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.authoring.release import release_leaks
from grader.cli.authoring import release as release_command
from grader.kit import EXERCISES, kit_root

ROOT = kit_root()


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "student"
    result = CliRunner().invoke(release_command, [str(out)])
    assert result.exit_code == 0, result.output
    return out


def fenced_bodies() -> list[list[str]]:
    """The code inside each solution fence of more than one line, as stripped lines."""
    bodies = []
    for name in EXERCISES:
        text = (ROOT / "solutions" / f"{name}.py").read_text()
        for body in re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", text, re.DOTALL):
            lines = [line.strip() for line in body.splitlines() if line.strip()]
            if len(lines) > 1:
                bodies.append(lines)
    return bodies


def contains_run(lines: list[str], run: list[str]) -> bool:
    return any(lines[i : i + len(run)] == run for i, line in enumerate(lines) if line == run[0])


def test_release_has_the_students_layout(release: Path) -> None:
    for path in ["README.md", "pyproject.toml", ".github/workflows/grade.yml",
                 "tests/rubric.toml", "tests/manifest.json", "grader/cli/grade.py",
                 "notebooks/capstone.ipynb", "exercises/__init__.py"]:
        assert (release / path).is_file(), path
    for name in EXERCISES:
        assert (release / "exercises" / f"{name}.py").read_text() == (
            ROOT / "exercises" / f"{name}.py"
        ).read_text()
        assert (release / "notebooks" / f"{name}.ipynb").is_file()
    assert 'testpaths = ["tests/public"]' in (release / "pyproject.toml").read_text()
    workflow = (release / ".github" / "workflows" / "grade.yml").read_text()
    assert "on: push" in workflow and "grade --json" in workflow


def test_release_holds_no_trace_of_solutions_or_hidden_tests(release: Path) -> None:
    for folder in ["solutions", "tests/hidden", "tests/kit"]:
        assert not (release / folder).exists(), folder
    assert release_leaks(release, ROOT) == []
    # Independently of release_leaks: no answer's code, as written in solutions/, anywhere.
    bodies = fenced_bodies()
    assert bodies
    for path in (p for p in release.rglob("*") if p.is_file()):
        text = path.read_text()
        if path.suffix == ".ipynb":
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        leaked = [body[0] for body in bodies if contains_run(lines, body)]
        assert not leaked, f"{path.relative_to(release)} holds solution code: {leaked[:3]}"


def test_release_manifest_names_no_hidden_test(release: Path) -> None:
    entries = json.loads((release / "tests" / "manifest.json").read_text())
    hidden = [e for e in entries if e["visibility"] == "hidden"]
    assert all(e["id"].startswith("tests/public/") for e in entries if e not in hidden)
    assert [e["id"] for e in hidden] == [f"hidden::{e['exercise']}" for e in hidden]
    kit = json.loads((ROOT / "tests" / "manifest.json").read_text())
    for name in EXERCISES:  # the hidden weight is kept, so public points match the kit's
        assert sum(e["weight"] for e in entries if e["exercise"] == name) == pytest.approx(
            sum(e["weight"] for e in kit if e["exercise"] == name)
        )


def test_release_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("")
    result = CliRunner().invoke(release_command, [str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.output


def fresh_venv(folder: Path) -> Path:
    """A venv whose python also sees this interpreter's packages (numpy, torch, pytest...)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True)
    Path(purelib.stdout.strip(), "_kit_base.pth").write_text(sysconfig.get_paths()["purelib"])
    return python


def start_grade(python: Path, checkout: Path, *args: str) -> subprocess.Popen[str]:
    """The venv's `grade`, run in `checkout` (its exercises/ are graded)."""
    script = python.parent / ("grade.exe" if os.name == "nt" else "grade")
    return subprocess.Popen([str(script), *args], cwd=checkout, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(run: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = run.communicate(timeout=600)
    return run.returncode, stdout, stderr


def test_release_installs_in_a_fresh_venv_and_grades(release: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "-e", str(release)], env=env, check=True)
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(release)

    # A student's clone of the release, with the reference copied into its exercises/, graded
    # by the installed grade while the release itself (the stubs) is graded alongside.
    solved = Path(shutil.copytree(release, tmp_path / "solved"))
    for name in EXERCISES:
        shutil.copyfile(ROOT / "solutions" / f"{name}.py", solved / "exercises" / f"{name}.py")
    stubs_run = start_grade(python, release, "--json", str(tmp_path / "stubs.json"))
    solved_run = start_grade(python, solved, "--json", str(tmp_path / "solved.json"))

    code, stdout, stderr = finish(stubs_run)
    assert code == 0, stdout + stderr
    result = json.loads((tmp_path / "stubs.json").read_text())
    assert result["score"] == 0 and result["max_score"] > 0
    assert {t["visibility"] for t in result["tests"]} == {"public"}
    assert "instructor" in stdout  # who runs the hidden tests

    code, stdout, stderr = finish(solved_run)
    assert code == 0, stdout + stderr
    result = json.loads((tmp_path / "solved.json").read_text())
    assert result["score"] == result["max_score"] > 0, stdout

    code, stdout, stderr = finish(start_grade(python, release, "--reference"))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and "no solutions/" in stderr
