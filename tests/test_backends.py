"""Retention and HVA aggregations give the right numbers on every backend.

The same Ibis expressions run on independent engines for one small simulated world. Tests
taking the ``con`` fixture (tests/conftest.py) run one body per backend against a pandas
reference computed from the raw files; the HVA checks compare the two engines directly. Any
DuckDB-only SQL in the pipelines would fail or differ here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tenure.retention import analyse_retention
from tenure.retention.curves import span_counts
from tenure.retention.spans import member_spans
from tenure.store import connect
from tenure.store.connect import Backend

BACKENDS: tuple[Backend, ...] = ("duckdb", "polars")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tenure.simulate import WorldConfig, simulate_world

    out = tmp_path_factory.mktemp("backends") / "world"
    simulate_world(out, WorldConfig(n_members=3_000, seed=21))
    return out


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns), ignore_index=True)


def _reference_span_counts(world: Path, as_of: Any) -> pd.DataFrame:
    """Members per (channel, country, tenure_days, ended), by pandas on the raw Parquet."""
    m = pd.read_parquet(world / "members.parquet")
    as_of = pd.Timestamp(as_of)
    m = m[m["signup_at"] <= as_of]
    ended = m["ended_at"].notna() & (m["ended_at"] <= as_of)
    end = m["ended_at"].where(ended, as_of)
    days = ((end - m["signup_at"]).dt.total_seconds() // 86_400).astype("int64")
    frame = pd.DataFrame(
        {
            "channel": m["channel"].astype("string").fillna("(missing)"),
            "country": m["country"].astype("string").fillna("(missing)"),
            "tenure_days": days,
            "ended": ended.astype("int64"),
        }
    )
    keys = ["channel", "country", "tenure_days", "ended"]
    return frame.groupby(keys).size().rename("n").reset_index()


def test_retention_counts_match_pandas(con: Callable[..., Any], world: Path) -> None:
    ds = con(world)
    got = _sorted(span_counts(member_spans(ds.members, ds.as_of), ["channel", "country"]))
    ref = _sorted(_reference_span_counts(world, ds.as_of))
    assert int(ref["n"].sum()) > 2_000  # the reference is not trivially empty
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)


def test_retention_points_match_lifelines(con: Callable[..., Any], world: Path) -> None:
    from lifelines import KaplanMeierFitter

    ds = con(world)
    result = analyse_retention(ds, points=(7, 30, 60))
    ref_counts = _reference_span_counts(world, ds.as_of)
    reps = ref_counts["n"].to_numpy()
    durations = np.repeat(ref_counts["tenure_days"].to_numpy(), reps)
    observed = np.repeat(ref_counts["ended"].to_numpy(), reps)
    km = KaplanMeierFitter().fit(durations, observed)
    for p in (p for p in result.points if p.segment is None):
        expected = float(km.survival_function_at_times(p.day - 1).iloc[0])
        assert p.retained == pytest.approx(expected, abs=1e-12)


def test_retention_result_identical(world: Path) -> None:
    a, b = (analyse_retention(connect(world, backend=be), by="plan").to_dict() for be in BACKENDS)
    assert a == b


def test_hva_result_identical(world: Path) -> None:
    from tenure.hva import discover

    a, b = (
        discover(connect(world, backend=be), window=7, horizon=90, by="country").to_frame()
        for be in BACKENDS
    )
    assert a["candidate"].tolist() == b["candidate"].tolist()
    numeric = a.select_dtypes("number").columns
    np.testing.assert_allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float), rtol=1e-9)
