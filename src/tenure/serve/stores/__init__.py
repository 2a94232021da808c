"""Decision-log stores: DuckDB and SQLite files (embedded) and PostgreSQL (server).

:func:`open_log` picks the store from what ``--log`` names: a ``postgresql://`` URL, or a
path whose suffix is ``.duckdb`` or ``.sqlite``.
"""

from __future__ import annotations

from pathlib import Path

from tenure.serve.stores.base import (
    DecisionLog,
    DecisionRow,
    LogError,
    OutcomeRow,
    OutcomeStatus,
    PeerDecision,
    WriteResult,
)

__all__ = [
    "DEFAULT_LOG",
    "DecisionLog",
    "DecisionRow",
    "LogError",
    "OutcomeRow",
    "OutcomeStatus",
    "PeerDecision",
    "WriteResult",
    "open_log",
]

DEFAULT_LOG = "tenure-decisions.sqlite"
"""Where ``tenure serve`` logs without ``--log`` (see the README for why SQLite)."""

FILE_SUFFIXES = {".duckdb": "duckdb", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite"}


def open_log(target: str | Path, *, shared: bool = False) -> DecisionLog:
    """Open (creating when new) the decision log that ``target`` names.

    ``shared`` opens it for one of several worker processes writing the same log (see
    :class:`~tenure.serve.stores.sqlite_log.SQLiteLog`); only the SQLite store has that
    mode. Raises :class:`LogError` for an unknown suffix, for an existing file or
    database that is not a Tenure decision log — it is refused, never overwritten — and
    for ``shared`` on another store.
    """
    text = str(target)
    if shared and FILE_SUFFIXES.get(Path(text).suffix.lower()) != "sqlite":
        raise LogError(
            f"--log {text}: --workers above 1 needs a .sqlite log (DuckDB lets one process "
            "write a file; PostgreSQL workers are not supported yet): use a .sqlite path or "
            "--workers 1"
        )
    if text.startswith(("postgresql://", "postgres://")):
        from tenure.serve.stores.postgres_log import PostgresLog

        return PostgresLog(text)
    if "://" in text:
        raise LogError(f"--log {text}: only postgresql:// URLs are supported as a server store")
    path = Path(text)
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LogError(f"--log {text}: name a .duckdb or .sqlite file, or a postgresql:// URL")
    if not path.parent.exists():
        raise LogError(f"--log {text}: folder {path.parent} does not exist")
    if kind == "duckdb":
        from tenure.serve.stores.duckdb_log import DuckDBLog

        return DuckDBLog(path)
    from tenure.serve.stores.sqlite_log import SQLiteLog

    return SQLiteLog(path, shared=shared)
