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

from tenure.serve.stores.base import (
    EXPOSURE_COLUMNS,
    OUTCOME_COLUMNS,
    DecisionRow,
    LogError,
    OutcomeRow,
    SQLLog,
)

DDL = (
    "CREATE TABLE tenure_log_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE exposures (
        decision_id VARCHAR PRIMARY KEY, member_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL,
        experiment VARCHAR NOT NULL, variant VARCHAR, placement VARCHAR NOT NULL,
        propensity DOUBLE NOT NULL, eligible VARCHAR NOT NULL, benefit VARCHAR, text VARCHAR,
        reason VARCHAR, country VARCHAR, plan VARCHAR, channel VARCHAR, context VARCHAR NOT NULL)""",
    """CREATE TABLE outcomes (
        decision_id VARCHAR NOT NULL, outcome VARCHAR NOT NULL, ts TIMESTAMP NOT NULL,
        reward DOUBLE, event VARCHAR, PRIMARY KEY (decision_id, outcome))""",
)

MAGIC = b"DUCK"


class DuckDBLog(SQLLog):
    """Decisions and outcomes in a local ``.duckdb`` file (created when missing)."""

    kind: ClassVar[str] = "duckdb"
    ddl: ClassVar[tuple[str, ...]] = DDL

    def __init__(self, path: str | Path) -> None:
        import duckdb

        self.path = Path(path)
        self.location = str(self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as fh:
                header = fh.read(16)
            if header[8:12] != MAGIC:
                raise LogError(
                    f"--log {self.path} exists and is not a DuckDB database; refusing to "
                    "overwrite it (choose a new path)"
                )
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

    def _insert(self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]) -> None:
        """Insert through Arrow: DuckDB's ``executemany`` costs milliseconds per row."""
        import pyarrow as pa

        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            if decisions:
                rows = [self._bind_decision(d) for d in decisions]
                batch = pa.table(list(zip(*rows, strict=True)), schema=_schema(EXPOSURE_COLUMNS))
                con.register("_tenure_batch", batch)
                con.execute("INSERT INTO exposures SELECT * FROM _tenure_batch")
                con.unregister("_tenure_batch")
            if outcomes:
                rows = [self._bind_outcome(o) for o in outcomes]
                batch = pa.table(list(zip(*rows, strict=True)), schema=_schema(OUTCOME_COLUMNS))
                con.register("_tenure_batch", batch)
                con.execute("INSERT INTO outcomes SELECT * FROM _tenure_batch")
                con.unregister("_tenure_batch")
            con.commit()
        except BaseException:
            con.rollback()
            raise

    def _to_db_ts(self, ts: datetime) -> Any:
        return ts.astimezone(UTC).replace(tzinfo=None)


def _schema(columns: Sequence[str]) -> Any:
    """Arrow types of a batch, so an all-null column still has the table's type."""
    import pyarrow as pa

    special = {"ts": pa.timestamp("us"), "propensity": pa.float64(), "reward": pa.float64()}
    return pa.schema([(c, special.get(c, pa.string())) for c in columns])
