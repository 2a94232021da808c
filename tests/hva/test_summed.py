"""The running sum of one count table over batches: dense, packed-key and frame paths agree.

Each table also sums a float column per cell (the within-stratum index), checked against
pandas' ``groupby(...).sum()`` of every row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.hva.aggregate import _Summed


@pytest.mark.parametrize(
    "spans",
    [
        {"a": 3, "b": 5, "c": 2},  # few cells: counted densely
        {"a": 3, "b": 5_000_000, "c": 2},  # packed keys, merged as they come
        {"a": 2**40, "b": 2**30, "c": 2},  # too wide for one int64: summed as frames
    ],
)
def test_batches_sum_to_the_groupby_of_all_rows(spans: dict[str, int]) -> None:
    rng = np.random.default_rng(3)
    table = _Summed(spans, sums=("z",))
    batches = []
    for size in (1000, 1, 2500, 700):
        cols = {c: rng.integers(0, min(s, 7), size) * (s // min(s, 7)) for c, s in spans.items()}
        cols["z"] = rng.normal(size=size)
        batches.append(pd.DataFrame(cols))
        table.add(cols)
    cols, n, sums = table.columns()
    got = pd.DataFrame(cols).assign(n=n, **sums).sort_values(list(spans), ignore_index=True)
    pd.testing.assert_frame_equal(got, _reference(batches, list(spans)), check_dtype=False)


def _reference(batches: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    rows = pd.concat(batches)
    ref = rows.groupby(keys).size().rename("n").reset_index()
    if "z" in rows:
        ref["z"] = rows.groupby(keys)["z"].sum().to_numpy()
    return ref


def test_batches_past_the_merge_threshold_fold_into_the_running_table() -> None:
    """Batches of over 2**20 distinct keys are merged as they come, into a non-empty table."""
    rng = np.random.default_rng(5)
    spans = {"a": 3, "b": 5_000_000}
    table = _Summed(spans)
    batches = []
    for size in (1_200_000, 1, 1_300_000):
        cols = {"a": rng.integers(0, 3, size), "b": rng.integers(0, 2_000_000, size)}
        batches.append(pd.DataFrame(cols))
        table.add(cols)
        assert table.n_pending == 0 or size == 1  # the big batches were folded in at once
    cols, n, _ = table.columns()
    got = pd.DataFrame(cols).assign(n=n)
    pd.testing.assert_frame_equal(got, _reference(batches, list(spans)), check_dtype=False)


@pytest.mark.parametrize(
    "spans",
    [{"a": 3, "b": 5, "c": 2}, {"a": 3, "b": 5_000_000, "c": 2}, {"a": 2**40, "b": 2**30, "c": 2}],
)
def test_tables_of_other_batches_absorbed(spans: dict[str, int]) -> None:
    """Two tables counted from different batches (two threads' shares) sum into one."""
    rng = np.random.default_rng(11)
    mine, theirs = _Summed(spans, sums=("z",)), _Summed(spans, sums=("z",))
    batches = []
    for i, size in enumerate((900, 2000, 1, 400)):
        cols = {c: rng.integers(0, min(s, 7), size) * (s // min(s, 7)) for c, s in spans.items()}
        cols["z"] = rng.normal(size=size)
        batches.append(pd.DataFrame(cols))
        (mine if i % 2 else theirs).add(cols)
    mine.absorb(theirs)
    cols, n, sums = mine.columns()
    got = pd.DataFrame(cols).assign(n=n, **sums).sort_values(list(spans), ignore_index=True)
    pd.testing.assert_frame_equal(got, _reference(batches, list(spans)), check_dtype=False)
