"""The perceptron (Rosenblatt, 1958): a linear threshold unit and its learning rule.

Conventions (the kit's contract, shared by every exercise):
- X has shape (N, n_features): one sample per row. y has shape (N,) and holds 0s and 1s.
- The weights `w` have shape (n_features,) and dtype float64; the bias `b` is a Python float.
- Bad input raises `ValueError` with a message that names the problem (a shape, a label),
  never a silent broadcast: with a 1-D X, `X @ w` is a single number, not one per sample.
- Inputs are never modified. `fit` loops over samples one at a time, by design: that loop is
  the learning rule.

The model:
    net_input(x) = x . w + b                   (a real number per sample)
    predict(x)   = 1 if net_input(x) > 0 else 0  (0 on the boundary, net_input == 0)

The learning rule, for one sample (x_i, y_i):
    update = lr * (y_i - predict(x_i))         (0 when right; +lr or -lr when wrong)
    w     <- w + update * x_i
    b     <- b + update
A wrong sample pulls the boundary towards classifying it correctly. An epoch is one pass over
all N samples, in order. If the classes can be split by a hyperplane, the rule stops making
mistakes after finitely many updates (the perceptron convergence theorem); if not (XOR), it
never does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def check_samples(X: ArrayLike, n_features: int) -> np.ndarray:
    """Return X as an array after checking it has shape (N, n_features); else ValueError.

    The message names the shape that came and the one expected.
    """
    # BEGIN SOLUTION
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"X must have shape (N, {n_features}), got shape {X.shape}")
    return X
    # END SOLUTION


class Perceptron:
    """A perceptron on `n_features` inputs, trained with learning rate `lr`.

    Attributes:
        w: weights, float64 array of shape (n_features,), zeros at the start.
        b: bias, a Python float, 0.0 at the start.
    """

    def __init__(self, n_features: int, lr: float = 1.0) -> None:
        self.n_features = n_features
        self.lr = lr
        self.w = np.zeros(n_features, dtype=np.float64)
        self.b = 0.0

    def net_input(self, X: ArrayLike) -> np.ndarray:
        """z = X @ w + b for X of shape (N, n_features); returns shape (N,).

        Raises ValueError unless X has shape (N, n_features) (see `check_samples`).
        """
        # BEGIN SOLUTION
        X = check_samples(X, self.n_features)
        return X @ self.w + self.b
        # END SOLUTION

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class labels, an integer array of shape (N,): 1 where net_input(X) > 0, else 0.

        On the boundary (net_input exactly 0) the answer is 0: the comparison is strict.
        """
        # BEGIN SOLUTION
        return (self.net_input(X) > 0).astype(np.int64)
        # END SOLUTION

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 100) -> list[int]:
        """Train with the perceptron rule; return the number of mistakes of each epoch run.

        X: (N, n_features); y: (N,) of 0s and 1s. For each epoch, for each sample i in order 0..N-1:
            update = lr * (y[i] - predict(X[i:i+1])[0])
            w += update * X[i]
            b += update
        A sample with update != 0 is a mistake. Training stops after the first epoch with no
        mistake (that epoch is counted: the list then ends with 0), or after `epochs` epochs.
        Returns a list of Python ints, one per epoch run.

        Raises ValueError unless X has shape (N, n_features), y has shape (N,), and y holds
        only 0s and 1s.
        """
        # BEGIN SOLUTION
        X = check_samples(X, self.n_features)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},) to match X {X.shape}, got {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"y must hold only 0s and 1s, got values {np.unique(y)}")
        mistakes_per_epoch: list[int] = []
        for _ in range(epochs):
            mistakes = 0
            for i in range(len(X)):
                update = float(self.lr * (y[i] - self.predict(X[i : i + 1])[0]))
                self.w += update * X[i]
                self.b += update
                mistakes += int(update != 0)
            mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                break
        return mistakes_per_epoch
        # END SOLUTION
