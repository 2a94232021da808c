"""Random-effects meta-analysis against statsmodels' combine_effects (DerSimonian–Laird)."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from tenure.stats.meta import random_effects_meta


def _ref(y: np.ndarray, v: np.ndarray):  # type: ignore[no-untyped-def]
    return combine_effects(y, v, method_re="chi2", use_t=False)  # chi2 = DerSimonian–Laird


def test_matches_statsmodels(rng: np.random.Generator) -> None:
    y = rng.normal(0.05, 0.03, 8)
    v = rng.uniform(0.0002, 0.001, 8)
    ref = _ref(y, v)
    r = random_effects_meta(y, v)
    assert float(r.pooled) == pytest.approx(ref.mean_effect_re, abs=1e-12)
    assert float(r.se) == pytest.approx(ref.sd_eff_w_re, rel=1e-10)
    assert float(r.tau2) == pytest.approx(ref.tau2, abs=1e-14)
    assert float(r.q) == pytest.approx(ref.q, rel=1e-10)
    assert float(r.i2) == pytest.approx(ref.i2, abs=1e-10)
    low, high = ref.summary_frame(alpha=0.05).loc["random effect", ["ci_low", "ci_upp"]]
    assert float(r.ci_low) == pytest.approx(low, abs=1e-10)
    assert float(r.ci_high) == pytest.approx(high, abs=1e-10)


def test_vectorised_batch_and_missing_markets(rng: np.random.Generator) -> None:
    y = rng.normal(0.0, 0.05, (4, 6))
    v = rng.uniform(0.0005, 0.002, (4, 6))
    y[1, 4:] = np.nan
    r = random_effects_meta(y, v)
    for i in range(4):
        keep = ~np.isnan(y[i])
        ref = _ref(y[i, keep], v[i, keep])
        assert r.pooled[i] == pytest.approx(ref.mean_effect_re, abs=1e-12)
        assert r.tau2[i] == pytest.approx(ref.tau2, abs=1e-14)
    assert np.isnan(r.shrunk[1, 4:]).all() and r.k[1] == 4


def test_shrinkage_pulls_toward_pool() -> None:
    y = np.array([0.0, 0.1, 0.2, 0.6])
    v = np.array([0.01, 0.01, 0.01, 0.05])
    r = random_effects_meta(y, v)
    assert float(r.tau2) > 0
    dist_before = np.abs(y - r.pooled)
    dist_after = np.abs(r.shrunk - r.pooled)
    assert np.all(dist_after < dist_before)
    assert np.all(r.shrunk_se < np.sqrt(v))  # borrowing strength narrows each market
    homogeneous = random_effects_meta([0.1, 0.1, 0.1], [0.01, 0.02, 0.03])
    np.testing.assert_allclose(homogeneous.shrunk, 0.1)  # tau² = 0: full pooling
