"""The stratum index of the arms: its position table and its sorting fallback agree."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.hva import estimate
from tenure.hva.estimate import _StrataIndex


@pytest.mark.parametrize("lookup", [True, False])
def test_distinct_ids_and_positions(lookup: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not lookup:
        monkeypatch.setattr(estimate, "_LOOKUP_IDS", 0)
    rng = np.random.default_rng(5)
    cols = [rng.choice([3, 17, 40, 41, 999], size=n) for n in (50, 0, 7)]
    index = _StrataIndex(cols)
    assert (index._position is None) is not lookup
    np.testing.assert_array_equal(index.sids, np.unique(np.concatenate(cols)))
    probe = np.array([999, 3, 41, 17, 3])
    np.testing.assert_array_equal(index.sids[index.position(probe)], probe)


def test_no_ids() -> None:
    index = _StrataIndex([np.zeros(0, np.int64)])
    assert index.sids.size == 0
