"""The losses reference agrees with torch.nn.functional (float64, autograd) and with finite
differences, so the reference is never the only witness of what the suites expect."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import losses

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}


def torch_loss_and_grad(loss, x: np.ndarray, target: torch.Tensor) -> tuple[float, np.ndarray]:
    """The loss torch computes at x, and its gradient with respect to x by autograd."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = loss(t, target)
    value.backward()
    return value.item(), t.grad.numpy()


def numerical_gradient(loss, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (loss(x + step) - loss(x - step)) / (2 * h)
    return grad


def classification_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    cases = []
    for n, c, scale in [(1, 2, 1.0), (5, 3, 3.0), (16, 10, 30.0), (8, 4, 1e4)]:
        cases.append((rng.standard_normal((n, c)) * scale, rng.integers(0, c, size=n)))
    cases.append((np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]]), np.array([0, 2])))
    return cases


@pytest.mark.parametrize("shape", [(1,), (7,), (4, 3), (2, 3, 4)])
def test_mse_matches_torch(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    value, grad = torch_loss_and_grad(F.mse_loss, pred, torch.tensor(target))
    assert isinstance(losses.mse(pred, target), float)
    np.testing.assert_allclose(losses.mse(pred, target), value, rtol=1e-12)
    np.testing.assert_allclose(losses.mse_grad(pred, target), grad, rtol=1e-12, atol=1e-300)


def test_cross_entropy_matches_torch() -> None:
    for logits, labels in classification_cases():
        with np.errstate(**STRICT):
            got, got_grad = (losses.cross_entropy(logits, labels),
                             losses.cross_entropy_grad(logits, labels))
        value, grad = torch_loss_and_grad(F.cross_entropy, logits, torch.tensor(labels))
        assert isinstance(got, float)
        np.testing.assert_allclose(got, value, rtol=1e-12)
        np.testing.assert_allclose(got_grad, grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("scale", [1.0, 5.0, 1e4])
def test_binary_cross_entropy_with_logits_matches_torch(scale: float) -> None:
    rng = np.random.default_rng(2)
    for shape in [(1,), (9,), (4, 5)]:
        x, t = rng.standard_normal(shape) * scale, rng.uniform(size=shape)
        t.flat[0] = 1.0
        with np.errstate(**STRICT):
            got = losses.binary_cross_entropy_with_logits(x, t)
            got_grad = losses.binary_cross_entropy_with_logits_grad(x, t)
        value, grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, x, torch.tensor(t))
        np.testing.assert_allclose(got, value, rtol=1e-12)
        np.testing.assert_allclose(got_grad, grad, rtol=1e-10, atol=1e-15)


def test_grads_match_finite_differences() -> None:
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    logits, labels = rng.standard_normal((4, 3)) * 2, np.array([0, 2, 1, 1])
    probs = rng.uniform(size=(3, 4))
    pairs = [
        (losses.mse_grad(pred, target), numerical_gradient(lambda p: losses.mse(p, target), pred)),
        (losses.cross_entropy_grad(logits, labels),
         numerical_gradient(lambda z: losses.cross_entropy(z, labels), logits)),
        (losses.binary_cross_entropy_with_logits_grad(pred, probs),
         numerical_gradient(lambda z: losses.binary_cross_entropy_with_logits(z, probs), pred)),
    ]
    for analytic, numeric in pairs:
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("labels", "message"),
    [([0, 3], r"\[0, 3\)"), ([0, -1], r"\[0, 3\)"), ([0, 1.5], "integers"),
     ([0, np.nan], "integers"), ([[0], [1]], "shape"), ([True, False], "integers")],
)
def test_bad_labels_are_refused_with_a_message(labels: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        losses.cross_entropy(np.zeros((2, 3)), np.array(labels))


def test_bad_shapes_and_targets_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(3,\) and \(3, 1\)"):
        losses.mse(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.5, 1.01]))
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        losses.cross_entropy(np.zeros(3), np.array([0]))


def test_inputs_are_not_modified() -> None:
    logits, labels = np.random.default_rng(4).standard_normal((3, 4)), np.array([0, 3, 1])
    before = logits.copy()
    losses.cross_entropy_grad(logits, labels)
    losses.cross_entropy(logits, labels)
    np.testing.assert_array_equal(logits, before)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 6), scale=st.sampled_from([1.0, 100.0, 1e4]),
       seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_matches_torch_for_random_sizes(n: int, c: int, scale: float,
                                                      seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits, labels = rng.uniform(-scale, scale, size=(n, c)), rng.integers(0, c, size=n)
    with np.errstate(**STRICT):
        got, got_grad = losses.cross_entropy(logits, labels), losses.cross_entropy_grad(logits,
                                                                                        labels)
    value, grad = torch_loss_and_grad(F.cross_entropy, logits, torch.tensor(labels))
    np.testing.assert_allclose(got, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_grad, grad, rtol=1e-10, atol=1e-15)
