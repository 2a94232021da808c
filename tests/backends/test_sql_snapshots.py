"""The compiled SQL of the core pipelines, committed so that a change to a query shows in review.

Each pipeline runs on a small seeded world opened on DuckDB while every expression it caches
or materialises is compiled with ``ibis.to_sql(expr, dialect=...)`` and recorded in order,
once per dialect: DuckDB's list is compared with ``tests/snapshots/<pipeline>/out.sql`` and
Spark SQL's with ``tests/snapshots/<pipeline>/spark.sql`` (the same expressions compiled for
the PySpark backend, without running Spark). Names Ibis draws at random (cached tables,
in-memory tables) are numbered in order of appearance.

Refresh after an intended change, then review the diff like code::

    TENURE_SNAPSHOT_UPDATE=1 .venv/bin/python -m pytest -q tests/backends/test_sql_snapshots.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest

from tenure.store import Dataset, connect

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
SPEC = Path(__file__).resolve().parents[2] / "src/tenure/data/experiments/value_messaging.yaml"
UPDATE = os.environ.get("TENURE_SNAPSHOT_UPDATE") == "1"
DIALECTS = ("duckdb", "pyspark")
FILES = {"duckdb": "out.sql", "pyspark": "spark.sql"}
_RANDOM_NAMES = re.compile(
    r"ibis_(cached|pandas_memtable|pyarrow_memtable|polars_memtable)_[a-z0-9]+"
)


def write_world(out: Path, n: int = 600, seed: int = 5) -> Path:
    """A small hand-made world, independent of the simulator (whose changes must not move SQL).

    The SQL depends on the data only through what the pipelines read back before compiling
    (the latest timestamp as ``as_of``, candidate actions, quantile bin edges), so a fixed
    seed here is enough to keep it still.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01", tz="UTC")
    signup = start + pd.to_timedelta(rng.uniform(0, 300, n), unit="D").round("s")
    lasts = pd.to_timedelta(rng.exponential(120, n), unit="D").round("s")
    ended = (signup + lasts).where(rng.random(n) < 0.6)
    ids = [f"u{i:04d}" for i in range(n)]
    members = pd.DataFrame(
        {
            "member_id": ids,
            "signup_at": signup,
            "ended_at": ended.where(ended < pd.Timestamp("2026-01-31", tz="UTC")),
            "channel": rng.choice(["organic", "paid", "referral"], n),
            "country": rng.choice(["US", "GB", "DE"], n),
            "plan": rng.choice(["monthly", "annual"], n),
            "age_band": rng.choice(["18-34", "35-54", "55+"], n),
            "fee": rng.choice([8.99, 12.99, 14.99], n),
        }
    )
    actions = {"video.stream": "video", "shipping.order": "shipping", "music.play": "music"}
    k = rng.poisson(12, n)
    who = np.repeat(np.arange(n), k)
    action = rng.choice([*actions, "app.open"], len(who))
    events = pd.DataFrame(
        {
            "member_id": np.asarray(ids)[who],
            "ts": signup[who] + pd.to_timedelta(rng.exponential(20, len(who)), unit="D").round("s"),
            "action": action,
            "benefit": [actions.get(a) for a in action],
            "value": rng.uniform(0, 5, len(who)).round(2),
        }
    )
    arm = rng.choice(["control", "value_message", "discount_offer"], n)
    exposures = pd.DataFrame(
        {
            "member_id": ids,
            "ts": signup + pd.Timedelta(minutes=1),
            "experiment": "value_messaging",
            "variant": arm,
            "placement": "signup",
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    members.to_parquet(out / "members.parquet", index=False)
    events.to_parquet(out / "events.parquet", index=False)
    exposures.to_parquet(out / "exposures.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return connect(write_world(tmp_path_factory.mktemp("snapshots") / "world"))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, str]]]:
    """(kind, SQL) of every expression cached or materialised while the test runs."""
    _ = ibis.pyspark  # loading the backend registers the options its SQL compiler reads
    log: list[tuple[str, str, str]] = []
    to_pyarrow, cache = ir.Expr.to_pyarrow, ir.Table.cache

    def compiled(expr: ir.Expr) -> tuple[str, str]:
        duck, spark = (str(ibis.to_sql(expr, dialect=d)) for d in DIALECTS)
        return duck, spark

    def materialise(self: ir.Expr, *args: Any, **kw: Any) -> Any:
        log.append(("query", *compiled(self)))
        return to_pyarrow(self, *args, **kw)

    def cached(self: ir.Table) -> ir.Table:
        got = cache(self)
        log.append((f"cache {got.get_name()}", *compiled(self)))
        return got

    monkeypatch.setattr(ir.Expr, "to_pyarrow", materialise)
    monkeypatch.setattr(ir.Table, "cache", cached)
    yield log


def _normalised(log: list[tuple[str, str, str]], dialect: str) -> str:
    names: dict[str, str] = {}

    def stable(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0), f"{m.group(1)}_{len(names)}")

    k = 1 + DIALECTS.index(dialect)
    parts = [f"-- {i}: {row[0]}\n{row[k].strip()};\n" for i, row in enumerate(log, 1)]
    return _RANDOM_NAMES.sub(stable, "\n".join(parts))


def _retention(ds: Dataset) -> None:
    from tenure.retention import analyse_retention

    analyse_retention(ds, by="channel")


def _hva_landmark_counts(ds: Dataset) -> None:
    from tenure.hva.aggregate import aggregate_counts
    from tenure.hva.features import landmark

    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=90)
    try:
        aggregate_counts(lm)
    finally:
        lm.release()


def _experiment_stats(ds: Dataset) -> None:
    from tenure.experiments.metrics import compute_metrics
    from tenure.experiments.spec import load_spec

    compute_metrics(ds, load_spec(SPEC))


PIPELINES: dict[str, Callable[[Dataset], None]] = {
    "retention_counts": _retention,
    "hva_landmark_counts": _hva_landmark_counts,
    "experiment_sufficient_stats": _experiment_stats,
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_compiled_sql_matches_snapshot(
    name: str, dataset: Dataset, recorded: list[tuple[str, str, str]]
) -> None:
    PIPELINES[name](dataset)
    written = []
    for dialect in DIALECTS:
        got = _normalised(recorded, dialect)
        assert "SELECT" in got  # the pipeline reached the engine
        path = SNAPSHOTS / name / FILES[dialect]
        if UPDATE or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(got)
            written.append(path)
            continue
        assert got == path.read_text(), (
            f"the compiled {dialect} SQL of {name} changed; if intended, refresh with "
            "TENURE_SNAPSHOT_UPDATE=1 (see this module's docstring) and review the diff"
        )
    if written and not UPDATE:
        pytest.fail(f"{', '.join(map(str, written))} did not exist and were written; review them")
