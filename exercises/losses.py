"""Loss functions and their gradients with respect to the predictions.

Conventions (the kit's contract, shared by every exercise):
- A loss returns a Python `float` (wrap a NumPy result in `float(...)`), the mean over the
  batch. Its gradient is an array of the prediction's shape and float dtype (float32 in,
  float32 out; integer input gives float64).
- Bad input raises `ValueError` with a message that names the problem, never a silent
  broadcast: NumPy happily turns (N,) - (N, 1) into an (N, N) array, and the loss is then
  quietly wrong. Check shapes and labels before computing anything.
- Inputs are never modified.
- Stable for every finite input: under
  `np.errstate(over="raise", invalid="raise", divide="raise")` nothing raises for logits up to
  |x| = 1e4, and no result is nan or inf.
- Build on the activations exercise: `softmax`, `log_softmax` and `sigmoid` are imported from it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .activations import log_softmax, sigmoid, softmax


def check_same_shape(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Raise ValueError naming both shapes unless `a` and `b` have exactly the same shape.

    `what` names the call in the message, e.g. "mse: pred and target".
    """
    raise NotImplementedError("losses: check_same_shape is not implemented yet")


def check_probabilities(t: np.ndarray, what: str) -> None:
    """Raise ValueError unless every entry of `t` lies in [0, 1] (a nan does not)."""
    raise NotImplementedError("losses: check_probabilities is not implemented yet")


def labels_as_indices(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Check class labels against logits of shape (N, C); return them as integers, shape (N,).

    Raises ValueError unless logits is 2-D with N >= 1, labels has shape (N,), and every label
    is an integer in [0, C). Integer-valued floats (2.0) are accepted; 1.5, -1, C, nan are not.
    """
    raise NotImplementedError("losses: labels_as_indices is not implemented yet")


def mse(pred: ArrayLike, target: ArrayLike) -> float:
    """Mean squared error: L = mean((pred - target)**2) over all elements.

    pred, target: arrays of the same shape (any). Returns a Python float.
    """
    raise NotImplementedError("losses: mse is not implemented yet")


def mse_grad(pred: ArrayLike, target: ArrayLike) -> np.ndarray:
    """dL/dpred of `mse`: 2 * (pred - target) / pred.size; shape of pred.

    The 2 comes from differentiating the square; the 1 / size from the mean.
    """
    raise NotImplementedError("losses: mse_grad is not implemented yet")


def cross_entropy(logits: ArrayLike, labels: ArrayLike) -> float:
    """Softmax cross-entropy: L = -(1/N) * sum_i log_softmax(logits)[i, labels[i]].

    logits: (N, C) unnormalised scores; labels: (N,) class indices in [0, C) (see
    `labels_as_indices`). Returns a Python float; equals `torch.nn.functional.cross_entropy`.

    Naive: -log(softmax(logits)[i, y]) takes log(0) = -inf once a probability underflows (a
    wrong class behind by 1e4). Stable: `log_softmax` computes the log-probabilities directly,
    with the log-sum-exp trick, so they stay finite.
    """
    raise NotImplementedError("losses: cross_entropy is not implemented yet")


def cross_entropy_grad(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """dL/dlogits of `cross_entropy`: (softmax(logits) - onehot(labels)) / N; shape (N, C).

    onehot(labels)[i, k] is 1 where k == labels[i], else 0. The 1 / N comes from the mean.
    """
    raise NotImplementedError("losses: cross_entropy_grad is not implemented yet")


def binary_cross_entropy_with_logits(logits: ArrayLike, targets: ArrayLike) -> float:
    """Binary cross-entropy of sigmoid(x) against targets t, from logits x:

        L = mean(-t * log(s(x)) - (1 - t) * log(1 - s(x)))
          = mean(max(x, 0) - x * t + log(1 + exp(-|x|)))

    logits, targets: arrays of the same shape (any); targets in [0, 1] (probabilities, not
    only 0 and 1). Returns a Python float; equals
    `torch.nn.functional.binary_cross_entropy_with_logits`.

    Naive: log(sigmoid(x)) is log(0) = -inf for x = -1e4 (sigmoid underflows to 0), and
    log(1 - sigmoid(x)) is log(0) for x = 1e4. Stable: the second form never takes the log of
    anything below 1, and exp(-|x|) never overflows; `np.log1p(u)` computes log(1 + u)
    accurately for small u.
    """
    raise NotImplementedError("losses: binary_cross_entropy_with_logits is not implemented yet")


def binary_cross_entropy_with_logits_grad(logits: ArrayLike, targets: ArrayLike) -> np.ndarray:
    """dL/dlogits of `binary_cross_entropy_with_logits`: (sigmoid(x) - t) / x.size; shape of x."""
    raise NotImplementedError("losses: binary_cross_entropy_with_logits_grad is not implemented yet")
