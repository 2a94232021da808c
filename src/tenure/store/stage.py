"""Expose the files of one table to DuckDB as one relation, columns matched by name.

Each file becomes a view with its rows, its relative file name and each row's line (CSV,
the physical line where the record starts, header = line 1) or row (Parquet, from 1).
Parts are combined with ``UNION ALL BY NAME``: a part whose columns are in another order,
or that lacks an optional column, lines up by name, never by position. When parts store a
column with different types (a CSV part beside a Parquet part), that column is read as
text in every part and parsed once by the contract's rules.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, replace

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.errors import DataContractError
from tenure.schema import TableContract
from tenure.store.checks import Internal, internal_names, lit, quote, type_problem
from tenure.store.csvfile import CsvLayout, csv_layout, malformed_records, read_csv_records
from tenure.store.numbers import numeric_attributes
from tenure.store.sources import SourceFile

__all__ = [
    "Opened",
    "StagedTable",
    "chunks",
    "malformed_rows",
    "open_file",
    "stage_database_table",
    "stage_table",
]

CSV_BLOCK = 1 << 16
"""Records per block at which a CSV file read in runs can be cut into chunks."""

CSV_RUN_BYTES = 256 * 2**20
"""Most bytes of CSV text in one chunk (read as Arrow text, about four times that in memory)."""


@dataclass
class Opened:
    """One file, opened: its columns (after mapping), and for a CSV its rows.

    Those rows are read already (``arrow``), or their places are known (``layout``) so that
    a run of them at a time is read when staged.
    """

    source: SourceFile
    columns: dict[str, str]
    """Input column name -> contract name (identity unless mapped)."""
    types: dict[str, str]
    """Contract-side column name -> DuckDB type."""
    arrow: pa.Table | None = None
    lines: pa.Array | None = None
    malformed: tuple[tuple[int, str, str], ...] = ()
    rows: int = 0
    added: dict[str, str] | None = None
    """Hive partition columns the file lacks, with the value its path gives them."""
    groups: tuple[int, ...] = ()
    """Rows per block where a big file can be cut into chunks: a Parquet file's row groups, a
    CSV file's runs of :data:`CSV_BLOCK` records (when it is read in runs)."""
    span: tuple[int, int] | None = None
    """Only the rows ``[start, stop)`` of the file (0-based), when it is read in chunks."""
    layout: CsvLayout | None = None
    """A CSV file read a run of records at a time, when staged (None: read whole, or Parquet)."""


@dataclass(frozen=True)
class StagedTable:
    """The union of a table's files as a view, its column types, rows read, bad records."""

    view: str
    columns: dict[str, str]
    names: Internal
    read: int
    malformed: tuple[tuple[str, int, str, str, str | None], ...]
    """(file, line, reason, raw text, the key field when it can be read) per bad record."""


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    return {row[0]: str(row[1]) for row in con.execute(f"DESCRIBE {sql}").fetchall()}


def open_file(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    contract: TableContract,
    mapping: Mapping[str, str],
) -> Opened:
    """Read a file's header (and a CSV's layout, or its rows) and check its columns."""
    if src.kind == "csv":
        layout = csv_layout(src.path, src.name)
        if contract.name != "members" and layout.offsets is not None:
            # Read when staged, a chunk's records at a time: a 3.3 GB events file read whole
            # took 13 GB. Members stay whole: their attributes are typed on every value.
            raw_types = dict.fromkeys((h.strip() for h in layout.header), "VARCHAR")
            n = layout.records
            blocks = (CSV_BLOCK,) * (n // CSV_BLOCK) + ((n % CSV_BLOCK,) if n % CSV_BLOCK else ())
            malformed = tuple(malformed_records(src.path, layout))
            opened = Opened(src, {}, {}, malformed=malformed, rows=n, groups=blocks, layout=layout)
        else:
            read = read_csv_records(src.path, src.name, layout)
            cols = read.table.column_names
            extra = [c for c in cols if contract.column(mapping.get(c, c)) is None]
            table, numeric = (
                numeric_attributes(read.table, extra)
                if contract.name == "members"
                else (read.table, {})
            )
            raw_types = {c: numeric.get(c, "VARCHAR") for c in cols}
            lines = pa.array(read.lines, pa.int64())
            opened = Opened(src, {}, {}, table, lines, tuple(read.malformed), rows=layout.records)
    else:
        try:
            raw_types = _describe(con, f"SELECT * FROM read_parquet({lit(str(src.path))})")
            groups = _row_groups(con, src.path)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise DataContractError(f"cannot be read as Parquet ({first})", file=src.name) from exc
        opened = Opened(src, {}, {}, rows=sum(groups), groups=groups)
    opened.added = {key: value for key, value in src.partition if key not in raw_types}
    raw_types.update(dict.fromkeys(opened.added, "VARCHAR"))
    columns = {c: mapping.get(c, c) for c in raw_types}
    targets = list(columns.values())
    clash = sorted({t for t in targets if targets.count(t) > 1})
    if clash:
        raise DataContractError(
            f"column(s) {', '.join(clash)} appear twice after the column mapping "
            "(a column is mapped onto a name the file already has); map only one",
            file=src.name,
        )
    opened.columns = columns
    opened.types = {columns[c]: t for c, t in raw_types.items()}
    missing = [c for c in contract.required if c not in opened.types]
    if missing:
        hint = " (map other names with --map source=contract)" if not mapping else ""
        raise DataContractError(
            f"{contract.name} is missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(raw_types)}){hint}",
            file=src.name,
        )
    for name, sql_type in opened.types.items():
        col = contract.column(name)
        problem = type_problem(col, sql_type) if col is not None else None
        if problem:
            raise DataContractError(problem, file=src.name, column=name)
    return opened


def _row_groups(con: duckdb.DuckDBPyConnection, path: object) -> tuple[int, ...]:
    """Rows per row group of a Parquet file, from its footer (no data is read)."""
    rows = con.execute(
        "SELECT row_group_id, max(row_group_num_rows) FROM parquet_metadata(?) "
        "GROUP BY ALL ORDER BY 1",
        [str(path)],
    ).fetchall()
    if not rows:  # a file with no row group still has a schema: zero rows
        return ()
    return tuple(int(n) for _, n in rows)


def chunks(files: list[Opened], max_rows: int) -> list[list[Opened]]:
    """The files of one table cut into runs of about `max_rows` rows, in file order.

    A Parquet file larger than `max_rows` is cut at row-group boundaries (each piece reads
    only its row groups); a CSV file read in runs (``layout``) at :data:`CSV_BLOCK` records,
    into runs of at most :data:`CSV_RUN_BYTES` of text as well; small files are grouped.
    CSV files already read stay whole. Every row is in exactly one chunk, and chunk order is
    file order, so quarantined rows keep their file and line order across chunks.
    """
    out: list[list[Opened]] = []
    current: list[Opened] = []
    size = 0

    def close() -> None:
        nonlocal current, size
        if current:
            out.append(current)
        current, size = [], 0

    for f in files:
        own_numbers = "file_row_number" in f.types or "file_row_number" in f.columns
        cuttable = f.arrow is None and not own_numbers and f.span is None and len(f.groups) > 1
        limit = _run_rows(f, max_rows)
        if not cuttable or f.rows <= limit:
            if size and size + f.rows > max_rows:
                close()
            current.append(f)
            size += f.rows
            continue
        close()
        start = stop = 0
        for n in f.groups:
            if stop > start and stop - start + n > limit:
                out.append([replace(f, span=(start, stop), rows=stop - start)])
                start = stop
            stop += n
        out.append([replace(f, span=(start, stop), rows=stop - start)])
    close()
    return out


def _run_rows(f: Opened, max_rows: int) -> int:
    """Rows per chunk of `f`: `max_rows`, and for CSV read in runs at most CSV_RUN_BYTES."""
    if f.layout is None or f.layout.offsets is None or not f.layout.records:
        return max_rows
    per_record = float(f.layout.offsets[-1]) / f.layout.records
    return max(1, min(max_rows, int(CSV_RUN_BYTES / per_record)))


def stage_table(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    files: list[Opened],
    every: list[Opened] | None = None,
) -> StagedTable:
    """Create the view ``stage_<table>``: every file's rows, matched by column name.

    `every` (default `files`) is all the table's files when `files` is one chunk of them:
    column names and types are decided over all of them, so every chunk has the same
    columns, of the same types (a column a chunk's files lack is NULL there).
    """
    every = files if every is None else every
    names = internal_names([c for f in every for c in f.types])
    union_types: dict[str, set[str]] = {}
    for f in every:
        for c, t in f.types.items():
            union_types.setdefault(c, set()).add(t)
    columns = {c: _union_type(ts) for c, ts in union_types.items()}
    selects = []
    for k, f in enumerate(files):
        view = f"stage_{contract.name}_{k}"
        source = _file_relation(con, f, view, names)
        outputs = []
        for raw, target in f.columns.items():
            added = f.added or {}
            expr = lit(added[raw]) if raw in added else quote(raw)
            if f.types[target] != columns[target]:
                expr = f"CAST({expr} AS {columns[target]})"
            outputs.append(f"{expr} AS {quote(target)}")
        outputs += [
            f"CAST(NULL AS {columns[c]}) AS {quote(c)}" for c in columns if c not in f.types
        ]
        outputs += [
            f"{k} AS {quote(names.fileno)}",
            f"{lit(f.source.name)} AS {quote(names.file)}",
            f"{quote(names.line)}",
        ]
        selects.append(f"SELECT {', '.join(outputs)} FROM {source}")
    view = f"stage_{contract.name}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {' UNION ALL BY NAME '.join(selects)}")
    rows = sum(f.rows for f in files)
    return StagedTable(view, columns, names, rows, malformed_rows(contract, files))


def malformed_rows(
    contract: TableContract, files: list[Opened]
) -> tuple[tuple[str, int, str, str, str | None], ...]:
    """(file, line, reason, raw text, the key field when it can be read) per bad record.

    A CSV file read in runs lists, in each chunk, only the bad records of its run.
    """
    out: list[tuple[str, int, str, str, str | None]] = []
    for f in files:
        bad = f.malformed
        if f.span is not None and f.layout is not None:
            first, last = f.layout.starts[f.span[0]], f.layout.starts[f.span[1] - 1]
            bad = tuple(m for m in bad if first <= m[0] <= last)
        key = _key_position(f, contract)
        out += [(f.source.name, line, why, text, _field(text, key)) for line, why, text in bad]
    return tuple(out)


def _union_type(types: set[str]) -> str:
    """The one type of a column its files give ``types``.

    Theirs if they agree; ``DOUBLE`` for whole numbers in some files and decimals in others
    (CSV attributes, see :mod:`tenure.store.numbers`); text when they disagree otherwise.
    """
    if len(types) == 1:
        return next(iter(types))
    return "DOUBLE" if types == {"BIGINT", "DOUBLE"} else "VARCHAR"


def _key_position(f: Opened, contract: TableContract) -> int | None:
    """Where the unique key (or member_id) sits in the file's header, if it has one."""
    key = contract.unique or "member_id"
    raw = [c for c, target in f.columns.items() if target == key]
    order = list(f.columns)
    return order.index(raw[0]) if raw else None


def _field(text: str, position: int | None) -> str | None:
    """Field `position` of one malformed CSV record, so its member can still be named."""
    if position is None:
        return None
    fields = next(csv.reader([text]), [])
    return fields[position].strip() if position < len(fields) else None


def _file_relation(con: duckdb.DuckDBPyConnection, f: Opened, view: str, names: Internal) -> str:
    """A relation with the file's columns plus ``names.line``; registers Arrow data if needed."""
    line = quote(names.line)
    if f.layout is not None:
        read = read_csv_records(f.source.path, f.source.name, f.layout, f.span)
        lines = pa.array(read.lines, pa.int64())
        con.register(f"{view}_arrow", read.table.append_column(names.line, lines))
        return f"{view}_arrow"
    if f.arrow is not None:
        assert f.lines is not None
        con.register(f"{view}_arrow", f.arrow.append_column(names.line, f.lines))
        return f"{view}_arrow"
    path = lit(str(f.source.path))
    if "file_row_number" in f.types or "file_row_number" in f.columns:
        # DuckDB cannot number the rows of a file that has its own `file_row_number`.
        table = pq.read_table(f.source.path)
        table = table.append_column(names.line, pa.array(range(1, table.num_rows + 1), pa.int64()))
        con.register(f"{view}_arrow", table)
        return f"{view}_arrow"
    where = ""
    if f.span is not None:  # DuckDB skips the row groups outside the range
        where = f" WHERE file_row_number >= {f.span[0]} AND file_row_number < {f.span[1]}"
    return (
        f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS {line} "
        f"FROM read_parquet({path}, file_row_number = true){where})"
    )


def stage_database_table(
    con: duckdb.DuckDBPyConnection, contract: TableContract, relation: str, label: str
) -> StagedTable:
    """Stage a table of a database not written by ingest, rows numbered from 1."""
    types = _describe(con, f"SELECT * FROM {relation}")
    missing = [c for c in contract.required if c not in types]
    if missing:
        raise DataContractError(
            f"{contract.name} is missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(types)})",
            file=label,
        )
    for name, sql_type in types.items():
        col = contract.column(name)
        problem = type_problem(col, sql_type) if col is not None else None
        if problem:
            raise DataContractError(problem, file=label, column=name)
    names = internal_names(types)
    (rows,) = con.execute(f"SELECT count(*) FROM {relation}").fetchone() or (0,)
    view = f"stage_{contract.name}"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *, 0 AS {quote(names.fileno)}, "
        f"{lit(label)} AS {quote(names.file)}, row_number() OVER () AS {quote(names.line)} "
        f"FROM {relation}"
    )
    return StagedTable(view, types, names, int(rows), ())
