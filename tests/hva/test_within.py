"""The member-level within-stratum term: its slope, and the residue it removes from AIPW.

A world where strata are coarse bins of a continuous covariate that drives both treatment and
retention: users sit higher in their bins than non-users, so the stratum-level estimate keeps
a residue that, at 400,000 members, is many standard errors wide. With the within-stratum
index the estimate covers the truth. The slope is checked against statsmodels' OLS with one
dummy per stratum (an independent fixed-effects fit).
"""

from __future__ import annotations

import numpy as np
import pytest

from tenure.hva.within import fit_within
from tenure.stats.ipw import aipw_grouped

TAU = 0.05


def _world(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    activity = rng.poisson(np.exp(rng.normal(2.0, 0.8, n)))  # heavy-tailed early activity
    x = np.log1p(activity)
    stratum = np.searchsorted([1.0, 2.0, 3.0], x)  # four coarse bins of log activity
    treated = rng.random(n) < 1.0 / (1.0 + np.exp(-(1.5 * x - 3.5)))
    p = np.clip(0.25 + 0.12 * x + TAU * treated, 0.0, 1.0)
    observed = rng.random(n) < 0.9
    return {
        "activity": activity,
        "x": x,
        "stratum": stratum,
        "treated": treated,
        "retained": (rng.random(n) < p).astype(np.int64),
        "observed": observed.astype(np.int64),
    }


def _grouped(w: dict[str, np.ndarray], z: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per-stratum arm counts (and index sums), as the count tables give them."""
    s = int(w["stratum"].max()) + 1
    out: dict[str, np.ndarray] = {}
    for arm, sel in (("1", w["treated"]), ("0", ~w["treated"])):
        seen = sel & (w["observed"] == 1)
        out["all" + arm] = np.bincount(w["stratum"][sel], minlength=s)[None].astype(float)
        out["n" + arm] = np.bincount(w["stratum"][seen], minlength=s)[None].astype(float)
        kept = seen & (w["retained"] == 1)
        out["y" + arm] = np.bincount(w["stratum"][kept], minlength=s)[None].astype(float)
        if z is not None:
            out["zs" + arm] = np.bincount(w["stratum"][sel], z[sel], s)[None]
            out["zo" + arm] = np.bincount(w["stratum"][seen], z[seen], s)[None]
    return out


def _x(s: int) -> np.ndarray:
    return np.column_stack([np.ones(s), *(np.arange(s) == k for k in range(1, s))])


def test_the_slope_matches_a_fixed_effects_ols() -> None:
    sm = pytest.importorskip("statsmodels.api")
    w = _world(20_000, 1)
    fit = fit_within(
        w["stratum"], w["retained"], w["observed"], d0=w["activity"], d1=None, fixed={}
    )
    seen = w["observed"] == 1
    dummies = (w["stratum"][seen, None] == np.arange(4)).astype(float)
    x = w["x"][seen]
    ref = sm.OLS(w["retained"][seen].astype(float), np.column_stack([dummies, x, x * x])).fit()
    np.testing.assert_allclose(fit.activity, ref.params[-2:], rtol=1e-6, atol=1e-9)
    z = fit.index(np.arange(x.size), w["activity"][seen], np.zeros(x.size, dtype=np.int64))
    assert np.corrcoef(z, x)[0, 1] > 0.9  # the index carries the covariate
    # Counts up to the largest seen are looked up; the table and the formula agree.
    b1, b2 = fit.activity
    np.testing.assert_allclose(z, fit.fixed[: x.size] + b1 * x + b2 * x * x, rtol=1e-12)


def test_without_variation_inside_the_strata_the_slope_is_zero() -> None:
    """A covariate the bins resolve exactly adjusts nothing more (and says so: inactive)."""
    w = _world(5_000, 2)
    exact = np.minimum(w["activity"], 3)
    fit = fit_within(exact, w["retained"], w["observed"], d0=exact, d1=None, fixed={})
    assert not fit.active or max(abs(c) for c in fit.coef) < 1e-6


def test_the_within_term_removes_the_residue_of_coarse_strata() -> None:
    w = _world(400_000, 3)
    fit = fit_within(
        w["stratum"], w["retained"], w["observed"], d0=w["activity"], d1=None, fixed={}
    )
    z = fit.index(np.arange(w["x"].size), w["activity"], np.zeros(w["x"].size, dtype=np.int64))
    g = _grouped(w, z)
    x = _x(4)
    args = (x, g["n1"], g["y1"], g["n0"], g["y0"])
    plain = aipw_grouped(*args, all1=g["all1"], all0=g["all0"])
    within = aipw_grouped(
        *args, all1=g["all1"], all0=g["all0"], within=(g["zs1"], g["zo1"], g["zs0"], g["zo0"])
    )
    se = float(within.se[0])
    assert abs(float(plain.estimate[0]) - TAU) > 4 * se  # the strata alone leave a residue
    assert abs(float(within.estimate[0]) - TAU) < 2.5 * se
    assert float(within.ci_low[0]) <= TAU <= float(within.ci_high[0])
    np.testing.assert_allclose(
        within.within, within.estimate - plain.estimate, rtol=1e-9, atol=1e-12
    )
    # IPW (no outcome model) is left as it is.
    ipw = aipw_grouped(
        *args, all1=g["all1"], all0=g["all0"], within=(g["zs1"], g["zo1"], g["zs0"], g["zo0"]),
        method="ipw",
    )  # fmt: skip
    assert float(ipw.within[0]) == 0.0
