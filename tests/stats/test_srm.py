"""SRM against scipy's chi-square goodness-of-fit test."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from tenure.stats.srm import srm_test


def test_matches_scipy_chisquare_vectorised(rng: np.random.Generator) -> None:
    counts = rng.integers(900, 1100, (20, 3)).astype(float)
    w = np.array([0.25, 0.25, 0.5])
    counts[:, 2] *= 2
    expected = [scipy.stats.chisquare(c, c.sum() * w).pvalue for c in counts]
    np.testing.assert_allclose(srm_test(counts, w), expected, atol=1e-12)


def test_ragged_experiments_with_nan_padding() -> None:
    p = srm_test([[1000.0, 1040.0, np.nan], [1000.0, 1040.0, 990.0]])
    assert p[0] == pytest.approx(scipy.stats.chisquare([1000, 1040]).pvalue)
    assert p[1] == pytest.approx(scipy.stats.chisquare([1000, 1040, 990]).pvalue)


def test_no_units_gives_one() -> None:
    assert float(srm_test([0, 0])) == 1.0
