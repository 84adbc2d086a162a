"""The reference backprop agrees with PyTorch autograd (float64) and with finite differences.

The suites compare submissions with solutions/backprop.py; these tests make sure the reference
is not the only witness: an MLP with the same weights, built from torch primitives, gives the
same loss and gradients, and `numerical_gradient` agrees with autograd.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.backprop import MLP, numerical_gradient, relative_error

TORCH_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
LAYER_SIZES = [[3, 4], [3, 5, 4], [4, 6, 5, 3], [2, 3, 3, 3, 2]]


def torch_logits(mlp: MLP, X: np.ndarray) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The reference MLP's forward pass with torch tensors (float64) that track gradients."""
    params = {name: torch.tensor(p, requires_grad=True) for name, p in mlp.params.items()}
    sigma = TORCH_ACTIVATIONS[mlp.activation]
    a = torch.tensor(X)
    for k in range(1, mlp.n_layers + 1):
        z = a @ params[f"W{k}"] + params[f"b{k}"]
        a = sigma(z) if k < mlp.n_layers else z
    return a, params


def batch(seed: int, layer_sizes: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, layer_sizes[0])), rng.integers(0, layer_sizes[-1], size=n)


def assert_grads_equal_torch(grads: dict[str, np.ndarray], params: dict[str, torch.Tensor]):
    assert sorted(grads) == sorted(params)
    for name, p in params.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-10, atol=1e-13,
                                   err_msg=name)


@pytest.mark.parametrize("layer_sizes", LAYER_SIZES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
def test_loss_and_grads_match_autograd(activation: str, layer_sizes: list[int]) -> None:
    mlp = MLP(layer_sizes, activation, seed=3)
    X, labels = batch(1, layer_sizes, 7)
    loss, grads = mlp.loss_and_grads(X, labels)
    logits, params = torch_logits(mlp, X)
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    torch_loss.backward()
    assert isinstance(loss, float)
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    assert_grads_equal_torch(grads, params)


@pytest.mark.parametrize("activation", list(TORCH_ACTIVATIONS))
def test_backward_of_any_dlogits_matches_autograd(activation: str) -> None:
    layer_sizes = [4, 6, 5, 3]
    mlp = MLP(layer_sizes, activation, seed=4)
    X, _ = batch(2, layer_sizes, 5)
    dlogits = np.random.default_rng(3).standard_normal((5, 3))
    mlp.forward(X)
    grads = mlp.backward(dlogits)
    logits, params = torch_logits(mlp, X)
    logits.backward(torch.tensor(dlogits))  # vector-Jacobian product with dC/dlogits
    assert_grads_equal_torch(grads, params)


@settings(max_examples=15, deadline=None)
@given(
    layer_sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    activation=st.sampled_from(list(TORCH_ACTIVATIONS)),
    n=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_random_networks_match_autograd(layer_sizes, activation, n, seed) -> None:
    mlp = MLP(layer_sizes, activation, seed=seed)
    X, labels = batch(seed, layer_sizes, n)
    loss, grads = mlp.loss_and_grads(X * 3, labels)
    logits, params = torch_logits(mlp, X * 3)
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    assert_grads_equal_torch(grads, params)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_numerical_gradient_matches_autograd_on_the_loss(activation: str) -> None:
    layer_sizes = [3, 5, 4]
    mlp = MLP(layer_sizes, activation, seed=5)
    X, labels = batch(6, layer_sizes, 6)
    logits, params = torch_logits(mlp, X)
    torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).backward()
    for name in mlp.params:
        before = mlp.params[name].copy()
        numeric = numerical_gradient(lambda _: mlp.loss_and_grads(X, labels)[0], mlp.params[name])
        assert relative_error(numeric, params[name].grad.numpy()) < 1e-7, name
        assert np.array_equal(mlp.params[name], before)


def test_numerical_gradient_matches_autograd_on_a_function() -> None:
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    xt = torch.tensor(x, requires_grad=True)
    (torch.sin(xt) * torch.tensor(w)).sum().backward()
    numeric = numerical_gradient(lambda v: float(np.sum(np.sin(v) * w)), x)
    np.testing.assert_allclose(numeric, xt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_initialisation_is_the_contract_recipe() -> None:
    mlp = MLP([4, 3, 2], "tanh", seed=11)
    rng = np.random.default_rng(11)
    W1 = rng.standard_normal((4, 3)) * np.sqrt(2.0 / 4)
    W2 = rng.standard_normal((3, 2)) * np.sqrt(2.0 / 3)
    assert list(mlp.params) == ["W1", "b1", "W2", "b2"]
    assert np.array_equal(mlp.params["W1"], W1) and np.array_equal(mlp.params["W2"], W2)
    assert np.array_equal(mlp.params["b1"], np.zeros(3))
    assert np.array_equal(mlp.params["b2"], np.zeros(2))


def test_bad_construction_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="softplus"):
        MLP([3, 2], activation="softplus")
    for layer_sizes in ([3], [3, 0, 2]):
        with pytest.raises(ValueError, match="layer_sizes"):
            MLP(layer_sizes)


def test_relative_error_matches_its_formula() -> None:
    assert relative_error(np.zeros(4), np.zeros(4)) == 0.0
    assert relative_error(np.array([1.0, -2.0]), np.array([1.5, -2.0])) == pytest.approx(0.5 / 4)
    with pytest.raises(ValueError):
        relative_error(np.ones(3), np.ones((3, 1)))
