"""Helpers for the opportunities tests: datasets opened straight from files or frames.

The Dataset is built directly on DuckDB (no validation pass), so these tests depend only on
the data contract, not on the ingest code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import ibis
import pandas as pd

from tenure.store import Dataset


def open_folder(folder: Path, as_of: datetime) -> Dataset:
    """The Parquet tables of a simulated world as a Dataset."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")
    tables = {
        n: con.read_parquet(str(folder / f"{n}.parquet"))
        for n in ("members", "events", "exposures")
        if (folder / f"{n}.parquet").is_file()
    }
    return Dataset(
        con=con,
        members=tables["members"],
        events=tables.get("events"),
        exposures=tables.get("exposures"),
        as_of=as_of,
        source=str(folder),
    )


def from_frames(
    members: pd.DataFrame, events: pd.DataFrame, as_of: datetime | None = None
) -> Dataset:
    """A Dataset from pandas frames (timestamps must be tz-aware UTC)."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")
    m = con.create_table("members", members)
    e = con.create_table("events", events)
    end = as_of or max(events["ts"].max(), members["signup_at"].max()).to_pydatetime()
    return Dataset(con=con, members=m, events=e, exposures=None, as_of=end.astimezone(UTC))
