"""The pytest side of the kit: how a suite reaches the code under test.

Suites never import `exercises`, `solutions` or a submission. They ask for fixtures:
- `impl`: the implementation under test, for the exercise the test file belongs to
  (`test_<exercise>.py`). Call the contract's functions on it: `impl.sigmoid(z)`. For a test that
  needs several calls to share objects inside the implementation, `impl.run(scenario, *args)`
  calls `scenario(module, *args)` next to the implementation and returns its (plain data) result;
  a scenario is a top-level function that uses only its arguments, `np` and the module.
- `ref`: the reference solution of that exercise (hidden suites only; trusted).

`--impl` chooses what `impl` is: `exercises` (default: the checkout's stubs or a student's work),
`reference` (the solutions), or a path to a folder of exercise files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from grader.kit import exercise_of_test_file, kit_root, visibility_of_test_file
from grader.loading import ExerciseImportError, load_exercise


class InProcessImpl:
    """An exercise module, plus `run` for scenarios. The sandbox swaps in a proxy of this shape."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def run(self, scenario: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return scenario(self._module, *args, **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kit")
    group.addoption(
        "--impl",
        default="exercises",
        help="what the suites test: 'exercises' (default), 'reference', or a folder of exercise files",
    )
    group.addoption(
        "--write-manifest",
        default=None,
        metavar="PATH",
        help="with --collect-only: write the collected suite tests as a manifest (JSON)",
    )


def impl_folder(config: pytest.Config) -> Path:
    choice = config.getoption("--impl")
    if choice == "exercises":
        return config.rootpath / "exercises"
    if choice == "reference":
        return config.rootpath / "solutions"
    return Path(choice).resolve()


def exercise_of(node: pytest.Item) -> str:
    exercise = exercise_of_test_file(Path(node.path))
    if exercise is None:
        pytest.fail(f"{Path(node.path).name} belongs to no exercise (name it test_<exercise>.py)")
    return exercise


@pytest.fixture
def impl(request: pytest.FixtureRequest) -> InProcessImpl:
    """The implementation under test for this test file's exercise."""
    exercise = exercise_of(request.node)
    try:
        return InProcessImpl(load_exercise(impl_folder(request.config), exercise))
    except ExerciseImportError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture
def ref(request: pytest.FixtureRequest) -> ModuleType:
    """The reference solution for this test file's exercise (instructor suites only)."""
    exercise = exercise_of(request.node)
    try:
        return load_exercise(kit_root() / "solutions", exercise)
    except ExerciseImportError as err:
        pytest.fail(f"reference unavailable: {err}", pytrace=False)


def cuda_present() -> bool:
    """Whether torch sees a GPU; asks torch only where a driver's device node exists."""
    if not any(Path("/dev").glob("nvidia[0-9]*")) and not os.environ.get("KIT_ASSUME_CUDA"):
        return False
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if gpu_items and not cuda_present():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in gpu_items:
            item.add_marker(skip)


def manifest_entry(item: pytest.Item) -> dict[str, Any] | None:
    path = Path(item.path)
    exercise, visibility = exercise_of_test_file(path), visibility_of_test_file(path)
    if exercise is None or visibility is None:
        return None
    weight_marker = item.get_closest_marker("weight")
    weight = weight_marker.args[0] if weight_marker else 1
    if item.get_closest_marker("gpu"):
        weight = 0
    return {"id": item.nodeid, "exercise": exercise, "visibility": visibility, "weight": weight}


def pytest_collection_finish(session: pytest.Session) -> None:
    target = session.config.getoption("--write-manifest")
    if not target:
        return
    entries = [e for e in map(manifest_entry, session.items) if e is not None]
    Path(target).write_text(json.dumps(entries, indent=1) + "\n")
