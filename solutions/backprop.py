"""Backpropagation for a multilayer perceptron, and the gradient check that proves it right.

Reference text: Michael Nielsen, "Neural Networks and Deep Learning", chapter 2. Nielsen feeds
one example at a time as a column vector; we feed a batch of N examples as the rows of a
matrix, which turns his W a into our a W and his sums over examples into matrix products.

Conventions (row-vector batches). The network has L layers of weights; layer k has n_k units,
with n_0 the number of input features and n_L the number of classes. (Nielsen writes l for the
layer; we write k, as in the names W1..WL of `params`.)
    a^0 = X                          input batch, shape (N, n_0)
    z^k = a^{k-1} W^k + b^k          pre-activations, shape (N, n_k); W^k is (n_{k-1}, n_k),
                                     b^k is (n_k,) and is broadcast over the N rows
    a^k = sigma(z^k)                 activations, shape (N, n_k), for the hidden layers k < L
    a^L = z^L                        the last layer is linear: its output is the logits
    C = cross_entropy(z^L, labels)   the mean loss over the batch
    delta^k = dC/dz^k                the error of layer k, shape (N, n_k)

Nielsen's four equations of backpropagation, for a batch (⊙ is the elementwise product):
    BP1  delta^L = dC/da^L ⊙ sigma'(z^L)                  = dC/dz^L here: the last layer is
                                                            linear, so sigma' = 1
    BP2  delta^k = (delta^{k+1} W^{k+1 T}) ⊙ sigma'(z^k)  (N, n_{k+1}) @ (n_{k+1}, n_k)
    BP3  dC/db^k = sum over the N rows of delta^k         shape (n_k,)
    BP4  dC/dW^k = a^{k-1 T} delta^k                      (n_{k-1}, N) @ (N, n_k)
BP3 and BP4 sum over the batch: C is already a mean, so delta^L = dC/dz^L carries the 1/N.
BP2 takes sigma' at z^k, not at a^k = sigma(z^k).

`numerical_gradient` estimates the same derivatives by finite differences; comparing the two
with `relative_error` (a "gradient check") is how backprop code is debugged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .activations import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad
from .losses import cross_entropy, cross_entropy_grad

Activation = Callable[[np.ndarray], np.ndarray]

# name -> (sigma, sigma'), both taking z.
ACTIVATIONS: dict[str, tuple[Activation, Activation]] = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
}


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Central differences of a scalar function f at the array x; same shape and dtype as x.

        grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)

    where e_i is 1 at position i and 0 elsewhere; the error is O(h**2). x has any shape.

    x is perturbed IN PLACE, one element at a time, so f also sees the change when it reads x
    through a closure rather than through its argument, as in
    `numerical_gradient(lambda _: mlp.loss_and_grads(X, y)[0], mlp.params["W1"])`.
    Every element is restored EXACTLY afterwards: save it and put the saved value back, because
    in floating point (x + h) - h is not always x. For float32 x, pass a larger h (about 1e-2):
    with h = 1e-5 the rounding of f swamps the difference.
    """
    # BEGIN SOLUTION
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h
        f_plus = f(x)
        x[i] = saved - h
        f_minus = f(x)
        x[i] = saved  # the saved value, bit for bit: (x - h) + h may differ from x
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
    # END SOLUTION


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max|a - b| / max(1e-8, max(|a| + |b|)), a Python float; a and b have the same shape.

    Scale-free, so one threshold fits gradients of any size: in float64 a correct backprop
    gives about 1e-7 or less against `numerical_gradient`; 1e-2 means a bug. The floor 1e-8
    keeps two all-zero arrays at error 0 instead of 0 / 0. Mismatched shapes are a ValueError
    (never broadcast: (3,) against (3, 1) would compare every pair).
    """
    # BEGIN SOLUTION
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes {a.shape} and {b.shape} differ")
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))
    # END SOLUTION


class MLP:
    """A multilayer perceptron: hidden layers use `activation`, the last layer is linear.

    `layer_sizes` = [n_0, n_1, ..., n_L]: n_0 input features, n_L classes, L >= 1 layers of
    weights. `params` holds "W1", "b1", ..., "WL", "bL"; W^k has shape (n_{k-1}, n_k), b^k
    shape (n_k,).

    The constructor is given: the initialisation is fixed by the kit's contract (He
    initialisation, suited to relu), so that every correct solution computes the same numbers
    from the same seed. You write `forward`, `backward`, `loss_and_grads` and `predict`.
    """

    def __init__(self, layer_sizes: list[int], activation: str = "relu", seed: int = 0) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}"
            )
        if len(layer_sizes) < 2 or any(int(n) < 1 for n in layer_sizes):
            raise ValueError(
                f"layer_sizes must hold at least two positive sizes, got {list(layer_sizes)}"
            )
        self.layer_sizes = [int(n) for n in layer_sizes]
        self.n_layers = len(self.layer_sizes) - 1
        self.activation = activation
        self.sigma, self.sigma_grad = ACTIVATIONS[activation]
        # He initialisation, layer by layer from one generator: the variance 2 / fan_in keeps
        # the scale of the activations steady from layer to layer under relu.
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for k in range(1, self.n_layers + 1):
            fan_in, fan_out = self.layer_sizes[k - 1], self.layer_sizes[k]
            self.params[f"W{k}"] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            self.params[f"b{k}"] = np.zeros(fan_out)
        # What backward needs from the last forward: {k: a^k} for k = 0..L and {k: z^k} for
        # k = 1..L. None until forward has run.
        self.cache: tuple[dict[int, np.ndarray], dict[int, np.ndarray]] | None = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Logits z^L of the batch X, shape (N, n_L); X has shape (N, n_0).

        Computes z^k = a^{k-1} W^k + b^k and a^k = sigma(z^k) for k = 1..L (a^L = z^L: no
        activation on the last layer), and keeps every a^k and z^k in `self.cache` for
        `backward`. A wrong number of features is a ValueError.
        """
        # BEGIN SOLUTION
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X must have shape (N, {self.layer_sizes[0]}), got shape {X.shape}"
            )
        a, z = {0: X}, {}
        for k in range(1, self.n_layers + 1):
            z[k] = a[k - 1] @ self.params[f"W{k}"] + self.params[f"b{k}"]
            a[k] = self.sigma(z[k]) if k < self.n_layers else z[k]
        self.cache = (a, z)
        return a[self.n_layers]
        # END SOLUTION

    def backward(self, dlogits: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of C for the last forward, given dlogits = dC/dz^L of shape (N, n_L).

        Returns {"W1": dC/dW^1, "b1": dC/db^1, ...}: the keys and shapes of `params`.
        Start from delta^L = dlogits (BP1); then for k = L down to 1: below the last layer,
        BP2 (with `self.sigma_grad`) gives delta^k from delta^{k+1}; BP3 and BP4 give the
        gradients of layer k.
        Raises RuntimeError before any forward (there is nothing to differentiate), and
        ValueError when dlogits does not have the shape of the last logits.
        """
        # BEGIN SOLUTION
        if self.cache is None:
            raise RuntimeError("backward needs the values of a forward pass: call forward first")
        a, z = self.cache
        if np.shape(dlogits) != z[self.n_layers].shape:
            raise ValueError(
                f"dlogits has shape {np.shape(dlogits)}, expected the logits' shape "
                f"{z[self.n_layers].shape}"
            )
        grads: dict[str, np.ndarray] = {}
        delta = np.asarray(dlogits)  # BP1: delta^L = dC/dz^L (linear last layer: sigma' = 1)
        for k in range(self.n_layers, 0, -1):
            if k < self.n_layers:
                # BP2: delta^k = (delta^{k+1} W^{k+1 T}) ⊙ sigma'(z^k)
                delta = (delta @ self.params[f"W{k + 1}"].T) * self.sigma_grad(z[k])
            grads[f"b{k}"] = delta.sum(axis=0)  # BP3: dC/db^k = sum over the batch of delta^k
            grads[f"W{k}"] = a[k - 1].T @ delta  # BP4: dC/dW^k = a^{k-1 T} delta^k
        return grads
        # END SOLUTION

    def loss_and_grads(
        self, X: np.ndarray, labels: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """(C, grads): the cross-entropy of forward(X) against labels, and its gradients.

        X: (N, n_0); labels: (N,) class indices in [0, n_L). The loss is a Python float;
        grads has the keys and shapes of `params`. Use the losses exercise:
        `cross_entropy_grad` gives dC/dz^L, mean over the batch included.
        """
        # BEGIN SOLUTION
        logits = self.forward(X)
        loss = cross_entropy(logits, labels)
        return loss, self.backward(cross_entropy_grad(logits, labels))
        # END SOLUTION

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted classes: the argmax over classes of forward(X), integers of shape (N,)."""
        # BEGIN SOLUTION
        return np.argmax(self.forward(X), axis=1)
        # END SOLUTION
