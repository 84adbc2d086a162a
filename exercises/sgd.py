"""Stochastic gradient descent: minibatches, the SGD update with momentum and weight decay.

Conventions (the kit's contract, shared by every exercise):
- Parameters live in a dict of NumPy arrays, `params = {"w": w, "b": b}`; gradients in a dict
  with exactly the same keys and shapes.
- `SGD.step` is the one function here that modifies its input: it updates the arrays of
  `params` IN PLACE (`p -= ...`), so whoever holds those arrays (a model, a test) sees the new
  values. Writing `params[name] = p - ...` instead makes a new array and leaves theirs stale.
  Nothing else modifies its inputs, `grads` included.
- Bad input raises `ValueError` with a message that names the problem, never a silent
  broadcast.

Vocabulary:
- A minibatch is a small set of sample indices; its gradient is a noisy estimate of the
  full-data gradient, far cheaper to compute.
- An epoch is one pass over all N samples: ceil(N / batch_size) minibatches, one SGD step each,
  in an order reshuffled every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike

from .losses import mse, mse_grad


def iterate_minibatches(
    n_samples: int, batch_size: int, shuffle: bool = True, rng: np.random.Generator | None = None
) -> Iterator[np.ndarray]:
    """Yield integer index arrays that cover range(n_samples) exactly once.

    The order is `rng.permutation(n_samples)` with shuffle (one call per pass; `rng` defaults to
    `np.random.default_rng()`), or 0, 1, ..., n_samples - 1 without. It is cut into consecutive
    batches of `batch_size` indices; the last batch holds the remainder and may be smaller.
    Example: n_samples=5, batch_size=2, shuffle=False yields [0 1], [2 3], [4].

    Raises ValueError if batch_size <= 0 or n_samples < 0 (at the latest when the first batch
    is asked for: a generator's body starts running at the first `next`).
    """
    raise NotImplementedError("sgd: iterate_minibatches is not implemented yet")


class SGD:
    """Stochastic gradient descent with momentum and weight decay, as `torch.optim.SGD`.

    The algorithm torch documents, with dampening tau = 0 and no Nesterov (gamma = lr,
    mu = momentum, lambda = weight_decay, theta a parameter, b its momentum buffer):

        g_t <- gradient of the loss at theta_{t-1}
        if lambda != 0:  g_t <- g_t + lambda * theta_{t-1}   (the gradient of lambda/2 |theta|^2)
        if mu != 0:
            if t > 1:    b_t <- mu * b_{t-1} + (1 - tau) * g_t
            else:        b_t <- g_t                          (the buffer starts at g, not at 0)
            g_t <- b_t
        theta_t <- theta_{t-1} - gamma * g_t

    For each array p of params, with its gradient `grad`, that is:
        g = grad + weight_decay * p
        v = g on the first step, else momentum * v + g        (one buffer v per array)
        p -= lr * v                                           (in place)
    With momentum 0, v = g: plain SGD.
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}"
            )
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity: dict[str, np.ndarray] = {}  # torch's momentum_buffer; empty before step 1

    def step(self, grads: dict[str, ArrayLike]) -> None:
        """Apply one update (see the class docstring) to every array of `params`, in place.

        grads: dict with exactly the keys of params, each gradient of its parameter's shape;
        else ValueError, raised before any parameter changes. `grads` is not modified.
        """
        raise NotImplementedError("sgd: SGD.step is not implemented yet")


def train_linear_regression(
    X: ArrayLike,
    y: ArrayLike,
    lr: float = 0.1,
    epochs: int = 100,
    batch_size: int = 32,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, float, list[float]]:
    """Fit y ~ X @ w + b by minibatch SGD on the mean squared error.

    X: (N, D); y: (N,). Starts from w = zeros(D) (float64), b = 0.0. Each epoch takes its batches
    from `iterate_minibatches(N, batch_size, shuffle=True, rng=rng)` and makes one plain SGD step
    (momentum 0, no weight decay) per batch B, on the batch loss L = mse(X_B @ w + b, y_B):
        dL/dpred = mse_grad(pred, y_B)               (B,)
        dL/dw    = X_B.T @ dL/dpred                  (D,)
        dL/db    = sum(dL/dpred)                     scalar
    After each epoch it records the full-data loss mse(X @ w + b, y).

    Returns (w, b, losses): w of shape (D,), b a float, losses a list of `epochs` floats.
    Raises ValueError unless X is 2-D and y has shape (N,).
    """
    raise NotImplementedError("sgd: train_linear_regression is not implemented yet")
