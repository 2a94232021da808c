"""The compiled SQL of the core pipelines, committed so that a change to a query shows in review.

Each pipeline runs on a small seeded world opened on DuckDB while every expression it caches
or materialises is compiled with ``ibis.to_sql(expr, dialect="duckdb")`` and recorded in
order; the list is compared with ``tests/snapshots/<pipeline>/out.sql``. Names Ibis draws at
random (cached tables, in-memory tables) are numbered in order of appearance.

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
_RANDOM_NAMES = re.compile(
    r"ibis_(cached|pandas_memtable|pyarrow_memtable|polars_memtable)_[a-z0-9]+"
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    from tenure.simulate import WorldConfig, simulate_world

    out = tmp_path_factory.mktemp("snapshots") / "world"
    simulate_world(out, WorldConfig(n_members=600, seed=3, truth_members=100))
    return connect(out)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """(kind, SQL) of every expression cached or materialised while the test runs."""
    log: list[tuple[str, str]] = []
    to_pyarrow, cache = ir.Expr.to_pyarrow, ir.Table.cache

    def materialise(self: ir.Expr, *args: Any, **kw: Any) -> Any:
        log.append(("query", str(ibis.to_sql(self, dialect="duckdb"))))
        return to_pyarrow(self, *args, **kw)

    def cached(self: ir.Table) -> ir.Table:
        got = cache(self)
        name = got.get_name()
        log.append((f"cache {name}", str(ibis.to_sql(self, dialect="duckdb"))))
        return got

    monkeypatch.setattr(ir.Expr, "to_pyarrow", materialise)
    monkeypatch.setattr(ir.Table, "cache", cached)
    yield log


def _normalised(log: list[tuple[str, str]]) -> str:
    names: dict[str, str] = {}

    def stable(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0), f"{m.group(1)}_{len(names)}")

    parts = [f"-- {i}: {kind}\n{sql.strip()};\n" for i, (kind, sql) in enumerate(log, 1)]
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
    name: str, dataset: Dataset, recorded: list[tuple[str, str]]
) -> None:
    PIPELINES[name](dataset)
    got = _normalised(recorded)
    assert "SELECT" in got  # the pipeline reached the engine
    path = SNAPSHOTS / name / "out.sql"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got)
        if not UPDATE:
            pytest.fail(f"{path} did not exist and was written; review and commit it")
    assert got == path.read_text(), (
        f"the compiled SQL of {name} changed; if intended, refresh with "
        "TENURE_SNAPSHOT_UPDATE=1 (see this module's docstring) and review the diff"
    )
