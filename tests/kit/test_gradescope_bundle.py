"""The Gradescope bundle: its layout, and its run_autograder run in a stand-in /autograder tree."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.cohort.gradescope_bundle import build_bundle, pick_submission, setup_script
from grader.grading.rubric import RUBRIC, load_rubric
from grader.kit import EXERCISES, kit_root

ROOT = kit_root()
# Gradescope's results.json: the keys and values its autograder specification allows.
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    build_bundle(ROOT, out)
    return out


def test_layout(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert names[:2] == ["setup.sh", "run_autograder"]
    for needed in ("kit/pyproject.toml", "kit/grader/cli/grade.py",
                   "kit/grader/cohort/gradescope_bundle.py",
                   "kit/tests/manifest.json", "kit/tests/rubric.toml",
                   *(f"kit/solutions/{e}.py" for e in EXERCISES),
                   *(f"kit/tests/hidden/test_{e}.py" for e in EXERCISES)):
        assert needed in names, needed
    assert not [n for n in names if n.startswith("kit/tests/kit/") or "__pycache__" in n]
    assert all(modes[name] & stat.S_IXUSR for name in ("setup.sh", "run_autograder"))


def test_scripts_are_valid_bash(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        archive.extract("setup.sh", tmp_path)
        archive.extract("run_autograder", tmp_path)
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stderr


def test_setup_installs_the_kit_and_optionally_torch_from_an_index() -> None:
    plain = setup_script(None)
    assert 'pip install -q -e "$SOURCE/kit"' in plain and "index-url" not in plain
    assert '--index-url "https://wheels.example/cpu"' in setup_script("https://wheels.example/cpu")


def test_pick_submission(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "losses.py").write_text("")
    assert pick_submission(tmp_path / "files") == tmp_path / "files"
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "week1.ipynb").write_text("{}")
    (tmp_path / "nb" / "notes.md").write_text("")
    assert pick_submission(tmp_path / "nb") == tmp_path / "nb" / "week1.ipynb"
    (tmp_path / "unpacked" / "dlkit" / "exercises").mkdir(parents=True)
    assert pick_submission(tmp_path / "unpacked") == tmp_path / "unpacked" / "dlkit"


def stand_in_tree(bundle: Path, root: Path, submission: dict[str, str]) -> Path:
    """/autograder as Gradescope lays it out: source/ (the bundle), run_autograder, submission/."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, text in submission.items():
        (root / "submission" / name).write_text(text)
    return root


def run_autograder(root: Path) -> dict[str, Any]:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "KIT_PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)  # the bundle's own kit, not this checkout, must do the grading
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def assert_valid_results(data: dict[str, Any]) -> None:
    assert isinstance(data["score"], int | float)
    assert isinstance(data["execution_time"], int) and isinstance(data["output"], str)
    assert data["visibility"] in VISIBILITIES and data["stdout_visibility"] in VISIBILITIES
    for test in data["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES


def test_run_autograder_grades_a_submission(bundle: Path, tmp_path: Path) -> None:
    solutions = {f"{e}.py": (ROOT / "solutions" / f"{e}.py").read_text() for e in EXERCISES}
    data = run_autograder(stand_in_tree(bundle, tmp_path, solutions))
    assert_valid_results(data)
    assert data["tests"], "no test was reported"
    assert [t["name"] for t in data["tests"] if t["status"] != "passed"] == []
    assert data["score"] == load_rubric(ROOT / RUBRIC).total
    hidden = [t for t in data["tests"] if t["name"].endswith(" (hidden)")]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)


def test_run_autograder_explains_a_refusal(bundle: Path, tmp_path: Path) -> None:
    data = run_autograder(stand_in_tree(bundle, tmp_path, {"answers.txt": "42"}))
    assert_valid_results(data)
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"].startswith("Your submission was refused: ")
