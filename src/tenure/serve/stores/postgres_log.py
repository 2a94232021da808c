"""The decision log in PostgreSQL: the server store, for more than one machine or process.

Commits use PostgreSQL's defaults (``synchronous_commit = on``): the commit returns after
the WAL record is flushed. Rows of a batch are sent with psycopg's pipelined
``executemany``, so a batch costs one round trip and one flush, not one per row.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tenure.errors import BackendError
from tenure.serve.stores.base import LogError, SQLLog
from tenure.serve.stores.schema import POSTGRES, Dialect


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print or log)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresLog(SQLLog):
    """Decisions and outcomes in the ``public`` schema of a PostgreSQL database."""

    kind: ClassVar[str] = "postgresql"
    placeholder: ClassVar[str] = "%s"
    dialect: ClassVar[Dialect] = POSTGRES

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise BackendError(
                "the PostgreSQL log needs psycopg: pip install 'tenure[postgres]'"
            ) from exc
        self.location = redact(url)
        try:
            self._con = psycopg.connect(url)
        except psycopg.Error as exc:
            raise LogError(f"--log {self.location}: cannot connect: {exc}".strip()) from exc
        cur = self._con.cursor()
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        names = {r[0] for r in cur.fetchall()}
        self._con.commit()
        self._init_schema(names)
        self._con.commit()

    def _begin(self, cur: Any) -> None:
        """Nothing to do: psycopg opens the transaction itself on the first statement."""
