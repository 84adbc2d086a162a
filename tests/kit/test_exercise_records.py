"""The exercises' records (grader.kit.RECORDS) agree with the reference, and every file that
stays per exercise outside them (the rubric, the solutions, stubs, notebooks, suites, mutants)
has an entry for each exercise and none for a name that is no exercise."""

from __future__ import annotations

import ast
import sys

import pytest

from grader.cli import main
from grader.grading.rubric import RUBRIC, load_rubric
from grader.grading.runner import DEFAULT_TIMEOUT_S
from grader.kit import (
    EXERCISES,
    RECORDS,
    UPDATES_IN_PLACE,
    VISIBILITIES,
    exercise_of_test_file,
    exercise_record,
    kit_root,
)
from grader.sandbox.limits import Limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest depends on tomli there.
    import tomli as tomllib

ROOT = kit_root()
# The notebook of no exercise (grader/authoring/capstone.py).
CAPSTONE = "capstone"


def reference_tree(name: str) -> ast.Module:
    return ast.parse((ROOT / "solutions" / f"{name}.py").read_text())


def test_positions_number_the_exercises_in_teaching_order() -> None:
    names = [r.name for r in RECORDS]
    assert len(set(names)) == len(names), f"two records share a name: {names}"
    assert all(name.isidentifier() for name in names), names
    positions = sorted(r.position for r in RECORDS)
    assert positions == list(range(1, len(RECORDS) + 1)), (
        f"positions must be 1..{len(RECORDS)}, each once: {positions}")
    assert [exercise_record(name).position for name in EXERCISES] == positions


def test_an_unknown_name_has_no_record() -> None:
    with pytest.raises(KeyError, match="lossses"):
        exercise_record("lossses")


@pytest.mark.parametrize("name", EXERCISES)
def test_every_exercise_states_its_trap(name: str) -> None:
    trap = exercise_record(name).trap
    assert trap.strip() and trap.rstrip().endswith("."), f"{name}: {trap!r}"


@pytest.mark.parametrize("name", EXERCISES)
def test_needs_torch_is_whether_the_reference_imports_it(name: str) -> None:
    imports = {
        alias.name.split(".")[0]
        for node in ast.walk(reference_tree(name)) if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(reference_tree(name)) if isinstance(node, ast.ImportFrom)
    }
    assert exercise_record(name).needs_torch == ("torch" in imports)


def test_in_place_updates_name_methods_of_the_reference() -> None:
    assert ("sgd", "SGD", "step") in UPDATES_IN_PLACE  # the contract's SGD.step
    for exercise, class_name, method in UPDATES_IN_PLACE:
        classes = {node.name: node for node in reference_tree(exercise).body
                   if isinstance(node, ast.ClassDef)}
        assert class_name in classes, f"solutions/{exercise}.py has no class {class_name}"
        methods = {node.name for node in classes[class_name].body
                   if isinstance(node, ast.FunctionDef)}
        assert method in methods, f"{exercise}: {class_name} has no method {method}"


def test_the_rubric_gives_points_to_exactly_the_exercises() -> None:
    points = tomllib.loads((ROOT / RUBRIC).read_text())["points"]
    assert sorted(points) == sorted(EXERCISES), (
        f"{RUBRIC}: missing {sorted(set(EXERCISES) - set(points))}, "
        f"not exercises {sorted(set(points) - set(EXERCISES))}")
    assert load_rubric(ROOT / RUBRIC).total == 100


def test_every_exercise_has_its_files() -> None:
    wanted = [
        *(f"solutions/{name}.py" for name in EXERCISES),
        *(f"exercises/{name}.py" for name in EXERCISES),
        *(f"notebooks/{name}.ipynb" for name in EXERCISES),
        *(f"tests/public/test_{name}.py" for name in EXERCISES),
        *(f"tests/hidden/test_{name}.py" for name in EXERCISES),
        *(f"tests/kit/mutants/{name}.py" for name in EXERCISES),
        *(f"tests/kit/test_reference_{name}.py" for name in EXERCISES),
    ]
    missing = [path for path in wanted if not (ROOT / path).is_file()]
    assert not missing, f"missing {missing}: see 'Adding an exercise' in docs/architecture.md"


def test_no_file_is_named_after_a_name_that_is_no_exercise() -> None:
    def strays(pattern: str, prefix: str = "", others: tuple[str, ...] = ()) -> list[str]:
        return [str(path.relative_to(ROOT)) for path in sorted(ROOT.glob(pattern))
                if path.name not in others and path.stem.removeprefix(prefix) not in EXERCISES]

    found = [
        *strays("solutions/*.py", others=("__init__.py",)),
        *strays("exercises/*.py", others=("__init__.py",)),
        *strays("notebooks/*.ipynb", others=(f"{CAPSTONE}.ipynb",)),
        *strays("tests/kit/mutants/*.py"),
        *strays("tests/kit/test_reference_*.py", prefix="test_reference_"),
        # A suite file belongs to the exercise its name starts with: test_<exercise>[_topic].py.
        *(str(path.relative_to(ROOT)) for path in sorted(ROOT.glob("tests/*/test_*.py"))
          if path.parent.name in VISIBILITIES and exercise_of_test_file(path) is None),
    ]
    assert not found, f"files of no exercise (a record missing in grader/kit.py?): {found}"


def test_the_submissions_time_is_every_exercises_and_fits_in_a_whole_run() -> None:
    limits = Limits()
    assert limits.total_timeout_s == len(EXERCISES) * limits.exercise_timeout_s
    defaults = {command.name: param.default
                for command in (main, *main.commands.values())
                for param in command.params if param.name == "timeout"}
    assert defaults and all(d == DEFAULT_TIMEOUT_S for d in defaults.values()), defaults
    assert limits.total_timeout_s < DEFAULT_TIMEOUT_S, (
        f"{len(EXERCISES)} exercises x {limits.exercise_timeout_s:g} s do not fit in a whole "
        f"run's {DEFAULT_TIMEOUT_S:g} s: raise the runner's DEFAULT_TIMEOUT_S and grade's "
        "--timeout default, or lower exercise_timeout_s (grader/sandbox/limits.py)")
