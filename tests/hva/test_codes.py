"""Activity level codes: the looked-up and the searched paths agree with ``np.digitize``."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.hva.uses import codes

EDGES = [0.5, 1.0, 2.5, 7.0, 7.0, 40.2]


@pytest.mark.parametrize(
    "values",
    [
        np.arange(-3, 60),  # narrow: looked up, negative values included
        np.array([0, 3, 10**9, 7, 41]),  # wide: searched
        np.array([], dtype=np.int64),
        np.array([0.4, 2.5, 7.0, 100.0]),  # not integers: searched
    ],
)
def test_codes_count_the_edges_reached(values: np.ndarray) -> None:
    want = np.digitize(values, EDGES, right=False)
    got = codes(values, EDGES)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
