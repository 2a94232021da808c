"""Moments: arithmetic against numpy, and merge associativity as a property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.stats.moments import CrossMoments, Moments

finite = st.floats(-1e3, 1e3, allow_nan=False)
cells = st.tuples(st.integers(0, 50).map(float), finite, st.floats(0, 1e6))


def test_mean_variance_covariance_match_numpy(rng: np.random.Generator) -> None:
    y, x = rng.normal(3, 2, 200), rng.normal(-1, 1, 200)
    c = CrossMoments.from_values(y, x)
    assert float(c.main.mean) == pytest.approx(y.mean(), abs=1e-12)
    assert float(c.main.variance) == pytest.approx(y.var(ddof=1), rel=1e-10)
    assert float(c.covariance) == pytest.approx(np.cov(y, x)[0, 1], rel=1e-10)


def test_degenerate_cells_are_nan_not_errors() -> None:
    m = Moments([0.0, 1.0, 5.0], [0.0, 2.0, 5.0], [0.0, 4.0, 5.0])
    assert np.isnan(m.mean[0]) and np.isnan(m.variance[:2]).all()
    assert m.variance[2] == pytest.approx(0.0)


def test_from_values_along_axis_vectorises(rng: np.random.Generator) -> None:
    x = rng.normal(size=(4, 30))
    m = Moments.from_values(x, axis=1)
    np.testing.assert_allclose(m.variance, x.var(axis=1, ddof=1), rtol=1e-10)
    assert m.n.shape == (4,)


@given(cells, cells, cells)
def test_addition_is_associative(
    a: tuple[float, float, float], b: tuple[float, float, float], c: tuple[float, float, float]
) -> None:
    ma, mb, mc = Moments(*a), Moments(*b), Moments(*c)
    left, right = (ma + mb) + mc, ma + (mb + mc)
    for f in ("n", "sum", "sum_squares"):
        np.testing.assert_allclose(getattr(left, f), getattr(right, f), rtol=1e-12, atol=1e-9)


@given(st.lists(finite, min_size=2, max_size=30), st.lists(finite, min_size=2, max_size=30))
def test_merged_moments_equal_moments_of_concatenation(a: list[float], b: list[float]) -> None:
    merged = Moments.from_values(a) + Moments.from_values(b)
    whole = Moments.from_values(a + b)
    assert float(merged.mean) == pytest.approx(float(whole.mean), abs=1e-9)
    assert float(merged.n) == len(a) + len(b)
