"""Open a dataset as Ibis tables: a folder of Parquet/CSV files, a DuckDB file or an Ibis URL.

Analyses receive a `Dataset` and build backend-neutral Ibis expressions on its tables;
only this module and `ingest` know which engine executes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.errors import BackendError, DataContractError
from tenure.schema import CONTRACTS, TableContract

Backend = Literal["duckdb", "polars"]
TABLE_NAMES = tuple(CONTRACTS)


@dataclass(frozen=True)
class Dataset:
    """The tables of one dataset, the backend that holds them, and when observation ends."""

    con: Any
    members: ir.Table
    events: ir.Table | None
    exposures: ir.Table | None
    as_of: datetime
    benefits: pd.DataFrame | None = None
    source: str = ""

    @property
    def backend(self) -> str:
        return str(self.con.name)

    def table(self, name: str) -> ir.Table:
        """The table `name`, or a clear error when the dataset has none."""
        t = getattr(self, name, None)
        if t is None:
            raise DataContractError(f"the dataset {self.source} has no {name} table")
        return t


def find_sources(folder: Path) -> dict[str, list[Path]]:
    """The files of each contract table in `folder`: `name.parquet|csv` or `name/*.parquet|csv`."""
    found: dict[str, list[Path]] = {}
    for name in TABLE_NAMES:
        files = [folder / f"{name}.{ext}" for ext in ("parquet", "csv")]
        files = [f for f in files if f.is_file()]
        part_dir = folder / name
        if part_dir.is_dir():
            files += sorted(p for p in part_dir.iterdir() if p.suffix in (".parquet", ".csv"))
        if files:
            found[name] = files
    return found


def connect(
    source: str | Path,
    *,
    as_of: datetime | None = None,
    backend: Backend = "duckdb",
) -> Dataset:
    """Open `source` and return its tables.

    Parameters
    ----------
    source
        A folder of `members`/`events`/`exposures` Parquet or CSV files (read in place, not
        validated: use `tenure ingest` for that), a `.duckdb` file written by `ingest`, or an
        Ibis connection URL such as ``duckdb://path.duckdb``.
    as_of
        When observation ends. Defaults to the value `ingest` recorded, else the latest
        timestamp in the data.
    backend
        For a folder: the Ibis backend that reads it. DuckDB is the default; Polars is
        supported as a second, independent engine.
    """
    text = str(source)
    if "://" in text:
        con = ibis.connect(text)
        return _from_connection(con, as_of=as_of, source=text)
    path = Path(source)
    if not path.exists():
        raise DataContractError(
            f"{path} does not exist (expected a folder, a .duckdb file or a URL)"
        )
    if path.is_file():
        con = ibis.duckdb.connect(str(path), read_only=True)
        return _from_connection(con, as_of=as_of, source=text)
    return _from_folder(path, as_of=as_of, backend=backend)


def _from_folder(folder: Path, *, as_of: datetime | None, backend: Backend) -> Dataset:
    sources = find_sources(folder)
    if "members" not in sources:
        raise DataContractError(
            f"{folder} has no members table (expected members.parquet, members.csv or members/)"
        )
    con = _backend(backend)
    tables: dict[str, ir.Table] = {}
    for name, files in sources.items():
        parts = [_read_file(con, f, name) for f in files]
        t = parts[0]
        for p in parts[1:]:
            t = t.union(p)
        tables[name] = _with_contract_types(t, CONTRACTS[name])
    return _dataset(con, tables, as_of=as_of, source=str(folder), benefits=_benefits(folder))


def _backend(name: Backend) -> Any:
    if name == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
        return con
    if name == "polars":
        try:
            return ibis.polars.connect()
        except (ImportError, ModuleNotFoundError) as exc:
            raise BackendError(
                "the polars backend is not installed: pip install 'ibis-framework[polars]'"
            ) from exc
    raise BackendError(f"unknown backend {name!r} (expected 'duckdb' or 'polars')")


def _read_file(con: Any, path: Path, name: str) -> ir.Table:
    try:
        if path.suffix == ".parquet":
            return con.read_parquet(str(path), table_name=f"{name}_{abs(hash(path)):x}")
        return con.read_csv(str(path), table_name=f"{name}_{abs(hash(path)):x}")
    except Exception as exc:  # the engine's own error types differ per backend
        raise DataContractError(f"cannot read {name} table: {exc}", file=str(path)) from exc


def _with_contract_types(t: ir.Table, contract: TableContract) -> ir.Table:
    """Cast contract columns read from CSV (or loosely typed Parquet) to their contract types."""
    casts: dict[str, ir.Value] = {}
    for col in contract.columns:
        if col.name not in t.columns:
            continue
        current = t[col.name].type()
        if col.type == "timestamp" and (not current.is_timestamp() or current.timezone is None):
            casts[col.name] = t[col.name].cast("timestamp('UTC')")
        elif col.type == "float" and not current.is_floating():
            casts[col.name] = t[col.name].cast("float64")
        elif col.type == "string" and not current.is_string():
            casts[col.name] = t[col.name].cast("string")
    return t.mutate(**casts) if casts else t


def _from_connection(con: Any, *, as_of: datetime | None, source: str) -> Dataset:
    names = set(con.list_tables())
    if "members" not in names:
        raise DataContractError(f"{source} has no members table")
    tables = {n: con.table(n) for n in TABLE_NAMES if n in names}
    if as_of is None and "tenure_meta" in names:
        meta = con.table("tenure_meta").to_pyarrow().to_pydict()
        recorded = dict(zip(meta["key"], meta["value"], strict=True)).get("as_of")
        as_of = datetime.fromisoformat(recorded) if recorded else None
    benefits = con.table("benefits").to_pandas() if "benefits" in names else None
    return _dataset(con, tables, as_of=as_of, source=source, benefits=benefits)


def _dataset(
    con: Any,
    tables: dict[str, ir.Table],
    *,
    as_of: datetime | None,
    source: str,
    benefits: pd.DataFrame | None,
) -> Dataset:
    if as_of is None:
        as_of = _latest_timestamp(tables)
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    return Dataset(
        con=con,
        members=tables["members"],
        events=tables.get("events"),
        exposures=tables.get("exposures"),
        as_of=as_of.astimezone(UTC),
        benefits=benefits,
        source=source,
    )


def _latest_timestamp(tables: dict[str, ir.Table]) -> datetime:
    """The latest timestamp anywhere in the data: the default end of observation."""
    candidates = [(tables["members"], c) for c in ("signup_at", "ended_at")]
    candidates += [(tables[n], "ts") for n in ("events", "exposures") if n in tables]
    latest: list[datetime] = []
    for t, c in candidates:
        if c in t.columns:
            value = t[c].max().to_pyarrow().as_py()
            if value is not None:
                latest.append(value if value.tzinfo else value.replace(tzinfo=UTC))
    if not latest:
        raise DataContractError("the dataset has no timestamps to take as_of from")
    return max(latest)


def _benefits(folder: Path) -> pd.DataFrame | None:
    path = folder / "benefits.csv"
    return pd.read_csv(path) if path.is_file() else None
