"""Kaplan–Meier on counts against lifelines on rows, and a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.errors import NotFittedError
from tenure.stats.survival import KaplanMeier, distinct_times, hazard_by_period, kaplan_meier


def _lifelines(durations: np.ndarray, observed: np.ndarray):  # type: ignore[no-untyped-def]
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter().fit(durations, observed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_lifelines_on_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2_000
    durations = np.floor(rng.exponential(120, n))
    censor = np.floor(rng.uniform(30, 400, n))
    observed = (durations <= censor).astype(float)
    durations = np.minimum(durations, censor)
    ref = _lifelines(durations, observed)
    km = KaplanMeier().fit(durations, observed)
    t = ref.survival_function_.index.to_numpy()
    np.testing.assert_allclose(km.predict(t), ref.survival_function_.iloc[:, 0], atol=1e-9, rtol=0)
    ci = ref.confidence_interval_survival_function_
    curve = km.curve_
    idx = np.searchsorted(curve.time, t, side="right") - 1
    low = np.where(idx >= 0, curve.ci_low[np.maximum(idx, 0)], 1.0)
    high = np.where(idx >= 0, curve.ci_high[np.maximum(idx, 0)], 1.0)
    np.testing.assert_allclose(low, ci.iloc[:, 0], atol=1e-9, rtol=0)
    np.testing.assert_allclose(high, ci.iloc[:, 1], atol=1e-9, rtol=0)
    assert km.median_ == ref.median_survival_time_


def test_counts_equal_rows() -> None:
    """The aggregated entry point gives the same curve as the row-level fitter."""
    d = np.array([1, 1, 2, 3, 3, 3, 5, 8])
    e = np.array([1, 0, 1, 1, 1, 0, 0, 1])
    rows = KaplanMeier().fit(d, e).curve_
    t, inv = np.unique(d, return_inverse=True)
    ev = np.bincount(inv, weights=e)
    ce = np.bincount(inv, weights=1 - e)
    counts = kaplan_meier(t, ev, ce)
    np.testing.assert_allclose(counts.survival, rows.survival, rtol=0, atol=1e-15)
    np.testing.assert_allclose(counts.at_risk, [8, 6, 5, 2, 1])


def test_hand_computed() -> None:
    """Events at 1 and 3, censored at 2 and 3, out of four members.

    S(1) = 3/4; S(3) = 3/4 * (1 - 1/2) = 3/8. Greenwood sum at 3 = 1/(4*3) + 1/(2*1) = 7/12.
    log(-log) interval at t=1: v = log .75, half = 1.959964 * sqrt(1/12) / v.
    """
    c = kaplan_meier([1, 2, 3], [1, 0, 1], [0, 1, 1])
    np.testing.assert_allclose(c.survival, [0.75, 0.75, 0.375], rtol=0, atol=1e-15)
    np.testing.assert_allclose(c.greenwood[-1], 7 / 12, rtol=1e-14)
    v = np.log(0.75)
    half = 1.959963984540054 * np.sqrt(1 / 12) / v
    assert c.ci_low[0] == pytest.approx(np.exp(-np.exp(np.log(-v) - half)), abs=1e-12)
    assert c.ci_high[0] == pytest.approx(np.exp(-np.exp(np.log(-v) + half)), abs=1e-12)
    assert c.median == 3.0
    assert kaplan_meier([1, 2], [0, 0], [1, 1]).median == float("inf")


def test_hazard_by_period() -> None:
    """No censoring: churn in a period is events / at risk at its start."""
    c = kaplan_meier([0, 5, 12, 40], [2, 3, 1, 4], [0, 0, 0, 0])
    h = hazard_by_period(c, [0, 10, 30, 60])
    np.testing.assert_allclose(h.at_risk, [10, 5, 4])
    np.testing.assert_allclose(h.events, [5, 1, 4])
    np.testing.assert_allclose(h.churn, [0.5, 0.2, 1.0])


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        KaplanMeier().predict([1.0])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=1, max_size=60),
)
def test_curve_is_monotone_and_interval_contains(rows: list[tuple[int, bool]]) -> None:
    d = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows], dtype=float)
    c = KaplanMeier().fit(d, e).curve_
    assert np.all(np.diff(c.survival) <= 1e-15)
    assert np.all((c.survival >= 0) & (c.survival <= 1))
    assert np.all(c.ci_low <= c.survival + 1e-12)
    assert np.all(c.ci_high >= c.survival - 1e-12)


@pytest.mark.parametrize(
    "times",
    [
        np.array([5.0, 5.0, 0.0, 3.0, 400.0, 3.0]),  # whole days: counted, not sorted
        np.array([-7.0, 2.0, -7.0, 11.0]),  # negative whole numbers
        np.array([0.5, 2.0, 0.5, 1.25]),  # fractions: sorted
        np.array([0.0, 1e9, 3.0]),  # too wide a range to count
        np.array([2.0]),
        np.zeros(0),
    ],
)
def test_distinct_times_agree_with_numpy_unique(times: np.ndarray) -> None:
    got, position = distinct_times(times)
    ref, inverse = np.unique(times, return_inverse=True)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(position, inverse.reshape(-1))


def test_distinct_times_on_a_million_random_days() -> None:
    t = np.random.default_rng(4).integers(0, 700, 1_000_000).astype(np.float64)
    got, position = distinct_times(t)
    ref, inverse = np.unique(t, return_inverse=True)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(position, inverse)
