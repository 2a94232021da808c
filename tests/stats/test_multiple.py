"""Holm and Benjamini–Hochberg against statsmodels' ``multipletests`` on the same p-values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from tenure.stats.multiple import benjamini_hochberg, holm


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.mark.parametrize(("ours", "method"), [(holm, "holm"), (benjamini_hochberg, "fdr_bh")])
def test_matches_statsmodels(rng: np.random.Generator, ours: object, method: str) -> None:
    for size in (1, 2, 7, 50, 400):
        p = np.concatenate([rng.uniform(0, 1, size), rng.uniform(0, 0.01, size // 3)])
        rng.shuffle(p)
        expected = multipletests(p, method=method)[1]
        np.testing.assert_allclose(ours(p), expected, rtol=0, atol=1e-12)  # type: ignore[operator]


@pytest.mark.parametrize(("ours", "method"), [(holm, "holm"), (benjamini_hochberg, "fdr_bh")])
def test_nan_in_nan_out_others_adjusted_among_non_nan(
    rng: np.random.Generator, ours: object, method: str
) -> None:
    p = rng.uniform(0, 0.2, 12)
    p[[1, 5, 9]] = np.nan
    got = ours(p)  # type: ignore[operator]
    keep = ~np.isnan(p)
    assert np.isnan(got[~keep]).all()
    np.testing.assert_allclose(got[keep], multipletests(p[keep], method=method)[1], atol=1e-12)


@pytest.mark.parametrize(("ours", "method"), [(holm, "holm"), (benjamini_hochberg, "fdr_bh")])
def test_batch_of_families_along_axis(rng: np.random.Generator, ours: object, method: str) -> None:
    p = rng.uniform(0, 0.3, (5, 9))
    p[2, 3] = np.nan
    rows = ours(p, axis=1)  # type: ignore[operator]
    cols = ours(p.T, axis=0)  # type: ignore[operator]
    np.testing.assert_allclose(rows, cols.T, atol=0)
    for i in range(5):
        keep = ~np.isnan(p[i])
        np.testing.assert_allclose(
            rows[i, keep], multipletests(p[i, keep], method=method)[1], atol=1e-12
        )


def test_all_nan_and_empty() -> None:
    assert np.isnan(holm([np.nan, np.nan])).all()
    assert benjamini_hochberg(np.array([])).shape == (0,)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_bh_q_values_monotone_in_p(p: list[float]) -> None:
    arr = np.array(p)
    q = benjamini_hochberg(arr)
    order = np.argsort(arr, kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-15)
    assert np.all((q >= arr - 1e-15) & (q <= 1.0))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_holm_monotone_and_at_least_bh(p: list[float]) -> None:
    arr = np.array(p)
    h = holm(arr)
    order = np.argsort(arr, kind="stable")
    assert np.all(np.diff(h[order]) >= -1e-15)
    assert np.all(h >= benjamini_hochberg(arr) - 1e-15)
