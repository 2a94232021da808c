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

from tenure.serve.stores.base import SQLLog, check_header
from tenure.serve.stores.schema import SQLITE, Dialect

MAGIC = b"SQLite format 3\x00"


class SQLiteLog(SQLLog):
    """Decisions and outcomes in a local ``.sqlite`` file (created when missing)."""

    kind: ClassVar[str] = "sqlite"
    dialect: ClassVar[Dialect] = SQLITE

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        check_header(self.path, MAGIC, 0, "SQLite")
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
