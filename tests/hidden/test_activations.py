"""Hidden tests of the activations exercise: randomised comparisons with the reference and the
edge cases of the contract (|z| up to 1e4 with float errors raised, dtypes, inputs untouched)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import assert_array, assert_close, assert_dtype, fail, strict_floats
from grader.suites.hints import STABLE_HINT

ALL = ["sigmoid", "sigmoid_grad", "relu", "relu_grad", "tanh", "tanh_grad", "softmax",
       "log_softmax"]
SHAPES = [(1,), (7,), (3, 4), (2, 3, 5)]
DTYPES = [np.float64, np.float32]


def random_inputs(seed: int, dtype, scale: float) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * scale).astype(dtype) for shape in SHAPES]


@pytest.mark.weight(4)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("function", ALL)
@pytest.mark.rule(
    "activations.sigmoid.formula", "activations.sigmoid_grad.formula", "activations.relu.formula",
    "activations.relu_grad.zero-at-zero", "activations.tanh.formula",
    "activations.tanh_grad.formula", "activations.softmax.sums-to-one-along-axis",
    "activations.log_softmax.without-log-of-softmax",
)
def test_matches_reference(impl, ref, function: str, dtype) -> None:
    for z in random_inputs(10, dtype, scale=4.0):
        what = f"{function}(z) for z of shape {z.shape} and dtype {z.dtype}"
        assert_close(getattr(impl, function)(z), getattr(ref, function)(z), what)


@pytest.mark.weight(2)
@pytest.mark.parametrize("axis", [0, 1, 2, -2])
@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
@pytest.mark.rule(
    "activations.softmax.sums-to-one-along-axis", "activations.log_softmax.without-log-of-softmax",
)
def test_axis_matches_reference(impl, ref, function: str, axis: int) -> None:
    z = np.random.default_rng(11).standard_normal((3, 4, 5)) * 3
    assert_close(getattr(impl, function)(z, axis=axis), getattr(ref, function)(z, axis=axis),
                 f"{function}(z, axis={axis}) for z of shape {z.shape}",
                 hint=f"reduce along axis={axis} (keepdims=True), not always the last one")


@pytest.mark.weight(3)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("function", ALL)
@pytest.mark.rule("activations.all.stable-to-1e4")
def test_stable_for_huge_inputs(impl, ref, function: str, dtype) -> None:
    rng = np.random.default_rng(12)
    z = rng.uniform(-1e4, 1e4, size=(6, 5)).astype(dtype)
    z[0] = [-1e4, -1e3, 0.0, 1e3, 1e4]
    what = f"{function}(z) with |z| up to 1e4, {np.dtype(dtype)}"
    with strict_floats(what, hint=STABLE_HINT):
        got = getattr(impl, function)(z)
    assert_close(got, getattr(ref, function)(z), what)


@pytest.mark.weight(2)
@pytest.mark.parametrize("function", ["sigmoid", "sigmoid_grad", "softmax", "log_softmax"])
@pytest.mark.rule("activations.all.stable-to-1e4")
def test_float32_moderate_inputs_do_not_overflow(impl, function: str) -> None:
    # float32 exp overflows past 88.7: a formula that is safe in float64 can fail here.
    z = np.array([[-100.0, -90.0, 0.0, 90.0, 100.0]], dtype=np.float32)
    with strict_floats(f"{function}(float32 z with |z| up to 100)",
                       hint="float32 exp overflows past 88.7: use the stable form"):
        got = getattr(impl, function)(z)
    if not np.all(np.isfinite(got)):
        fail(f"{function}(float32 z with |z| up to 100) returned non-finite values")


@pytest.mark.parametrize("function", ALL)
@pytest.mark.rule("activations.all.float-dtype-kept")
def test_float32_in_float32_out(impl, function: str) -> None:
    z = np.random.default_rng(13).standard_normal((3, 4)).astype(np.float32)
    assert_dtype(assert_array(getattr(impl, function)(z), function), np.float32,
                 f"{function}(float32 z)")


@pytest.mark.parametrize("function", ALL)
@pytest.mark.rule("activations.all.integer-gives-float64")
def test_integer_in_float64_out(impl, ref, function: str) -> None:
    z = np.array([[-3, -1, 0, 2, 5]])
    got = assert_array(getattr(impl, function)(z), f"{function}(integer z)")
    assert_dtype(got, np.float64, f"{function}(integer z)")
    assert_close(got, getattr(ref, function)(z), f"{function}(integer z)")


@pytest.mark.parametrize("function", ["sigmoid", "sigmoid_grad", "relu", "tanh"])
@pytest.mark.rule("conventions.numpy-in-numpy-out")
def test_python_scalar_input(impl, ref, function: str) -> None:
    got = np.asarray(getattr(impl, function)(0.5))
    assert_close(got, np.asarray(getattr(ref, function)(0.5)), f"{function}(0.5)")


@pytest.mark.parametrize("function", ALL)
@pytest.mark.rule("activations.all.inputs-unchanged")
def test_input_not_modified(impl, function: str) -> None:
    z = np.random.default_rng(14).standard_normal((3, 4)) * 5
    z[0, 0] = 0.0
    before = z.copy()
    getattr(impl, function)(z)
    if not np.array_equal(z, before):
        fail(f"{function}(z) modified its input z; compute into a new array")


@pytest.mark.weight(2)
@pytest.mark.rule("activations.relu_grad.zero-at-zero")
def test_relu_grad_is_zero_at_zero(impl) -> None:
    got = assert_array(impl.relu_grad(np.zeros((2, 3))), "relu_grad(zeros)")
    assert_close(got, np.zeros((2, 3)), "relu_grad(zeros((2, 3)))",
                 hint="relu_grad(0) must be 0 (z > 0, not z >= 0), as in PyTorch")
