"""Facts about the kit itself: its exercises, in teaching order, and where its files live."""

from __future__ import annotations

from pathlib import Path

# The order of the contract: a later exercise may import an earlier one.
EXERCISES: tuple[str, ...] = ("activations", "losses", "perceptron", "sgd", "backprop", "matmul")
VISIBILITIES: tuple[str, ...] = ("public", "hidden")
# The contract's only calls that change a test's arrays after the call that handed them over:
# "`class SGD(params: dict[str, np.ndarray], lr, momentum=0.0, weight_decay=0.0)`:
# `step(grads)` updates every array of `params` in place" (exercises/sgd.py: `SGD.step`).
# (exercise, class, method): that method, on an instance of that class, may change the arrays
# given to the instance's constructor (the sandbox undoes any other such change:
# grader/sandbox/client.py).
UPDATES_IN_PLACE: frozenset[tuple[str, str, str]] = frozenset({("sgd", "SGD", "step")})


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
