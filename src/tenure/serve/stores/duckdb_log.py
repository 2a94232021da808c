"""The decision log in an embedded DuckDB file.

DuckDB appends each commit to its write-ahead log and syncs it before the commit returns,
so a committed batch survives the process being killed. Timestamps are stored as naive
UTC ``TIMESTAMP`` (DuckDB's ``TIMESTAMPTZ`` needs pytz to read back into Python).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from tenure.serve.stores.base import LogError, SQLLog, check_header
from tenure.serve.stores.schema import DUCKDB, Dialect, Table

MAGIC = b"DUCK"
"""DuckDB's signature, at byte 8 of the file."""


class DuckDBLog(SQLLog):
    """Decisions and outcomes in a local ``.duckdb`` file (created when missing)."""

    kind: ClassVar[str] = "duckdb"
    dialect: ClassVar[Dialect] = DUCKDB

    def __init__(self, path: str | Path) -> None:
        import duckdb

        self.path = Path(path)
        self.location = str(self.path)
        check_header(self.path, MAGIC, 8, "DuckDB")
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise LogError(f"--log {self.path}: cannot open it as DuckDB: {exc}") from exc
        names = {
            r[0] for r in self._con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        self._init_schema(names)

    def _cursor(self) -> Any:
        return self._con

    def _send(self, cur: Any, table: Table, rows: Sequence[tuple[Any, ...]], conflict: str) -> None:
        """Insert through Arrow: DuckDB's ``executemany`` costs milliseconds per row."""
        import pyarrow as pa

        types = {"ts": pa.timestamp("us"), "float": pa.float64(), "text": pa.string()}
        # Typed columns, so an all-null column of a batch still has the table's type.
        schema = pa.schema([(c.name, types[c.kind]) for c in table.columns])
        batch = pa.table(list(zip(*rows, strict=True)), schema=schema)
        cur.register("_tenure_batch", batch)
        try:
            cur.execute(f"INSERT INTO {table.name} SELECT * FROM _tenure_batch{conflict}")
        finally:
            cur.unregister("_tenure_batch")

    def _to_db_ts(self, ts: datetime) -> Any:
        return ts.astimezone(UTC).replace(tzinfo=None)
