"""Hidden tests of the losses exercise: randomised comparisons with the reference (which agrees
with torch.nn.functional, see tests/kit/test_reference_losses.py) and the edge cases of the
contract: logits of 1e4 with float errors raised, (N,) against (N, 1), label checks, dtypes,
Python floats, inputs untouched."""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import (
    assert_array,
    assert_close,
    assert_dtype,
    assert_python_float,
    expect_value_error,
    fail,
    strict_floats,
)
from grader.suites.hints import STABLE_HINT, loss_grad_hint, mean_hint

DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["float64", "float32"]
LOSSES = ["mse", "cross_entropy", "binary_cross_entropy_with_logits"]
GRADS = {loss: f"{loss}_grad" for loss in LOSSES}


def make_inputs(loss: str, rng: np.random.Generator, shape: tuple[int, ...], dtype,
                scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, target) for `loss`: targets of the prediction's shape, labels (N,) for CE."""
    pred = (rng.standard_normal(shape) * scale).astype(dtype)
    if loss == "cross_entropy":
        return pred, rng.integers(0, shape[1], size=shape[0])
    if loss == "binary_cross_entropy_with_logits":
        return pred, rng.uniform(size=shape).astype(dtype)
    return pred, rng.standard_normal(shape).astype(dtype)


SHAPES = {
    "mse": [(1,), (6,), (4, 3), (2, 3, 2)],
    "cross_entropy": [(1, 2), (5, 3), (8, 10), (3, 1)],
    "binary_cross_entropy_with_logits": [(1,), (7,), (4, 3), (2, 2, 3)],
}


@pytest.mark.weight(6)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.rule(
    "losses.mse.formula", "losses.cross_entropy.formula",
    "losses.binary_cross_entropy_with_logits.formula",
)
def test_loss_matches_reference(impl, ref, loss: str, dtype) -> None:
    rng = np.random.default_rng(20)
    for shape in SHAPES[loss]:
        pred, target = make_inputs(loss, rng, shape, dtype)
        n = shape[0] if loss == "cross_entropy" else pred.size
        expected = np.float64(getattr(ref, loss)(pred, target))
        assert_close(getattr(impl, loss)(pred, target), expected,
                     f"{loss} for inputs of shape {shape}, {np.dtype(dtype)}",
                     **({"rtol": 1e-4, "atol": 1e-6} if dtype == np.float32 else {}),
                     hint=mean_hint(n))


@pytest.mark.weight(6)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.rule(
    "losses.mse_grad.formula", "losses.cross_entropy_grad.formula",
    "losses.binary_cross_entropy_with_logits_grad.formula",
)
def test_grad_matches_reference(impl, ref, loss: str, dtype) -> None:
    rng = np.random.default_rng(21)
    grad = GRADS[loss]
    for shape in SHAPES[loss]:
        pred, target = make_inputs(loss, rng, shape, dtype)
        n = shape[0] if loss == "cross_entropy" else pred.size
        assert_close(getattr(impl, grad)(pred, target), getattr(ref, grad)(pred, target),
                     f"{grad} for inputs of shape {shape}, {np.dtype(dtype)}",
                     hint=loss_grad_hint(n))


@pytest.mark.weight(6)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.rule("losses.all.stable-to-1e4")
def test_stable_for_logits_up_to_1e4(impl, ref, loss: str, dtype) -> None:
    rng = np.random.default_rng(22)
    _, target = make_inputs(loss, rng, (6, 4), dtype)
    logits = rng.uniform(-1e4, 1e4, size=(6, 4)).astype(dtype)
    logits[0] = [1e4, -1e4, 0.0, 5e3]
    what = f"{loss} with logits up to |x| = 1e4, {np.dtype(dtype)}"
    with strict_floats(what, hint=STABLE_HINT):
        loss_value = getattr(impl, loss)(logits, target)
        grad = getattr(impl, GRADS[loss])(logits, target)
    assert_close(loss_value, np.float64(getattr(ref, loss)(logits, target)), what,
                 rtol=1e-4 if dtype == np.float32 else None, hint=STABLE_HINT)
    assert_close(grad, getattr(ref, GRADS[loss])(logits, target), f"{GRADS[loss]}: {what}")


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.rule("losses.all.python-float")
def test_loss_is_python_float_for_float32_inputs(impl, loss: str) -> None:
    pred, target = make_inputs(loss, np.random.default_rng(23), (4, 3), np.float32)
    assert_python_float(getattr(impl, loss)(pred, target), f"{loss} of float32 inputs")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.rule("losses.all.float-dtype-kept", "conventions.numpy-in-numpy-out")
def test_grad_keeps_float_dtype(impl, loss: str, dtype) -> None:
    pred, target = make_inputs(loss, np.random.default_rng(24), (4, 3), dtype)
    what = f"{GRADS[loss]} of {np.dtype(dtype)} inputs"
    assert_dtype(assert_array(getattr(impl, GRADS[loss])(pred, target), what), dtype, what)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.rule("losses.all.integer-gives-float64")
def test_integer_inputs(impl, ref, loss: str) -> None:
    pred = np.array([[3, -1, 0], [2, 2, 5]])
    target = np.array([2, 0]) if loss == "cross_entropy" else np.array([[1, 0, 0], [1, 1, 0]])
    what = f"{loss} of integer inputs"
    value = getattr(impl, loss)(pred, target)
    assert_close(value, np.float64(getattr(ref, loss)(pred, target)), what)
    grad = assert_array(getattr(impl, GRADS[loss])(pred, target), f"{GRADS[loss]} of integers")
    assert_dtype(grad, np.float64, f"{GRADS[loss]} of integer inputs")
    assert_close(grad, getattr(ref, GRADS[loss])(pred, target), f"{GRADS[loss]} of integers")


@pytest.mark.parametrize("function", [*LOSSES, *GRADS.values()])
@pytest.mark.rule("losses.all.inputs-unchanged")
def test_inputs_not_modified(impl, function: str) -> None:
    loss = function.removesuffix("_grad")
    pred, target = make_inputs(loss, np.random.default_rng(25), (5, 3), np.float64)
    before = pred.copy(), target.copy()
    getattr(impl, function)(pred, target)
    if not (np.array_equal(pred, before[0]) and np.array_equal(target, before[1])):
        fail(f"{function} modified its input arrays; compute into new arrays "
             "(softmax(logits) - onehot, not logits -= ...)")


# The broadcasting traps: NumPy turns (N,) - (N, 1) into (N, N) without a word.


@pytest.mark.parametrize("function", ["mse", "mse_grad", "binary_cross_entropy_with_logits",
                                      "binary_cross_entropy_with_logits_grad"])
@pytest.mark.parametrize(("shape_a", "shape_b"), [((5,), (5, 1)), ((5, 1), (5,)),
                                                  ((1, 5), (5, 1)), ((2, 3), (3,))],
                         ids=["N-vs-Nx1", "Nx1-vs-N", "1xN-vs-Nx1", "2x3-vs-3"])
@pytest.mark.rule(
    "losses.mse.shapes-equal", "losses.binary_cross_entropy_with_logits.shapes-equal",
)
def test_mismatched_shapes_raise(impl, function: str, shape_a, shape_b) -> None:
    a, b = np.full(shape_a, 0.5), np.full(shape_b, 0.25)
    with expect_value_error(f"{function} with shapes {shape_a} and {shape_b}",
                            "shapes must be equal: no silent broadcasting"):
        getattr(impl, function)(a, b)


@pytest.mark.parametrize("function", ["cross_entropy", "cross_entropy_grad"])
@pytest.mark.parametrize(
    ("labels", "problem"),
    [(np.array([[0], [1], [2]]), "labels of shape (3, 1)"),
     (np.array([0, 1]), "2 labels for 3 rows"),
     (np.array([0, 4, 1]), "a label of 4 with C = 4"),
     (np.array([0, -2, 1]), "a negative label"),
     (np.array([0.0, 2.5, 1.0]), "a label of 2.5"),
     (np.array([0.0, np.nan, 1.0]), "a nan label"),
     (np.array([0, 1, 100]), "a label of 100")],
    ids=["Nx1", "too-few", "equal-to-C", "negative", "fractional", "nan", "far-out"],
)
@pytest.mark.rule("losses.cross_entropy.labels-in-range", "losses.cross_entropy.labels-shape")
def test_bad_labels_raise(impl, function: str, labels: np.ndarray, problem: str) -> None:
    logits = np.random.default_rng(26).standard_normal((3, 4))
    with expect_value_error(f"{function} with {problem}",
                            "labels are integers in [0, C), shape (N,)"):
        getattr(impl, function)(logits, labels)


@pytest.mark.parametrize("function", ["cross_entropy", "cross_entropy_grad"])
@pytest.mark.rule("losses.cross_entropy.labels-shape")
def test_logits_must_be_2d(impl, function: str) -> None:
    with expect_value_error(f"{function} with 1-D logits of shape (4,)",
                            "logits have shape (N, C)"):
        getattr(impl, function)(np.zeros(4), np.array([1]))


@pytest.mark.parametrize("function", ["cross_entropy", "cross_entropy_grad"])
@pytest.mark.parametrize("labels", [np.array([3.0, 0.0, 1.0]), np.array([3, 0, 1], np.uint8),
                                    np.array([3, 0, 1], np.int32)],
                         ids=["float64", "uint8", "int32"])
@pytest.mark.rule("losses.cross_entropy.integer-valued-floats-accepted")
def test_label_dtypes_accepted(impl, ref, function: str, labels: np.ndarray) -> None:
    logits = np.random.default_rng(27).standard_normal((3, 4))
    expected = getattr(ref, function)(logits, np.array([3, 0, 1]))
    what = f"{function} with {labels.dtype} labels {labels.tolist()}"
    assert_close(np.asarray(getattr(impl, function)(logits, labels)), np.asarray(expected), what)


@pytest.mark.parametrize("function", ["binary_cross_entropy_with_logits",
                                      "binary_cross_entropy_with_logits_grad"])
@pytest.mark.rule("losses.binary_cross_entropy_with_logits.targets-in-0-1")
def test_bce_accepts_boundary_targets(impl, ref, function: str) -> None:
    x, t = np.array([-3.0, 0.5, 2.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0])
    expected = np.asarray(getattr(ref, function)(x, t))
    assert_close(np.asarray(getattr(impl, function)(x, t)), expected,
                 f"{function} with targets exactly 0 and 1")
