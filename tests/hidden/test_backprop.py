"""Hidden tests of the backprop exercise: the MLP against the reference (the contract fixes its
initialisation, so the same seed gives the same numbers), gradients for any dlogits, the cache of
the last forward, large and float32 inputs, and numerical_gradient / relative_error in detail."""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import (
    assert_array,
    assert_close,
    assert_dtype,
    assert_equal,
    expect_runtime_error,
    expect_value_error,
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
LOSS_HINT = "the loss is cross_entropy(forward(X), labels), from the losses exercise"
LAYER_SIZES = {
    "1-layer": [2, 3],
    "2-layers": [5, 8, 3],
    "3-layers": [4, 7, 6, 2],
    "4-layers": [3, 2, 5, 2, 4],
}


def random_batch(seed: int, layer_sizes: list[int], batch_size: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch_size, layer_sizes[0])) * scale
    return X, rng.integers(0, layer_sizes[-1], size=batch_size)


def assert_grads_close(grads, expected: dict[str, np.ndarray], what: str, batch_size: int,
                       **tolerance) -> None:
    """Every gradient, last layer first, against the expected ones."""
    __tracebackhide__ = True
    n_layers = len(expected) // 2
    names = last_layer_first(n_layers)
    assert_equal(sorted(grads), sorted(names), f"the keys of the gradients from {what}")
    for name in names:
        assert_close(grads[name], expected[name], f"grads[{name!r}] from {what}",
                     hint=backprop_grad_hint(name, name[1:] == str(n_layers), batch_size),
                     **tolerance)


def forward_hint(sigma):
    def hint(actual: np.ndarray, expected: np.ndarray) -> str | None:
        if resembles(actual, sigma(expected)):
            return "the last layer must be linear: no activation on the logits"
        return ("check the initialisation, fixed by the contract: W^k from one "
                "default_rng(seed), layer by layer, times sqrt(2 / fan_in), b^k zeros")

    return hint


def gradient_check_scenario(module, layer_sizes, activation, seed, X, labels):
    """numerical_gradient of the loss, perturbing each of mlp.params in place."""
    mlp = module.MLP(layer_sizes, activation=activation, seed=seed)

    def loss(_):
        return mlp.loss_and_grads(X, labels)[0]

    return {name: module.numerical_gradient(loss, mlp.params[name]) for name in mlp.params}


# MLP against the reference


@pytest.mark.weight(1)
@pytest.mark.parametrize("sizes", LAYER_SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.init", "backprop.MLP.forward", "backprop.MLP.activations")
def test_forward_matches_reference(impl, ref, activation, sizes) -> None:
    layer_sizes = LAYER_SIZES[sizes]
    for seed, batch_size in [(0, 1), (42, 6)]:
        X, _ = random_batch(seed, layer_sizes, batch_size)
        what = f"MLP({layer_sizes}, {activation!r}, seed={seed}).forward(X of shape {X.shape})"
        assert_close(impl.MLP(layer_sizes, activation, seed).forward(X),
                     ref.MLP(layer_sizes, activation, seed).forward(X), what,
                     rtol=1e-10, atol=1e-12, hint=forward_hint(PLAIN_ACTIVATIONS[activation]))


@pytest.mark.weight(4)
@pytest.mark.parametrize("sizes", LAYER_SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.loss_and_grads", "backprop.MLP.backward")
def test_loss_and_grads_match_reference(impl, ref, activation, sizes) -> None:
    layer_sizes = LAYER_SIZES[sizes]
    for seed, batch_size in [(1, 1), (2, 8)]:
        X, labels = random_batch(seed, layer_sizes, batch_size)
        loss, grads = impl.MLP(layer_sizes, activation, seed).loss_and_grads(X, labels)
        ref_loss, ref_grads = ref.MLP(layer_sizes, activation, seed).loss_and_grads(X, labels)
        what = f"MLP({layer_sizes}, {activation!r}).loss_and_grads with N={batch_size}"
        assert_close(loss, ref_loss, f"the loss from {what}", hint=LOSS_HINT)
        assert_grads_close(grads, ref_grads, what, batch_size)


@pytest.mark.weight(3)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.backward")
def test_backward_of_any_dlogits_matches_reference(impl, ref, activation) -> None:
    layer_sizes = LAYER_SIZES["3-layers"]
    X, _ = random_batch(3, layer_sizes, 5)
    dlogits = np.random.default_rng(4).standard_normal((5, layer_sizes[-1]))
    mlp, ref_mlp = impl.MLP(layer_sizes, activation, 5), ref.MLP(layer_sizes, activation, 5)
    mlp.forward(X)
    ref_mlp.forward(X)
    assert_grads_close(mlp.backward(dlogits), ref_mlp.backward(dlogits),
                       f"backward(dlogits) ({activation})", batch_size=5)


@pytest.mark.weight(2)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.numerical_gradient.perturbs-in-place")
def test_numerical_gradient_through_params_matches_reference(impl, ref, activation) -> None:
    layer_sizes = [3, 4, 3]
    X, labels = random_batch(6, layer_sizes, 4)
    numeric = impl.run(gradient_check_scenario, layer_sizes, activation, 7, X, labels)
    _, expected = ref.MLP(layer_sizes, activation, 7).loss_and_grads(X, labels)
    assert_grads_close(numeric, expected, "numerical_gradient of the loss through mlp.params",
                       batch_size=4, rtol=1e-5, atol=1e-7)


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.MLP.backward")
def test_backward_uses_the_last_forward(impl, ref) -> None:
    layer_sizes = LAYER_SIZES["2-layers"]
    X1, _ = random_batch(8, layer_sizes, 4)
    X2, _ = random_batch(9, layer_sizes, 4)
    dlogits = np.random.default_rng(10).standard_normal((4, layer_sizes[-1]))
    mlp, ref_mlp = impl.MLP(layer_sizes, "tanh", 1), ref.MLP(layer_sizes, "tanh", 1)
    mlp.forward(X1)
    mlp.forward(X2)
    ref_mlp.forward(X2)
    assert_grads_close(mlp.backward(dlogits), ref_mlp.backward(dlogits),
                       "backward after forward(X1) then forward(X2)", batch_size=4)


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.MLP.backward.before-forward")
def test_backward_before_forward_raises_runtime_error(impl) -> None:
    mlp = impl.MLP([2, 3, 2], "sigmoid", 0)
    expect_runtime_error(lambda: mlp.backward(np.ones((1, 2))), "backward before any forward",
                         "there is no forward pass to differentiate")


@pytest.mark.rule("backprop.all.inputs-unchanged")
def test_inputs_are_not_modified(impl) -> None:
    layer_sizes = LAYER_SIZES["3-layers"]
    X, labels = random_batch(11, layer_sizes, 5)
    dlogits = np.random.default_rng(12).standard_normal((5, layer_sizes[-1]))
    X_before, labels_before, dlogits_before = X.copy(), labels.copy(), dlogits.copy()
    mlp = impl.MLP(layer_sizes, "relu", 3)
    params_before = mlp.params
    mlp.forward(X)
    mlp.backward(dlogits)
    mlp.loss_and_grads(X, labels)
    for name, array, before in [("X", X, X_before), ("labels", labels, labels_before),
                                ("dlogits", dlogits, dlogits_before)]:
        assert_equal(array, before, f"{name} after forward / backward / loss_and_grads",
                     hint="functions never modify their inputs: work on new arrays")
    params_after = mlp.params
    for name, before in params_before.items():
        assert_equal(params_after[name], before, f"params[{name!r}] after loss_and_grads",
                     hint="computing gradients must not change the parameters")


@pytest.mark.weight(1)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.all.stable-to-1e4")
def test_large_inputs_stay_finite(impl, ref, activation) -> None:
    layer_sizes = LAYER_SIZES["2-layers"]
    X, labels = random_batch(13, layer_sizes, 6, scale=1e3)
    what = f"loss_and_grads with inputs of size 1e3 ({activation})"
    with strict_floats(what, hint="use the stable activations and losses of the earlier "
                                  "exercises (import them)"):
        loss, grads = impl.MLP(layer_sizes, activation, 2).loss_and_grads(X, labels)
    ref_loss, ref_grads = ref.MLP(layer_sizes, activation, 2).loss_and_grads(X, labels)
    assert_close(loss, ref_loss, f"the loss from {what}", hint=LOSS_HINT)
    assert_grads_close(grads, ref_grads, what, batch_size=6)


@pytest.mark.weight(1)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.rule("backprop.MLP.loss_and_grads")
def test_float32_inputs(impl, ref, activation) -> None:
    layer_sizes = LAYER_SIZES["3-layers"]
    X, labels = random_batch(14, layer_sizes, 6)
    X = X.astype(np.float32)
    loss, grads = impl.MLP(layer_sizes, activation, 4).loss_and_grads(X, labels)
    ref_loss, ref_grads = ref.MLP(layer_sizes, activation, 4).loss_and_grads(X, labels)
    what = f"loss_and_grads with float32 X ({activation})"
    assert_close(loss, ref_loss, f"the loss from {what}", rtol=1e-5, hint=LOSS_HINT)
    assert_grads_close(grads, ref_grads, what, batch_size=6, rtol=1e-5, atol=1e-7)


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.MLP.predict")
def test_predict_matches_reference(impl, ref) -> None:
    layer_sizes = [4, 6, 5]
    X, _ = random_batch(15, layer_sizes, 11)
    predicted = assert_array(impl.MLP(layer_sizes, "relu", 8).predict(X), "predict(X)")
    assert_equal(predicted.astype(np.int64), ref.MLP(layer_sizes, "relu", 8).predict(X),
                 "predict(X)", hint="argmax of the logits along axis 1: one class per sample")


# numerical_gradient and relative_error


def weighted_tanh(weights: np.ndarray):
    return lambda x: float(np.sum(weights * np.tanh(x.astype(np.float64))))


@pytest.mark.weight(1)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.rule(
    "backprop.numerical_gradient.central-differences", "backprop.all.float-dtype-kept",
)
def test_numerical_gradient_matches_reference(impl, ref, dtype) -> None:
    rng = np.random.default_rng(16)
    h = 1e-5 if dtype == "float64" else 1e-2
    for shape in [(), (1,), (4,), (2, 5), (3, 1, 2)]:
        x = rng.uniform(-2, 2, size=shape).astype(dtype)
        f = weighted_tanh(rng.standard_normal(shape))
        what = f"numerical_gradient at x of shape {shape}, {dtype}, h={h}"
        grad = assert_array(impl.numerical_gradient(f, x, h=h), what)
        assert_dtype(grad, dtype, what)
        assert_close(grad, ref.numerical_gradient(f, x.copy(), h=h), what,
                     rtol=1e-6 if dtype == "float64" else 1e-3, atol=1e-8)


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.numerical_gradient.restores-exactly")
def test_numerical_gradient_restores_x_exactly_float32_default_h(impl) -> None:
    # Tiny values: x - 1e-5 + 1e-5 loses their low bits in float32.
    x = (np.random.default_rng(17).uniform(-1, 1, size=(4, 4)) * 1e-7).astype(np.float32)
    original = x.copy()
    impl.numerical_gradient(lambda v: float(np.sum(np.abs(v))), x)
    if not np.array_equal(x, original):
        fail(f"numerical_gradient left {int(np.sum(x != original))} of {x.size} elements of a "
             "float32 x changed: put back the saved value, don't undo the step arithmetically")


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.relative_error.formula")
def test_relative_error_matches_reference(impl, ref) -> None:
    rng = np.random.default_rng(18)
    for shape, scale in [((3,), 1.0), ((4, 5), 1e3), ((2, 3, 2), 1e-9), ((6,), 1e-5)]:
        a = rng.standard_normal(shape) * scale
        b = a + rng.standard_normal(shape) * scale * 1e-3
        assert_close(impl.relative_error(a, b), ref.relative_error(a, b),
                     f"relative_error at scale {scale:g}", rtol=1e-9,
                     hint="max|a - b| / max(1e-8, max(|a| + |b|))")


@pytest.mark.weight(1)
@pytest.mark.rule("backprop.relative_error.shapes-equal")
def test_relative_error_rejects_mismatched_shapes(impl) -> None:
    with expect_value_error("relative_error of shapes (3,) and (3, 1)",
                            "broadcasting would compare every pair of elements"):
        impl.relative_error(np.ones(3), np.ones((3, 1)))
