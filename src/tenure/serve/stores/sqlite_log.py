"""The decision log in an embedded SQLite file, in WAL mode with ``synchronous=FULL``.

WAL mode lets a commit be one sequential append; ``synchronous=FULL`` syncs it before the
commit returns, so an acknowledged decision survives a crash of the process *and* of the
machine (``NORMAL`` would only survive the former). Timestamps are ISO 8601 text in UTC.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from tenure.serve.stores.base import LogError, SQLLog

DDL = (
    "CREATE TABLE tenure_log_meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE exposures (
        decision_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, ts TEXT NOT NULL,
        experiment TEXT NOT NULL, variant TEXT, placement TEXT NOT NULL,
        propensity REAL NOT NULL, eligible TEXT NOT NULL, benefit TEXT, text TEXT,
        reason TEXT, country TEXT, plan TEXT, channel TEXT, context TEXT NOT NULL)""",
    "CREATE INDEX exposures_ts ON exposures (ts)",
    """CREATE TABLE outcomes (
        decision_id TEXT NOT NULL, outcome TEXT NOT NULL, ts TEXT NOT NULL,
        reward REAL, event TEXT, PRIMARY KEY (decision_id, outcome))""",
)

MAGIC = b"SQLite format 3\x00"


class SQLiteLog(SQLLog):
    """Decisions and outcomes in a local ``.sqlite`` file (created when missing)."""

    kind: ClassVar[str] = "sqlite"
    ddl: ClassVar[tuple[str, ...]] = DDL

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as fh:
                header = fh.read(16)
            if header != MAGIC:
                raise LogError(
                    f"--log {self.path} exists and is not a SQLite database; refusing to "
                    "overwrite it (choose a new path)"
                )
        # The committer thread opens the store and is the only one to use it afterwards;
        # check_same_thread=False only lets tests open it in one thread and close in another.
        self._con = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")
        names = {
            r[0]
            for r in self._con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
        }
        self._init_schema(names)

    def _cursor(self) -> Any:
        return self._con.cursor()

    def _to_db_ts(self, ts: datetime) -> Any:
        return ts.astimezone(UTC).isoformat()
