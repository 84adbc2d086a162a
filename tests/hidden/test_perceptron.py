"""Hidden tests of the perceptron exercise: the exact trajectory of the rule, against the reference.

The contract fixes the trajectory completely (samples in order, update from `predict`, strict
threshold, stop after the first epoch with no mistake), so the mistakes per epoch must match
the reference exactly and the weights to rounding (1e-12).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.suites.checks import assert_close, assert_equal, expect_value_error, fail
from grader.suites.hints import PERCEPTRON_RULE

TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def separable(seed: int, n: int = 40, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """n samples in d dimensions labelled by a random hyperplane, none closer to it than 0.2."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal(d), 0.5 * rng.standard_normal()
    X = rng.standard_normal((6 * n, d)) * 2
    z = (X @ w + b) / np.linalg.norm(w)
    keep = np.abs(z) > 0.2
    return X[keep][:n], (z[keep][:n] > 0).astype(int)


def noisy(seed: int, n: int = 30, d: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """n samples with random labels: not separable, so the rule keeps making mistakes."""
    rng = np.random.default_rng(1000 + seed)
    return rng.standard_normal((n, d)), rng.integers(0, 2, n)


def integer_grid(seed: int, n: int = 25, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Small integer features: net inputs land exactly on 0 often, testing the strict threshold."""
    rng = np.random.default_rng(2000 + seed)
    X = rng.integers(-2, 3, (n, d))
    return X, (X @ np.array([1, -1, 2])[:d] + 1 > 0).astype(int)


def mistakes_hint(actual: list, expected: list) -> str:
    if len(actual) == len(expected) + 1 and actual[:-1] == expected:
        return "you run one epoch too many: stop right after the first epoch with no mistake"
    if len(actual) > len(expected) and actual[: len(expected)] == expected:
        return "training must stop after the first epoch with no mistake"
    if len(actual) < len(expected) and actual == expected[: len(actual)]:
        return "training stopped too early: only an epoch with 0 mistakes ends it"
    return (
        f"follow the rule sample by sample, in order: {PERCEPTRON_RULE}; predict is 1 only where "
        "net_input > 0 (a net input of exactly 0 predicts 0)"
    )


def compare_fit(impl, ref, X: np.ndarray, y: np.ndarray, lr: float, epochs: int, what: str) -> None:
    __tracebackhide__ = True
    p, q = impl.Perceptron(X.shape[1], lr=lr), ref.Perceptron(X.shape[1], lr=lr)
    expected = q.fit(X, y, epochs=epochs)  # first: the reference never modifies X or y
    mistakes = p.fit(X, y, epochs=epochs)
    if not isinstance(mistakes, list):
        fail(f"{what} returned {type(mistakes).__name__}, expected a list of ints")
    mistakes = [int(m) for m in mistakes]
    assert_equal(mistakes, expected, f"{what} mistakes per epoch",
                 hint=mistakes_hint(mistakes, expected))
    assert_close(p.w, q.w, f"{what} final w", hint=PERCEPTRON_RULE, **TIGHT)
    assert_close(p.b, q.b, f"{what} final b", hint="b += update after every sample", **TIGHT)


@pytest.mark.weight(3)
@pytest.mark.parametrize("lr", [1.0, 0.1], ids=["lr1", "lr0.1"])
@pytest.mark.parametrize("seed", range(4), ids=lambda s: f"seed{s}")
@pytest.mark.rule(
    "perceptron.Perceptron.fit.rule", "perceptron.Perceptron.fit.mistakes",
    "perceptron.Perceptron.fit.stops-after-clean-epoch",
)
def test_trajectory_on_separable_data_matches_reference(impl, ref, seed: int, lr: float) -> None:
    X, y = separable(seed)
    compare_fit(impl, ref, X, y, lr, 200, f"fit(separable data, seed {seed}, lr={lr})")


@pytest.mark.weight(2)
@pytest.mark.parametrize("seed", range(3), ids=lambda s: f"seed{s}")
@pytest.mark.rule("perceptron.Perceptron.fit.rule", "perceptron.Perceptron.fit.mistakes")
def test_trajectory_on_noisy_data_matches_reference(impl, ref, seed: int) -> None:
    X, y = noisy(seed)
    compare_fit(impl, ref, X, y, 1.0, 7, f"fit(random labels, seed {seed}, epochs=7)")


@pytest.mark.weight(2)
@pytest.mark.parametrize("seed", range(3), ids=lambda s: f"seed{s}")
@pytest.mark.rule("perceptron.Perceptron.fit.rule", "perceptron.Perceptron.predict")
def test_trajectory_with_ties_on_integer_data_matches_reference(impl, ref, seed: int) -> None:
    X, y = integer_grid(seed)
    compare_fit(impl, ref, X, y, 1.0, 30, f"fit(integer features, seed {seed})")


@pytest.mark.parametrize("seed", range(3), ids=lambda s: f"seed{s}")
@pytest.mark.rule("perceptron.Perceptron.fit.stops-after-clean-epoch")
def test_converges_and_separates_separable_data(impl, seed: int) -> None:
    X, y = separable(seed, n=30, d=2)
    p = impl.Perceptron(2)
    mistakes = p.fit(X, y, epochs=500)
    if not mistakes or mistakes[-1] != 0:
        fail(f"fit on separable data returned {mistakes[-5:]} at the end: the last epoch of a "
             "converged run has 0 mistakes")
    assert_equal(p.predict(X), y, "predict(X) after convergence",
                 hint="once an epoch has no mistake, every training sample is classified right")


@pytest.mark.parametrize("seed", range(2), ids=lambda s: f"seed{s}")
@pytest.mark.rule("perceptron.Perceptron.net_input", "perceptron.Perceptron.predict")
def test_net_input_and_predict_match_reference_after_fit(impl, ref, seed: int) -> None:
    X, y = noisy(seed)
    p, q = impl.Perceptron(2), ref.Perceptron(2)
    q.fit(X, y, epochs=3)
    p.fit(X, y, epochs=3)
    X_new = np.random.default_rng(seed).standard_normal((9, 2))
    assert_close(p.net_input(X_new), q.net_input(X_new), "net_input(X) after 3 epochs", **TIGHT)
    labels = p.predict(X_new)
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        fail(f"predict returned {labels!r}, expected an integer array of 0s and 1s")
    assert_equal(labels, q.predict(X_new), "predict(X) after 3 epochs")


@pytest.mark.rule("perceptron.Perceptron.fit.mistakes")
def test_xor_mistakes_every_epoch_match_reference(impl, ref) -> None:
    X, y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 1, 1, 0])
    compare_fit(impl, ref, X, y, 1.0, 9, "fit(XOR, epochs=9)")


@pytest.mark.rule("perceptron.Perceptron.fit.labels-0-1")
def test_float_labels_are_accepted(impl, ref) -> None:
    X, y = separable(5, n=20, d=2)
    compare_fit(impl, ref, X, y.astype(float), 1.0, 50, "fit with y = 0.0 / 1.0 floats")


@pytest.mark.rule("perceptron.Perceptron.attributes", "perceptron.Perceptron.fit.mistakes")
def test_zero_epochs_runs_nothing(impl) -> None:
    X, y = np.array([[1.0, 1.0]]), np.array([1])
    p = impl.Perceptron(2)
    mistakes = p.fit(X, y, epochs=0)
    assert_equal(list(mistakes), [], "fit(..., epochs=0)", hint="no epoch run, no mistakes")
    assert_close(p.w, np.zeros(2), "w after fit(..., epochs=0)")
    # The same call with epochs=1 must update: the empty run above is then epochs=0 at work,
    # not a fit that never does anything.
    mistakes = p.fit(X, y, epochs=1)
    assert_equal(list(mistakes), [1], "fit([[1, 1]], [1], epochs=1) after the epochs=0 call",
                 hint="from w = 0 the sample is a mistake (predict is 0 on the boundary)")
    assert_close(p.w, np.ones(2), "w after fit([[1, 1]], [1], epochs=1)", hint=PERCEPTRON_RULE)


@pytest.mark.rule("perceptron.Perceptron.fit.labels-0-1")
def test_fit_rejects_fractional_labels(impl) -> None:
    with expect_value_error("fit with y = [0, 0.5, 1]", "y must hold only 0s and 1s"):
        impl.Perceptron(1).fit(np.array([[1.0], [2.0], [3.0]]), np.array([0, 0.5, 1]))


@pytest.mark.rule("perceptron.Perceptron.x-shape")
def test_fit_rejects_1d_X(impl) -> None:
    with expect_value_error("Perceptron(1).fit(X of shape (3,), y)", "X must have shape (N, 1)"):
        impl.Perceptron(1).fit(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 1]))
