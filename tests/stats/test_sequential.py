"""Always-valid inference: valid under daily peeking where fixed-horizon peeking is not."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.stats.frequentist import welch_test
from tenure.stats.moments import Moments
from tenure.stats.sequential import (
    always_valid_p_value,
    confidence_sequence_halfwidth,
    sequential_rho,
)

SIMS, LOOKS, PER_DAY, ALPHA = 2000, 30, 50, 0.05


def _daily_cumulative(rng: np.random.Generator, shift: float) -> Moments:
    """Cumulative moments after each day, for SIMS independent experiments: (SIMS, LOOKS)."""
    x = rng.exponential(2.0, (SIMS, LOOKS, PER_DAY)) + shift  # skewed, like revenue
    daily = Moments.from_values(x, axis=2)
    return Moments(
        np.cumsum(daily.n, axis=1),
        np.cumsum(daily.sum, axis=1),
        np.cumsum(daily.sum_squares, axis=1),
    )


def test_type_one_error_under_daily_peeking() -> None:
    rng = np.random.default_rng(2021)
    a, b = _daily_cumulative(rng, 0.0), _daily_cumulative(rng, 0.0)
    tol = 3 * np.sqrt(ALPHA * (1 - ALPHA) / SIMS)
    seq = welch_test(a, b, method="sequential", tuning=2 * LOOKS * PER_DAY)
    seq_error = (seq.p_value < ALPHA).any(axis=1).mean()
    assert seq_error <= ALPHA + tol
    naive = welch_test(a, b)
    naive_error = (naive.p_value < ALPHA).any(axis=1).mean()
    assert naive_error > 2 * ALPHA  # peeking at a fixed-horizon test inflates the error
    # and the confidence sequence covers the truth at every look at once
    always_covered = ((seq.ci_abs_low <= 0) & (seq.ci_abs_high >= 0)).all(axis=1).mean()
    assert always_covered >= 1 - ALPHA - tol


def test_sequential_still_detects_a_real_effect() -> None:
    rng = np.random.default_rng(7)
    a, b = _daily_cumulative(rng, 0.0), _daily_cumulative(rng, 0.5)
    seq = welch_test(a, b, method="sequential", tuning=2 * LOOKS * PER_DAY)
    assert (seq.p_value[:, -1] < ALPHA).mean() > 0.8


def test_p_value_below_alpha_iff_zero_outside_sequence() -> None:
    est = np.linspace(-1, 1, 401)
    se, n = 0.2, 4000.0
    w = confidence_sequence_halfwidth(se, n, alpha=ALPHA)
    p = always_valid_p_value(est, se, n, alpha=ALPHA)
    outside = np.abs(est) > w
    edge = np.isclose(np.abs(est), w, atol=1e-3)
    assert np.array_equal((p < ALPHA)[~edge], outside[~edge])


def test_sequence_is_wider_than_fixed_interval_and_narrows_with_n() -> None:
    n = np.array([100.0, 1000.0, 10000.0])
    se = 1.0 / np.sqrt(n)
    w = confidence_sequence_halfwidth(se, n)
    assert np.all(w > 1.96 * se)
    assert np.all(np.diff(w) < 0)
    assert float(sequential_rho(0.05, 5000)) == pytest.approx(0.03984006677137368, rel=1e-12)


def test_huge_z_does_not_overflow() -> None:
    assert float(always_valid_p_value(100.0, 1e-3, 1e6)) == 0.0
