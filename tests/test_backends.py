"""Retention and HVA aggregations give the same numbers on DuckDB and on Polars.

The same Ibis expressions run on two independent engines for one small simulated world; any
DuckDB-only SQL in the pipelines would fail or differ here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.hva import discover
from tenure.hva.aggregate import aggregate_counts
from tenure.hva.candidates import treated_rows
from tenure.hva.features import LANDMARK_COLUMNS, landmark
from tenure.retention import analyse_retention
from tenure.retention.curves import span_counts
from tenure.retention.spans import member_spans
from tenure.store import connect

BACKENDS = ("duckdb", "polars")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tenure.simulate import WorldConfig, simulate_world

    out = tmp_path_factory.mktemp("backends") / "world"
    simulate_world(out, WorldConfig(n_members=3_000, seed=21))
    return out


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), ignore_index=True)


def test_retention_counts_identical(world: Path) -> None:
    frames = []
    for backend in BACKENDS:
        ds = connect(world, backend=backend)
        spans = member_spans(ds.members, ds.as_of)
        frames.append(_sorted(span_counts(spans, ["channel", "country"])))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False)


def test_retention_result_identical(world: Path) -> None:
    a, b = (analyse_retention(connect(world, backend=be), by="plan").to_dict() for be in BACKENDS)
    assert a == b


def test_hva_counts_identical(world: Path) -> None:
    outs = []
    for backend in BACKENDS:
        ds = connect(world, backend=backend)
        lm = landmark(
            ds.members, ds.table("events"), ds.as_of, window=7, horizon=90, segment="country"
        )
        counts = aggregate_counts(lm, treated_rows(lm.counts, lm.actions, carry=LANDMARK_COLUMNS))
        lm.release()
        outs.append(counts)
    for name in ("strata_totals", "strata_treated", "curve_totals", "curve_treated"):
        a, b = (_sorted(getattr(o, name)) for o in outs)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)


def test_hva_result_identical(world: Path) -> None:
    a, b = (
        discover(connect(world, backend=be), window=7, horizon=90, by="country").to_frame()
        for be in BACKENDS
    )
    assert a["candidate"].tolist() == b["candidate"].tolist()
    numeric = a.select_dtypes("number").columns
    np.testing.assert_allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float), rtol=1e-9)
