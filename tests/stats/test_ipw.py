"""Grouped logistic regression and AIPW on counts against statsmodels and on known truth."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.errors import NotFittedError, SpecError
from tenure.stats.ipw import GroupedLogistic, StrataDesign, aipw_grouped, one_hot


def _design(rng: np.random.Generator, s: int) -> np.ndarray:
    a = rng.integers(0, 3, s)
    b = rng.integers(0, 4, s)
    return np.column_stack([np.ones(s), one_hot(a, 3)[:, 1:], one_hot(b, 4)[:, 1:]])


def test_grouped_logistic_matches_statsmodels() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    x = _design(rng, 40)
    n = rng.integers(5, 200, 40).astype(float)
    k = rng.binomial(n.astype(int), 0.3).astype(float)
    ref = sm.GLM(np.column_stack([k, n - k]), x, family=sm.families.Binomial()).fit()
    ours = GroupedLogistic(ridge=0.0).fit(x, k, n)
    np.testing.assert_allclose(ours.coef_[0], ref.params, atol=1e-8)


def test_many_candidates_at_once_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(2)
    x = _design(rng, 30)
    n = rng.integers(5, 100, (4, 30)).astype(float)
    k = rng.binomial(n.astype(int), 0.4).astype(float)
    batch = GroupedLogistic().fit(x, k, n).coef_
    for c in range(4):
        np.testing.assert_allclose(
            GroupedLogistic().fit(x, k[c], n[c]).coef_[0], batch[c], atol=1e-9
        )


def test_two_arm_fit_is_the_stacked_design_fit() -> None:
    """``fit_arms`` is the GLM on ``[[X, 1], [X, 0]]`` (statsmodels), without the stacking."""
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    x = _design(rng, 25)
    n1, n0 = (rng.integers(5, 150, (3, 25)).astype(float) for _ in range(2))
    k1 = rng.binomial(n1.astype(int), 0.45).astype(float)
    k0 = rng.binomial(n0.astype(int), 0.3).astype(float)
    xa = np.vstack([np.column_stack([x, np.ones(25)]), np.column_stack([x, np.zeros(25)])])
    ours = GroupedLogistic(ridge=0.0).fit_arms(x, k1, n1, k0, n0)
    treated, untreated = ours.predict_arms(x)
    for c in range(3):
        k, n = np.hstack([k1[c], k0[c]]), np.hstack([n1[c], n0[c]])
        ref = sm.GLM(np.column_stack([k, n - k]), xa, family=sm.families.Binomial()).fit()
        np.testing.assert_allclose(ours.coef_[c], ref.params, atol=1e-8)
        np.testing.assert_allclose(np.hstack([treated[c], untreated[c]]), ref.mu, atol=1e-9)
    ridged = GroupedLogistic(ridge=2.0)
    np.testing.assert_allclose(
        ridged.fit_arms(x, k1, n1, k0, n0).coef_,
        GroupedLogistic(ridge=2.0).fit(xa, np.hstack([k1, k0]), np.hstack([n1, n0])).coef_,
        atol=1e-9,
    )


def test_warm_start_reaches_the_cold_fit() -> None:
    """A start only saves iterations: the statsmodels-checked fit again, from elsewhere."""
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    x = _design(rng, 40)
    n = rng.integers(5, 200, 40).astype(float)
    k = rng.binomial(n.astype(int), 0.3).astype(float)
    ref = sm.GLM(np.column_stack([k, n - k]), x, family=sm.families.Binomial()).fit()
    cold = GroupedLogistic(ridge=0.0).fit(x, k, n)
    for start in (ref.params + 0.3, np.full(x.shape[1], -1.0), np.zeros(x.shape[1])):
        warm = GroupedLogistic(ridge=0.0).fit(x, k, n, start=start)
        np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-9)
    n1, n0 = (rng.integers(5, 150, (3, 40)).astype(float) for _ in range(2))
    k1 = rng.binomial(n1.astype(int), 0.45).astype(float)
    k0 = rng.binomial(n0.astype(int), 0.3).astype(float)
    arms = GroupedLogistic().fit_arms(x, k1, n1, k0, n0).coef_
    start = np.append(GroupedLogistic().fit(x, (k1 + k0).mean(0), (n1 + n0).mean(0)).coef_, 0.0)
    warm_arms = GroupedLogistic().fit_arms(StrataDesign(x), k1, n1, k0, n0, start=start).coef_
    np.testing.assert_allclose(warm_arms, arms, atol=1e-9)
    with pytest.raises(SpecError):
        GroupedLogistic().fit(x, k, n, start=np.zeros(3))


def test_strata_design_hessian_is_the_dense_product() -> None:
    """Only distinct non-zero products are kept; the Hessian is still x.T diag(w) x."""
    rng = np.random.default_rng(5)
    lv = rng.integers(0, 6, 300)
    z = (lv - 2.5) / 1.7
    x = np.column_stack([_design(rng, 300), z, z * z, one_hot(lv, 6)[:, 2:]])  # rank-deficient
    w = rng.random((4, 300)) * 50
    dense = np.einsum("cs,si,sj->cij", w, x, x)
    np.testing.assert_allclose(StrataDesign(x).hessian(w), dense, rtol=1e-12, atol=1e-9)


def test_rank_deficient_batch_equals_one_at_a_time() -> None:
    """A count covariate's quadratic and its level steps overlap (the HVA design): only the
    ridge separates them, and every fit of a batch must still reach its own optimum."""
    rng = np.random.default_rng(6)
    s = 2000
    lv = rng.integers(0, 16, s)
    z = (lv - 7.5) / 4.6
    x = np.column_stack([_design(rng, s), z, z * z, one_hot(lv, 16)[:, 2:]])
    n = rng.integers(0, 500, (8, s)).astype(float)
    p = np.where(lv[None, :] >= np.arange(8)[:, None], 0.2 + 0.04 * lv[None, :], 0.0)
    k = rng.binomial(n.astype(int), p).astype(float)
    batch = GroupedLogistic().fit(x, k, n)
    assert (batch.last_step_ < batch.tol).all()
    for c in range(8):
        np.testing.assert_allclose(
            GroupedLogistic().fit(x, k[c], n[c]).coef_[0], batch.coef_[c], atol=1e-9
        )


def test_a_fit_stopped_at_its_iteration_limit_says_so() -> None:
    """``converged_`` is what lets the HVA output refuse a number from an unfinished fit."""
    rng = np.random.default_rng(1)
    x = _design(rng, 40)
    n = rng.integers(5, 200, (3, 40)).astype(float)
    k = rng.binomial(n.astype(int), 0.3).astype(float)
    assert GroupedLogistic().fit(x, k, n).converged_.all()
    assert not GroupedLogistic(max_iter=1).fit(x, k, n).converged_.any()
    r = aipw_grouped(x, n, k, n, k)
    assert r.converged.all()


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        GroupedLogistic().predict_proba(np.ones((1, 1)))


def test_aipw_recovers_confounded_effect() -> None:
    """Simulated members with a confounder; AIPW (and IPW) recover the ATE, naive does not."""
    rng = np.random.default_rng(3)
    n = 200_000
    u = rng.integers(0, 5, n)  # observed confounder
    a = rng.random(n) < 0.1 + 0.15 * u
    p = 0.3 + 0.1 * u + 0.05 * a
    y = rng.random(n) < p
    x = np.column_stack([np.ones(5), one_hot(np.arange(5), 5)[:, 1:]])
    n1 = np.bincount(u, weights=a, minlength=5)[None]
    y1 = np.bincount(u, weights=a & y, minlength=5)[None]
    n0 = np.bincount(u, weights=~a, minlength=5)[None]
    y0 = np.bincount(u, weights=~a & y, minlength=5)[None]
    naive = y[a].mean() - y[~a].mean()
    assert naive > 0.1
    for method in ("aipw", "ipw"):
        r = aipw_grouped(x, n1, y1, n0, y0, method=method)
        assert r.ci_low[0] < 0.05 < r.ci_high[0]
        assert r.estimate[0] == pytest.approx(0.05, abs=0.01)
        assert r.ratio_low[0] < r.ratio[0] < r.ratio_high[0]


def test_aipw_se_matches_row_level_influence_function() -> None:
    """The grouped variance equals the row-level influence-function variance (same models)."""
    rng = np.random.default_rng(4)
    s, n = 6, 5_000
    u = rng.integers(0, s, n)
    a = rng.random(n) < 0.2 + 0.1 * u
    y = rng.random(n) < 0.4 + 0.05 * u + 0.1 * a
    x = np.column_stack([np.ones(s), one_hot(np.arange(s), s)[:, 1:]])
    cnt = [np.bincount(u, weights=w, minlength=s)[None] for w in (a, a & y, ~a, ~a & y)]
    r = aipw_grouped(x, *cnt, clip=0.0, ridge=0.0)
    e = GroupedLogistic(ridge=0).fit(x, cnt[0], cnt[0] + cnt[2]).predict_proba(x)[0][u]
    xa = np.vstack([np.column_stack([x, np.ones(s)]), np.column_stack([x, np.zeros(s)])])
    out = GroupedLogistic(ridge=0).fit(xa, np.hstack([cnt[1], cnt[3]]), np.hstack([cnt[0], cnt[2]]))
    m = out.predict_proba(xa)[0]
    m1, m0 = m[:s][u], m[s:][u]
    phi = m1 - m0 + a * (y - m1) / e - (~a) * (y - m0) / (1 - e)
    assert r.estimate[0] == pytest.approx(phi.mean(), abs=1e-9)
    assert r.se[0] == pytest.approx(phi.std() / np.sqrt(n), abs=1e-9)


def test_too_few_is_a_status_not_an_error() -> None:
    x = np.ones((2, 1))
    r = aipw_grouped(x, [[1, 2]], [[1, 1]], [[50, 50]], [[20, 20]])
    assert r.status[0] == "too_few"
    assert np.isnan(r.estimate[0])
