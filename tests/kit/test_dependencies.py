"""Which exercise uses which, read from source without running it; and the line that says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.grading.dependencies import cause_line, exercise_uses, failing_uses
from grader.grading.submission import exercise_module, stage_submission
from grader.kit import kit_root

SIGMOID = "import numpy as np\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"


@pytest.mark.parametrize("line", [
    "from .activations import sigmoid",
    "from activations import sigmoid",
    "import activations",
    "import activations as act",
    "from . import activations",
    "from exercises.activations import sigmoid",
    "from exercises import activations",
    "import exercises.activations",
    "def forward(x):\n    from .activations import sigmoid\n    return sigmoid(x)",
])
def test_an_import_by_name_is_a_use(line: str) -> None:
    uses = exercise_uses({"activations": SIGMOID, "backprop": f"{line}\n"})
    assert uses == {"activations": (), "backprop": ("activations",)}


@pytest.mark.parametrize("line", [
    "import numpy as np", "from .helpers import sigmoid", "from numpy import exp",
    "import exercises", "from .backprop import MLP",  # itself
])
def test_other_imports_are_no_use(line: str) -> None:
    assert exercise_uses({"activations": SIGMOID, "backprop": f"{line}\n"})["backprop"] == ()


def test_the_reference_uses_what_it_imports() -> None:
    solutions = kit_root() / "solutions"
    sources = {p.stem: p.read_text() for p in solutions.glob("*.py") if p.stem != "__init__"}
    uses = exercise_uses(sources)
    assert uses["losses"] == ("activations",)
    assert uses["backprop"] == ("activations", "losses")
    assert uses["activations"] == uses["matmul"] == ()


def notebook_modules(cells: dict[str, str]) -> dict[str, str]:
    """The modules staging writes for a notebook with these cells (every earlier exercise
    star-imported)."""
    names = list(cells)
    return {name: exercise_module(name, [source], names[:i]) for i, (name, source) in
            enumerate(cells.items())}


def test_a_star_import_is_a_use_only_for_the_names_read() -> None:
    modules = notebook_modules({
        "activations": "def relu(z):\n    return np.maximum(z, 0)\n",
        "losses": "def mse(p, t):\n    return float(np.mean((p - t) ** 2))\n",
        "backprop": "class MLP:\n    def forward(self, x):\n        return relu(x)\n",
    })
    # np comes from each module's own `import numpy as np`, not from an earlier exercise.
    assert exercise_uses(modules) == {"activations": (), "losses": (),
                                      "backprop": ("activations",)}


def test_a_star_imported_name_comes_from_where_it_is_bound() -> None:
    modules = notebook_modules({
        "activations": "def sigmoid(z):\n    return z\n\ndef _helper(z):\n    return z\n",
        "losses": "def mse(p, t):\n    return sigmoid(p)\n",  # re-exports sigmoid
        "sgd": "def sigmoid(z):\n    return -z\n",  # binds its own, star-imported later
        # in a comprehension and a default argument; _helper is never star-imported
        "backprop": "W = [sigmoid(v) for v in range(3)]\n"
                    "def f(x, g=mse):\n    return _helper(x)\n",
    })
    uses = exercise_uses(modules)
    assert uses["losses"] == ("activations",)
    assert uses["backprop"] == ("losses", "sgd")


def test_a_name_the_module_binds_itself_is_no_use() -> None:
    modules = notebook_modules({
        "activations": "def relu(z):\n    return z\n",
        "backprop": "def relu(z):\n    return z * (z > 0)\n\ndef f(relu_):\n    return relu(1)\n",
    })
    assert exercise_uses(modules)["backprop"] == ()


@pytest.mark.parametrize("broken", ["def f(:\n", "x = 1\x00\n"])
def test_a_module_that_does_not_parse_uses_nothing(broken: str) -> None:
    assert exercise_uses({"activations": SIGMOID, "backprop": broken})["backprop"] == ()


def test_staging_records_the_uses_of_a_folder_and_of_a_notebook(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "activations.py").write_text(SIGMOID)
    (folder / "backprop.py").write_text("from .activations import sigmoid\n")
    assert stage_submission(folder, tmp_path / "a").uses == {
        "activations": (), "backprop": ("activations",)}
    cells = [("activations", SIGMOID), ("backprop", "def f(z):\n    return sigmoid(z)\n")]
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {"tags": [f"exercise:{name}"]}, "source": source,
         "outputs": [], "execution_count": None, "id": name} for name, source in cells]}
    path = tmp_path / "work.ipynb"
    path.write_text(json.dumps(notebook))
    assert stage_submission(path, tmp_path / "b").uses["backprop"] == ("activations",)


def test_failing_uses_follow_uses_through_exercises_that_pass() -> None:
    uses = {"backprop": ("losses",), "losses": ("activations",), "activations": ()}
    assert failing_uses("backprop", uses, {"activations": 3, "losses": 0}) == [("activations", 3)]
    assert failing_uses("backprop", uses, {"losses": 2}) == [("losses", 2)]  # activations ungraded
    assert failing_uses("activations", uses, {"losses": 2, "activations": 1}) == []


def test_failing_uses_survive_a_cycle() -> None:
    uses = {"losses": ("activations",), "activations": ("losses",)}
    assert failing_uses("losses", uses, {"activations": 1, "losses": 1}) == [("activations", 1)]


def test_cause_line() -> None:
    assert cause_line("backprop", [("activations", 3)]) == (
        "backprop uses your activations, which fail 3 tests: fix those first")
    assert cause_line("backprop", [("activations", 1), ("losses", 2)]) == (
        "backprop uses your activations, which fail 1 test, and your losses, which fail "
        "2 tests: fix those first")
    assert cause_line("backprop", []) == ""
