"""The activations reference agrees with PyTorch (float64, autograd) and with finite differences,
so the reference is never the only witness of what the suites expect."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from solutions import activations

FORWARD = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}
STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}


def inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.standard_normal(7) * 5,
        rng.standard_normal((4, 6)) * 30,
        rng.uniform(-1e4, 1e4, size=(3, 4, 5)),
        np.array([-1e4, -745.0, -40.0, -1.0, 0.0, 1.0, 40.0, 745.0, 1e4]),
    ]


def torch_grad(f, z: np.ndarray) -> np.ndarray:
    """d f / dz elementwise, by autograd: the gradient of sum(f(z))."""
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    f(t).sum().backward()
    return t.grad.numpy()


@pytest.mark.parametrize("name", FORWARD)
def test_elementwise_matches_torch(name: str) -> None:
    for z in inputs():
        with np.errstate(**STRICT):
            got = getattr(activations, name)(z)
        np.testing.assert_allclose(got, FORWARD[name](torch.tensor(z)).numpy(), rtol=1e-12,
                                   atol=1e-300)


@pytest.mark.parametrize("name", FORWARD)
def test_grad_matches_autograd(name: str) -> None:
    for z in inputs():
        with np.errstate(**STRICT):
            got = getattr(activations, f"{name}_grad")(z)
        np.testing.assert_allclose(got, torch_grad(FORWARD[name], z), rtol=1e-9, atol=1e-15)


def test_relu_grad_at_zero_matches_torch() -> None:
    assert torch_grad(torch.relu, np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert activations.relu_grad(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -1, -3])
def test_softmax_family_matches_torch(name: str, axis: int) -> None:
    for scale in (1.0, 30.0, 1e4):
        z = np.random.default_rng(1).standard_normal((3, 4, 5)) * scale
        with np.errstate(**STRICT):
            got = getattr(activations, name)(z, axis=axis)
        expected = getattr(torch, name)(torch.tensor(z), dim=axis).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_grad_matches_finite_differences(name: str) -> None:
    z, h = np.linspace(-8, 8, 33), 1e-6
    f = getattr(activations, name)
    numeric = (f(z + h) - f(z - h)) / (2 * h)
    np.testing.assert_allclose(getattr(activations, f"{name}_grad")(z), numeric, rtol=1e-6,
                               atol=1e-10)


@pytest.mark.parametrize("name", [*FORWARD, "sigmoid_grad", "relu_grad", "tanh_grad",
                                  "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtype_rule(name: str, dtype) -> None:
    z = np.array([[-3, 0, 2]], dtype=dtype)
    expected = dtype if np.issubdtype(dtype, np.floating) else np.float64
    assert getattr(activations, name)(z).dtype == expected


finite = st.floats(-1e4, 1e4, allow_nan=False, width=64)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5), elements=finite))
def test_stable_and_consistent_for_any_finite_input(z: np.ndarray) -> None:
    with np.errstate(**STRICT):
        s = activations.sigmoid(z)
        p = activations.softmax(z)
        log_p = activations.log_softmax(z)
        assert np.all((s >= 0) & (s <= 1))
        np.testing.assert_allclose(activations.sigmoid(-z), 1 - s, atol=1e-15)
        np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(log_p, torch.log_softmax(torch.tensor(z), -1).numpy(),
                                   rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(log_p))
