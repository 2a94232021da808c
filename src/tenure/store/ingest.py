"""Validate every row of a dataset against the contract and load the good ones into DuckDB.

A bad row is never dropped: it goes to the `quarantine` table with its source file, its
line (CSV, counting the header as line 1) or row (Parquet, from 1), the reason and the
raw record as JSON. Checks run as set-based SQL inside DuckDB, so ingesting tens of
millions of events stays an engine job.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from tenure.errors import DataContractError
from tenure.schema import CONTRACTS, TableContract
from tenure.store.connect import find_sources

QUARANTINE_COLUMNS = "tbl VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR, record VARCHAR"
Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class TableCounts:
    """Rows read, accepted and quarantined for one table."""

    table: str
    read: int
    accepted: int
    quarantined: int


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: counts per table, the as_of it recorded, and the reasons seen."""

    db: str
    as_of: datetime
    tables: tuple[TableCounts, ...]
    top_reasons: tuple[tuple[str, str, int], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "as_of": self.as_of.isoformat(),
            "tables": [
                {
                    "table": c.table,
                    "read": c.read,
                    "accepted": c.accepted,
                    "quarantined": c.quarantined,
                }
                for c in self.tables
            ],
            "top_reasons": [{"table": t, "reason": r, "rows": n} for t, r, n in self.top_reasons],
        }


def ingest(
    source: str | Path,
    db: str | Path,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Validate the tables in folder `source` and write accepted rows to the DuckDB file `db`.

    `as_of` bounds every timestamp (a row dated after it is quarantined); it defaults to
    now, and the recorded `as_of` is then the latest accepted timestamp. The database is
    written beside `db` and moved into place only when complete, so a failed ingest never
    leaves a half-written dataset behind.
    """
    folder = Path(source)
    if not folder.is_dir():
        raise DataContractError(f"{folder} is not a folder of members/events/exposures files")
    sources = find_sources(folder)
    if "members" not in sources:
        raise DataContractError(f"{folder} has no members table (members.parquet or members.csv)")
    bound = (as_of or datetime.now(UTC)).astimezone(UTC)
    target = Path(db)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE quarantine ({QUARANTINE_COLUMNS})")
        counts = []
        for i, (name, files) in enumerate(sources.items()):
            if progress:
                progress(f"validating {name}", i / len(sources))
            counts.append(_load_table(con, CONTRACTS[name], files, bound))
        recorded = as_of.astimezone(UTC) if as_of else _latest(con, list(sources))
        con.execute("CREATE TABLE tenure_meta (key VARCHAR, value VARCHAR)")
        con.execute(
            "INSERT INTO tenure_meta VALUES ('as_of', ?), ('source', ?)",
            [recorded.isoformat(), str(folder)],
        )
        _copy_benefits(con, folder)
        reasons = con.execute(
            "SELECT tbl, regexp_replace(reason, '''[^'']*''', '''…''', 'g') AS r, count(*) "
            "FROM quarantine GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT 10"
        ).fetchall()
    finally:
        con.close()
    shutil.move(partial, target)
    if progress:
        progress("done", 1.0)
    return IngestReport(
        str(target), recorded, tuple(counts), tuple((t, r, n) for t, r, n in reasons)
    )


def _load_table(
    con: duckdb.DuckDBPyConnection, contract: TableContract, files: list[Path], as_of: datetime
) -> TableCounts:
    read = 0
    staged = []
    for k, path in enumerate(files):
        name = f"raw_{contract.name}_{k}"
        read += _stage(con, path, name, contract)
        staged.append(name)
    columns = _columns(con, staged[0])
    for other in staged[1:]:
        if _columns(con, other) != columns:
            raise DataContractError(
                f"{contract.name} files disagree on their columns ({files[0].name} vs others)"
            )
    union = " UNION ALL ".join(f"SELECT * FROM {r}" for r in staged)
    con.execute(f"CREATE TEMP VIEW staged_{contract.name} AS {union}")
    checked = f"checked_{contract.name}"
    con.execute(f"CREATE TEMP TABLE {checked} AS {_check_sql(contract, columns, as_of)}")
    con.execute(
        f"CREATE TABLE {contract.name} AS SELECT * EXCLUDE (_file, _line, _reason, _record) "
        f"FROM {checked} WHERE _reason IS NULL"
    )
    con.execute(
        f"INSERT INTO quarantine SELECT '{contract.name}', _file, _line, _reason, _record "
        f"FROM {checked} WHERE _reason IS NOT NULL ORDER BY _file, _line"
    )
    con.execute(f"DROP VIEW staged_{contract.name}")
    for name, path in zip(staged, files, strict=True):
        con.execute(f"DROP VIEW {name}")
        if path.suffix == ".csv":
            con.unregister(f"{name}_arrow")
    con.execute(f"DROP TABLE {checked}")
    accepted = _count(con, contract.name)
    return TableCounts(contract.name, read, accepted, read - accepted)


def _stage(con: duckdb.DuckDBPyConnection, path: Path, name: str, contract: TableContract) -> int:
    """Expose one file as a view with `_file` and `_line` columns; return its row count."""
    if path.suffix == ".parquet":
        try:
            cols = [
                d[0]
                for d in con.execute(
                    "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
                ).fetchall()
            ]
        except duckdb.Error as exc:
            raise DataContractError(f"cannot read Parquet: {exc}", file=str(path)) from exc
        _require(contract, cols, path)
        con.execute(
            f"CREATE TEMP VIEW {name} AS SELECT t.* EXCLUDE (file_row_number), "
            f"{_literal(path.name)} AS _file, file_row_number + 1 AS _line "
            f"FROM read_parquet({_literal(str(path))}, file_row_number = true) t"
        )
        return _count(con, name)
    arrow, malformed = _read_csv(path)
    _require(contract, arrow.column_names, path)
    con.register(f"{name}_arrow", arrow)
    con.execute(
        f"CREATE TEMP VIEW {name} AS SELECT t.* EXCLUDE (_line), {_literal(path.name)} AS _file, "
        f"t._line FROM {name}_arrow t"
    )
    if malformed:
        con.executemany(
            f"INSERT INTO quarantine VALUES ('{contract.name}', ?, ?, ?, ?)",
            [[path.name, line, reason, text] for line, reason, text in malformed],
        )
    return arrow.num_rows + len(malformed)


def _read_csv(path: Path) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Read a CSV with every column as text, keeping each row's line and the malformed rows."""
    try:
        with path.open(newline="") as fh:
            header = fh.readline().rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataContractError(f"cannot read CSV: {exc}", file=str(path)) from exc
    header = [h.strip().strip('"') for h in header]
    malformed: list[tuple[int, str, str]] = []

    def on_invalid(row: Any) -> str:
        reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        malformed.append((row.number if row.number is not None else -1, reason, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataContractError(f"cannot read CSV: {exc}", file=str(path)) from exc
    lines = _data_lines(table.num_rows, {m[0] for m in malformed})
    return table.append_column("_line", pa.array(lines, pa.int64())), malformed


def _data_lines(n_rows: int, skipped: set[int]) -> npt.NDArray[np.int64]:
    """Physical line numbers of the accepted data rows (header is line 1), vectorised."""
    candidates = np.arange(2, 2 + n_rows + len(skipped), dtype=np.int64)
    dropped = np.fromiter(skipped, dtype=np.int64, count=len(skipped))
    return np.setdiff1d(candidates, dropped, assume_unique=True)[:n_rows]


def _require(contract: TableContract, columns: list[str], path: Path) -> None:
    missing = [c for c in contract.required if c not in columns]
    if missing:
        raise DataContractError(
            f"{contract.name} is missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(columns)})",
            file=str(path),
        )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a staged table, without the bookkeeping columns."""
    described = con.execute(f"DESCRIBE {table}").fetchall()
    return {d[0]: d[1] for d in described if d[0] not in ("_file", "_line")}


def _typed_expr(contract: TableContract, name: str) -> str:
    col = contract.column(name)
    q = _quote(name)
    if col is None:
        return q
    sql_type = {"string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "float": "DOUBLE"}[col.type]
    return f"TRY_CAST({q} AS {sql_type}) AS {q}"


def _check_sql(contract: TableContract, columns: dict[str, str], as_of: datetime) -> str:
    """SQL that adds `_reason`: the first contract rule each row breaks, or NULL.

    Only text columns are parsed and checked for blanks: a column the file already types
    (Parquet timestamps, doubles) needs just the null check, which keeps large files fast.
    """
    bound = f"TIMESTAMPTZ '{as_of.isoformat()}'"
    late = f"' is after as_of {as_of:%Y-%m-%dT%H:%M:%SZ}'"
    rules: list[tuple[str, str]] = []
    for col in contract.columns:
        if col.name not in columns:
            continue
        q = _quote(col.name)
        is_text = columns[col.name] == "VARCHAR"
        if col.required:
            blank = f" OR trim({q}) = ''" if is_text else ""
            rules.append((f"{q} IS NULL{blank}", f"'{col.name} is missing'"))
        if col.type == "timestamp":
            if is_text:
                bad = f"{q} IS NOT NULL AND TRY_CAST({q} AS TIMESTAMPTZ) IS NULL"
                why = "is not a UTC timestamp (expected ISO 8601)"
                rules.append((bad, f"'{col.name} ''' || {q} || ''' {why}'"))
            rules.append(
                (
                    f"TRY_CAST({q} AS TIMESTAMPTZ) > {bound}",
                    f"'{col.name} ' || CAST({q} AS VARCHAR) || {late}",
                )
            )
        elif col.type == "float" and is_text:
            bad = f"{q} IS NOT NULL AND TRY_CAST({q} AS DOUBLE) IS NULL"
            rules.append((bad, f"'{col.name} ''' || {q} || ''' is not a number'"))
    if "ended_at" in columns:
        rules.append(
            (
                "TRY_CAST(ended_at AS TIMESTAMPTZ) < TRY_CAST(signup_at AS TIMESTAMPTZ)",
                "'ended_at is before signup_at'",
            )
        )
    base = f"staged_{contract.name}"
    select = f"SELECT s.*, {_first_reason(rules)} AS _reason FROM {base} s"
    if contract.unique:
        select = _unique_check(select, contract.unique)
    if contract.references_members:
        select = _members_check(select, "ts" in columns)
    typed = ", ".join(_typed_expr(contract, c) for c in columns)
    raw = ", ".join(f"{_quote(c)} := {_quote(c)}" for c in columns)
    # The raw record is kept only for quarantined rows: building JSON for every good row
    # would cost more than all the checks together.
    return (
        f"SELECT {typed}, _file, _line, _reason, CASE WHEN _reason IS NOT NULL "
        f"THEN to_json(struct_pack({raw})) END AS _record FROM ({select})"
    )


def _first_reason(rules: list[tuple[str, str]]) -> str:
    if not rules:
        return "CAST(NULL AS VARCHAR)"
    whens = " ".join(f"WHEN {cond} THEN {reason}" for cond, reason in rules)
    return f"CASE {whens} ELSE NULL END"


def _unique_check(select: str, key: str) -> str:
    """Quarantine every later duplicate of `key`, naming where it was first seen."""
    q = _quote(key)
    return (
        f"WITH c AS ({select}), firsts AS (SELECT {q} AS k, arg_min(_file || ' line ' || _line, (_file, _line)) "
        f"AS first_at, min((_file, _line)) AS first_pos FROM c WHERE _reason IS NULL GROUP BY {q}) "
        f"SELECT c.* REPLACE (CASE WHEN c._reason IS NULL AND (c._file, c._line) <> f.first_pos "
        f"THEN '{key} ''' || c.{q} || ''' is a duplicate of ' || f.first_at ELSE c._reason END AS _reason) "
        f"FROM c LEFT JOIN firsts f ON c.{q} = f.k"
    )


def _members_check(select: str, has_ts: bool) -> str:
    """Quarantine rows of members not in the accepted members table, and rows before signup."""
    before = (
        "WHEN TRY_CAST(c.ts AS TIMESTAMPTZ) < m.signup_at THEN 'ts is before the member''s signup_at'"
        if has_ts
        else ""
    )
    return (
        f"WITH c AS ({select}) SELECT c.* REPLACE (CASE WHEN c._reason IS NOT NULL THEN c._reason "
        f"WHEN m.member_id IS NULL THEN 'member_id ''' || c.member_id || ''' is not a known member' "
        f"{before} ELSE NULL END AS _reason) "
        "FROM c LEFT JOIN members m ON CAST(c.member_id AS VARCHAR) = m.member_id"
    )


def _latest(con: duckdb.DuckDBPyConnection, tables: list[str]) -> datetime:
    parts = ["SELECT max(signup_at) AS t FROM members"]
    if "ended_at" in _columns(con, "members"):
        parts.append("SELECT max(ended_at) FROM members")
    parts += [f"SELECT max(ts) FROM {t}" for t in tables if t in ("events", "exposures")]
    (latest,) = con.execute(f"SELECT max(t) FROM ({' UNION ALL '.join(parts)})").fetchone() or (
        None,
    )
    if latest is None:
        raise DataContractError("no row was accepted, so there is no as_of to record")
    return latest.astimezone(UTC)


def _copy_benefits(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    path = folder / "benefits.csv"
    if path.is_file():
        con.execute(
            "CREATE TABLE benefits AS SELECT * FROM read_csv(?, header = true)", [str(path)]
        )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    return int(n)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
