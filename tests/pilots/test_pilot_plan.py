"""Pilot design: sizes against statsmodels' power, thresholds from traffic, site clustering."""

from __future__ import annotations

from typing import Any

import pytest
from statsmodels.stats.proportion import power_proportions_2indep

from tenure.errors import SpecError
from tenure.experiments.pilot import plan_pilot

SEED: dict[str, Any] = {
    "baseline": 0.08,
    "threshold_count": 500,
    "traffic": 5_000,
    "pilot_daily_traffic": 5_000,
    "comparison_daily_traffic": 12_000,
    "comparison_sites": 4,
}


def test_units_reach_the_power_by_an_independent_formula() -> None:
    p = plan_pilot(**SEED)
    assert p.target == pytest.approx(0.10)
    assert p.mde_abs == pytest.approx(0.02)
    ratio = p.n_comparison / p.n_pilot
    assert ratio == pytest.approx(12_000 / 5_000, rel=1e-3)
    ref = power_proportions_2indep(
        0.02, 0.08, p.n_pilot, ratio=ratio, alpha=0.05, alternative="larger"
    )
    assert float(ref.power) == pytest.approx(0.80, abs=0.005)
    smaller = power_proportions_2indep(
        0.02, 0.08, p.n_pilot * 0.9, ratio=ratio, alpha=0.05, alternative="larger"
    )
    assert float(smaller.power) < 0.79


def test_thresholds_are_derived_from_traffic() -> None:
    p = plan_pilot(**SEED)
    assert p.threshold_per_day == pytest.approx(500.0)
    assert p.days is not None
    assert p.threshold_over_pilot == pytest.approx(500.0 * p.days)
    assert "500 of 5,000 = 10.0%" in p.lines[0]
    assert p.readout["read_at_days"] == p.days
    assert "pilot site vs the 4 comparison site(s)" in p.readout["compare"]
    doc = p.to_dict()
    assert doc["params"]["comparison_sites"] == 4 and doc["n_pilot"] == p.n_pilot


def test_site_clustering_lengthens_the_pilot_or_makes_it_impossible() -> None:
    base = plan_pilot(**{**SEED, "pilot_daily_traffic": 500, "comparison_daily_traffic": 1_200})
    small_icc = plan_pilot(
        **{**SEED, "pilot_daily_traffic": 500, "comparison_daily_traffic": 1_200},
        icc=0.0002,
    )
    assert base.days is not None and small_icc.days is not None
    assert small_icc.days > base.days
    assert small_icc.design_effect is not None and small_icc.design_effect > 1.0
    # The design effect is 1 + (m - 1) icc with m the units per site over the pilot.
    units_per_site = small_icc.days * (500 + 1_200) / 5
    assert small_icc.design_effect == pytest.approx(1 + (units_per_site - 1) * 0.0002)
    hopeless = plan_pilot(**SEED, icc=0.05)
    assert hopeless.days is None
    assert "No duration is enough" in " ".join(hopeless.lines)


def test_mean_metric_and_errors_that_name_the_flag() -> None:
    with pytest.raises(SpecError, match="--traffic"):
        plan_pilot(
            baseline=0.08, threshold_count=500, pilot_daily_traffic=1, comparison_daily_traffic=1
        )
    with pytest.raises(SpecError, match="--mde"):
        plan_pilot(baseline=0.08, pilot_daily_traffic=1, comparison_daily_traffic=1)
    with pytest.raises(SpecError, match="--icc"):
        plan_pilot(**SEED, icc=1.5)
    with pytest.raises(SpecError, match="must exceed the baseline"):
        plan_pilot(
            baseline=0.2,
            threshold_count=500,
            traffic=5_000,
            pilot_daily_traffic=1,
            comparison_daily_traffic=1,
        )
    m = plan_pilot(
        baseline=3.0,
        mde=0.1,
        relative=True,
        variance=4.0,
        pilot_daily_traffic=300,
        comparison_daily_traffic=900,
    )
    assert m.target == pytest.approx(3.3)
    assert "Welch" in m.readout["test"]
