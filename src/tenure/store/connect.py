"""Open a dataset as Ibis tables: a folder of Parquet/CSV files, a DuckDB file or an Ibis URL.

Analyses receive a `Dataset` and build backend-neutral Ibis expressions on its tables;
only this module and `ingest` know which engine executes them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.errors import BackendError, DataContractError
from tenure.schema import CONTRACTS
from tenure.store.mapping import ColumnMap, parse_mapping
from tenure.store.sources import find_sources

Backend = Literal["duckdb", "polars", "pyspark"]
BACKENDS: tuple[Backend, ...] = ("duckdb", "polars", "pyspark")
TABLE_NAMES = tuple(n for n in CONTRACTS if n != "benefits")


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
    skipped: tuple[tuple[str, str], ...] = ()
    """Entries of a source folder that were not read, with why (see `find_sources`)."""

    @property
    def backend(self) -> str:
        """The name of the engine holding the tables (``duckdb``, ``polars``…)."""
        return str(self.con.name)

    def table(self, name: str) -> ir.Table:
        """The table `name`, or a clear error when the dataset has none."""
        t = getattr(self, name, None)
        if t is None:
            raise DataContractError(f"the dataset {self.source} has no {name} table")
        return t


def connect(
    source: str | Path,
    *,
    as_of: datetime | None = None,
    backend: Backend = "duckdb",
    mapping: ColumnMap | str | None = None,
) -> Dataset:
    """Open `source` and return its tables.

    Parameters
    ----------
    source
        A folder of `members`/`events`/`exposures` Parquet or CSV files, read in place and
        checked with the very rules `tenure ingest` applies (a folder with any bad row is
        refused, naming the first one: ingest it to quarantine those rows; a folder that
        passed and has not changed since is not checked again, see `tenure.store.verified`,
        ``TENURE_CHECK_CACHE=0`` to always check), a `.duckdb`
        file written by `ingest`, an Ibis connection URL such as ``duckdb://path.duckdb``,
        or ``spark:///absolute/path/to/folder``: Spark reads the folder's Parquet in place
        and checks it with the contract's rules run in Spark (see `tenure.store.spark`).
    as_of
        When observation ends. Defaults to the value `ingest` recorded, else the latest
        timestamp in the data.
    backend
        For a folder: the Ibis backend that runs the analyses. DuckDB is the default;
        Polars and PySpark (``pip install 'tenure[spark]'``, Java 17) are tested on the same
        pipelines. The folder is checked by DuckDB first whatever the backend.
    mapping
        For a folder: input column -> contract column renames (see `tenure.store.mapping`).
    """
    text = str(source)
    if text.startswith("duckdb://") and Path(text.removeprefix("duckdb://")).is_file():
        return connect(text.removeprefix("duckdb://"), as_of=as_of)
    if text.startswith("spark://"):
        return _from_spark_folder(text, as_of=as_of)
    if "://" in text:
        con = ibis.connect(text)
        return _from_connection(con, as_of=as_of, source=text)
    path = Path(source)
    if not path.exists():
        raise DataContractError(
            f"{path} does not exist (expected a folder, a .duckdb file or a URL)"
        )
    if path.is_file():
        from tenure.store.ingest import _is_tenure_db

        if not _is_tenure_db(path):
            return _from_foreign_database(path, as_of=as_of)
        con = ibis.duckdb.connect(str(path), read_only=True)
        return _from_connection(con, as_of=as_of, source=text)
    columns = mapping if isinstance(mapping, ColumnMap) else parse_mapping(mapping)
    return _from_folder(path, as_of=as_of, backend=backend, mapping=columns)


def _from_folder(
    folder: Path, *, as_of: datetime | None, backend: Backend, mapping: ColumnMap
) -> Dataset:
    """Check the folder with ingest's own rules, then expose its typed tables (or refuse)."""
    from tenure.store.ingest import validate_in_place

    sources = find_sources(folder)
    if "members" not in sources.tables:
        raise DataContractError(
            f"{folder} has no members table (expected members.parquet, members.csv or members/)"
        )
    raw = duckdb.connect()
    names = validate_in_place(raw, sources, mapping, datetime.now(UTC))
    duck = ibis.duckdb.from_connection(raw)
    if backend == "duckdb":
        con: Any = duck
        tables = {n: duck.table(n) for n in names}
    elif backend == "pyspark":
        from tenure.store.spark import register_arrow

        con = _backend(backend)
        tables = {n: register_arrow(con, n, duck.table(n).to_pyarrow()) for n in names}
    else:
        con = _backend(backend)
        tables = {n: con.create_table(n, duck.table(n).to_pyarrow()) for n in names}
    benefits = tables.pop("benefits", None)
    frame = benefits.to_pandas() if benefits is not None else None
    dataset = _dataset(con, tables, as_of=as_of, source=str(folder), benefits=frame)
    return replace(dataset, skipped=sources.skipped)


def _from_spark_folder(url: str, *, as_of: datetime | None) -> Dataset:
    """``spark:///path``: Spark reads the Parquet in place; the contract's rules run in Spark."""
    from tenure.store.lake import refuse_broken
    from tenure.store.spark import read_folder

    folder = Path(url.removeprefix("spark://"))
    con, tables = read_folder(folder)
    refuse_broken(tables, label=url, as_of=as_of or datetime.now(UTC))
    return _dataset(con, tables, as_of=as_of, source=url, benefits=None)


def _from_foreign_database(path: Path, *, as_of: datetime | None) -> Dataset:
    """A DuckDB file ingest did not write: check its tables like a folder, or refuse it."""
    from tenure.store.ingest import validate_database

    with path.open("rb") as fh:
        if fh.read(16)[8:12] != b"DUCK":
            raise DataContractError(
                f"{path} is a file but not a DuckDB database (expected a folder of CSV/Parquet "
                "files, a .duckdb file written by tenure ingest, or a URL)"
            )
    raw = duckdb.connect()
    try:
        raw.execute(f"ATTACH {_sql_text(str(path))} AS tenure_source (READ_ONLY)")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise DataContractError(f"{path} cannot be opened as DuckDB ({first})") from exc
    names = validate_database(raw, "tenure_source", str(path), datetime.now(UTC))
    duck = ibis.duckdb.from_connection(raw)
    tables = {n: duck.table(n) for n in names}
    benefits = tables.pop("benefits", None)
    frame = benefits.to_pandas() if benefits is not None else None
    return _dataset(duck, tables, as_of=as_of, source=str(path), benefits=frame)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def observe_until(dataset: Dataset, as_of: datetime) -> Dataset:
    """`dataset` as it stood at `as_of`: what an analysis run on that day would have seen.

    Members who signed up later are left out, an ending after `as_of` is not yet known
    (the member counts as active, censored at `as_of`), and later events and exposures
    are left out. Every analysis command's ``--as-of`` goes through here, so all of them
    agree on what "as of" means.
    """
    when = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    t = ibis.literal(when.astimezone(UTC), type="timestamp('UTC')")
    m = dataset.members
    members = m.filter(m.signup_at <= t)
    if "ended_at" in members.columns:
        members = members.mutate(
            ended_at=ibis.ifelse(members.ended_at <= t, members.ended_at, ibis.null())
        )
    events = dataset.events.filter(dataset.events.ts <= t) if dataset.events is not None else None
    exposures = (
        dataset.exposures.filter(dataset.exposures.ts <= t)
        if dataset.exposures is not None
        else None
    )
    return replace(
        dataset, members=members, events=events, exposures=exposures, as_of=when.astimezone(UTC)
    )


def _backend(name: Backend) -> Any:
    if name == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
        return con
    if name == "polars":
        try:
            return ibis.polars.connect()
        except (ImportError, ModuleNotFoundError) as exc:
            from tenure.store.spark import BackendNotInstalledError

            raise BackendNotInstalledError(
                "the polars backend is not installed: pip install 'ibis-framework[polars]'"
            ) from exc
    if name == "pyspark":
        from tenure.store.spark import spark_backend

        return spark_backend()
    raise BackendError(f"unknown backend {name!r} (expected one of {', '.join(BACKENDS)})")


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
    """The latest timestamp anywhere in the data: the default end of observation.

    One aggregate per table (on Spark each query is a job, so members' two columns share one).
    """
    wanted = {"members": ("signup_at", "ended_at"), "events": ("ts",), "exposures": ("ts",)}
    latest: list[datetime] = []
    for name, columns in wanted.items():
        t = tables.get(name)
        present = [c for c in columns if t is not None and c in t.columns]
        if t is None or not present:
            continue
        row = t.aggregate(**{f"max_{c}": t[c].max() for c in present}).to_pyarrow().to_pylist()
        latest += [
            v if v.tzinfo else v.replace(tzinfo=UTC) for v in row[0].values() if v is not None
        ]
    if not latest:
        raise DataContractError("the dataset has no timestamps to take as_of from")
    return max(latest)
