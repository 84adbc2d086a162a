"""Public tests of the losses exercise: golden values, gradients against finite differences,
stability for large logits and the contract's bad-input errors.

Run them on your work with `pytest tests/public/test_losses.py`. A loss "returns a Python float":
`isinstance(loss, float)` must hold, which `float(...)` guarantees.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import (
    assert_close,
    assert_python_float,
    check_imports_no_later_exercise,
    expect_value_error,
    strict_floats,
)
from grader.suites.hints import STABLE_HINT, loss_grad_hint, mean_hint


def numerical_gradient(loss, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar loss at x, one element at a time."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (loss(x + step) - loss(x - step)) / (2 * h)
    return grad


# mse


@pytest.mark.weight(2)
@pytest.mark.rule("losses.mse.formula")
def test_mse_value(impl) -> None:
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    assert_close(impl.mse(pred, target), 13 / 3, "mse([1, 2, 3], [1, 0, 0])", hint=mean_hint(3))
    pred2, target2 = np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[0.0, 1.0], [0.5, 0.0]])
    assert_close(impl.mse(pred2, target2), 9 / 4, "mse of (2, 2) arrays",
                 hint="the mean is over all elements, not over rows")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.rule("losses.all.python-float")
def test_mse_returns_python_float(impl, dtype) -> None:
    pred, target = np.array([1.0, 2.0], dtype=dtype), np.array([0.0, 0.0], dtype=dtype)
    assert_python_float(impl.mse(pred, target), f"mse of {np.dtype(dtype)} arrays")


@pytest.mark.weight(2)
@pytest.mark.rule("losses.mse_grad.formula")
def test_mse_grad_values(impl) -> None:
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    assert_close(impl.mse_grad(pred, target), np.array([0.0, 4 / 3, 2.0]),
                 "mse_grad([1, 2, 3], [1, 0, 0])", hint=loss_grad_hint(3))


@pytest.mark.weight(4)
@pytest.mark.rule("losses.mse_grad.formula")
def test_mse_grad_matches_finite_differences(impl) -> None:
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    expected = numerical_gradient(lambda p: impl.mse(p, target), pred)
    assert_close(impl.mse_grad(pred, target), expected,
                 "mse_grad against finite differences of mse", rtol=1e-5, atol=1e-8,
                 hint=loss_grad_hint(pred.size))


@pytest.mark.parametrize("function", ["mse", "mse_grad"])
@pytest.mark.parametrize(("pred_shape", "target_shape"), [((3,), (3, 1)), ((3, 1), (3,)),
                                                          ((4,), (3,))],
                         ids=["N-vs-Nx1", "Nx1-vs-N", "4-vs-3"])
@pytest.mark.rule("losses.mse.shapes-equal")
def test_mse_rejects_mismatched_shapes(impl, function: str, pred_shape, target_shape) -> None:
    pred, target = np.ones(pred_shape), np.zeros(target_shape)
    with expect_value_error(f"{function} with shapes {pred_shape} and {target_shape}",
                            "shapes must be equal: no silent broadcasting"):
        getattr(impl, function)(pred, target)


# cross_entropy


LOGITS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
LABELS = np.array([2, 0])


@pytest.mark.weight(2)
@pytest.mark.rule("losses.cross_entropy.formula")
def test_cross_entropy_value(impl) -> None:
    assert_close(impl.cross_entropy(LOGITS, LABELS), 1.0744586305507688,
                 "cross_entropy([[1, 2, 3], [0.5, -1, 2]], [2, 0])", rtol=1e-9,
                 hint=mean_hint(2))


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.rule("losses.cross_entropy.formula", "losses.all.python-float")
def test_cross_entropy_of_equal_logits_is_log_c(impl, n_classes: int) -> None:
    logits = np.full((3, n_classes), 0.7)
    got = impl.cross_entropy(logits, np.arange(3) % n_classes)
    assert_python_float(got, "cross_entropy")
    assert_close(got, np.log(n_classes), f"cross_entropy of equal logits, C = {n_classes}")


@pytest.mark.weight(2)
@pytest.mark.rule("losses.cross_entropy_grad.formula")
def test_cross_entropy_grad_values(impl) -> None:
    expected = np.array([[0.04501528658519, 0.1223642355274, -0.16737952211259],
                         [-0.41235480392998, 0.01955628663534, 0.39279851729464]])
    assert_close(impl.cross_entropy_grad(LOGITS, LABELS), expected,
                 "cross_entropy_grad([[1, 2, 3], [0.5, -1, 2]], [2, 0])", rtol=1e-9,
                 hint=loss_grad_hint(2))


@pytest.mark.weight(4)
@pytest.mark.rule("losses.cross_entropy_grad.formula")
def test_cross_entropy_grad_matches_finite_differences(impl) -> None:
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(scale=2, size=(4, 3)), np.array([0, 2, 1, 2])
    expected = numerical_gradient(lambda z: impl.cross_entropy(z, labels), logits)
    assert_close(impl.cross_entropy_grad(logits, labels), expected,
                 "cross_entropy_grad against finite differences of cross_entropy",
                 rtol=1e-5, atol=1e-8, hint=loss_grad_hint(4))


@pytest.mark.rule("losses.cross_entropy_grad.formula")
def test_cross_entropy_grad_rows_sum_to_zero(impl) -> None:
    logits = np.random.default_rng(2).normal(size=(5, 4))
    grad = impl.cross_entropy_grad(logits, np.array([3, 0, 1, 1, 2]))
    assert_close(np.asarray(grad).sum(axis=1), np.zeros(5), "cross_entropy_grad(...).sum(axis=1)",
                 atol=1e-12, hint="softmax rows sum to 1 and one-hot rows sum to 1")


@pytest.mark.weight(4)
@pytest.mark.rule("losses.all.stable-to-1e4")
def test_cross_entropy_stable_for_large_logits(impl) -> None:
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]])
    labels = np.array([0, 2])
    what = "cross_entropy([[1e4, 0, -1e4]] * 2, [0, 2])"
    with strict_floats(what, hint=STABLE_HINT):
        loss = impl.cross_entropy(logits, labels)
        grad = impl.cross_entropy_grad(logits, labels)
    assert_close(loss, 1e4, what, hint="-log(softmax) of an underflowed probability is inf: "
                                       "use log_softmax")
    assert_close(grad, np.array([[0.0, 0.0, 0.0], [0.5, 0.0, -0.5]]),
                 "cross_entropy_grad([[1e4, 0, -1e4]] * 2, [0, 2])")


@pytest.mark.parametrize("function", ["cross_entropy", "cross_entropy_grad"])
@pytest.mark.parametrize(
    ("labels", "problem"),
    [([0, 3], "a label equal to C = 3 (out of range)"),
     ([0, -1], "a negative label"),
     ([0, 1.5], "a non-integer label 1.5"),
     ([0, 1, 2], "3 labels for 2 rows")],
    ids=["out-of-range", "negative", "non-integer", "wrong-length"],
)
@pytest.mark.rule("losses.cross_entropy.labels-in-range", "losses.cross_entropy.labels-shape")
def test_cross_entropy_rejects_bad_labels(impl, function: str, labels: list,
                                          problem: str) -> None:
    with expect_value_error(f"{function} with {problem}",
                            "labels must be integers in [0, C), one per row of logits"):
        getattr(impl, function)(LOGITS, np.array(labels))


@pytest.mark.rule("losses.cross_entropy.integer-valued-floats-accepted")
def test_cross_entropy_accepts_integer_valued_float_labels(impl) -> None:
    assert_close(impl.cross_entropy(LOGITS, np.array([2.0, 0.0])), 1.0744586305507688,
                 "cross_entropy with labels [2.0, 0.0]",
                 hint="integer-valued float labels are accepted; use them as indices")


# binary_cross_entropy_with_logits


@pytest.mark.weight(2)
@pytest.mark.rule("losses.binary_cross_entropy_with_logits.formula", "losses.all.python-float")
def test_bce_value(impl) -> None:
    x, t = np.array([-2.0, 0.0, 1.5]), np.array([0.0, 1.0, 0.25])
    got = impl.binary_cross_entropy_with_logits(x, t)
    assert_python_float(got, "binary_cross_entropy_with_logits")
    assert_close(got, 0.7154961565285568,
                 "binary_cross_entropy_with_logits([-2, 0, 1.5], [0, 1, 0.25])", rtol=1e-9,
                 hint=mean_hint(3))


@pytest.mark.weight(2)
@pytest.mark.rule("losses.binary_cross_entropy_with_logits.formula")
def test_bce_equals_textbook_formula(impl) -> None:
    rng = np.random.default_rng(3)
    x, t = rng.normal(scale=3, size=(4, 5)), rng.uniform(size=(4, 5))
    s = 1 / (1 + np.exp(-x))  # safe for moderate x
    expected = np.mean(-t * np.log(s) - (1 - t) * np.log(1 - s))
    assert_close(impl.binary_cross_entropy_with_logits(x, t), expected,
                 "binary_cross_entropy_with_logits against mean(-t log s - (1 - t) log(1 - s))",
                 hint=mean_hint(20))


@pytest.mark.weight(4)
@pytest.mark.rule("losses.all.stable-to-1e4")
def test_bce_stable_for_large_logits(impl) -> None:
    x = np.array([1e4, -1e4, 1e4, -1e4])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    what = "binary_cross_entropy_with_logits([1e4, -1e4, 1e4, -1e4], [1, 0, 0, 1])"
    with strict_floats(what, hint=STABLE_HINT):
        loss = impl.binary_cross_entropy_with_logits(x, t)
        grad = impl.binary_cross_entropy_with_logits_grad(x, t)
    assert_close(loss, 5e3, what, hint="log(sigmoid(x)) is log(0) for x = -1e4: "
                                       "use max(x, 0) - x * t + log(1 + exp(-|x|))")
    assert_close(grad, np.array([0.0, 0.0, 0.25, -0.25]),
                 "binary_cross_entropy_with_logits_grad([1e4, -1e4, 1e4, -1e4], [1, 0, 0, 1])")


@pytest.mark.weight(4)
@pytest.mark.rule("losses.binary_cross_entropy_with_logits_grad.formula")
def test_bce_grad_matches_finite_differences(impl) -> None:
    rng = np.random.default_rng(4)
    x, t = rng.normal(scale=2, size=(3, 4)), rng.uniform(size=(3, 4))
    expected = numerical_gradient(lambda z: impl.binary_cross_entropy_with_logits(z, t), x)
    assert_close(impl.binary_cross_entropy_with_logits_grad(x, t), expected,
                 "binary_cross_entropy_with_logits_grad against finite differences",
                 rtol=1e-5, atol=1e-8, hint=loss_grad_hint(12))


@pytest.mark.parametrize(
    ("targets", "problem"),
    [(np.array([0.0, 1.5, 1.0]), "a target of 1.5 (outside [0, 1])"),
     (np.array([0.0, -0.5, 1.0]), "a target of -0.5 (outside [0, 1])")],
    ids=["above-one", "negative"],
)
@pytest.mark.rule("losses.binary_cross_entropy_with_logits.targets-in-0-1")
def test_bce_rejects_targets_outside_0_1(impl, targets: np.ndarray, problem: str) -> None:
    with expect_value_error(f"binary_cross_entropy_with_logits with {problem}",
                            "targets are probabilities"):
        impl.binary_cross_entropy_with_logits(np.array([0.5, -1.0, 2.0]), targets)


@pytest.mark.parametrize("function", ["binary_cross_entropy_with_logits",
                                      "binary_cross_entropy_with_logits_grad"])
@pytest.mark.rule("losses.binary_cross_entropy_with_logits.shapes-equal")
def test_bce_rejects_mismatched_shapes(impl, function: str) -> None:
    with expect_value_error(f"{function} with logits of shape (3,) and targets of shape (3, 1)",
                            "shapes must be equal: no silent broadcasting"):
        getattr(impl, function)(np.array([0.5, -1.0, 2.0]), np.array([[0.0], [1.0], [1.0]]))



@pytest.mark.rule("conventions.value-error-names-the-problem")
@pytest.mark.parametrize("function", ["mse", "binary_cross_entropy_with_logits"])
def test_shape_error_names_the_shapes(impl, function: str) -> None:
    with expect_value_error(f"{function} with shapes (3,) and (3, 1)",
                            "shapes must be equal: no silent broadcasting",
                            mentions=("shape", "(3,)", "(3, 1)")):
        getattr(impl, function)(np.full(3, 0.5), np.full((3, 1), 0.5))

# The contract's order of exercises.


@pytest.mark.rule("losses.all.imports-no-later-exercise")
def test_works_without_the_later_exercises(impl) -> None:
    pred, target = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])
    got = check_imports_no_later_exercise(impl, "losses", [("mse", (pred, target))])
    assert_close(got, 13 / 3, "mse([1, 2, 3], [1, 0, 0]) of losses.py imported without the "
                 "exercises after it")
