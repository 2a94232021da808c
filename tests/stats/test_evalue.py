"""E-values against VanderWeele & Ding (2017) and their definition."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.stats.evalue import e_value, e_values


def test_paper_example() -> None:
    """VanderWeele & Ding 2017, breastfeeding example: RR 3.9 (1.8, 8.7) -> E 7.26, CI 3.02."""
    ev = e_values([3.9], [1.8], [8.7])
    assert ev.point[0] == pytest.approx(7.26, abs=5e-3)
    assert ev.ci[0] == pytest.approx(1.8 + np.sqrt(1.8 * 0.8), abs=1e-12)
    assert ev.ci[0] == pytest.approx(3.0, abs=5e-3)


def test_protective_and_null() -> None:
    assert e_value(0.5)[()] == pytest.approx(2 + np.sqrt(2), abs=1e-12)
    assert e_value(1.0)[()] == 1.0
    ev = e_values([0.8, 1.1], [0.6, 0.95], [0.95, 1.3])
    assert ev.ci[0] == pytest.approx(e_value(1 / 0.95)[()], abs=1e-12)
    assert ev.ci[1] == 1.0
    assert np.isnan(e_value(-1.0)[()])
