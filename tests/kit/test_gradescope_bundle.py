"""The Gradescope bundle: its layout, and its run_autograder run in a stand-in /autograder tree."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from grader.cli import main
from grader.cohort.gradescope_bundle import (
    TORCH_CPU_INDEX,
    BundleError,
    build_bundle,
    installed_versions,
    kit_dependencies,
    pick_submission,
    setup_script,
)
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
    assert names[:3] == ["setup.sh", "run_autograder", "constraints.txt"]
    for needed in ("kit/pyproject.toml", "kit/grader/cli/grade.py",
                   "kit/grader/cohort/gradescope_bundle.py",
                   "kit/tests/manifest.json", "kit/tests/rubric.toml",
                   *(f"kit/solutions/{e}.py" for e in EXERCISES),
                   *(f"kit/tests/hidden/test_{e}.py" for e in EXERCISES)):
        assert needed in names, needed
    assert not [n for n in names if n.startswith("kit/tests/kit/") or "__pycache__" in n]
    assert all(modes[name] & stat.S_IXUSR for name in ("setup.sh", "run_autograder"))
    assert not modes["constraints.txt"] & stat.S_IXUSR


def test_scripts_are_valid_bash(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        archive.extract("setup.sh", tmp_path)
        archive.extract("run_autograder", tmp_path)
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stderr


def read_member(bundle: Path, name: str) -> str:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(name).decode()


def pins(constraints: str) -> dict[str, str]:
    """{package: version} of constraints.txt, each line checked to be one `==` pin."""
    found = {}
    for line in constraints.splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            assert specifier.operator == "==" and not requirement.marker, line
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def test_setup_installs_the_kit_with_the_pins_and_torch_from_the_cpu_index(bundle: Path) -> None:
    setup = read_member(bundle, "setup.sh")
    install = re.search(r'^"\$ROOT/venv/bin/python" -m pip install (.*?-e "\$SOURCE/kit")$',
                        setup.replace("\\\n", ""), flags=re.MULTILINE)
    assert install, setup
    assert '-c "$SOURCE/constraints.txt"' in install[1]
    assert f'--extra-index-url "{TORCH_CPU_INDEX}"' in install[1]
    # PyTorch's index is the only one named: the default index stays the default for the rest.
    assert re.findall(r"https?://[^\s\"]+", setup) == [TORCH_CPU_INDEX]
    assert "--index-url" not in setup
    assert '--extra-index-url "https://mirror.example/cpu"' in setup_script(
        "https://mirror.example/cpu")


def test_the_cli_takes_the_torch_index_from_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope-bundle", str(out)],
                                env={"KIT_TORCH_INDEX": "https://mirror.example/cpu"})
    assert result.exit_code == 0, result.output
    assert '--extra-index-url "https://mirror.example/cpu"' in read_member(out, "setup.sh")


def test_constraints_pin_every_dependency_at_its_version_here(bundle: Path) -> None:
    pinned = pins(read_member(bundle, "constraints.txt"))
    for dependency in kit_dependencies(ROOT):
        assert canonicalize_name(Requirement(dependency).name) in pinned, dependency
    for name, version in pinned.items():
        installed = metadata.version(name)
        if name == "torch":  # the release tested here, in the CPU build Gradescope needs
            assert (Version(version).public, Version(version).local) == (
                Version(installed).public, "cpu")
        else:
            assert version == installed, name


def test_constraints_pin_the_dependencies_of_the_dependencies(bundle: Path) -> None:
    pinned = pins(read_member(bundle, "constraints.txt"))
    assert {"pytest-metadata", "pluggy", "jsonschema", "sympy"} <= set(pinned)
    for name in pinned:
        for line in metadata.requires(name) or []:
            needed = Requirement(line)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                assert canonicalize_name(needed.name) in pinned, f"{name} needs {line}"


def test_a_package_that_is_not_installed_cannot_be_pinned() -> None:
    with pytest.raises(BundleError, match="no-such-package-dlkit is not installed here"):
        installed_versions(["numpy", "no-such-package-dlkit>=1"])


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
