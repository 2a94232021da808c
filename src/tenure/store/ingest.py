"""Validate every row of a dataset against the contract and load the good ones into DuckDB.

A bad row is never dropped: it goes to the ``quarantine`` table with its source file
(relative to the dataset folder), its line (CSV: the physical line where the record
starts, header = line 1) or row (Parquet, from 1), the rule it breaks, the reason (the rule
with the offending value) and the raw record as JSON. The checks are generated from the
contract (`tenure.store.checks`) and run as set-based SQL inside DuckDB, so ingesting tens
of millions of events stays an engine job.

The database is written to ``DB.partial`` beside the target and moved into place only
when complete; a failed ingest removes its partial files. An existing ``--db`` is replaced
only when it is a database Tenure wrote: any other file (a CSV, someone's DuckDB) is left
alone and the ingest is refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.errors import DataContractError
from tenure.schema import CONTRACTS, TableContract
from tenure.store.checks import (
    Probe,
    checked_sql,
    cleanable,
    lit,
    quick_check_sql,
    quote,
    typed_sql,
    values_probe,
)
from tenure.store.mapping import ColumnMap, parse_mapping
from tenure.store.parquet_dictionary import column_dictionary
from tenure.store.sources import Sources, find_sources
from tenure.store.stage import (
    Opened,
    StagedTable,
    chunks,
    malformed_rows,
    open_file,
    stage_database_table,
    stage_table,
)
from tenure.store.verified import Verified, verified_for

__all__ = ["IngestReport", "TableCounts", "ingest", "validate_database", "validate_in_place"]

QUARANTINE_COLUMNS = (
    "tbl VARCHAR, file VARCHAR, line BIGINT, rule VARCHAR, reason VARCHAR, record VARCHAR"
)
Progress = Callable[[str, float], None]
CHUNK_ROWS = 50_000_000
"""Rows of a table checked and loaded per statement (whole row groups of big Parquet files)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TableCounts:
    """Rows read, accepted and quarantined for one table."""

    table: str
    read: int
    accepted: int
    quarantined: int


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: counts per table, the as_of it recorded, and the reasons seen.

    ``top_reasons`` holds ``(table, rule, rows)`` — rows counted per rule, not per value —
    and ``examples`` one quarantined row per rule (``file line N: reason``). ``skipped``
    lists every entry of the folder that was not read, with why; ``pre_signup`` counts the
    events kept as history before their member's signup.
    """

    db: str
    as_of: datetime
    tables: tuple[TableCounts, ...]
    top_reasons: tuple[tuple[str, str, int], ...] = field(default=())
    examples: tuple[str, ...] = field(default=())
    skipped: tuple[tuple[str, str], ...] = field(default=())
    pre_signup: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document of the ingest."""
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
            "top_reasons": [
                {"table": t, "reason": r, "rows": n, "example": e}
                for (t, r, n), e in zip(self.top_reasons, self.examples, strict=False)
            ],
            "skipped": [{"path": p, "why": w} for p, w in self.skipped],
            "pre_signup_events": self.pre_signup,
        }


def ingest(
    source: str | Path,
    db: str | Path,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
    mapping: ColumnMap | str | None = None,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> IngestReport:
    """Validate the tables in folder `source` and write accepted rows to the DuckDB file `db`.

    `as_of` bounds every timestamp (a row dated after it is quarantined); it defaults to
    now, and the recorded `as_of` is then the latest accepted timestamp (or now, when no
    row was accepted — the quarantine is written all the same). `mapping` renames input
    columns to contract names (see `tenure.store.mapping`).

    Tables other than ``members`` are checked and loaded in chunks of about `chunk_rows`
    rows (part files, or the row groups of one big Parquet file), so no statement holds a
    whole events table. `memory_limit` (DuckDB's, e.g. ``"4GB"``) bounds the engine's
    memory; what does not fit spills to `temp_directory` (default: a folder beside `db`,
    removed afterwards).
    """
    folder = Path(source)
    if not folder.is_dir():
        raise DataContractError(f"{folder} is not a folder of members/events/exposures files")
    columns = mapping if isinstance(mapping, ColumnMap) else parse_mapping(mapping)
    sources = find_sources(folder)
    if "members" not in sources.tables:
        raise DataContractError(
            f"{folder} has no members table (expected members.csv, members.parquet or members/)"
        )
    target = _target(Path(db), folder)
    bound = (as_of or datetime.now(UTC)).astimezone(UTC)
    partial = target.with_name(target.name + ".partial")
    _remove_partial(partial)
    if chunk_rows < 1:
        raise DataContractError(f"chunk_rows must be a positive number of rows, not {chunk_rows}")
    spill = Path(temp_directory) if temp_directory else target.with_name(target.name + ".tmp")
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": str(spill)}
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        con = duckdb.connect(str(partial), config=config)
    except duckdb.Error as exc:
        what = f"--db {target}: cannot be written"
        if memory_limit and "memory" in str(exc).lower():
            what = f"memory_limit {memory_limit!r} is not a DuckDB memory size (e.g. 4GB)"
        raise DataContractError(f"{what} ({exc})") from exc
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE quarantine ({QUARANTINE_COLUMNS})")
        counts, pre = _load_all(con, sources, bound, columns, progress, chunk_rows)
        latest = _latest(con, [c.table for c in counts])
        recorded = as_of.astimezone(UTC) if as_of else (latest or bound)
        con.execute("CREATE TABLE tenure_meta (key VARCHAR, value VARCHAR)")
        con.execute(
            "INSERT INTO tenure_meta VALUES ('as_of', ?), ('source', ?), ('format', '2')",
            [recorded.isoformat(), str(folder)],
        )
        reasons = con.execute(
            "SELECT tbl, rule, count(*), arg_min(file || ' line ' || line || ': ' || reason, "
            "(file, line)) FROM quarantine GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT 10"
        ).fetchall()
        con.execute("CHECKPOINT")
        con.close()
    except BaseException:
        con.close()
        _remove_partial(partial)
        _remove_spill(spill, owned=temp_directory is None)
        raise
    os.replace(partial, target)
    _remove_partial(partial)
    _remove_spill(spill, owned=temp_directory is None)
    if progress:
        progress("done", 1.0)
    return IngestReport(
        str(target),
        recorded,
        tuple(counts),
        tuple((t, r, int(n)) for t, r, n, _ in reasons),
        tuple(str(e) for *_, e in reasons),
        sources.skipped,
        pre,
    )


def _remove_spill(spill: Path, *, owned: bool) -> None:
    """Remove the spill folder ingest chose (a folder the caller named is left in place)."""
    if owned and spill.is_dir():
        shutil.rmtree(spill, ignore_errors=True)


def _remove_partial(partial: Path) -> None:
    for p in (partial, partial.with_name(partial.name + ".wal")):
        p.unlink(missing_ok=True)


def _target(db: Path, folder: Path) -> Path:
    """`db`, checked: its folder exists and is writable, and it is not someone else's file."""
    parent = db.parent if str(db.parent) else Path(".")
    if db.is_dir():
        raise DataContractError(
            f"--db {db} is a folder; give a file name such as {db}/tenure.duckdb"
        )
    if not parent.is_dir():
        raise DataContractError(f"--db {db}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataContractError(f"--db {db}: the folder {parent} is not writable")
    if db.exists() and not _is_tenure_db(db):
        raise DataContractError(
            f"--db {db} exists and is not a database written by tenure ingest; "
            "it was left untouched: choose another --db or remove the file"
        )
    return db


def _is_tenure_db(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    if head[8:12] != b"DUCK":
        return False
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            names = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    except duckdb.Error:
        return False
    return "tenure_meta" in names


def _load_all(
    con: duckdb.DuckDBPyConnection,
    sources: Sources,
    bound: datetime,
    mapping: ColumnMap,
    progress: Progress | None,
    chunk_rows: int,
) -> tuple[list[TableCounts], int]:
    counts = []
    pre = 0
    order = [n for n in CONTRACTS if n in sources.tables]
    for i, name in enumerate(order):
        contract = CONTRACTS[name]
        renames = mapping.for_table(name)
        opened = [open_file(con, f, contract, renames) for f in sources.tables[name]]
        # A unique key is checked across every file at once; other tables go in chunks.
        parts = [opened] if contract.unique else (chunks(opened, chunk_rows) or [opened])
        for k, part in enumerate(_staged_parts(con, contract, opened, parts)):
            if progress:
                done = (i + k / len(parts)) / len(order)
                progress(f"validating {name}" + (f" ({k + 1}/{len(parts)})" if k else ""), done)
            _load_part(con, contract, part, bound, first=k == 0)
        c, p = _table_counts(con, contract, sum(f.rows for f in opened))
        counts.append(c)
        pre += p
    return counts, pre


def _stage(
    con: duckdb.DuckDBPyConnection, contract: TableContract, sources: Sources, mapping: ColumnMap
) -> StagedTable:
    return stage_table(con, contract, _open(con, contract, sources, mapping))


def _open(
    con: duckdb.DuckDBPyConnection, contract: TableContract, sources: Sources, mapping: ColumnMap
) -> list[Opened]:
    renames = mapping.for_table(contract.name)
    return [open_file(con, f, contract, renames) for f in sources.tables[contract.name]]


def _staged_parts(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    opened: list[Opened],
    parts: list[list[Opened]],
) -> Iterator[StagedTable]:
    """Each chunk staged in turn (the view is replaced by the next), malformed rows first.

    The malformed records (CSV rows with the wrong number of fields) of the whole table go
    to the quarantine before any checked row, as when the table was one statement.
    """
    malformed = malformed_rows(contract, opened)
    if malformed:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)",
            [
                [contract.name, f, line, "wrong number of fields", why, text]
                for f, line, why, text, _ in malformed
            ],
        )
    if contract.name == "members":
        keys = sorted({k for *_, k in malformed if k})
        con.execute("CREATE TEMP TABLE malformed_keys AS SELECT unnest(?::VARCHAR[]) AS k", [keys])
    if len(parts) == 1:
        yield stage_table(con, contract, opened)
        return
    for part in parts:
        yield stage_table(con, contract, part, opened)


def _load_part(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    staged: StagedTable,
    bound: datetime,
    *,
    first: bool,
) -> None:
    """Check one chunk: its good rows appended to the table, its bad rows to the quarantine.

    The checks run once over the chunk, writing only the good rows; the rows read minus the
    rows written says whether any broke a rule, and only then are the checks run again to
    write those rows (and their reasons) to the quarantine. Nothing row-level is kept aside.
    """
    n = staged.names
    refs = contract.references_members
    sql = checked_sql(
        contract,
        staged.columns,
        n,
        staged.view,
        bound,
        members="members" if refs else None,
        quarantined_members="quarantined_members" if refs else None,
    )
    name = contract.name
    internal = ", ".join(
        quote(c) for c in (n.fileno, n.file, n.line, n.reason, n.rule, n.record, n.pre)
    )
    good = f"SELECT * EXCLUDE ({internal}) FROM ({sql}) WHERE {quote(n.reason)} IS NULL"
    try:
        before = 0 if first else _count(con, name)
        if first:
            con.execute(f"CREATE TABLE {name} AS {good}")
        else:
            con.execute(f"INSERT INTO {name} BY NAME {good}")
        bad = staged.read - len(staged.malformed) - (_count(con, name) - before)
        if bad:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE bad_rows AS "
                f"SELECT * FROM ({sql}) WHERE {quote(n.reason)} IS NOT NULL"
            )
            con.execute(
                f"INSERT INTO quarantine SELECT {lit(name)}, {quote(n.file)}, "
                f"{quote(n.line)}, {quote(n.rule)}, {quote(n.reason)}, {quote(n.record)} "
                f"FROM bad_rows ORDER BY {quote(n.fileno)}, {quote(n.line)}"
            )
        if name == "members":
            checked_bad = "SELECT member_id AS k FROM bad_rows UNION ALL " if bad else ""
            con.execute(
                "CREATE TEMP TABLE quarantined_members AS SELECT DISTINCT k FROM ("
                f"{checked_bad}SELECT k FROM malformed_keys) "
                "WHERE k IS NOT NULL AND k NOT IN (SELECT member_id FROM members)"
            )
        if bad:
            con.execute("DROP TABLE bad_rows")
    except duckdb.Error as exc:
        raise _engine_error(contract, exc) from exc


def _table_counts(
    con: duckdb.DuckDBPyConnection, contract: TableContract, read: int
) -> tuple[TableCounts, int]:
    """Rows read, accepted and quarantined, and accepted events dated before their signup."""
    name = contract.name
    accepted = _count(con, name)
    pre = 0
    columns = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}
    if contract.references_members and "ts" in columns:
        # Every accepted row has an accepted member (a rule), so an inner join counts them all.
        (pre,) = con.execute(
            f"SELECT count(*) FROM {name} e JOIN members m ON e.member_id = m.member_id "
            "WHERE e.ts < m.signup_at"
        ).fetchone() or (0,)
    return TableCounts(name, read, accepted, read - accepted), int(pre)


def _engine_error(contract: TableContract, exc: duckdb.Error) -> DataContractError:
    first = str(exc).splitlines()[0]
    return DataContractError(f"the {contract.name} files cannot be read ({first})")


def validate_in_place(
    con: duckdb.DuckDBPyConnection, sources: Sources, mapping: ColumnMap, bound: datetime
) -> list[str]:
    """Check a folder read in place; create typed views of its tables, or refuse it.

    Runs the very checks ingest runs, without writing anything. Returns the names of the
    views created (one per table). Raises `DataContractError` naming the first bad row and
    how many there are when any row breaks the contract. A folder that passed before and
    has not changed since is not checked again (see `tenure.store.verified`).
    """
    con.execute("SET TimeZone = 'UTC'")
    opened = {
        name: _open(con, CONTRACTS[name], sources, mapping)
        for name in CONTRACTS
        if name in sources.tables
    }
    staged = {name: stage_table(con, CONTRACTS[name], f) for name, f in opened.items()}
    files = {name: [f.path for f in sources.tables[name]] for name in staged}
    verified = verified_for(files, {name: _rules_text(name, t) for name, t in staged.items()})
    hint = f"run `tenure ingest {sources.folder} --db FILE.duckdb` to quarantine them"
    return check_staged(con, staged, bound, str(sources.folder), hint, verified, opened)


def _rules_text(name: str, table: StagedTable) -> str:
    """The check SQL of a staged table with a fixed bound: what a verified record is keyed on."""
    contract = CONTRACTS[name]
    members = "members" if contract.references_members else None
    full = checked_sql(contract, table.columns, table.names, table.view, _EPOCH, members=members)
    quick = quick_check_sql(
        contract, table.columns, table.names, table.view, _EPOCH, members=members
    )
    variants = (full, *(p.sql for p in quick))
    return "\n".join(variants)


def validate_database(
    con: duckdb.DuckDBPyConnection, catalog: str, label: str, bound: datetime
) -> list[str]:
    """Check the contract tables of an attached database that ingest did not write."""
    con.execute("SET TimeZone = 'UTC'")
    found = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?",
            [catalog],
        ).fetchall()
    }
    staged = {
        name: stage_database_table(con, CONTRACTS[name], f"{quote(catalog)}.{name}", name)
        for name in CONTRACTS
        if name in found
    }
    if "members" not in staged:
        raise DataContractError(f"{label} has no members table")
    hint = "fix those rows, or export the tables and run `tenure ingest` to quarantine them"
    return check_staged(con, staged, bound, label, hint)


def check_staged(
    con: duckdb.DuckDBPyConnection,
    staged: dict[str, StagedTable],
    bound: datetime,
    label: str,
    hint: str,
    verified: Verified | None = None,
    opened: dict[str, list[Opened]] | None = None,
) -> list[str]:
    """Refuse when any staged row breaks the contract; else create one typed view per table.

    With `verified` (the record of these files), a folder that passed for an earlier or
    equal bound is not checked again; one that passes now is recorded. `opened` (the files
    of each table, when read in place) lets a check read Parquet dictionaries.
    """
    known = verified.lookup(bound) if verified is not None else None
    dirty: dict[str, frozenset[str]] = {}
    created = []
    for name, table in staged.items():
        contract = CONTRACTS[name]
        n = table.names
        try:
            if known is not None and name in known:
                dirty[name] = known[name]
            else:
                files = (opened or {}).get(name, [])
                dirty[name] = _check_table(con, name, table, bound, label, hint, files)
            clean = frozenset(cleanable(contract, table.columns)) - dirty[name]
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"{typed_sql(contract, table.columns, n, table.view, clean)}"
            )
        except duckdb.Error as exc:
            raise _engine_error(contract, exc) from exc
        created.append(name)
    if verified is not None and known is None:
        verified.remember(bound, dirty)
    return created


def _check_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    table: StagedTable,
    bound: datetime,
    label: str,
    hint: str,
    files: list[Opened] | None = None,
) -> frozenset[str]:
    """Refuse `table` when a row breaks the contract; else its columns that need cleaning.

    The quick check (`quick_check_sql`) says whether any row breaks a rule and which
    `cleanable` columns hold a value cleaning would change, reading each column once and
    testing rules on column summaries where they decide them (the common case ends there).
    Only when some column needs cleaning, or some row is refused, is the table read again
    row by row: checked with the cleaning on where it is needed, to count and name the
    first bad row. The typed view then cleans only the columns that need it, so an analysis
    reading a clean column reads it as stored instead of re-cleaning it on every query.
    A probe of a string column's distinct values is first tried on the dictionaries of the
    table's Parquet `files` (see `_clear_by_dictionaries`).
    """
    contract = CONTRACTS[name]
    n = table.names
    members = "members" if contract.references_members else None
    shortcut = cleanable(contract, table.columns)
    probes = quick_check_sql(contract, table.columns, n, table.view, bound, members=members)
    bad = False
    found: set[str] = set()
    for probe in probes:
        breaks, *flags = _answer(con, contract, table, probe, members, files or [])
        bad = bad or bool(breaks)
        found.update(c for c, f in zip(probe.dirty, flags, strict=True) if f)
    dirty = frozenset(c for c in shortcut if c in found)
    first = None
    count = 0
    if dirty or bad:  # the cleaning changes some value, or a row is refused
        clean = frozenset(shortcut) - dirty
        sql = checked_sql(
            contract, table.columns, n, table.view, bound, members=members, clean=clean
        )
        count, first = con.execute(
            f"SELECT count(*), arg_min({quote(n.file)} || ' line ' || {quote(n.line)} "
            f"|| ': ' || {quote(n.reason)}, ({quote(n.fileno)}, {quote(n.line)})) "
            f"FROM ({sql}) WHERE {quote(n.reason)} IS NOT NULL"
        ).fetchone() or (0, None)
    total = int(count) + len(table.malformed)
    if total:
        if table.malformed:
            f, line, why, *_ = table.malformed[0]
            first = first or f"{f} line {line}: {why}"
        raise DataContractError(
            f"{label}: {total:,} of {table.read:,} {name} row(s) break the data "
            f"contract (first: {first}); {hint}"
        )
    return dirty


def _answer(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    table: StagedTable,
    probe: Probe,
    members: str | None,
    files: list[Opened],
) -> tuple[Any, ...]:
    """The row of `probe`: all clear from the column's Parquet dictionaries if they say so."""
    column = probe.column
    if column and files and _clear_by_dictionaries(con, contract, table, column, members, files):
        return (False, *(False for _ in probe.dirty))
    return con.execute(probe.sql).fetchone() or (False,)


def _clear_by_dictionaries(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    table: StagedTable,
    column: str,
    members: str | None,
    files: list[Opened],
) -> bool:
    """Whether `column`'s probe finds nothing on the dictionaries of its Parquet files.

    A dictionary-encoded column (what writers do with repeated ids) lists each row group's
    distinct values once: about 5M entries for the 100M member ids of the Parla events,
    whose probe then costs a few CPU seconds less than grouping every row. The dictionaries
    may list values no row has, so only "nothing found" is an answer; anything else (or
    files that are not all Parquet with this text column) leaves the question to the probe
    on the rows.
    """
    values = _dictionary_values(files, column)
    if values is None:
        return False
    relation = f"stage_{contract.name}_values"
    con.register(relation, pa.table({column: values}))
    try:
        probe = values_probe(contract, table.columns, column, relation, members=members)
        if probe is None:
            return False
        found = con.execute(probe.sql).fetchone()
        return found is not None and not any(found)
    finally:
        con.unregister(relation)


def _dictionary_values(files: list[Opened], column: str) -> pa.ChunkedArray | None:
    """Every distinct value of `column` in `files` (and more, perhaps), or None if unknown.

    None unless each file is a whole Parquet file storing the column as text; the
    dictionaries are validated as UTF-8, as DuckDB validates the text it reads. They are
    read from the dictionary pages alone (`column_dictionary`: 105M member ids' row groups
    without decoding their indices); a file that reader cannot vouch for is read by
    pyarrow, which decodes each row group whole to reach its dictionary.
    """
    parts: list[pa.Array] = []
    nulls = False
    for f in files:
        raw = [r for r, target in f.columns.items() if target == column]
        if f.source.kind == "csv" or f.span is not None or len(raw) != 1 or "." in raw[0]:
            return None
        if raw[0] in (f.added or {}) or f.types.get(column) != "VARCHAR":
            return None
        paged = column_dictionary(f.source.path, raw[0])
        if paged is not None:
            nulls = nulls or paged.nulls
            parts.extend(paged.values.chunks)
            continue
        try:
            parquet = pq.ParquetFile(f.source.path, read_dictionary=raw)
            for i in range(parquet.num_row_groups):
                read = parquet.read_row_group(i, columns=raw).column(0)
                nulls = nulls or read.null_count > 0
                for chunk in read.chunks:
                    if not isinstance(chunk, pa.DictionaryArray):
                        return None
                    if not pa.types.is_string(chunk.dictionary.type):
                        return None
                    chunk.dictionary.validate(full=True)
                    parts.append(chunk.dictionary)
        except (pa.ArrowException, OSError, ValueError, KeyError):
            return None
    if nulls:
        parts.append(pa.nulls(1, pa.string()))
    return pa.chunked_array(parts, pa.string())  # the probe groups them (faster than Arrow)


def _latest(con: duckdb.DuckDBPyConnection, tables: list[str]) -> datetime | None:
    """The latest accepted timestamp, fetched as an epoch so no time-zone module is needed."""
    parts = ["SELECT max(signup_at) AS t FROM members"]
    names = {r[0] for r in con.execute("DESCRIBE members").fetchall()}
    if "ended_at" in names:
        parts.append("SELECT max(ended_at) FROM members")
    parts += [f"SELECT max(ts) FROM {t}" for t in tables if t in ("events", "exposures")]
    (us,) = con.execute(
        f"SELECT epoch_us(max(t)) FROM ({' UNION ALL '.join(parts)})"
    ).fetchone() or (None,)
    return None if us is None else _EPOCH + timedelta(microseconds=int(us))


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    return int(n)
