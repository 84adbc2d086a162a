"""Public tests of the activations exercise: properties, golden values and the conventions.

Run them on your work with `pytest tests/public/test_activations.py`.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import (
    assert_array,
    assert_close,
    assert_dtype,
    check_imports_no_later_exercise,
    strict_floats,
)

ELEMENTWISE = ["sigmoid", "sigmoid_grad", "relu", "relu_grad", "tanh", "tanh_grad"]
ALL = [*ELEMENTWISE, "softmax", "log_softmax"]
OVERFLOW_HINT = "exp overflowed: use the stable form given in the docstring"
LOG_HINT = "log of a softmax that underflowed to 0: use the log-sum-exp form in the docstring"


def numerical_derivative(f, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of an elementwise function: (f(z + h) - f(z - h)) / 2h."""
    return (f(z + h) - f(z - h)) / (2 * h)


# Golden values, typed in from the formulas of the docstrings.


@pytest.mark.weight(2)
@pytest.mark.rule("activations.sigmoid.formula")
def test_sigmoid_values(impl) -> None:
    z = np.array([-2.0, 0.0, 1.0, 3.0])
    expected = np.array([0.11920292202212, 0.5, 0.73105857863, 0.95257412682243])
    assert_close(impl.sigmoid(z), expected, "sigmoid([-2, 0, 1, 3])", rtol=1e-9)


@pytest.mark.weight(2)
@pytest.mark.rule("activations.tanh.formula")
def test_tanh_values(impl) -> None:
    z = np.array([-1.0, 0.0, 0.5, 2.0])
    expected = np.array([-0.76159415595576, 0.0, 0.46211715726001, 0.96402758007582])
    assert_close(impl.tanh(z), expected, "tanh([-1, 0, 0.5, 2])", rtol=1e-9)


@pytest.mark.weight(2)
@pytest.mark.rule("activations.relu.formula")
def test_relu_values(impl) -> None:
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -7.0]])
    expected = np.array([[0.0, 0.0, 0.0], [0.5, 3.0, 0.0]])
    assert_close(impl.relu(z), expected, "relu(z)")


@pytest.mark.weight(2)
@pytest.mark.rule("activations.relu_grad.zero-at-zero")
def test_relu_grad_values(impl) -> None:
    z = np.array([-2.0, -1e-8, 0.0, 1e-8, 3.0])
    expected = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    assert_close(
        impl.relu_grad(z), expected, "relu_grad([-2, -1e-8, 0, 1e-8, 3])",
        hint=lambda got, _: "relu_grad(0) must be 0 (z > 0, not z >= 0), as in PyTorch"
        if got[2] == 1 else None,
    )


@pytest.mark.weight(2)
@pytest.mark.rule("activations.softmax.sums-to-one-along-axis")
def test_softmax_values(impl) -> None:
    z = np.array([1.0, 2.0, 3.0])
    expected = np.array([0.09003057317038, 0.2447284710548, 0.66524095577482])
    assert_close(impl.softmax(z), expected, "softmax([1, 2, 3])", rtol=1e-9)


@pytest.mark.weight(2)
@pytest.mark.rule("activations.log_softmax.without-log-of-softmax")
def test_log_softmax_values(impl) -> None:
    z = np.array([1.0, 2.0, 3.0])
    expected = np.array([-2.40760596444438, -1.40760596444438, -0.40760596444438])
    assert_close(impl.log_softmax(z), expected, "log_softmax([1, 2, 3])", rtol=1e-9)


# Properties.


@pytest.mark.weight(2)
@pytest.mark.rule("activations.sigmoid.formula")
def test_sigmoid_is_symmetric(impl) -> None:
    z = np.random.default_rng(0).uniform(-20, 20, size=50)
    assert_close(impl.sigmoid(-z), 1 - impl.sigmoid(z), "sigmoid(-z) against 1 - sigmoid(z)",
                 atol=1e-12)


@pytest.mark.weight(4)
@pytest.mark.parametrize(("function", "grad"), [("sigmoid", "sigmoid_grad"),
                                                ("tanh", "tanh_grad"),
                                                ("relu", "relu_grad")])
@pytest.mark.rule(
    "activations.sigmoid_grad.formula", "activations.tanh_grad.formula",
    "activations.relu_grad.zero-at-zero",
)
def test_grad_matches_finite_differences(impl, function: str, grad: str) -> None:
    z = np.random.default_rng(1).uniform(-6, 6, size=(4, 5))
    z[np.abs(z) < 1e-3] = 0.5  # relu has a kink at 0, where differences mean nothing
    assert_close(getattr(impl, grad)(z), numerical_derivative(getattr(impl, function), z),
                 f"{grad}(z) against finite differences of {function}", rtol=1e-5, atol=1e-8)


@pytest.mark.weight(2)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.rule("activations.softmax.sums-to-one-along-axis")
def test_softmax_sums_to_one_along_axis(impl, axis: int) -> None:
    z = np.random.default_rng(2).normal(scale=3, size=(3, 4, 5))
    p = assert_array(impl.softmax(z, axis=axis), f"softmax(z, axis={axis})")
    assert_close(p.sum(axis=axis), np.ones(np.delete(z.shape, axis)),
                 f"softmax(z, axis={axis}).sum(axis={axis})",
                 hint="normalise along the given axis, with keepdims=True")
    assert_close(np.clip(p, 0, 1), p, f"softmax(z, axis={axis})", hint="probabilities in [0, 1]")


@pytest.mark.weight(2)
@pytest.mark.rule("activations.softmax.sums-to-one-along-axis")
def test_softmax_is_shift_invariant(impl) -> None:
    z = np.random.default_rng(3).normal(size=(4, 6))
    shift = np.array([[-50.0], [0.0], [7.0], [300.0]])
    assert_close(impl.softmax(z + shift), impl.softmax(z), "softmax(z + c) against softmax(z)",
                 atol=1e-12)


@pytest.mark.weight(2)
@pytest.mark.rule("activations.log_softmax.without-log-of-softmax")
def test_log_softmax_is_log_of_softmax(impl) -> None:
    z = np.random.default_rng(4).normal(scale=3, size=(5, 4))
    assert_close(impl.log_softmax(z), np.log(impl.softmax(z)),
                 "log_softmax(z) against log(softmax(z)) (moderate z, where both are safe)")


# Stability: |z| up to 1e4, with float errors raised.


@pytest.mark.weight(3)
@pytest.mark.parametrize(
    ("function", "z", "expected"),
    [
        ("sigmoid", [-1e4, -1.0, 0.0, 1.0, 1e4], [0.0, 0.26894142137, 0.5, 0.73105857863, 1.0]),
        ("sigmoid_grad", [-1e4, 0.0, 1e4], [0.0, 0.25, 0.0]),
        ("tanh", [-1e4, 0.0, 1e4], [-1.0, 0.0, 1.0]),
        ("tanh_grad", [-1e4, 0.0, 1e4], [0.0, 1.0, 0.0]),
        ("softmax", [-1e4, 0.0, 1e4], [0.0, 0.0, 1.0]),
        ("log_softmax", [0.0, -1e4], [0.0, -1e4]),
    ],
    ids=["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "softmax", "log_softmax"],
)
@pytest.mark.rule(
    "activations.all.stable-to-1e4", "activations.log_softmax.without-log-of-softmax",
)
def test_stable_for_large_inputs(impl, function: str, z: list, expected: list) -> None:
    z = np.array(z)
    what = f"{function}({z.tolist()})"
    hint = LOG_HINT if function == "log_softmax" else OVERFLOW_HINT
    with strict_floats(what, hint=hint):
        got = getattr(impl, function)(z)
    assert_close(got, np.array(expected), what, rtol=1e-9, hint=hint)


# Conventions: dtypes.


@pytest.mark.parametrize("function", ALL)
@pytest.mark.rule("activations.all.float-dtype-kept", "conventions.numpy-in-numpy-out")
def test_float32_in_float32_out(impl, function: str) -> None:
    z = np.array([[-1.5, 0.0, 2.0]], dtype=np.float32)
    got = assert_array(getattr(impl, function)(z), f"{function}(float32 z)")
    assert_dtype(got, np.float32, f"{function}(float32 z)")


# The contract's order of exercises.


@pytest.mark.rule("activations.all.imports-no-later-exercise")
def test_works_without_the_later_exercises(impl) -> None:
    z = np.array([-1.0, 0.0, 2.0])
    got = check_imports_no_later_exercise(impl, "activations", [("sigmoid", (z,))])
    assert_close(got, 1 / (1 + np.exp(-z)), "sigmoid(z) of activations.py imported on its own")
