"""Epoch microseconds and day numbers are exact integers on every backend.

:func:`tenure.store.epoch.epoch_us` compiles to each engine's own function (DuckDB
``epoch_us``, Spark ``unix_micros``, Polars ``dt.epoch("us")``); :func:`day_number` floors the
µs difference by whole days. Both are checked against exact ``datetime`` arithmetic on stamps
one microsecond either side of a whole number of days, before 1970 and on a leap day, and a
null stays null.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import pyarrow as pa

from tenure.retention.spans import day_number
from tenure.store.epoch import epoch_us

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
STARTS = [
    datetime(2024, 2, 28, 12, 0, 0, 500_000, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2026, 3, 30, 23, 59, 59, 849_707, tzinfo=UTC),
]
SHIFTS = [timedelta(0), US, -US, timedelta(days=1) - US, timedelta(days=1),
          timedelta(days=30) + US, timedelta(days=30) - US, timedelta(days=400)]  # fmt: skip


def _micros(t: datetime) -> int:
    return (t - EPOCH) // US


def _table(backend: str) -> tuple[ibis.Table, list[tuple[datetime | None, datetime | None]]]:
    rows: list[tuple[datetime | None, datetime | None]] = [
        (s, s + d) for s in STARTS for d in SHIFTS
    ]
    rows.append((STARTS[0], None))
    stamp = pa.timestamp("us", "UTC")
    data = pa.table(
        {
            "start": pa.array([r[0] for r in rows], stamp),
            "end": pa.array([r[1] for r in rows], stamp),
            "i": pa.array(range(len(rows)), pa.int64()),
        }
    )
    if backend == "pyspark":
        from tenure.store.spark import register_arrow, spark_backend

        return register_arrow(spark_backend(), "epoch_stamps", data), rows
    con = ibis.duckdb.connect() if backend == "duckdb" else ibis.polars.connect()
    return con.create_table("stamps", data), rows


def test_epoch_us_and_day_number_are_exact(backend: str) -> None:
    t, rows = _table(backend)
    got = (
        t.select("i", us=epoch_us(t.end), days=day_number(t.end, t.start))
        .to_pyarrow()
        .sort_by("i")
        .to_pylist()
    )
    want = [
        {
            "i": i,
            "us": None if end is None else _micros(end),
            "days": None if end is None or start is None else (end - start) // timedelta(days=1),
        }
        for i, (start, end) in enumerate(rows)
    ]
    assert got == want
