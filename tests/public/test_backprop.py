"""Public tests of the backprop exercise: gradient checks, known derivatives, the contract's init.

Run them on your work with `pytest tests/public/test_backprop.py`. The gradient checks use your
own `numerical_gradient`: make its tests pass first, then trust it to check `backward`.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import (
    assert_array,
    assert_close,
    assert_equal,
    assert_python_float,
    check_imports_no_later_exercise,
    expect_runtime_error,
    expect_value_error,
    factor_hint,
    fail,
    strict_floats,
)
from grader.suites.hints import (
    PLAIN_ACTIVATIONS,
    backprop_grad_hint,
    last_layer_first,
    resembles,
)

ACTIVATIONS = list(PLAIN_ACTIVATIONS)
LAYER_SIZES = {"one-layer": [3, 4], "two-layers": [3, 5, 4], "three-layers": [3, 4, 4, 3]}
GRADIENT_CHECK_LIMIT = 1e-6


# Helpers: the contract's network written out plainly, and hints for common mistakes.


def contract_params(layer_sizes: list[int], seed: int, fan: str = "in") -> dict[str, np.ndarray]:
    """The contract's He initialisation (fan="out" gives the common mistake, for hints)."""
    rng = np.random.default_rng(seed)
    params = {}
    for k in range(1, len(layer_sizes)):
        fan_in, fan_out = layer_sizes[k - 1], layer_sizes[k]
        scale = np.sqrt(2.0 / (fan_in if fan == "in" else fan_out))
        params[f"W{k}"] = rng.standard_normal((fan_in, fan_out)) * scale
        params[f"b{k}"] = np.zeros(fan_out)
    return params


def plain_forward(params, X, sigma, last_activation: bool = False) -> np.ndarray:
    """z^k = a^(k-1) W^k + b^k; a^k = sigma(z^k) except on the last (linear) layer."""
    n_layers = len(params) // 2
    a = X
    for k in range(1, n_layers + 1):
        z = a @ params[f"W{k}"] + params[f"b{k}"]
        a = sigma(z) if k < n_layers or last_activation else z
    return a


def plain_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))


# Scenarios: they run next to your code, so that a closure sees the arrays your MLP holds.


def gradient_check_scenario(module, layer_sizes, activation, seed, X, labels):
    """Backprop's gradients and numerical_gradient's, each perturbing mlp.params in place."""
    mlp = module.MLP(layer_sizes, activation=activation, seed=seed)
    _, grads = mlp.loss_and_grads(X, labels)

    def loss(_):
        return mlp.loss_and_grads(X, labels)[0]

    numeric = {name: module.numerical_gradient(loss, mlp.params[name]) for name in mlp.params}
    return {"grads": dict(grads), "numeric": numeric}


def closure_scenario(module, x):
    """numerical_gradient of f(x) = sum(sin(x)), where f reads x through a closure only."""
    x = x.copy()  # the scenario's own x: the test's copy stays the point of evaluation
    before = x.copy()
    grad = module.numerical_gradient(lambda _: float(np.sum(np.sin(x))), x)
    return {"grad": grad, "x_unchanged": bool(np.array_equal(x, before))}


def training_scenario(module, activation, X, labels, steps, lr):
    """Plain gradient descent on the whole batch: params -= lr * grads."""
    mlp = module.MLP([2, 16, 2], activation=activation, seed=0)
    losses = []
    for _ in range(steps):
        loss, grads = mlp.loss_and_grads(X, labels)
        losses.append(float(loss))
        for name in mlp.params:
            mlp.params[name] -= lr * grads[name]
    return {"losses": losses, "accuracy": float(np.mean(mlp.predict(X) == labels))}


# numerical_gradient


def difference_hint(h: float):
    halve = factor_hint({2.0: "divide by 2h: the points x + h and x - h are 2h apart"})

    def hint(actual: np.ndarray, expected: np.ndarray) -> str | None:
        if np.max(np.abs(actual - expected)) < 10 * h:
            return "off by about h: use central differences (f(x+h) - f(x-h)) / 2h, not one-sided"
        return halve(actual, expected)

    return hint


KNOWN_FUNCTIONS = {
    # name: (f, gradient)
    "sum-of-squares": (lambda x: float(np.sum(x**2)), lambda x: 2 * x),
    "sum-of-sines": (lambda x: float(np.sum(np.sin(x))), np.cos),
}


@pytest.mark.weight(2)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)], ids=["5", "3x4", "2x3x2"])
@pytest.mark.parametrize("function", KNOWN_FUNCTIONS)
@pytest.mark.rule("backprop.numerical_gradient.central-differences")
def test_numerical_gradient_of_known_functions(impl, function, shape) -> None:
    f, gradient = KNOWN_FUNCTIONS[function]
    x = np.random.default_rng(1).uniform(-2, 2, size=shape)
    assert_close(impl.numerical_gradient(f, x), gradient(x),
                 f"numerical_gradient of {function} at x of shape {shape}",
                 rtol=1e-6, atol=1e-8, hint=difference_hint(1e-5))


@pytest.mark.weight(2)
@pytest.mark.rule("backprop.numerical_gradient.central-differences")
def test_numerical_gradient_of_quadratic_form(impl) -> None:
    rng = np.random.default_rng(2)
    A = rng.standard_normal((4, 4))  # not symmetric: d(x^T A x)/dx = (A + A^T) x
    x = rng.standard_normal(4)
    assert_close(impl.numerical_gradient(lambda v: float(v @ A @ v), x), (A + A.T) @ x,
                 "numerical_gradient of x^T A x", rtol=1e-6, atol=1e-8,
                 hint=difference_hint(1e-5))


@pytest.mark.weight(2)
@pytest.mark.rule("backprop.numerical_gradient.central-differences")
def test_numerical_gradient_uses_h(impl) -> None:
    # For f = sum(x^3), central differences give exactly 3x^2 + h^2: the h^2 shows which h ran.
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    h = 1e-2
    assert_close(impl.numerical_gradient(lambda v: float(np.sum(v**3)), x, h=h),
                 3 * x**2 + h**2, "numerical_gradient of sum(x^3) with h=1e-2",
                 rtol=1e-8, atol=1e-9,
                 hint=lambda got, _: "use the h you are given"
                 if resembles(got, 3 * x**2) else None)


@pytest.mark.weight(2)
@pytest.mark.rule("backprop.numerical_gradient.perturbs-in-place")
def test_numerical_gradient_sees_x_through_a_closure(impl) -> None:
    x = np.random.default_rng(3).uniform(-2, 2, size=(2, 3))
    result = impl.run(closure_scenario, x)
    assert_close(result["grad"], np.cos(x),
                 "numerical_gradient of a closure that reads x", rtol=1e-6, atol=1e-8,
                 hint=lambda got, _: "perturb x itself, in place: f may ignore its argument "
                 "and read x directly" if np.allclose(got, 0) else None)
    assert_equal(result["x_unchanged"], True, "x is unchanged after numerical_gradient")


@pytest.mark.weight(2)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.rule("backprop.numerical_gradient.restores-exactly", "backprop.all.inputs-unchanged")
def test_numerical_gradient_restores_x_exactly(impl, dtype) -> None:
    h = 1e-5 if dtype == "float64" else 1e-3
    # Values much smaller than h: there (x - h) + h and (x + h) - h are not x again.
    x = (np.random.default_rng(4).uniform(-1, 1, size=(3, 4)) * h / 50).astype(dtype)
    step = x.dtype.type(h)
    assert np.any((x - step) + step != x) and np.any((x + step) - step != x)  # the trap is set
    original = x.copy()
    impl.numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=h)
    if x.dtype != original.dtype or not np.array_equal(x, original):
        changed = int(np.sum(x != original))
        fail(f"numerical_gradient left {changed} of {x.size} elements of x changed ({dtype}): "
             "save each element and put the saved value back; undoing the step with "
             "+= h or -= h does not restore it exactly in floating point")


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.numerical_gradient.central-differences")
def test_numerical_gradient_float32(impl) -> None:
    x = np.random.default_rng(5).uniform(-2, 2, size=(4, 3)).astype(np.float32)
    grad = impl.numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-2)
    assert_close(np.asarray(grad, dtype=np.float64), 2 * x.astype(np.float64),
                 "numerical_gradient of sum(x^2) for float32 x, h=1e-2", rtol=1e-4, atol=1e-5)


# relative_error


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.relative_error.formula")
def test_relative_error_formula(impl) -> None:
    a = np.array([[1.0, 2.0], [3.0, -4.0]])
    b = np.array([[1.0, 2.5], [2.0, -4.0]])
    # max|a - b| = 1; max(|a| + |b|) = 8.
    assert_close(impl.relative_error(a, b), 1 / 8, "relative_error(a, b)", rtol=1e-12,
                 hint="max|a - b| / max(1e-8, max(|a| + |b|)): maxima over all elements")


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.relative_error.formula")
def test_relative_error_floor(impl) -> None:
    zeros = np.zeros(3)
    with strict_floats("relative_error(zeros, zeros)", hint="0 / 0: the floor 1e-8 prevents it"):
        assert_close(impl.relative_error(zeros, zeros), 0.0, "relative_error(zeros, zeros)")
    assert_close(impl.relative_error(np.array([3e-9]), np.array([-1e-9])), 0.4,
                 "relative_error([3e-9], [-1e-9])", rtol=1e-9,
                 hint="below 1e-8 the denominator is the floor: 4e-9 / 1e-8")


# MLP


@pytest.mark.weight(1)
@pytest.mark.parametrize("sizes", LAYER_SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.activations", "backprop.MLP.init", "backprop.MLP.forward")
def test_forward_is_the_contract_network(impl, activation, sizes) -> None:
    layer_sizes, seed = LAYER_SIZES[sizes], 7
    X = np.random.default_rng(6).standard_normal((5, layer_sizes[0]))
    mlp = impl.MLP(layer_sizes, activation=activation, seed=seed)
    params = contract_params(layer_sizes, seed)
    assert_equal(sorted(mlp.params), sorted(params), "sorted(MLP(...).params)")
    sigma = PLAIN_ACTIVATIONS[activation]
    variants = {
        "the last layer must be linear (no activation on the logits)":
            plain_forward(params, X, sigma, last_activation=True),
        "the contract's He initialisation uses fan_in: sqrt(2 / fan_in)":
            plain_forward(contract_params(layer_sizes, seed, fan="out"), X, sigma),
    }

    def hint(actual: np.ndarray, _: np.ndarray) -> str | None:
        return next((why for why, wrong in variants.items() if resembles(actual, wrong)), None)

    assert_close(mlp.forward(X), plain_forward(params, X, sigma),
                 f"MLP({layer_sizes}, {activation!r}, seed={seed}).forward(X)",
                 rtol=1e-10, atol=1e-12, hint=hint)


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.MLP.backward.before-forward")
def test_backward_before_forward_raises(impl) -> None:
    mlp = impl.MLP([3, 4, 2])
    expect_runtime_error(lambda: mlp.backward(np.zeros((2, 2))), "MLP.backward before forward",
                         "there is no forward pass to differentiate")


@pytest.mark.weight(2)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.loss_and_grads", "backprop.MLP.backward")
def test_loss_is_cross_entropy_of_forward(impl, activation) -> None:
    rng = np.random.default_rng(8)
    X, labels = rng.standard_normal((6, 3)), rng.integers(0, 4, size=6)
    mlp = impl.MLP([3, 5, 4], activation=activation, seed=1)
    loss, grads = mlp.loss_and_grads(X, labels)
    assert_python_float(loss, "loss_and_grads(X, labels)[0]")
    expected = plain_cross_entropy(plain_forward(contract_params([3, 5, 4], 1), X,
                                                 PLAIN_ACTIVATIONS[activation]), labels)
    assert_close(loss, expected, "loss_and_grads(X, labels)[0]", rtol=1e-10,
                 hint="the loss is cross_entropy(forward(X), labels); if forward fails "
                      "test_forward_is_the_contract_network, fix it first")
    assert_equal(sorted(grads), sorted(mlp.params), "sorted(loss_and_grads(X, labels)[1])")
    for name, param in mlp.params.items():
        assert_equal(np.shape(grads[name]), param.shape, f"the shape of grads[{name!r}]",
                     hint="a gradient has the shape of its parameter")


@pytest.mark.weight(4)
@pytest.mark.parametrize("sizes", LAYER_SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.backward", "backprop.MLP.loss_and_grads")
def test_gradient_check(impl, activation, sizes) -> None:
    layer_sizes = LAYER_SIZES[sizes]
    rng = np.random.default_rng(9)
    batch_size = 7
    X = rng.standard_normal((batch_size, layer_sizes[0]))
    labels = rng.integers(0, layer_sizes[-1], size=batch_size)
    result = impl.run(gradient_check_scenario, layer_sizes, activation, 3, X, labels)
    grads, numeric = result["grads"], result["numeric"]
    n_layers = len(layer_sizes) - 1
    names = last_layer_first(n_layers)
    assert_equal(sorted(grads), sorted(names), "the keys of loss_and_grads(X, labels)[1]")
    for name in names:
        k = int(name[1:])
        shape = (layer_sizes[k - 1], layer_sizes[k]) if name[0] == "W" else (layer_sizes[k],)
        analytic = assert_array(grads[name], f"grads[{name!r}]")
        estimate = assert_array(numeric[name], f"numerical_gradient(loss, params[{name!r}])")
        if estimate.shape != shape:
            fail(f"numerical_gradient(loss, params[{name!r}]) has shape {estimate.shape}, "
                 f"expected {shape}: the gradient has the shape of x")
        hint = backprop_grad_hint(name, k == n_layers, batch_size)
        why = hint(analytic, estimate)
        if analytic.shape != shape:
            fail(f"grads[{name!r}] has shape {analytic.shape}, expected {shape}; {why}")
        error = rel_err(analytic, estimate)
        if error > GRADIENT_CHECK_LIMIT:
            fail(f"gradient check of {name} ({activation}, sizes {layer_sizes}): relative error "
                 f"{error:.2g} between backprop and numerical_gradient, expected < "
                 f"{GRADIENT_CHECK_LIMIT:g}" + (f"; {why}" if why else ""))


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.MLP.predict")
def test_predict_is_argmax_of_logits(impl) -> None:
    rng = np.random.default_rng(10)
    X = rng.standard_normal((9, 3))  # 9 samples, 4 classes: the argmax is over axis 1
    mlp = impl.MLP([3, 8, 4], activation="tanh", seed=2)
    expected = np.argmax(plain_forward(contract_params([3, 8, 4], 2), X, np.tanh), axis=1)
    predicted = assert_array(mlp.predict(X), "predict(X)")
    if predicted.dtype.kind not in "iu":
        fail(f"predict(X) returned dtype {predicted.dtype}, expected integer class indices")
    assert_equal(predicted, expected, "predict(X)",
                 hint="the class of sample i is the argmax of row i of the logits (axis=1)")


@pytest.mark.weight(2)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.rule("backprop.MLP.loss_and_grads")
def test_training_learns_xor(impl, activation) -> None:
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(64, 2))
    labels = (X[:, 0] * X[:, 1] > 0).astype(np.int64)  # XOR of the signs: not linearly separable
    steps = 60
    result = impl.run(training_scenario, activation, X, labels, steps, 1.0)
    first, last = result["losses"][0], result["losses"][-1]
    if not last < 0.5 * first:
        fail(f"{steps} gradient steps on XOR took the loss from {first:.3g} to {last:.3g}, "
             "expected it at least halved: the gradients point the wrong way or are too small")
    if result["accuracy"] < 0.9:
        fail(f"after training on XOR the accuracy is {result['accuracy']:.2f}, expected >= 0.9")


# Bad input: ValueError, never a silent broadcast.


@pytest.mark.rule("backprop.MLP.unknown-activation", "conventions.value-error-names-the-problem")
@pytest.mark.weight(2)
@pytest.mark.parametrize("activation", ["softmax", "leaky_relu", "linear", ""])
def test_unknown_activation_is_refused(impl, activation) -> None:
    X = np.random.default_rng(13).standard_normal((2, 3))
    impl.MLP([3, 4, 2], activation="sigmoid").forward(X)  # the known names work
    # Refused by the constructor or, at the latest, by the first forward: never a fallback.
    with expect_value_error(f"MLP([3, 4, 2], activation={activation!r})",
                            "activation is 'relu', 'sigmoid' or 'tanh'; a silent default would "
                            "train another network than the one asked for",
                            mentions=("activation", "relu")):
        impl.MLP([3, 4, 2], activation=activation).forward(X)


@pytest.mark.rule("backprop.MLP.forward.feature-count")
@pytest.mark.parametrize("shape", [(3,), (2, 5, 3), (5, 4)], ids=["1-D", "3-D", "4-features"])
def test_forward_rejects_inputs_of_another_shape(impl, shape) -> None:
    # (3,) @ W1 and (2, 5, 3) @ W1 both compute something: only a check catches them.
    with expect_value_error(f"MLP([3, 4, 2]).forward(X of shape {shape})",
                            "X must have shape (N, 3), one row per sample"):
        impl.MLP([3, 4, 2]).forward(np.ones(shape))


@pytest.mark.rule("backprop.MLP.backward.dlogits-shape")
@pytest.mark.parametrize("shape", [(5, 1), (2, 5)], ids=["Nx1", "transposed"])
def test_backward_rejects_dlogits_of_another_shape(impl, shape) -> None:
    # One layer: an (N, 1) dlogits broadcasts through BP3 and BP4 without an error.
    mlp = impl.MLP([3, 2])
    mlp.forward(np.ones((5, 3)))
    with expect_value_error(f"backward(dlogits of shape {shape}) after forward of 5 samples "
                            "into 2 classes", "dlogits has the shape of the logits, (5, 2)"):
        mlp.backward(np.ones(shape))


@pytest.mark.rule("backprop.MLP.loss_and_grads.labels-in-range")
@pytest.mark.parametrize("labels", [[0, 2, 1], [0, -1, 1], [0, 1.5, 1]],
                         ids=["equal-to-C", "negative", "fractional"])
def test_loss_and_grads_rejects_bad_labels(impl, labels) -> None:
    X = np.random.default_rng(14).standard_normal((3, 3))
    with expect_value_error(f"MLP([3, 4, 2]).loss_and_grads(X, labels={labels})",
                            "labels are integers in [0, C): use cross_entropy from the losses "
                            "exercise, which checks them"):
        impl.MLP([3, 4, 2]).loss_and_grads(X, np.array(labels))

# The contract's order of exercises.


@pytest.mark.rule("backprop.all.imports-no-later-exercise")
def test_works_without_the_later_exercises(impl) -> None:
    X = np.random.default_rng(12).standard_normal((4, 3))
    calls = [("MLP", ([3, 5, 2], "tanh", 1)), ("forward", (X,))]
    got = check_imports_no_later_exercise(impl, "backprop", calls)
    assert_close(got, plain_forward(contract_params([3, 5, 2], 1), X, np.tanh),
                 "MLP([3, 5, 2], 'tanh', 1).forward(X) of backprop.py imported without matmul",
                 rtol=1e-10, atol=1e-12)
