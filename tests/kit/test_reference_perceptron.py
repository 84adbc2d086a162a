"""The perceptron reference obeys the perceptron convergence theorem and its own symmetries,
so the trajectories the hidden suite fixes are those of the textbook rule.

Novikoff's theorem: with augmented samples x' = (x, 1) and weights w' = (w, b), if a unit vector
u separates the data with margin gamma (u . x' >= gamma for y = 1, <= -gamma for y = 0) and
|x'| <= R, the rule started from 0 with lr = 1 makes at most (R / gamma)**2 mistakes in all.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.perceptron import Perceptron


def separable_with_margin(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Data labelled by a random unit vector u in (w, b) space; returns X, y, R and gamma."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d + 1)
    u /= np.linalg.norm(u)
    X = rng.uniform(-3, 3, (4 * n, d))
    X_aug = np.column_stack([X, np.ones(len(X))])
    keep = np.abs(X_aug @ u) > 0.05
    X, X_aug = X[keep][:n], X_aug[keep][:n]
    scores = X_aug @ u
    return X, (scores > 0).astype(int), np.linalg.norm(X_aug, axis=1).max(), np.abs(scores).min()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), d=st.integers(1, 4))
def test_mistakes_within_novikoff_bound_and_data_separated(seed: int, n: int, d: int) -> None:
    X, y, radius, gamma = separable_with_margin(seed, n, d)
    p = Perceptron(d)
    mistakes = p.fit(X, y, epochs=100_000)
    assert sum(mistakes) <= (radius / gamma) ** 2
    assert mistakes[-1] == 0 and all(m > 0 for m in mistakes[:-1])
    np.testing.assert_array_equal(p.predict(X), y)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), power=st.integers(-4, 4))
def test_power_of_two_learning_rate_scales_the_trajectory_exactly(seed: int, power: int) -> None:
    # From zero, predictions depend only on signs, so lr = 2**k scales w and b exactly.
    X, y, _, _ = separable_with_margin(seed, 20, 2)
    unit, scaled = Perceptron(2), Perceptron(2, lr=2.0**power)
    assert unit.fit(X, y, epochs=50) == scaled.fit(X, y, epochs=50)
    np.testing.assert_array_equal(scaled.w, unit.w * 2.0**power)
    assert scaled.b == unit.b * 2.0**power


def test_xor_never_converges() -> None:
    X, y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 1, 1, 0])
    mistakes = Perceptron(2).fit(X, y, epochs=200)
    assert len(mistakes) == 200 and min(mistakes) > 0


def test_fit_returns_python_ints_and_keeps_float_attributes() -> None:
    p = Perceptron(2)
    mistakes = p.fit(np.array([[0, 0], [1, 1]]), np.array([0, 1]))
    assert all(type(m) is int for m in mistakes)
    assert p.w.dtype == np.float64 and type(p.b) is float
    assert p.predict(np.array([[0, 0], [1, 1]])).dtype.kind == "i"
