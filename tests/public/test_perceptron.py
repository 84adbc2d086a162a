"""Public tests of the perceptron exercise: the learning rule on cases you can work out by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.suites.checks import (
    assert_array,
    assert_close,
    assert_equal,
    check_imports_no_later_exercise,
    expect_value_error,
    fail,
)
from grader.suites.hints import PERCEPTRON_RULE

# The four corners of the unit square, and the truth tables of three logic gates on them.
CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
GATES = {"AND": np.array([0, 0, 0, 1]), "OR": np.array([0, 1, 1, 1])}
XOR = np.array([0, 1, 1, 0])



def check_mistakes(mistakes: object, expected: list[int], what: str) -> None:
    """`fit` must return a list of ints equal to `expected`."""
    __tracebackhide__ = True
    if not isinstance(mistakes, list) or not all(
        isinstance(m, int | np.integer) for m in mistakes
    ):
        fail(f"{what} returned {mistakes!r}, expected a list of ints (mistakes per epoch)")
    stops_late = bool(mistakes) and 0 in mistakes[:-1]
    hint = (
        "training must stop after the first epoch with no mistake"
        if stops_late
        else f"a mistake is a sample with update != 0, where {PERCEPTRON_RULE}"
    )
    assert_equal([int(m) for m in mistakes], expected, what, hint=hint)


def check_labels(labels: object, expected: np.ndarray, what: str) -> None:
    """`predict` must return an integer array equal to `expected`."""
    __tracebackhide__ = True
    labels = assert_array(labels, what)
    if labels.dtype.kind not in "iu":
        fail(f"{what} returned dtype {labels.dtype}, expected integers 0 and 1 (use .astype(int))")
    assert_equal(labels, expected, what, hint="predict is 1 where net_input > 0, else 0")


def check_updated(p: Any, what: str) -> None:
    """`fit` must have moved w or b from their zeros before a test checks what it left behind.

    Without this, a `fit` that does nothing would pass such a test on `__init__`'s zeros.
    """
    __tracebackhide__ = True
    if not np.any(np.asarray(p.w)) and p.b == 0:
        fail(f"{what} left w = 0 and b = 0: it made no update, yet from w = 0 the first sample "
             "with y = 1 is a mistake (predict is 0 on the boundary), so w and b must change")


@pytest.mark.rule("perceptron.Perceptron.predict")
def test_new_perceptron_predicts_0_on_the_boundary(impl) -> None:
    # w = 0 and b = 0: every net input is exactly 0, and 0 is not > 0.
    p = impl.Perceptron(2)
    assert_close(p.net_input(CORNERS), np.zeros(4), "Perceptron(2).net_input(X) with w = 0, b = 0")
    check_labels(
        p.predict(CORNERS), np.zeros(4, dtype=int), "Perceptron(2).predict(X) with w = 0, b = 0"
    )


@pytest.mark.rule("perceptron.Perceptron.net_input")
def test_net_input_is_x_dot_w_plus_b(impl) -> None:
    # w and b are set by hand, not by fit: this tests net_input alone, on weights that are not 0.
    p = impl.Perceptron(2)
    p.w, p.b = np.array([2.0, -1.0]), 0.5
    X = np.array([[0.5, -1.0], [2.0, 3.0], [-1.0, 0.25]])
    assert_close(p.net_input(X), np.array([2.5, 1.5, -1.75]),
                 "net_input(X) with w = [2, -1], b = 0.5", hint="X @ w + b, shape (N,)")


@pytest.mark.rule("perceptron.Perceptron.predict")
def test_predict_is_integer_and_thresholds_net_input(impl) -> None:
    # w and b set by hand, as above. Net inputs 3.5, -3, 0, 1, -2: the third is on the boundary.
    p = impl.Perceptron(2)
    p.w, p.b = np.array([1.0, -2.0]), 1.0
    X = np.array([[0.5, -1.0], [2.0, 3.0], [1.0, 1.0], [0.0, 0.0], [-3.0, 0.0]])
    check_labels(p.predict(X), np.array([1, 0, 0, 1, 0]), "predict(X) with w = [1, -2], b = 1")


@pytest.mark.weight(2)
@pytest.mark.rule(
    "perceptron.Perceptron.fit.rule", "perceptron.Perceptron.fit.mistakes",
    "perceptron.Perceptron.fit.stops-after-clean-epoch",
)
def test_and_gate_exact_trajectory(impl) -> None:
    # By hand: epoch 1 only (1, 1) is wrong, so w = [1, 1], b = 1; and so on.
    p = impl.Perceptron(2)
    mistakes = p.fit(CORNERS, GATES["AND"], epochs=100)
    check_mistakes(mistakes, [1, 3, 3, 2, 1, 0], "fit(AND corners) mistakes per epoch")
    assert_close(p.w, np.array([2.0, 1.0]), "w after fitting AND", hint=PERCEPTRON_RULE)
    assert_close(p.b, -2.0, "b after fitting AND", hint=PERCEPTRON_RULE)


@pytest.mark.parametrize("gate", sorted(GATES))
@pytest.mark.rule("perceptron.Perceptron.fit.stops-after-clean-epoch")
def test_learns_linearly_separable_gate(impl, gate: str) -> None:
    p = impl.Perceptron(2)
    mistakes = p.fit(CORNERS, GATES[gate], epochs=50)
    if not mistakes or mistakes[-1] != 0 or len(mistakes) >= 50:
        fail(f"fit on {gate} returned {mistakes}: it is linearly separable, so the last epoch "
             "must have 0 mistakes well before 50 epochs")
    check_labels(p.predict(CORNERS), GATES[gate], f"predict after fitting {gate}")


@pytest.mark.rule("perceptron.Perceptron.fit.mistakes")
def test_does_not_converge_on_xor(impl) -> None:
    p = impl.Perceptron(2)
    mistakes = p.fit(CORNERS, XOR, epochs=12)
    if len(mistakes) != 12 or min(mistakes, default=0) == 0:
        fail(f"fit on XOR with epochs=12 returned {mistakes}: no line separates XOR, so every "
             "one of the 12 epochs must make a mistake (and all 12 must run)")


@pytest.mark.rule("perceptron.Perceptron.fit.rule")
def test_first_mistake_on_the_boundary(impl) -> None:
    # net_input is 0, so predict gives 0: a positive sample is a mistake, a negative one is not.
    p = impl.Perceptron(2)
    check_mistakes(p.fit(np.array([[1.0, 2.0]]), np.array([1]), epochs=1), [1],
                   "fit([[1, 2]], [1], epochs=1) from w = 0")
    assert_close(p.w, np.array([1.0, 2.0]), "w after one update on x = [1, 2], y = 1",
                 hint=PERCEPTRON_RULE)
    assert_close(p.b, 1.0, "b after one update on x = [1, 2], y = 1", hint=PERCEPTRON_RULE)

    q = impl.Perceptron(2)
    check_mistakes(q.fit(np.array([[1.0, 2.0]]), np.array([0]), epochs=5), [0],
                   "fit([[1, 2]], [0], epochs=5) from w = 0 (predict is 0 on the boundary)")
    assert_close(q.w, np.zeros(2), "w after fitting a sample that is already right")


@pytest.mark.rule("perceptron.Perceptron.fit.rule")
def test_learning_rate_scales_the_weights(impl) -> None:
    # From w = 0, b = 0 the predictions only depend on the signs, so halving lr halves w and b
    # and leaves every mistake in place.
    full, half = impl.Perceptron(2, lr=1.0), impl.Perceptron(2, lr=0.5)
    mistakes_full = full.fit(CORNERS, GATES["AND"])
    mistakes_half = half.fit(CORNERS, GATES["AND"])
    check_updated(full, "fit(AND corners) with lr=1.0")
    check_mistakes(mistakes_half, list(mistakes_full), "fit with lr=0.5 (vs lr=1.0)")
    assert_close(half.w, full.w / 2, "w with lr=0.5", hint="update = lr * (y[i] - prediction)")
    assert_close(half.b, full.b / 2, "b with lr=0.5", hint="b += update, with update scaled by lr")


@pytest.mark.rule("perceptron.Perceptron.attributes")
def test_float_attributes(impl) -> None:
    p = impl.Perceptron(2)
    p.fit(CORNERS, GATES["OR"])
    check_updated(p, "fit(OR corners)")
    w = assert_array(p.w, "w after fit")
    if w.dtype != np.float64 or w.shape != (2,):
        fail(f"w after fit has dtype {w.dtype} and shape {w.shape}, expected float64 and (2,)")
    if not isinstance(p.b, float):
        fail(f"b after fit is {type(p.b).__name__}, expected a float")


@pytest.mark.rule("perceptron.all.inputs-unchanged")
def test_fit_does_not_modify_its_inputs(impl) -> None:
    X, y = CORNERS.astype(float), GATES["AND"].copy()
    p = impl.Perceptron(2)
    p.fit(X, y)
    check_updated(p, "fit(AND corners)")
    assert_equal(X, CORNERS.astype(float), "X after fit", hint="fit must not modify X")
    assert_equal(y, GATES["AND"], "y after fit", hint="fit must not modify y")


@pytest.mark.parametrize(
    "X",
    [np.ones(2), np.ones((4, 3)), np.ones((2, 2, 2))],
    ids=["1-D", "3-features", "3-D"],
)
@pytest.mark.rule("perceptron.Perceptron.x-shape")
def test_net_input_rejects_wrong_shapes(impl, X: np.ndarray) -> None:
    with expect_value_error(f"Perceptron(2).net_input(X of shape {X.shape})",
                            "X must have shape (N, 2)"):
        impl.Perceptron(2).net_input(X)


@pytest.mark.rule("perceptron.Perceptron.x-shape")
def test_fit_rejects_wrong_feature_count(impl) -> None:
    with expect_value_error("Perceptron(3).fit(X of shape (4, 2), y)", "X must have shape (N, 3)"):
        impl.Perceptron(3).fit(CORNERS, GATES["AND"])


@pytest.mark.rule("perceptron.Perceptron.fit.labels-0-1")
def test_fit_rejects_labels_of_another_length(impl) -> None:
    with expect_value_error("fit(X of 4 samples, y of 3 labels)", "len(y) must equal len(X)"):
        impl.Perceptron(2).fit(CORNERS, np.array([0, 1, 1]))


@pytest.mark.parametrize(
    "y", [np.array([0, 1, 2, 1]), np.array([-1, 1, 1, -1])], ids=["label-2", "minus-one"]
)
@pytest.mark.rule("perceptron.Perceptron.fit.labels-0-1")
def test_fit_rejects_labels_other_than_0_and_1(impl, y: np.ndarray) -> None:
    with expect_value_error(f"fit with y = {y.tolist()}", "y must hold only 0s and 1s"):
        impl.Perceptron(2).fit(CORNERS, y)


# The contract's order of exercises.


@pytest.mark.rule("perceptron.all.imports-no-later-exercise")
def test_works_without_the_later_exercises(impl) -> None:
    calls = [("Perceptron", (2,)), ("fit", (CORNERS, GATES["AND"]))]
    mistakes = check_imports_no_later_exercise(impl, "perceptron", calls)
    check_mistakes(mistakes, [1, 3, 3, 2, 1, 0],
                   "fit(AND corners) of perceptron.py imported without the exercises after it")
