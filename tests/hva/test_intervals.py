"""Score-type HVA intervals keep their coverage at small n and at rates near 0 and 1.

Issue 11: a 32-member arm, all retained, was reported at +0.149 [0.134, 0.163] because the
influence-function (and Greenwood) variance is zero at the boundary. The intervals are now
Newcombe's hybrid score intervals on effective sizes; these tests check them against
statsmodels' Wilson interval and Newcombe's published example, and check coverage by
simulation: many replicate "candidates" in one vectorised call.
"""

from __future__ import annotations

import numpy as np
import pytest

from tenure.stats.ipw import aipw_grouped
from tenure.stats.proportion import effective_n, newcombe, wilson

Z = 1.959963984540054


@pytest.mark.parametrize(("k", "n"), [(0, 20), (1, 20), (10, 20), (32, 32), (3, 200), (199, 200)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    ours = wilson(k / n, n, z=Z)
    assert float(ours[0]) == pytest.approx(lo, abs=1e-12)
    assert float(ours[1]) == pytest.approx(hi, abs=1e-12)


def test_newcombe_published_examples() -> None:
    """Newcombe (1998), Stat. Med. 17:873-890, Table II, method 10 (examples a and b)."""
    for (m, n, x, y), (lo, hi) in (((56, 70, 48, 80), (0.0524, 0.3339)),
                                   ((9, 10, 3, 10), (0.1705, 0.8090))):  # fmt: skip
        got = newcombe(m / n, n, x / y, y, z=Z)
        assert round(float(got[0]), 4) == lo and round(float(got[1]), 4) == hi


@pytest.mark.parametrize(("m", "n", "x", "y"), [(6, 7, 2, 7), (5, 56, 0, 29), (0, 10, 0, 20),
                                                (32, 32, 3974, 4968), (1, 20, 19, 20)])  # fmt: skip
def test_newcombe_matches_statsmodels(m: int, n: int, x: int, y: int) -> None:
    from statsmodels.stats.proportion import confint_proportions_2indep

    ref = confint_proportions_2indep(m, n, x, y, method="newcomb", compare="diff")
    got = newcombe(m / n, n, x / y, y, z=Z)
    assert float(got[0]) == pytest.approx(ref[0], abs=1e-9)
    assert float(got[1]) == pytest.approx(ref[1], abs=1e-9)


def test_effective_n_at_the_boundary_is_the_arm_size() -> None:
    assert float(effective_n(1.0, 0.0, 32.0)) == 32.0
    assert float(effective_n(0.9999999999999999, 1e-9, 32.0)) == 32.0
    assert float(effective_n(0.5, 0.25 / 100, 1e6)) == pytest.approx(100.0)


def test_all_retained_small_arm_is_not_overconfident() -> None:
    """Issue 11's case: 32 treated members all retained among 5,000 at 80%."""
    x = np.ones((1, 1))
    r = aipw_grouped(x, [[32]], [[32]], [[4968]], [[3974]], min_events=5)
    width = float(r.ci_high[0] - r.ci_low[0])
    wilson_width = float(np.subtract(*wilson(1.0, 32, z=Z)[::-1]))
    assert width >= 0.9 * wilson_width  # was a fifth of it
    assert r.status[0] == "few_events"  # no churned member in the arm: never established


@pytest.mark.parametrize("n", [20, 50, 100, 200])
@pytest.mark.parametrize(
    ("p1", "p0"), [(0.02, 0.02), (0.05, 0.10), (0.5, 0.5), (0.9, 0.95), (0.98, 0.98), (1.0, 0.97)]
)
def test_coverage_by_simulation(n: int, p1: float, p0: float) -> None:
    """2,000 replicates, two strata of a binary covariate, n members per arm."""
    rng = np.random.default_rng(n * 1000 + int(p1 * 100) + int(p0 * 10))
    reps = 2000
    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    size = np.stack([np.full(reps, n // 2), np.full(reps, n - n // 2)], axis=1)
    y1 = rng.binomial(size, p1)
    y0 = rng.binomial(size, p0)
    r = aipw_grouped(x, size, y1, size, y0)
    truth = p1 - p0
    covered = (r.ci_low <= truth + 1e-12) & (truth - 1e-12 <= r.ci_high)
    # Monte Carlo sd of a 95% coverage estimate over 2,000 replicates is 0.005.
    assert covered.mean() >= 0.93, f"coverage {covered.mean():.3f}"
