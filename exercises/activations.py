"""Activation functions and their derivatives.

Conventions (the kit's contract, shared by every exercise):
- `z` is a NumPy array of any shape (a Python scalar works too); every function here is
  elementwise, except `softmax` and `log_softmax`, which work along `axis`.
- Results keep the input's float dtype: float32 in, float32 out. Integer input gives float64.
  `_as_float` below applies that rule; start each function with it.
- Inputs are never modified: each function returns a new array.
- Stable for every finite input: under
  `np.errstate(over="raise", invalid="raise", divide="raise")` no function raises for |z| up to
  1e4, and no result is nan or inf. `np.exp(1e4)` overflows, so the naive formulas fail here;
  each docstring says how the stable recipe avoids it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _as_float(z: ArrayLike) -> np.ndarray:
    """`z` as an array of its own float dtype, or float64 when it holds integers or bools."""
    z = np.asarray(z)
    return z if np.issubdtype(z.dtype, np.floating) else z.astype(np.float64)


def sigmoid(z: ArrayLike) -> np.ndarray:
    """The logistic function s(z) = 1 / (1 + exp(-z)), elementwise; same shape as z.

    Naive: for z = -1e4, exp(-z) = exp(1e4) overflows (inf, or FloatingPointError under
    errstate). Stable: with e = exp(-|z|), which lies in (0, 1] and never overflows,
        s(z) = 1 / (1 + e)    for z >= 0
        s(z) = e / (1 + e)    for z < 0    (multiply top and bottom of the formula by exp(z))
    Beware: `np.where(cond, a, b)` computes both a and b for every element, so each branch
    must be safe everywhere, not only where it is chosen.
    """
    raise NotImplementedError("activations: sigmoid is not implemented yet")


def sigmoid_grad(z: ArrayLike) -> np.ndarray:
    """ds/dz = s(z) * (1 - s(z)) = s(z) * s(-z), elementwise; same shape as z.

    Writing 1 - s(z) as s(-z) keeps full precision where s(z) is close to 1 (large z), where
    1 - s(z) would subtract two nearly equal numbers.
    """
    raise NotImplementedError("activations: sigmoid_grad is not implemented yet")


def relu(z: ArrayLike) -> np.ndarray:
    """relu(z) = max(z, 0), elementwise; same shape as z."""
    raise NotImplementedError("activations: relu is not implemented yet")


def relu_grad(z: ArrayLike) -> np.ndarray:
    """d relu / dz: 1.0 where z > 0, else 0.0, elementwise; same shape and dtype as relu(z).

    relu has no derivative at z = 0; like PyTorch, we take 0 there.
    """
    raise NotImplementedError("activations: relu_grad is not implemented yet")


def tanh(z: ArrayLike) -> np.ndarray:
    """tanh(z) = (exp(z) - exp(-z)) / (exp(z) + exp(-z)), elementwise; same shape as z.

    That formula overflows for |z| > ~710; `np.tanh` computes it stably.
    """
    raise NotImplementedError("activations: tanh is not implemented yet")


def tanh_grad(z: ArrayLike) -> np.ndarray:
    """d tanh / dz = 1 - tanh(z)**2, elementwise; same shape as z."""
    raise NotImplementedError("activations: tanh_grad is not implemented yet")


def softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """softmax(z)_i = exp(z_i) / sum_j exp(z_j), along `axis`; same shape as z.

    For logits of shape (N, C) and the default axis, each row is a probability distribution:
    entries in [0, 1] that sum to 1.

    Naive: exp(1e4) overflows, and inf / inf is nan. Stable: softmax does not change when the
    same constant is subtracted from every z_j (it cancels between top and bottom), so subtract
    m = max_j z_j first. Then every exp(z_j - m) is at most 1, and the largest is exactly 1, so
    the sum is at least 1 and the division is safe.
    """
    raise NotImplementedError("activations: softmax is not implemented yet")


def log_softmax(z: ArrayLike, axis: int = -1) -> np.ndarray:
    """log softmax(z)_i = z_i - log(sum_j exp(z_j)), along `axis`; same shape as z.

    Naive: np.log(softmax(z)). For z = [0, -1e4], softmax is [1, 0] in floating point (exp(-1e4)
    underflows to 0), and log(0) = -inf, although the true value is -1e4. Stable (the
    "log-sum-exp trick"): with m = max_j z_j,
        log_softmax(z)_i = (z_i - m) - log(sum_j exp(z_j - m)),
    where the sum lies in [1, size along axis], so its log is finite and never a log of 0.
    """
    raise NotImplementedError("activations: log_softmax is not implemented yet")
