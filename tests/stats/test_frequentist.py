"""Welch, CUPED and ratio tests against independent references on the same data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.errors import SpecError
from tenure.stats.frequentist import cuped_test, cuped_theta, ratio_test, welch_test
from tenure.stats.moments import CrossMoments, Moments


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_on_moments_matches_scipy_on_rows(rng: np.random.Generator, alternative: str) -> None:
    a, b = rng.normal(0, 1, 500), rng.normal(0.1, 1.3, 700)
    ref = scipy.stats.ttest_ind(b, a, equal_var=False, alternative=alternative)
    r = welch_test(Moments.from_values(a), Moments.from_values(b), alternative=alternative)  # type: ignore[arg-type]
    assert float(r.p_value) == pytest.approx(ref.pvalue, abs=1e-9)
    ci = ref.confidence_interval(0.95)
    assert float(r.ci_abs_low) == pytest.approx(ci.low, abs=1e-9)
    assert float(r.ci_abs_high) == pytest.approx(ci.high, abs=1e-9)
    assert float(r.df) == pytest.approx(ref.df, rel=1e-9)


def test_welch_vectorised_over_many_cells(rng: np.random.Generator) -> None:
    a, b = rng.normal(0, 1, (50, 40)), rng.normal(0.2, 2, (50, 60))
    r = welch_test(Moments.from_values(a, axis=1), Moments.from_values(b, axis=1))
    ref = scipy.stats.ttest_ind(b, a, axis=1, equal_var=False)
    np.testing.assert_allclose(r.p_value, ref.pvalue, atol=1e-9)


def test_relative_ci_is_delta_method_of_ratio_of_means(rng: np.random.Generator) -> None:
    a, b = rng.normal(10, 3, 400), rng.normal(11, 3, 400)
    r = welch_test(Moments.from_values(a), Moments.from_values(b))
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(ddof=1) / 400, b.var(ddof=1) / 400
    grad = np.array([-mb / ma**2, 1 / ma])  # d(mb/ma - 1)/d(ma, mb)
    se = np.sqrt(grad @ np.diag([va, vb]) @ grad)
    assert float(r.effect_rel) == pytest.approx(mb / ma - 1, abs=1e-12)
    assert float(r.se_rel) == pytest.approx(se, rel=1e-12)


def test_degenerate_cells_get_status_in_a_batch() -> None:
    control = Moments([1, 10, 10, 10], [1, 5, 0, 5], [1, 2.5, 0, 3])
    variant = Moments([10, 10, 10, 10], [5, 5, 3, 6], [3, 5, 1.5, 4])
    r = welch_test(control, variant)
    assert r.status.tolist() == ["too_few", "zero_variance", "zero_variance", "ok"]
    assert np.isnan(r.p_value[:3]).all() and 0 <= r.p_value[3] <= 1
    zb = welch_test(Moments(10, 0.0, 4.0), Moments(10, 3.0, 5.0))
    assert str(zb.status) == "zero_baseline"
    assert np.isnan(zb.effect_rel) and not np.isnan(zb.p_value)


def test_bad_options_raise() -> None:
    m = Moments(10, 5, 5)
    with pytest.raises(SpecError):
        welch_test(m, m, alpha=1.5)
    with pytest.raises(SpecError):
        welch_test(m, m, method="sequential", alternative="less")


def _cuped_data(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    xa, xb = rng.gamma(2, 3, 600), rng.gamma(2, 3, 650)
    ya = 2 + 0.7 * xa + rng.normal(0, 2, 600)
    yb = 2.4 + 0.7 * xb + rng.normal(0, 2, 650)
    return xa, ya, xb, yb


def test_cuped_within_theta_equals_ols(rng: np.random.Generator) -> None:
    xa, ya, xb, yb = _cuped_data(rng)
    y, x = np.r_[ya, yb], np.r_[xa, xb]
    t = np.r_[np.zeros(600), np.ones(650)]
    ols = sm.OLS(y, sm.add_constant(np.c_[t, x - x.mean()])).fit(cov_type="HC2")
    a, b = CrossMoments.from_values(ya, xa), CrossMoments.from_values(yb, xb)
    r = cuped_test(a, b, theta_method="within")
    assert float(r.effect_abs) == pytest.approx(ols.params[1], abs=1e-9)
    assert float(r.se_abs) == pytest.approx(ols.bse[1], rel=0.02)
    pooled = cuped_test(a, b)  # gbstats' pooled theta: same up to noise
    assert float(pooled.effect_abs) == pytest.approx(ols.params[1], abs=0.02)
    assert float(r.se_abs) < 0.6 * float(welch_test(a.main, b.main).se_abs)


def test_cuped_theta_zero_when_covariate_constant() -> None:
    a = CrossMoments.from_values([1.0, 2, 3], [1.0, 1, 1])
    b = CrossMoments.from_values([2.0, 3, 5], [1.0, 1, 1])
    assert float(cuped_theta(a, b)) == 0.0
    assert float(cuped_test(a, b).p_value) == pytest.approx(
        float(welch_test(a.main, b.main).p_value)
    )


def test_ratio_delta_method_against_bootstrap(rng: np.random.Generator) -> None:
    da, db = rng.poisson(4, 800) + 1.0, rng.poisson(4, 800) + 1.0
    ma = da * rng.gamma(2, 1.0, 800)
    mb = db * rng.gamma(2, 1.1, 800)
    r = ratio_test(CrossMoments.from_values(ma, da), CrossMoments.from_values(mb, db))
    assert float(r.effect_abs) == pytest.approx(mb.sum() / db.sum() - ma.sum() / da.sum())
    ia, ib = rng.integers(0, 800, (2000, 800)), rng.integers(0, 800, (2000, 800))
    boot = mb[ib].sum(1) / db[ib].sum(1) - ma[ia].sum(1) / da[ia].sum(1)
    assert float(r.se_abs) == pytest.approx(boot.std(ddof=1), rel=0.06)


def test_ratio_zero_denominator_status() -> None:
    a = CrossMoments.from_values([1.0, 2, 3], [0.0, 0, 0])
    b = CrossMoments.from_values([1.0, 2, 3], [1.0, 2, 2])
    assert str(ratio_test(a, b).status) == "zero_denominator"


def test_intervals_cover_the_truth_95_percent() -> None:
    rng = np.random.default_rng(11)
    k = 2000  # comparisons simulated at once
    a = rng.normal(5.0, 2.0, (k, 80))
    b = rng.normal(5.5, 3.0, (k, 120))
    r = welch_test(Moments.from_values(a, axis=1), Moments.from_values(b, axis=1))
    covered = (r.ci_abs_low <= 0.5) & (r.ci_abs_high >= 0.5)
    tol = 3 * np.sqrt(0.05 * 0.95 / k)
    assert abs(covered.mean() - 0.95) < tol
    rel = (r.ci_rel_low <= 0.1) & (r.ci_rel_high >= 0.1)
    assert abs(rel.mean() - 0.95) < tol + 0.005  # delta method: first-order accurate


def test_cuped_intervals_cover_the_truth() -> None:
    rng = np.random.default_rng(12)
    k = 2000
    xa, xb = rng.normal(10, 3, (k, 100)), rng.normal(10, 3, (k, 100))
    ya = xa + rng.normal(0, 2, (k, 100))
    yb = xb + 0.4 + rng.normal(0, 2, (k, 100))
    r = cuped_test(
        CrossMoments.from_values(ya, xa, axis=1), CrossMoments.from_values(yb, xb, axis=1)
    )
    covered = ((r.ci_abs_low <= 0.4) & (r.ci_abs_high >= 0.4)).mean()
    assert abs(covered - 0.95) < 3 * np.sqrt(0.05 * 0.95 / k)


moment_cells = st.tuples(
    st.integers(2, 500).map(float), st.floats(-100, 100), st.floats(0.01, 1e3)
).map(lambda t: Moments(t[0], t[1] * t[0], t[0] * (t[1] ** 2 + t[2])))


@settings(max_examples=200)
@given(moment_cells, moment_cells, st.sampled_from(["fixed", "sequential"]))
def test_p_values_in_unit_interval_and_ci_contains_estimate(
    a: Moments, b: Moments, method: str
) -> None:
    r = welch_test(a, b, method=method)  # type: ignore[arg-type]
    if str(r.status) != "ok":
        return
    assert 0.0 <= float(r.p_value) <= 1.0
    assert 0.0 <= float(r.p_value_rel) <= 1.0
    assert float(r.ci_abs_low) <= float(r.effect_abs) <= float(r.ci_abs_high)
    assert float(r.ci_rel_low) <= float(r.effect_rel) <= float(r.ci_rel_high)
