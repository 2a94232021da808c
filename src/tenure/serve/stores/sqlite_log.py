"""The decision log in an embedded SQLite file, in WAL mode with ``synchronous=FULL``.

WAL mode lets a commit be one sequential append; ``synchronous=FULL`` syncs it before the
commit returns, so an acknowledged decision survives a crash of the process *and* of the
machine (``NORMAL`` would only survive the former). Timestamps are ISO 8601 text in UTC.

**Shared mode** (``shared=True``, one store per worker of ``tenure serve --workers N``):
several processes write one file. Each write then runs under an exclusive ``flock`` of
``<log>.lock`` — a blocking lock the kernel hands over the moment the holder commits
(SQLite's own busy handler polls with sleeps of 1–100 ms) and releases if the holder is
killed — inside ``BEGIN IMMEDIATE``, so the check for an already stored ``decision_id``
or outcome and the insert are one atomic step across processes: a retry that reaches
another worker still finds the first decision. Inside the same transaction the store
reads the rows other workers committed since its last look (``rowid`` above the last one
it saw; the log is append-only), and returns them with the write so the worker's caps
and newcomers follow the others'.

**Checkpoints** (copying the WAL back into the database file, with a sync of its own)
are taken off the commit path: the writing connection never checkpoints
(``wal_autocheckpoint=0``), and a background thread with its own connection runs a
``PASSIVE`` checkpoint every :data:`CHECKPOINT_SECONDS`, which takes no lock a commit
waits for. A commit then costs one WAL append and its sync, never a checkpoint's too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from tenure.serve.stores.base import (
    DecisionRow,
    OutcomeRow,
    PeerDecision,
    SQLLog,
    WriteResult,
    as_utc,
    check_header,
    retry_unfresh,
)
from tenure.serve.stores.schema import SQLITE, Dialect

MAGIC = b"SQLite format 3\x00"

CHECKPOINT_SECONDS = 0.25
"""How often the background checkpointer copies committed WAL pages into the database."""

_TAIL = (
    "SELECT rowid, member_id, placement, variant, ts, context FROM exposures "
    "WHERE rowid > ? ORDER BY rowid"
)


class SQLiteLog(SQLLog):
    """Decisions and outcomes in a local ``.sqlite`` file (created when missing)."""

    kind: ClassVar[str] = "sqlite"
    dialect: ClassVar[Dialect] = SQLITE

    def __init__(self, path: str | Path, *, shared: bool = False) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.shared = shared
        check_header(self.path, MAGIC, 0, "SQLite")
        # The committer thread opens the store and is the only one to use it afterwards;
        # check_same_thread=False only lets tests open it in one thread and close in another.
        self._con = sqlite3.connect(
            str(self.path),
            isolation_level=None,
            check_same_thread=False,
            timeout=30.0,
        )
        self._lock_fd = -1
        self._last = 0
        try:
            if shared:
                self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
                # Creating the schema is a write like any other: one worker at a time.
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=FULL")
            names = {
                r[0]
                for r in self._con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                ).fetchall()
            }
            self._init_schema(names)
        finally:
            if self._lock_fd >= 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self._con.execute("PRAGMA wal_autocheckpoint=0")
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="tenure-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        con = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        try:
            while not self._stop.wait(CHECKPOINT_SECONDS):
                # Busy (another worker's checkpoint) or briefly locked: the next round.
                with contextlib.suppress(sqlite3.Error):
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            con.close()

    def _cursor(self) -> Any:
        return self._con.cursor()

    def _to_db_ts(self, ts: datetime) -> Any:
        return ts.astimezone(UTC).isoformat()

    # -- shared mode ------------------------------------------------------------------------
    def write(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]
    ) -> WriteResult:
        """One transaction; in shared mode also what the other workers committed since."""
        if not self.shared:
            return super().write(decisions, outcomes)
        return retry_unfresh(self._write_shared, decisions, outcomes)

    def _write_shared(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow], trust: bool
    ) -> WriteResult:
        # The rows are bound before the lock: the other workers wait only for the reads
        # that must see their commits, the inserts and the sync.
        bound = self._bind_all(decisions, outcomes)
        cur = self._con.cursor()
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                peers, last = self._peers(cur)
                result, new_decisions, new_outcomes = self._plan(decisions, outcomes, trust=trust)
                sets = self._insert_in(cur, new_decisions, new_outcomes, bound)
                if new_decisions:
                    cur.execute("SELECT max(rowid) FROM exposures")
                    last = int(cur.fetchone()[0])
                self._con.commit()
            except BaseException:
                self._con.rollback()
                raise
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self._sets.update(sets)
        self._last = last
        return WriteResult(result.decisions, result.outcomes, tuple(peers))

    def peers(self) -> list[PeerDecision]:
        """Decisions other workers committed since this store last looked (a read only).

        Every row up to the last one seen has been returned once, and this store's own
        rows are only written after it caught up, under the lock; so the rows above it
        are the others'.
        """
        if not self.shared:
            return []
        peers, self._last = self._peers(self._con.cursor())
        return peers

    def since(self, ts: datetime) -> list[DecisionRow]:
        """Decisions at or after ``ts``; in shared mode the tail starts after them."""
        if not self.shared:
            return super().since(ts)
        cur = self._con.cursor()
        cur.execute("BEGIN")  # one read snapshot for both statements
        try:
            cur.execute("SELECT coalesce(max(rowid), 0) FROM exposures")
            last = int(cur.fetchone()[0])
            rows = super().since(ts)
        finally:
            self._con.commit()
        self._last = last
        return rows

    def _peers(self, cur: Any) -> tuple[list[PeerDecision], int]:
        """The rows above the last one seen, and the new last rowid (not yet adopted)."""
        cur.execute(_TAIL, (self._last,))
        found = cur.fetchall()
        if not found:
            return [], self._last
        return [PeerDecision(m, p, v, as_utc(t), c) for _, m, p, v, t, c in found], int(
            found[-1][0]
        )

    def close(self) -> None:
        """Close the connection (and the lock file's descriptor), stop the checkpointer."""
        self._stop.set()
        self._checkpointer.join()
        super().close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
