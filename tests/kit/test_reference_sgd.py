"""The sgd reference agrees with torch.optim.SGD (float64) and with least squares, so the
reference is never the only witness of what the suites expect."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import sgd

SHAPES = {"W": (3, 4), "b": (4,), "s": (1,)}


def torch_sgd_trajectory(params: dict, grads: list[dict], **options) -> dict:
    """The parameters after torch.optim.SGD has taken one step per gradient dict."""
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}  # float64
    optimizer = torch.optim.SGD(list(tensors.values()), **options)
    for step_grads in grads:
        for name, t in tensors.items():
            t.grad = torch.tensor(step_grads[name], dtype=torch.float64)
        optimizer.step()
    return {k: t.detach().numpy() for k, t in tensors.items()}


def random_problem(seed: int, steps: int) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    grads = [{k: rng.standard_normal(s) for k, s in SHAPES.items()} for _ in range(steps)]
    return params, grads


def reference_trajectory(params: dict, grads: list[dict], **options) -> dict:
    arrays = {k: v.copy() for k, v in params.items()}
    optimizer = sgd.SGD(arrays, **options)
    for step_grads in grads:
        optimizer.step(step_grads)
    return arrays


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01, 0.3])
def test_sgd_matches_torch(momentum: float, weight_decay: float) -> None:
    params, grads = random_problem(0, steps=8)
    options = {"lr": 0.05, "momentum": momentum, "weight_decay": weight_decay}
    ours = reference_trajectory(params, grads, **options)
    theirs = torch_sgd_trajectory(params, grads, **options)
    for name in params:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-13, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    steps=st.integers(1, 6),
    lr=st.floats(1e-3, 1.0),
    momentum=st.floats(0.0, 0.99),
    weight_decay=st.floats(0.0, 0.5),
)
def test_sgd_matches_torch_for_any_settings(seed, steps, lr, momentum, weight_decay) -> None:
    params, grads = random_problem(seed, steps)
    options = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
    ours = reference_trajectory(params, grads, **options)
    theirs = torch_sgd_trajectory(params, grads, **options)
    for name in params:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12, atol=1e-14)


def test_step_updates_the_callers_arrays_and_not_the_grads() -> None:
    w = np.ones(3)
    grads = {"w": np.array([1.0, 2.0, 3.0])}
    optimizer = sgd.SGD({"w": w}, lr=0.5, momentum=0.9, weight_decay=0.1)
    optimizer.step(grads)
    optimizer.step(grads)
    expected = torch_sgd_trajectory({"w": np.ones(3)}, [grads, grads], lr=0.5, momentum=0.9,
                                    weight_decay=0.1)["w"]
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    np.testing.assert_array_equal(grads["w"], [1.0, 2.0, 3.0])


@settings(max_examples=30, deadline=None)
@given(n_samples=st.integers(0, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 99))
def test_minibatches_partition_the_permutation(n_samples, batch_size, seed) -> None:
    batches = list(sgd.iterate_minibatches(n_samples, batch_size,
                                           rng=np.random.default_rng(seed)))
    assert len(batches) == -(-n_samples // batch_size)
    assert all(len(b) == batch_size for b in batches[:-1])
    order = np.concatenate(batches) if batches else np.array([], dtype=int)
    np.testing.assert_array_equal(order, np.random.default_rng(seed).permutation(n_samples))


def test_full_batch_training_matches_torch_gradient_descent() -> None:
    # One batch of all samples: the shuffle only reorders the sum, so torch's full-batch
    # gradient descent on F.mse_loss takes the same steps (to rounding).
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    w, b, losses = sgd.train_linear_regression(X, y, lr=0.1, epochs=15, batch_size=30,
                                               rng=np.random.default_rng(0))
    X_t, y_t = torch.tensor(X), torch.tensor(y)
    w_t = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    b_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w_t, b_t], lr=0.1)
    torch_losses = []
    for _ in range(15):
        optimizer.zero_grad()
        F.mse_loss(X_t @ w_t + b_t, y_t).backward()
        optimizer.step()
        with torch.no_grad():
            torch_losses.append(F.mse_loss(X_t @ w_t + b_t, y_t).item())
    np.testing.assert_allclose(w, w_t.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(b, b_t.item(), rtol=1e-10)
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-10)


@pytest.mark.parametrize(("batch_size", "lr"), [(1, 0.02), (7, 0.1), (50, 0.3)])
def test_training_converges_to_least_squares(batch_size: int, lr: float) -> None:
    rng = np.random.default_rng(batch_size)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([0.5, -1.0, 2.0]) + 0.25  # noiseless: the lstsq fit is exact
    w, b, losses = sgd.train_linear_regression(X, y, lr=lr, epochs=200, batch_size=batch_size,
                                               rng=np.random.default_rng(0))
    solution, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(50)]), y, rcond=None)
    np.testing.assert_allclose(w, solution[:3], atol=1e-8)
    np.testing.assert_allclose(b, solution[3], atol=1e-8)
    assert losses[-1] < 1e-15 < losses[0]


def test_training_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 2)), rng.standard_normal(40)
    first = sgd.train_linear_regression(X, y, epochs=5, batch_size=6,
                                        rng=np.random.default_rng(4))
    second = sgd.train_linear_regression(X, y, epochs=5, batch_size=6,
                                         rng=np.random.default_rng(4))
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1:] == second[1:]
