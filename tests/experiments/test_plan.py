"""Planning reproduces the pilot arithmetic through tenure.stats.power."""

from __future__ import annotations

from typing import Any

import pytest

from tenure.errors import SpecError
from tenure.experiments.plan import plan_experiment


def test_pilot_arithmetic() -> None:
    # "More than 500 downloads — 10% of store traffic — means it works", baseline 8%.
    p = plan_experiment(baseline=0.08, threshold_count=500, traffic=5000)
    assert p.target == pytest.approx(0.10) and p.mde_abs == pytest.approx(0.02)
    # Fleiss without continuity correction: (1.96·√(2·0.09·0.91) + 0.8416·√(0.08·0.92 + 0.1·0.9))² / 0.02²
    assert p.n_per_arm == 3213 and p.n_total == 6426
    assert p.days == 2.0  # 6,426 visitors at 5,000 a day
    assert "500 of 5,000 = 10.0%" in p.lines[0]


def test_relative_mde_and_means() -> None:
    p = plan_experiment(baseline=1.0, variance=4.0, mde=0.05, relative=True, daily_traffic=200)
    assert p.n_per_arm == pytest.approx(25_116, abs=2)
    assert p.days == pytest.approx(2 * p.n_per_arm / 200, abs=1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"baseline": 0.08}, "mde"),
        ({"baseline": 0.08, "threshold_count": 500}, "traffic"),
        ({"baseline": 0.2, "threshold_count": 500, "traffic": 5000}, "mde"),
        ({"baseline": -1.0, "mde": 0.1}, "baseline"),
    ],
)
def test_bad_plans(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError, match=field):
        plan_experiment(**kwargs)
