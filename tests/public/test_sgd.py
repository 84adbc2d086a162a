"""Public tests of the sgd exercise: minibatches, the SGD update by hand, linear regression."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grader.suites.checks import (
    assert_array,
    assert_close,
    assert_equal,
    check_imports_no_later_exercise,
    expect_value_error,
    fail,
)
from grader.suites.hints import SGD_RULE


def batches_of(impl, *args, **kwargs) -> list[np.ndarray]:
    """All batches of impl.iterate_minibatches(*args, **kwargs), each checked to be integers."""
    __tracebackhide__ = True
    batches = list(impl.iterate_minibatches(*args, **kwargs))
    for batch in batches:
        batch = assert_array(batch, "iterate_minibatches yielded a batch that")
        if batch.dtype.kind not in "iu":
            fail(f"iterate_minibatches yielded dtype {batch.dtype}, expected integer indices")
    return batches


# iterate_minibatches ---------------------------------------------------------------------------


@pytest.mark.rule("sgd.iterate_minibatches.order", "sgd.iterate_minibatches.covers-once")
def test_minibatches_without_shuffle_are_in_order(impl) -> None:
    batches = batches_of(impl, 5, 2, shuffle=False)
    assert_equal([b.tolist() for b in batches], [[0, 1], [2, 3], [4]],
                 "iterate_minibatches(5, 2, shuffle=False)",
                 hint="consecutive slices of 0..n-1; the last batch holds the remainder")


@pytest.mark.rule("sgd.iterate_minibatches.covers-once")
def test_minibatches_cover_every_index_once(impl) -> None:
    batches = batches_of(impl, 23, 5, shuffle=True, rng=np.random.default_rng(0))
    assert_equal([len(b) for b in batches], [5, 5, 5, 5, 3],
                 "batch sizes of iterate_minibatches(23, 5)",
                 hint="full batches first, then one smaller batch with the remainder")
    assert_equal(np.sort(np.concatenate(batches)), np.arange(23),
                 "the sorted indices of all batches", hint="each index exactly once")


@pytest.mark.rule("sgd.iterate_minibatches.order")
def test_shuffled_order_is_rng_permutation(impl) -> None:
    batches = batches_of(impl, 23, 5, shuffle=True, rng=np.random.default_rng(7))
    expected = np.random.default_rng(7).permutation(23)
    assert_equal(np.concatenate(batches), expected,
                 "the indices of iterate_minibatches(23, 5, rng=default_rng(7)) in order",
                 hint="the order is rng.permutation(n_samples), one call, cut into batches")


@pytest.mark.rule("sgd.iterate_minibatches.covers-once")
def test_batch_larger_than_data_is_one_batch(impl) -> None:
    batches = batches_of(impl, 3, 10, shuffle=False)
    assert_equal([b.tolist() for b in batches], [[0, 1, 2]],
                 "iterate_minibatches(3, 10, shuffle=False)")


@pytest.mark.rule("sgd.iterate_minibatches.order")
def test_default_rng_still_covers_everything(impl) -> None:
    batches = batches_of(impl, 10, 4)
    assert_equal(np.sort(np.concatenate(batches)), np.arange(10),
                 "the sorted indices of iterate_minibatches(10, 4) with rng=None",
                 hint="rng defaults to np.random.default_rng()")


@pytest.mark.parametrize(
    ("n_samples", "batch_size"), [(10, 0), (10, -3), (-1, 2)], ids=["batch0", "batch-3", "n-1"]
)
@pytest.mark.rule("sgd.iterate_minibatches.bad-arguments")
def test_minibatches_reject_bad_arguments(impl, n_samples: int, batch_size: int) -> None:
    with expect_value_error(f"iterate_minibatches({n_samples}, {batch_size}) (first batch)",
                            "batch_size must be > 0 and n_samples >= 0"):
        list(impl.iterate_minibatches(n_samples, batch_size))


# SGD.step --------------------------------------------------------------------------------------


@pytest.mark.rule("sgd.SGD.step.in-place")
def test_plain_step_updates_in_place(impl) -> None:
    w = np.array([1.0, -2.0, 3.0])
    opt = impl.SGD({"w": w}, lr=0.1)
    opt.step({"w": np.array([0.5, 0.5, -1.0])})
    assert_close(w, np.array([0.95, -2.05, 3.1]), "your w after SGD(lr=0.1).step",
                 hint="p -= lr * grad, in place: the caller's array must change "
                      "(params[name] = ... makes a new array and leaves the caller's unchanged)")


@pytest.mark.rule("sgd.SGD.step.in-place")
def test_several_parameters_keep_being_updated_in_place(impl) -> None:
    W, b = np.ones((2, 3)), np.zeros(3)
    params = {"W": W, "b": b}
    opt = impl.SGD(params, lr=0.5)
    for _ in range(3):
        opt.step({"W": np.full((2, 3), 0.25), "b": np.array([1.0, -1.0, 0.0])})
    hint = "update every array of params in place (p -= ...), at every step"
    assert_close(W, np.full((2, 3), 1 - 3 * 0.5 * 0.25), "your W after 3 steps", hint=hint)
    assert_close(b, np.array([-1.5, 1.5, 0.0]), "your b after 3 steps", hint=hint)
    if params["W"] is not W or params["b"] is not b:
        fail("SGD.step replaced arrays in your params dict; update them in place instead")


@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_momentum_by_hand(impl) -> None:
    # Constant g = [1, -2], lr = 0.1, momentum = 0.9: v1 = g, v2 = 1.9 g, v3 = 2.71 g.
    p = np.array([1.0, 1.0])
    opt = impl.SGD({"p": p}, lr=0.1, momentum=0.9)
    expected = [[0.9, 1.2], [0.71, 1.58], [0.439, 2.122]]
    for step, want in enumerate(expected, start=1):
        opt.step({"p": np.array([1.0, -2.0])})
        assert_close(p, np.array(want), f"p after step {step} with momentum 0.9",
                     hint=SGD_RULE + " (no (1 - momentum) factor; the buffer starts at g)")


@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_weight_decay_by_hand(impl) -> None:
    # g = grad + wd * p = [0.5 + 0.1 * 2, 0 + 0.1 * (-4)] = [0.7, -0.4]; p -= 0.5 * g.
    p = np.array([2.0, -4.0])
    opt = impl.SGD({"p": p}, lr=0.5, weight_decay=0.1)
    opt.step({"p": np.array([0.5, 0.0])})
    assert_close(p, np.array([1.65, -3.8]), "p after one step with weight_decay=0.1",
                 hint="g = grad + weight_decay * p, then p -= lr * g")


@pytest.mark.rule("sgd.SGD.step.torch-rule")
def test_weight_decay_enters_the_momentum_buffer(impl) -> None:
    # Step 1: g1 = 1 + 0.5 * 1 = 1.5, v1 = 1.5, p = 1 - 0.1 * 1.5 = 0.85.
    # Step 2: g2 = 1 + 0.5 * 0.85 = 1.425, v2 = 0.9 * 1.5 + 1.425 = 2.775, p = 0.85 - 0.2775.
    p = np.array([1.0])
    opt = impl.SGD({"p": p}, lr=0.1, momentum=0.9, weight_decay=0.5)
    opt.step({"p": np.array([1.0])})
    opt.step({"p": np.array([1.0])})
    assert_close(p, np.array([0.5725]), "p after 2 steps with momentum 0.9 and weight_decay 0.5",
                 hint="weight decay goes into g before the momentum buffer: " + SGD_RULE)


@pytest.mark.rule("sgd.all.inputs-unchanged")
def test_step_does_not_modify_grads(impl) -> None:
    p = np.array([1.0, 2.0])
    opt = impl.SGD({"p": p}, lr=0.1, momentum=0.9, weight_decay=0.1)
    grads = [{"p": np.array([0.5, -0.5])}, {"p": np.array([1.0, 1.0])}]
    for g in grads:
        opt.step(g)
    assert_equal(grads[0]["p"], np.array([0.5, -0.5]), "your first grads after two steps",
                 hint="step must not modify grads: store a copy as the momentum buffer")
    assert_equal(grads[1]["p"], np.array([1.0, 1.0]), "your second grads after two steps",
                 hint="step must not modify grads (g = grad + wd * p makes a new array)")


@pytest.mark.parametrize(
    "grads",
    [{}, {"w": np.zeros(2), "extra": np.zeros(2)}, {"W": np.zeros(2)}],
    ids=["missing", "extra", "misspelt"],
)
@pytest.mark.rule("sgd.SGD.step.keys-equal")
def test_step_rejects_other_keys(impl, grads: dict) -> None:
    opt = impl.SGD({"w": np.ones(2)}, lr=0.1)
    with expect_value_error(f"SGD(params with key 'w').step(grads with keys {sorted(grads)})",
                            "grads must have exactly the keys of params"):
        opt.step(grads)


@pytest.mark.rule("sgd.SGD.step.shapes-equal")
def test_step_rejects_gradient_of_another_shape(impl) -> None:
    opt = impl.SGD({"w": np.ones(3)}, lr=0.1)
    with expect_value_error("step with grads['w'] of shape (1,) for w of shape (3,)",
                            "no silent broadcasting: shapes must be equal"):
        opt.step({"w": np.ones(1)})


# train_linear_regression -----------------------------------------------------------------------


def regression_data(seed: int, n: int = 64, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless data y = X @ [1, -2, 0.5] + 0.3 (the least-squares fit is exact)."""
    X = np.random.default_rng(seed).standard_normal((n, d))
    return X, X @ np.array([1.0, -2.0, 0.5])[:d] + 0.3


@pytest.mark.rule("sgd.train_linear_regression.result")
def test_linear_regression_returns_w_b_and_losses(impl) -> None:
    X, y = regression_data(0)
    w, b, losses = impl.train_linear_regression(X, y, epochs=5, rng=np.random.default_rng(0))
    w = assert_array(w, "w returned by train_linear_regression")
    if w.shape != (3,):
        fail(f"w has shape {w.shape}, expected (3,) (one weight per feature)")
    if not isinstance(b, float):
        fail(f"b is {type(b).__name__}, expected a float")
    if not isinstance(losses, list) or len(losses) != 5:
        fail(f"losses is {losses!r}, expected a list of 5 floats (one per epoch)")
    assert_close(losses[-1], float(np.mean((X @ w + b - y) ** 2)),
                 "losses[-1]", hint="losses[e] is the full-data mse after epoch e")


@pytest.mark.rule("sgd.train_linear_regression.sgd-on-mse")
def test_linear_regression_fits_noiseless_data(impl) -> None:
    X, y = regression_data(1)
    w, b, losses = impl.train_linear_regression(X, y, lr=0.1, epochs=100, batch_size=16,
                                                rng=np.random.default_rng(1))
    solution, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)
    hint = "one SGD step per batch: w -= lr * X_B.T @ mse_grad(pred, y_B), b -= lr * sum(...)"
    assert_close(w, solution[:3], "w after 100 epochs", rtol=0, atol=1e-6, hint=hint)
    assert_close(b, solution[3], "b after 100 epochs", rtol=0, atol=1e-6, hint=hint)
    if not losses[-1] < 1e-10 < losses[0]:
        fail(f"losses went from {losses[0]:.3g} to {losses[-1]:.3g}; on noiseless data they "
             "should fall to about 0")


@pytest.mark.rule("sgd.train_linear_regression.sgd-on-mse")
def test_linear_regression_losses_decrease(impl) -> None:
    X, y = regression_data(2)
    _, _, losses = impl.train_linear_regression(X, y, lr=0.05, epochs=20, batch_size=8,
                                                rng=np.random.default_rng(2))
    if not all(later < earlier for earlier, later in itertools.pairwise(losses)):
        fail(f"losses {np.round(losses, 4).tolist()} do not decrease every epoch")


@pytest.mark.rule("sgd.train_linear_regression.reference-run")
def test_linear_regression_same_seed_same_result(impl) -> None:
    X, y = regression_data(3)
    first = impl.train_linear_regression(X, y, epochs=3, batch_size=10,
                                         rng=np.random.default_rng(5))
    second = impl.train_linear_regression(X, y, epochs=3, batch_size=10,
                                          rng=np.random.default_rng(5))
    assert_close(first[0], second[0], "w of two runs with rngs of the same seed", rtol=0, atol=0,
                 hint="take every random choice from rng (iterate_minibatches(..., rng=rng))")


@pytest.mark.rule("sgd.train_linear_regression.shapes")
def test_linear_regression_rejects_column_targets(impl) -> None:
    X, y = regression_data(4)
    with expect_value_error("train_linear_regression(X of shape (64, 3), y of shape (64, 1))",
                            "y must have shape (N,): (N,) - (N, 1) broadcasts to (N, N)"):
        impl.train_linear_regression(X, y[:, None], epochs=1)


# The contract's order of exercises.


@pytest.mark.rule("sgd.all.imports-no-later-exercise")
def test_works_without_the_later_exercises(impl) -> None:
    X, y = regression_data(5, n=16)
    got = check_imports_no_later_exercise(
        impl, "sgd", [("train_linear_regression", (X, y, 0.1, 2, 8, np.random.default_rng(0)))])
    want = impl.train_linear_regression(X, y, 0.1, 2, 8, np.random.default_rng(0))
    assert_close(np.asarray(got[2]), np.asarray(want[2]),
                 "losses of train_linear_regression in sgd.py imported without backprop")
