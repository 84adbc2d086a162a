"""Facts about the kit itself: its exercises, in teaching order, and where its files live.

Everything the grader knows about one exercise is its `Exercise` record in `RECORDS`; the
per-exercise tables other modules use (`EXERCISES`, `UPDATES_IN_PLACE`, the notebooks' traps,
the exercises that import PyTorch) are derived from the records, so none can miss an entry.
Besides its record, an exercise is its files, named after it: `solutions/<name>.py`, its suites
`tests/public/test_<name>*.py` and `tests/hidden/test_<name>*.py`, and its points in
`tests/rubric.toml` (tests/kit/test_exercise_records.py fails when one of them is missing or
names no exercise). docs/architecture.md, "Adding an exercise", is the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Exercise:
    """One exercise, as the grader knows it."""

    # The module's name: solutions/<name>.py, exercises/<name>.py, notebooks/<name>.ipynb.
    name: str
    # Teaching order, from 1 (the contract's order: a later exercise may import an earlier one).
    # Notebooks and the student README number the exercises with it.
    position: int
    # The one mistake the exercise is built to catch, said up front in its notebook.
    trap: str
    # Its reference imports PyTorch (seconds of CPU): where there are two cores its suites run in
    # a pytest child of their own, beside the others' (grader.grading.runner.shards).
    needs_torch: bool = False
    # (class, method): that method, on an instance of that class, may change the arrays given to
    # the instance's constructor, as the contract allows; the sandbox undoes any other change of a
    # test's arrays after the call that handed them over (grader/sandbox/client.py).
    updates_in_place: tuple[tuple[str, str], ...] = ()


RECORDS: tuple[Exercise, ...] = (
    Exercise(
        name="activations",
        position=1,
        trap=(
            "`np.exp(1e4)` overflows. The textbook formulas of sigmoid, softmax and log_softmax "
            "give inf or nan for |z| around 1e3 and more; the hidden tests use |z| = 1e4. Each "
            "docstring gives the stable recipe."
        ),
    ),
    Exercise(
        name="losses",
        position=2,
        trap=(
            "NumPy broadcasts (N,) against (N, 1) into an (N, N) array without a word, and the "
            "loss is quietly wrong. Check shapes first and raise `ValueError`; and never take the "
            "log of a softmax or of a sigmoid."
        ),
    ),
    Exercise(
        name="perceptron",
        position=3,
        trap=(
            "The rule updates after each sample, in order, not once per epoch; and `predict` is 0 "
            "on the boundary (`net_input == 0`): the comparison is strict."
        ),
    ),
    Exercise(
        name="sgd",
        position=4,
        trap=(
            "`SGD.step` must change the caller's arrays in place (`p -= lr * v`). "
            "`params[name] = p - lr * v` makes a new array, and the model holding the old one "
            "never learns."
        ),
        # The contract: "`class SGD(params, lr, momentum=0.0, weight_decay=0.0)`: `step(grads)`
        # updates every array of `params` in place".
        updates_in_place=(("SGD", "step"),),
    ),
    Exercise(
        name="backprop",
        position=5,
        trap=(
            "BP2 takes sigma' at z^k, not at a^k = sigma(z^k); and `numerical_gradient` must put "
            "back the saved value of each element, since (x + h) - h is not always x."
        ),
    ),
    Exercise(
        name="matmul",
        position=6,
        trap=(
            "A GPU call returns before its work is done: time from before `fn()` to after "
            "`sync()`, or you time the queueing, not the product."
        ),
        needs_torch=True,
    ),
)

# The names in teaching order: what most of the grader iterates over.
EXERCISES: tuple[str, ...] = tuple(r.name for r in sorted(RECORDS, key=lambda r: r.position))
VISIBILITIES: tuple[str, ...] = ("public", "hidden")
# (exercise, class, method) for every exercise's `updates_in_place` (the sandbox's view).
UPDATES_IN_PLACE: frozenset[tuple[str, str, str]] = frozenset(
    (r.name, class_name, method) for r in RECORDS for class_name, method in r.updates_in_place
)


def exercise_record(name: str) -> Exercise:
    """The record of the exercise called `name` (KeyError for a name of no exercise)."""
    for record in RECORDS:
        if record.name == name:
            return record
    raise KeyError(f"no exercise is called {name!r} (grader.kit.RECORDS)")


def kit_root() -> Path:
    """The folder holding exercises/, solutions/, grader/ and tests/ (the grader's parent)."""
    return Path(__file__).resolve().parent.parent


def exercise_of_test_file(path: Path) -> str | None:
    """`tests/public/test_losses.py` -> "losses"; None for a file of no exercise.

    A suite file is named `test_<exercise>.py` or `test_<exercise>_<topic>.py`.
    """
    stem = path.stem
    if not stem.startswith("test_"):
        return None
    rest = stem[len("test_"):]
    for name in EXERCISES:
        if rest == name or rest.startswith(name + "_"):
            return name
    return None


def visibility_of_test_file(path: Path) -> str | None:
    """"public" or "hidden" from the suite folder a test file sits in, else None."""
    parent = path.parent.name
    return parent if parent in VISIBILITIES else None
