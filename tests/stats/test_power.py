"""Power planning against statsmodels and the classic pilot arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from tenure.errors import SpecError
from tenure.stats.power import duration_days, minimum_detectable_effect, sample_size


def test_ten_versus_eight_percent_is_3213_per_arm() -> None:
    # Fleiss' normal approximation: (1.96 sqrt(2 p̄ q̄) + 0.8416 sqrt(p1 q1 + p2 q2))² / δ²
    assert sample_size(proportion=0.08, mde=0.02).tolist() == [3213.0, 3213.0]
    assert sample_size(proportion=0.08, mde=0.25, relative=True).tolist() == [3213.0, 3213.0]
    # Cohen's arcsine effect size (statsmodels) gives 3,205: within 0.5 %.
    h = proportion_effectsize(0.10, 0.08)
    ref = NormalIndPower().solve_power(h, alpha=0.05, power=0.8)
    assert sample_size(proportion=0.08, mde=0.02)[0] == pytest.approx(ref, rel=0.005)


def test_means_match_statsmodels_normal_power_with_allocation() -> None:
    # NormalIndPower: nobs1 for group 1, nobs2 = ratio * nobs1; effect size d = δ/σ.
    sigma, delta = 4.0, 0.5
    for ratio in (1.0, 2.0, 0.5):
        ref = NormalIndPower().solve_power(delta / sigma, alpha=0.05, power=0.9, ratio=ratio)
        n = sample_size(baseline_variance=sigma**2, mde=delta, power=0.9, allocation=[1.0, ratio])
        assert n[0] == pytest.approx(np.ceil(ref), abs=1)
        assert n[1] == pytest.approx(np.ceil(ref * ratio), abs=1)
    t_ref = TTestIndPower().solve_power(delta / sigma, alpha=0.05, power=0.8)
    assert sample_size(baseline_variance=sigma**2, mde=delta)[0] == pytest.approx(t_ref, rel=0.01)


def test_mde_inverts_sample_size() -> None:
    n = sample_size(baseline_variance=9.0, mde=0.3, n_arms=3)
    assert float(minimum_detectable_effect(n[0], baseline_variance=9.0, n_arms=3)) == pytest.approx(
        0.3, rel=1e-3
    )
    mde = minimum_detectable_effect(3213, proportion=0.08)
    assert float(mde) == pytest.approx(0.02, rel=1e-3)
    rel = minimum_detectable_effect(3213, proportion=0.08, relative=True)
    assert float(rel) == pytest.approx(0.25, rel=1e-3)


def test_vectorised_mdes_and_duration() -> None:
    n = sample_size(proportion=0.08, mde=np.array([0.01, 0.02, 0.04]))
    assert n.shape == (3, 2) and np.all(np.diff(n[:, 0]) < 0)
    assert float(duration_days(2 * 3213, 500)) == 13.0
    assert float(duration_days(2 * 3213, 1000, traffic_fraction=0.5)) == 13.0


def test_bad_options() -> None:
    with pytest.raises(SpecError):
        sample_size(proportion=0.1, mde=0.01, power=1.2)
    with pytest.raises(SpecError):
        sample_size(mde=0.01)
    with pytest.raises(SpecError):
        sample_size(proportion=0.1, mde=0.01, n_arms=3, allocation=[1, 1])
