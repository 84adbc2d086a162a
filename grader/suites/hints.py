"""Hints shared by the public and hidden suites: the likely mistake behind a wrong result.

One copy of each, so that a student reads the same words for the same mistake whichever suite
found it. A hint is a string, or a function of (actual, expected) that returns one or None (see
`checks.assert_close`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from grader.suites.checks import factor_hint

HintFunction = Callable[[np.ndarray, np.ndarray], str | None]

STABLE_HINT = "exp overflowed or log(0) was taken: use the stable form given in the docstring"

PERCEPTRON_RULE = "update = lr * (y[i] - predict(X[i:i+1])[0]); w += update * X[i]; b += update"

SGD_RULE = ("g = grad + weight_decay * p; v = g on the first step, else v = momentum * v + g; "
            "then p -= lr * v (in place)")


def mean_hint(n: int) -> HintFunction:
    """A loss that is N times off: a sum where the contract takes a mean, or a double mean."""
    return factor_hint({
        float(n): f"{n} times too large: a sum where the contract takes a mean over N",
        1 / n: f"{n} times too small: divided by N twice?",
    })


def loss_grad_hint(n: int) -> HintFunction:
    """A gradient of a mean loss that is the expected one times 2, 1/2, -1, N or 1/N."""
    return factor_hint({
        0.5: "half the expected gradient: the derivative of d**2 is 2 * d",
        2.0: "twice the expected gradient: a factor of 2 too many",
        -1.0: "sign flipped: the gradient goes as (prediction - target), not the reverse",
        float(n): f"{n} times too large: missing the 1/N of the mean",
        1 / n: f"{n} times too small: divided by N twice?",
    })


# The contract's activations written plainly (no stable forms: for moderate inputs only), to
# build the network a result is compared with, or the wrong variant a hint recognises.
PLAIN_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
}


def resembles(actual: np.ndarray, variant: np.ndarray) -> bool:
    """Whether a result matches a known wrong variant (loosely): the hint then names it."""
    return actual.shape == variant.shape and np.allclose(actual, variant, rtol=1e-5, atol=1e-9)


def last_layer_first(n_layers: int) -> list[str]:
    """Parameter names from the last layer down, so a hint can blame BP2 for an earlier one."""
    return [f"{p}{k}" for k in range(n_layers, 0, -1) for p in ("W", "b")]


def backprop_grad_hint(name: str, is_last_layer: bool, batch_size: int) -> HintFunction:
    """Diagnose a wrong gradient `name` (actual) against the right one (expected)."""
    factors = {-1.0: f"{name} has the wrong sign"}
    if batch_size > 1:
        factors[float(batch_size)] = (f"{name} is N = {batch_size} times too large: the loss is "
                                      "a mean, so dlogits = cross_entropy_grad(...) carries 1/N")
        factors[1 / batch_size] = (f"{name} is N = {batch_size} times too small: BP3 and BP4 "
                                   "sum over the batch; the 1/N is already in dlogits")
    by_factor = factor_hint(factors)

    def hint(actual: np.ndarray, expected: np.ndarray) -> str | None:
        if actual.shape == expected.shape[::-1] and actual.shape != expected.shape:
            return (f"{name} is transposed: BP4 is dC/dW^k = a^(k-1).T @ delta^k, "
                    "shape (n_(k-1), n_k)")
        if actual.shape != expected.shape and name.startswith("b"):
            return "BP3 sums delta^k over the batch (axis 0): dC/db^k has shape (n_k,)"
        if actual.shape != expected.shape:
            return "a gradient has the shape of its parameter"
        if not is_last_layer:
            return by_factor(actual, expected) or (
                "the last layer's gradients are right but this one is not: check BP2, "
                "delta^k = (delta^(k+1) @ W^(k+1).T) * sigma'(z^k), elementwise, "
                "with sigma' taken at z^k, not at a^k = sigma(z^k)")
        return by_factor(actual, expected)

    return hint
