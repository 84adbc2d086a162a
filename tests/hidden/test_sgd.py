"""Hidden tests of the sgd exercise: batch order, SGD rule, linear regression, vs the reference.

The contract fixes the batch order (one `rng.permutation` per pass), torch's SGD rule, and the
training loop, so runs on rngs of the same seed must agree with the reference to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import assert_close, assert_equal, expect_value_error, fail
from grader.suites.hints import SGD_RULE

TIGHT = {"rtol": 1e-12, "atol": 1e-14}


# iterate_minibatches ---------------------------------------------------------------------------


@pytest.mark.weight(2)
@pytest.mark.parametrize(
    ("n_samples", "batch_size"),
    [(20, 5), (21, 5), (7, 1), (6, 50), (33, 8)],
    ids=lambda v: str(v),
)
@pytest.mark.rule("sgd.iterate_minibatches.order", "sgd.iterate_minibatches.covers-once")
def test_minibatches_match_reference_with_same_seed(impl, ref, n_samples, batch_size) -> None:
    seed = n_samples * 100 + batch_size
    got = list(impl.iterate_minibatches(n_samples, batch_size, rng=np.random.default_rng(seed)))
    want = list(ref.iterate_minibatches(n_samples, batch_size, rng=np.random.default_rng(seed)))
    what = f"iterate_minibatches({n_samples}, {batch_size}, rng=default_rng({seed}))"
    assert_equal(len(got), len(want), f"the number of batches of {what}",
                 hint="ceil(n_samples / batch_size) batches; keep the smaller last one")
    for k, (batch, expected) in enumerate(zip(got, want, strict=True)):
        assert_equal(np.asarray(batch), expected, f"batch {k} of {what}",
                     hint="cut rng.permutation(n_samples) into consecutive batches")


@pytest.mark.rule("sgd.iterate_minibatches.order")
def test_unshuffled_ignores_rng(impl) -> None:
    batches = list(impl.iterate_minibatches(7, 3, shuffle=False, rng=np.random.default_rng(0)))
    assert_equal([np.asarray(b).tolist() for b in batches], [[0, 1, 2], [3, 4, 5], [6]],
                 "iterate_minibatches(7, 3, shuffle=False, rng=...)")


@pytest.mark.rule("sgd.iterate_minibatches.covers-once")
def test_no_samples_no_batches(impl) -> None:
    batches = list(impl.iterate_minibatches(0, 4, rng=np.random.default_rng(0)))
    assert_equal(len(batches), 0, "the number of batches of iterate_minibatches(0, 4)")


# SGD.step --------------------------------------------------------------------------------------


def random_problem(seed: int, dtype=np.float64) -> tuple[dict, list[dict]]:
    """Parameters of a few shapes and 5 steps of random gradients."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (1,)}
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    grads = [{k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()} for _ in range(5)]
    return params, grads


def copy_params(params: dict) -> dict:
    return {k: v.copy() for k, v in params.items()}


def run_both(impl, ref, seed, dtype, **settings) -> tuple[dict, dict]:
    """Five steps on the same problem: (the test's arrays updated by impl, by ref)."""
    params, grads = random_problem(seed, dtype)
    mine, theirs = copy_params(params), copy_params(params)
    opt, ref_opt = impl.SGD(mine, **settings), ref.SGD(theirs, **settings)
    for g in grads:
        ref_opt.step(g)  # first: the reference never modifies g
        opt.step(g)
    return mine, theirs


def settings_id(settings: dict) -> str:
    return "-".join(f"{k}{v}" for k, v in settings.items())


SETTINGS = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.1, "weight_decay": 0.01},
    {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1},
]


@pytest.mark.weight(3)
@pytest.mark.parametrize("settings", SETTINGS, ids=settings_id)
@pytest.mark.parametrize("seed", range(2), ids=lambda s: f"seed{s}")
@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_five_steps_match_reference(impl, ref, seed: int, settings: dict) -> None:
    mine, theirs = run_both(impl, ref, seed, np.float64, **settings)
    for name in theirs:
        assert_close(mine[name], theirs[name], f"your params[{name!r}] after 5 steps of "
                     f"SGD({settings})", hint=SGD_RULE, **TIGHT)


@pytest.mark.weight(2)
@pytest.mark.rule("sgd.all.float-dtype-kept", "sgd.SGD.step.in-place")
def test_float32_parameters_stay_float32_in_place(impl, ref) -> None:
    settings = {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}
    mine, theirs = run_both(impl, ref, 7, np.float32, **settings)
    for name in theirs:
        if mine[name].dtype != np.float32:
            fail(f"params[{name!r}] became {mine[name].dtype}; updated in place it stays float32")
        assert_close(mine[name], theirs[name], f"your float32 params[{name!r}] after 5 steps",
                     hint=SGD_RULE)


@pytest.mark.weight(2)
@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_momentum_buffers_are_per_parameter(impl, ref) -> None:
    # Two parameters with very different gradients: one shared buffer would mix them.
    a, b = np.zeros(2), np.zeros(2)
    ra, rb = np.zeros(2), np.zeros(2)
    opt = impl.SGD({"a": a, "b": b}, lr=0.1, momentum=0.9)
    ref_opt = ref.SGD({"a": ra, "b": rb}, lr=0.1, momentum=0.9)
    for grads in ({"a": np.ones(2), "b": -np.ones(2)}, {"a": np.zeros(2), "b": 2 * np.ones(2)}):
        ref_opt.step(grads)
        opt.step(grads)
    assert_close(a, ra, "your params['a'] after 2 momentum steps", hint=SGD_RULE, **TIGHT)
    assert_close(b, rb, "your params['b'] after 2 momentum steps", hint=SGD_RULE, **TIGHT)


@pytest.mark.rule("sgd.all.inputs-unchanged")
def test_grads_are_never_modified(impl) -> None:
    params, grads = random_problem(3)
    originals = [copy_params(g) for g in grads]
    opt = impl.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.05)
    for g in grads:
        opt.step(g)
    for k, (g, original) in enumerate(zip(grads, originals, strict=True)):
        for name in original:
            assert_equal(g[name], original[name], f"your grads[{name!r}] of step {k + 1}",
                         hint="step must not modify grads: g = grad + weight_decay * p "
                              "makes a new array; += would write into the caller's gradient")


def reuse_gradient_buffer(module, momentum: float) -> list:
    """A training loop that reuses one gradient array, refilled in place before each step."""
    p = np.zeros(3)
    grad = np.empty(3)
    opt = module.SGD({"p": p}, lr=0.1, momentum=momentum)
    for value in (1.0, -2.0, 0.5):
        grad[:] = value
        opt.step({"p": grad})
    return p.tolist()


@pytest.mark.weight(2)
@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_reused_gradient_array_does_not_leak_into_buffer(impl, ref) -> None:
    got = impl.run(reuse_gradient_buffer, 0.9)
    want = reuse_gradient_buffer(ref, 0.9)
    assert_close(np.array(got), np.array(want),
                 "p after 3 momentum steps whose grads share one array refilled in place",
                 hint="the momentum buffer must be a copy: v = g.copy(), not the grads array",
                 **TIGHT)


@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_momentum_zero_is_plain_gradient_descent(impl) -> None:
    p = np.array([3.0, -1.0])
    opt = impl.SGD({"p": p}, lr=0.25, momentum=0.0)
    for grad in ([1.0, 2.0], [-4.0, 0.0], [0.5, 0.5]):
        opt.step({"p": np.array(grad)})
    assert_close(p, np.array([3.0, -1.0]) - 0.25 * np.array([-2.5, 2.5]),
                 "p after 3 steps with momentum 0", hint="with momentum 0: p -= lr * grad")


@pytest.mark.rule("sgd.SGD.step.shapes-equal")
def test_step_rejects_gradient_of_transposed_shape(impl) -> None:
    opt = impl.SGD({"W": np.ones((2, 3))}, lr=0.1)
    with expect_value_error("step with grads['W'] of shape (3, 2) for W of shape (2, 3)",
                            "gradient shapes must equal parameter shapes"):
        opt.step({"W": np.ones((3, 2))})


@pytest.mark.rule("sgd.SGD.step.shapes-equal")
def test_step_rejects_scalar_gradient_for_vector(impl) -> None:
    opt = impl.SGD({"w": np.ones(3)}, lr=0.1)
    with expect_value_error("step with grads['w'] = 1.0 for w of shape (3,)",
                            "no silent broadcasting: shapes must be equal"):
        opt.step({"w": np.float64(1.0)})


# train_linear_regression -----------------------------------------------------------------------


def regression_data(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) - 0.7 + 0.1 * rng.standard_normal(n)


CASES = [
    {"seed": 0, "n": 40, "d": 3, "batch_size": 8, "lr": 0.1, "epochs": 10},
    {"seed": 1, "n": 45, "d": 2, "batch_size": 16, "lr": 0.05, "epochs": 12},
    {"seed": 2, "n": 30, "d": 4, "batch_size": 32, "lr": 0.2, "epochs": 8},
    {"seed": 3, "n": 25, "d": 1, "batch_size": 1, "lr": 0.02, "epochs": 5},
]


@pytest.mark.weight(3)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}-bs{c['batch_size']}")
@pytest.mark.rule(
    "sgd.train_linear_regression.reference-run", "sgd.train_linear_regression.result",
)
def test_linear_regression_matches_reference(impl, ref, case: dict) -> None:
    X, y = regression_data(case["seed"], case["n"], case["d"])
    kwargs = {"lr": case["lr"], "epochs": case["epochs"], "batch_size": case["batch_size"]}
    rw, rb, rlosses = ref.train_linear_regression(X, y, rng=np.random.default_rng(9), **kwargs)
    w, b, losses = impl.train_linear_regression(X, y, rng=np.random.default_rng(9), **kwargs)
    what = f"train_linear_regression(seed {case['seed']}, {kwargs})"
    hint = ("each epoch: batches from iterate_minibatches(N, batch_size, shuffle=True, rng=rng), "
            "one SGD step per batch on that batch's mse, then losses.append(full-data mse)")
    if not isinstance(losses, list) or len(losses) != len(rlosses):
        fail(f"{what} returned losses {losses!r}, expected a list of {len(rlosses)} floats")
    close = {"rtol": 1e-9, "atol": 1e-12}
    assert_close(np.array(losses, dtype=float), np.array(rlosses), f"{what} losses", hint=hint,
                 **close)
    assert_close(w, rw, f"{what} w", hint=hint, **close)
    assert_close(b, rb, f"{what} b", hint=hint, **close)


@pytest.mark.rule("sgd.train_linear_regression.sgd-on-mse")
def test_linear_regression_approaches_least_squares(impl) -> None:
    X, y = regression_data(5, 80, 3)
    # One batch of all 80 samples: plain gradient descent, which converges to the lstsq fit.
    w, b, _ = impl.train_linear_regression(X, y, lr=0.2, epochs=80, batch_size=80,
                                           rng=np.random.default_rng(0))
    solution, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)
    hint = "full-batch gradient descent on the mse converges to the least-squares fit"
    assert_close(w, solution[:3], "w after 80 full-batch epochs (noisy data)", rtol=0, atol=1e-6,
                 hint=hint)
    assert_close(b, solution[3], "b after 80 full-batch epochs (noisy data)", rtol=0, atol=1e-6,
                 hint=hint)


@pytest.mark.rule("sgd.train_linear_regression.sgd-on-mse")
def test_linear_regression_zero_epochs(impl) -> None:
    X, y = regression_data(6, 10, 2)
    w, b, losses = impl.train_linear_regression(X, y, epochs=0, rng=np.random.default_rng(0))
    assert_close(w, np.zeros(2), "w after 0 epochs", hint="training starts from w = zeros")
    assert_close(b, 0.0, "b after 0 epochs", hint="training starts from b = 0.0")
    assert_equal(list(losses), [], "losses after 0 epochs")


@pytest.mark.rule("sgd.all.inputs-unchanged")
def test_linear_regression_does_not_modify_inputs(impl) -> None:
    X, y = regression_data(7, 20, 2)
    X0, y0 = X.copy(), y.copy()
    impl.train_linear_regression(X, y, epochs=2, batch_size=6, rng=np.random.default_rng(0))
    assert_equal(X, X0, "X after train_linear_regression", hint="inputs are never modified")
    assert_equal(y, y0, "y after train_linear_regression", hint="inputs are never modified")


@pytest.mark.rule("sgd.train_linear_regression.shapes")
def test_linear_regression_rejects_mismatched_lengths(impl) -> None:
    X, y = regression_data(8, 20, 2)
    with expect_value_error("train_linear_regression(X of 20 samples, y of 19)",
                            "len(y) must equal len(X)"):
        impl.train_linear_regression(X, y[:-1], epochs=1, rng=np.random.default_rng(0))
