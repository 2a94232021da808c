"""The decision log's rows, its one protocol, and the SQL every backend shares.

The log *is* the data contract's ``exposures`` table (one row per decision, the policy
version as ``experiment``, the creative as ``variant``, null when nothing was eligible, the
eligible set by reference into ``eligible_sets``) plus an ``outcomes`` table keyed by
``(decision_id, outcome)`` — declared once in :mod:`~tenure.serve.stores.schema`. Both keys
make retries harmless:
a client ``decision_id`` is stored once, and an outcome once per decision.

Every method of a store is called from one thread only (the group committer's), so a
store holds one connection and needs no locking of its own. :meth:`SQLLog.write` looks
up which rows already exist *before* inserting, in the same thread, which is what lets a
retry answer with the decision stored the first time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol

from pydantic_core import to_json

from tenure.errors import SpecError
from tenure.serve.stores.schema import (
    CONTEXT_COLUMNS,
    ELIGIBLE_SETS,
    EXPOSURE_COLUMNS,
    EXPOSURES,
    OUTCOME_COLUMNS,
    OUTCOMES,
    TABLES,
    Dialect,
    Table,
    render,
)

__all__ = [
    "CONTEXT_COLUMNS",
    "EXPOSURE_COLUMNS",
    "FORMAT",
    "OUTCOME_COLUMNS",
    "DecisionLog",
    "DecisionRow",
    "LogError",
    "OutcomeRow",
    "OutcomeStatus",
    "PeerDecision",
    "SQLLog",
    "WriteResult",
    "check_header",
    "eligible_set",
]

FORMAT = "tenure-decision-log/2"
"""Written to the store's ``tenure_log_meta`` table; a store holding anything else is refused."""


class LogError(SpecError):
    """The decision log cannot be opened as asked; the message names the path and the fix."""


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One decision as logged: what was shown, with which probability, out of which set."""

    decision_id: str
    member_id: str
    ts: datetime
    experiment: str
    variant: str | None
    placement: str
    propensity: float
    eligible: tuple[str, ...]
    benefit: str | None = None
    text: str | None = None
    reason: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)
    eligible_base: tuple[str, ...] | None = None
    """The set before the same-creative cap removed some of it (None: it removed nothing).

    ``eligible`` is this set minus the removed creatives, in the same order; the log
    stores the shared base set once and the few removed ids on the row.
    """
    eligible_removed: tuple[str, ...] | None = field(default=None, compare=False)
    """Those removed ids in the base set's order, when the decider already knows them.

    A hint, not data: with it the row is written without comparing the two sets.
    """
    fresh: bool = field(default=False, compare=False)
    """The server made ``decision_id`` (the client sent none): no stored row holds it.

    A hint, not data: a write looks up only the other ids before inserting. Should a
    client have claimed a server-made id beforehand, the insert fails on the key and the
    write is redone with every id looked up (:meth:`SQLLog.write`).
    """

    def values(self) -> tuple[Any, ...]:
        """The row in :data:`EXPOSURE_COLUMNS` order, as stored (JSON for lists and maps)."""
        promoted = tuple(self.context.get(c) for c in CONTEXT_COLUMNS)
        base = self.eligible_base
        drop = None
        if base is not None:
            removed = self.eligible_removed
            if removed is None:
                kept = set(self.eligible)
                removed = tuple([i for i in base if i not in kept])
            drop = to_json(removed).decode()
        return (
            self.decision_id,
            self.member_id,
            self.ts,
            self.experiment,
            self.variant,
            self.placement,
            self.propensity,
            eligible_set(self.eligible if base is None else base)[0],
            drop,
            self.benefit,
            self.text,
            self.reason,
            *promoted,
            to_json(dict(sorted(self.context.items()))).decode(),
        )

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> DecisionRow:
        """Rebuild a row read back in :data:`EXPOSURE_COLUMNS` order.

        The readers join ``eligible_sets``, so the ``eligible_set`` position holds the ids.
        """
        row = dict(zip(EXPOSURE_COLUMNS, values, strict=True))
        base = _ids_of(row["eligible_set"])
        eligible = base
        if row["eligible_drop"] is not None:
            drop = set(json.loads(row["eligible_drop"]))
            eligible = tuple(i for i in base if i not in drop)
        return cls(
            decision_id=str(row["decision_id"]),
            member_id=str(row["member_id"]),
            ts=as_utc(row["ts"]),
            experiment=str(row["experiment"]),
            variant=row["variant"],
            placement=str(row["placement"]),
            propensity=float(row["propensity"]),
            eligible=eligible,
            benefit=row["benefit"],
            text=row["text"],
            reason=row["reason"],
            context=json.loads(row["context"]),
            eligible_base=None if eligible is base else base,
        )


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """What happened after a decision: a numeric ``reward`` or a named ``event``, not both."""

    decision_id: str
    ts: datetime
    reward: float | None = None
    event: str | None = None

    @property
    def outcome(self) -> str:
        """The idempotency key within a decision: ``reward`` or ``event:<name>``."""
        return "reward" if self.event is None else f"event:{self.event}"

    def values(self) -> tuple[Any, ...]:
        """The row in :data:`OUTCOME_COLUMNS` order."""
        return (self.decision_id, self.outcome, self.ts, self.reward, self.event)


class OutcomeStatus(Enum):
    """What :meth:`DecisionLog.write` did with one outcome."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    UNKNOWN_DECISION = "unknown_decision"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did, per input row and in input order.

    ``decisions`` holds each decision as stored and whether it is new; ``outcomes`` what
    happened to each outcome.
    """

    decisions: tuple[tuple[DecisionRow, bool], ...]
    outcomes: tuple[OutcomeStatus, ...]
    peers: tuple[PeerDecision, ...] = ()
    """Decisions other processes committed since this store last looked (shared logs only)."""


class PeerDecision(NamedTuple):
    """A decision another worker process committed to a shared log.

    Only what a worker needs to keep its frequency caps and newcomers in step with the
    others; ``context`` is the stored JSON text, parsed only for a newcomer's sign-up.
    """

    member_id: str
    placement: str
    variant: str | None
    ts: datetime
    context: str


class DecisionLog(Protocol):
    """Where decisions and outcomes are made durable; one method does the writing."""

    kind: ClassVar[str]
    location: str

    def write(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]
    ) -> WriteResult:
        """Insert what is new in one transaction and return once it is committed."""
        ...

    def get(self, decision_id: str) -> DecisionRow | None:
        """The stored decision, or None."""
        ...

    def since(self, ts: datetime) -> list[DecisionRow]:
        """Decisions at or after ``ts`` (used to warm the frequency-cap cache on start)."""
        ...

    def outcomes(self) -> list[OutcomeRow]:
        """Every stored outcome, oldest first."""
        ...

    def ping(self) -> None:
        """Commit a small write; raise when the log is not writable."""
        ...

    def count(self) -> tuple[int, int]:
        """Rows in (exposures, outcomes)."""
        ...

    def close(self) -> None:
        """Release the connection (after the last commit)."""
        ...


_PLAIN = re.compile(r"[A-Za-z0-9_:.\-]*")


@functools.lru_cache(maxsize=4096)
def eligible_set(ids: tuple[str, ...]) -> tuple[str, str]:
    """The set's id (a content hash) and the JSON list ``eligible_sets`` stores, cached.

    Most decisions at a placement share one of a few eligible sets, so each set is encoded
    and hashed once. The id is a digest of the JSON, so separate writers agree on it.

    >>> eligible_set(("home:a", "home:b"))[1]
    '["home:a","home:b"]'
    """
    if _PLAIN.fullmatch("".join(ids)):  # catalogue ids: nothing JSON would escape
        text = '["' + '","'.join(ids) + '"]' if ids else "[]"
    else:
        text = json.dumps(list(ids), separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest(), text


@functools.lru_cache(maxsize=4096)
def _ids_of(text: str) -> tuple[str, ...]:
    """A stored set's ids; cached, since the rows read back share a few thousand sets."""
    return tuple(json.loads(text))


def retry_unfresh(
    write: Callable[[Sequence[DecisionRow], Sequence[OutcomeRow], bool], WriteResult],
    decisions: Sequence[DecisionRow],
    outcomes: Sequence[OutcomeRow],
) -> WriteResult:
    """``write(decisions, outcomes, trust=True)``; if it fails and trusted a fresh id, once more.

    A server-made id is unique among the server's own, but a client could have sent one
    as its ``decision_id`` before the server made it; the insert then fails on the key
    (every driver has its own error type, so any failure counts), and the second write
    looks every id up and answers with the stored row, as for a retry.
    """
    try:
        return write(decisions, outcomes, True)
    except Exception:
        if not any(d.fresh for d in decisions):
            raise
    return write(decisions, outcomes, False)


def check_header(path: Path, magic: bytes, offset: int, engine: str) -> None:
    """Refuse an existing, non-empty file that is not a database of ``engine``.

    ``magic`` is the engine's file signature at byte ``offset``; the file is only read.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        header = fh.read(offset + len(magic))
    if header[offset:] != magic:
        raise LogError(
            f"--log {path} exists and is not a {engine} database; refusing to overwrite it "
            "(choose a new path)"
        )


_SELECT_DECISIONS = (
    "SELECT "
    + ", ".join("s.ids" if c == "eligible_set" else f"e.{c}" for c in EXPOSURE_COLUMNS)
    + " FROM exposures e JOIN eligible_sets s ON s.set_id = e.eligible_set"
)
"""Decisions in :data:`EXPOSURE_COLUMNS` order, with each eligible set's ids joined in."""


def as_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime (stores keep naive UTC or ISO text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SQLLog:
    """The write algorithm, once, over a DB-API connection; backends give the dialect.

    Subclasses set ``kind``, ``placeholder`` and ``dialect`` and open ``self._con``; they
    may override :meth:`_to_db_ts` (how a timestamp is bound) and :meth:`_send` (the insert).
    """

    kind: ClassVar[str] = "sql"
    placeholder: ClassVar[str] = "?"
    dialect: ClassVar[Dialect]
    location: str
    _con: Any
    _sets: set[str]

    # -- schema ---------------------------------------------------------------------------
    def _init_schema(self, tables: set[str]) -> None:
        """Create the tables in an empty store, or check an existing store is a Tenure log.

        The connection is closed when the store is refused.
        """
        try:
            self._check_schema(tables)
            cur = self._cursor()
            cur.execute("SELECT set_id FROM eligible_sets")
            self._sets = {str(r[0]) for r in cur.fetchall()}
        except BaseException:
            self._con.close()
            raise

    def _check_schema(self, tables: set[str]) -> None:
        if not tables:
            cur = self._cursor()
            for statement in render(self.dialect):
                cur.execute(statement)
            for key, value in (("format", FORMAT), ("heartbeat", "")):
                cur.execute(
                    f"INSERT INTO tenure_log_meta (key, value) VALUES ({self.placeholder}, {self.placeholder})",
                    (key, value),
                )
            self._con.commit()
            return
        if "tenure_log_meta" not in tables:
            listed = ", ".join(sorted(tables))
            raise LogError(
                f"--log {self.location} already holds tables ({listed}) and no Tenure decision "
                "log; refusing to write into it (choose a new file or an empty database)"
            )
        cur = self._cursor()
        cur.execute(
            f"SELECT value FROM tenure_log_meta WHERE key = {self.placeholder}", ("format",)
        )
        found = cur.fetchone()
        if found is None or found[0] != FORMAT:
            raise LogError(
                f"--log {self.location} is a decision log of format {found[0] if found else '?'}, "
                f"not {FORMAT}; refusing to write into it (choose a new file)"
            )
        for table in TABLES:
            columns = self._columns(table.name) if table.name in tables else []
            if tuple(columns) != table.names:
                raise LogError(
                    f"--log {self.location}: table {table.name} has columns {columns}, "
                    f"expected {list(table.names)}; refusing to write into it (choose a new file)"
                )

    def _columns(self, table: str) -> list[str]:
        cur = self._cursor()
        cur.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        return [d[0] for d in cur.description]

    # -- dialect --------------------------------------------------------------------------
    def _to_db_ts(self, ts: datetime) -> Any:
        return ts

    def _bind_decision(self, row: DecisionRow) -> tuple[Any, ...]:
        values = row.values()
        return (values[0], values[1], self._to_db_ts(row.ts), *values[3:])

    def _bind_outcome(self, row: OutcomeRow) -> tuple[Any, ...]:
        values = row.values()
        return (values[0], values[1], self._to_db_ts(row.ts), *values[3:])

    def _cursor(self) -> Any:
        """The object statements run on (DuckDB's cursors are separate connections)."""
        return self._con.cursor()

    def _marks(self, n: int) -> str:
        return ", ".join([self.placeholder] * n)

    # -- protocol -------------------------------------------------------------------------
    def write(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]
    ) -> WriteResult:
        """Insert the new decisions and outcomes in one transaction (one commit, one fsync)."""
        return retry_unfresh(self._write, decisions, outcomes)

    def _write(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow], trust: bool
    ) -> WriteResult:
        result, new_decisions, new_outcomes = self._plan(decisions, outcomes, trust=trust)
        if new_decisions or new_outcomes:
            self._insert(new_decisions, new_outcomes)
        return result

    def _plan(
        self,
        decisions: Sequence[DecisionRow],
        outcomes: Sequence[OutcomeRow],
        *,
        trust: bool = False,
    ) -> tuple[WriteResult, list[DecisionRow], list[OutcomeRow]]:
        """What a write returns, and the rows of it that are new (the rest are retries).

        With ``trust``, :attr:`DecisionRow.fresh` rows are taken as new without a look-up.
        """
        known = self._existing(
            [d.decision_id for d in decisions if not (trust and d.fresh)]
            + [o.decision_id for o in outcomes]
        )
        stored: list[tuple[DecisionRow, bool]] = []
        new_decisions: list[DecisionRow] = []
        for d in decisions:
            if d.decision_id in known:
                stored.append((known[d.decision_id], False))
            else:
                known[d.decision_id] = d
                new_decisions.append(d)
                stored.append((d, True))
        seen = self._existing_outcomes({o.decision_id for o in outcomes if o.decision_id in known})
        statuses: list[OutcomeStatus] = []
        new_outcomes: list[OutcomeRow] = []
        for o in outcomes:
            key = (o.decision_id, o.outcome)
            if o.decision_id not in known:
                statuses.append(OutcomeStatus.UNKNOWN_DECISION)
            elif key in seen:
                statuses.append(OutcomeStatus.DUPLICATE)
            else:
                seen.add(key)
                new_outcomes.append(o)
                statuses.append(OutcomeStatus.STORED)
        return WriteResult(tuple(stored), tuple(statuses)), new_decisions, new_outcomes

    def _insert(self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]) -> None:
        cur = self._cursor()
        try:
            self._begin(cur)
            sets = self._insert_in(cur, decisions, outcomes)
            self._con.commit()
        except BaseException:
            self._con.rollback()
            raise
        self._sets.update(sets)

    def _insert_in(
        self,
        cur: Any,
        decisions: Sequence[DecisionRow],
        outcomes: Sequence[OutcomeRow],
        bound: Mapping[int, tuple[Any, ...]] | None = None,
    ) -> dict[str, str]:
        """Insert the rows in the open transaction; return the eligible sets it added.

        ``bound`` maps ``id(row)`` to its bound values, for a caller that bound them before
        taking a lock (:meth:`_bind_all`); rows missing from it are bound here.
        """
        sets: dict[str, str] = {}
        for d in decisions:
            set_id, ids = eligible_set(d.eligible if d.eligible_base is None else d.eligible_base)
            if set_id not in self._sets:
                sets[set_id] = ids
        if sets:
            # Another writer (a second worker) may have stored the same set meanwhile.
            self._insert_rows(cur, ELIGIBLE_SETS, list(sets.items()), ignore_existing=True)
        done = bound or {}
        if decisions:
            rows = [done.get(id(d)) or self._bind_decision(d) for d in decisions]
            self._insert_rows(cur, EXPOSURES, rows)
        if outcomes:
            self._insert_rows(
                cur, OUTCOMES, [done.get(id(o)) or self._bind_outcome(o) for o in outcomes]
            )
        return sets

    def _bind_all(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]
    ) -> dict[int, tuple[Any, ...]]:
        """Every row's bound values by ``id(row)`` (see :meth:`_insert_in`)."""
        bound = {id(d): self._bind_decision(d) for d in decisions}
        bound.update((id(o), self._bind_outcome(o)) for o in outcomes)
        return bound

    def _insert_rows(
        self,
        cur: Any,
        table: Table,
        rows: Sequence[tuple[Any, ...]],
        *,
        ignore_existing: bool = False,
    ) -> None:
        """Insert ``rows`` (in the table's column order) in the open transaction."""
        self._send(cur, table, rows, " ON CONFLICT DO NOTHING" if ignore_existing else "")

    def _send(self, cur: Any, table: Table, rows: Sequence[tuple[Any, ...]], conflict: str) -> None:
        """The ``INSERT`` itself (``conflict`` is empty or an ``ON CONFLICT`` clause).

        A prepared ``executemany``; a backend with a faster bulk path overrides this.
        """
        marks = self._marks(len(table.columns))
        cur.executemany(f"INSERT INTO {table.name} VALUES ({marks}){conflict}", rows)

    def _begin(self, cur: Any) -> None:
        """Open a transaction where the driver does not (DuckDB and SQLite autocommit)."""
        cur.execute("BEGIN")

    def _existing(self, ids: Iterable[str]) -> dict[str, DecisionRow]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        cur = self._cursor()
        cur.execute(
            f"{_SELECT_DECISIONS} WHERE e.decision_id IN ({self._marks(len(wanted))})", wanted
        )
        return {r[0]: DecisionRow.from_values(r) for r in cur.fetchall()}

    def _existing_outcomes(self, ids: set[str]) -> set[tuple[str, str]]:
        if not ids:
            return set()
        cur = self._cursor()
        cur.execute(
            f"SELECT decision_id, outcome FROM outcomes WHERE decision_id IN ({self._marks(len(ids))})",
            list(ids),
        )
        return {(str(a), str(b)) for a, b in cur.fetchall()}

    def get(self, decision_id: str) -> DecisionRow | None:
        """The stored decision, or None."""
        return self._existing([decision_id]).get(decision_id)

    def since(self, ts: datetime) -> list[DecisionRow]:
        """Decisions at or after ``ts``, oldest first."""
        cur = self._cursor()
        cur.execute(
            f"{_SELECT_DECISIONS} WHERE e.ts >= {self.placeholder} ORDER BY e.ts",
            (self._to_db_ts(ts),),
        )
        return [DecisionRow.from_values(r) for r in cur.fetchall()]

    def outcomes(self) -> list[OutcomeRow]:
        """Every stored outcome, oldest first."""
        cur = self._cursor()
        cur.execute("SELECT decision_id, ts, reward, event FROM outcomes ORDER BY ts, decision_id")
        return [
            OutcomeRow(str(d), as_utc(ts), None if r is None else float(r), e)
            for d, ts, r, e in cur.fetchall()
        ]

    def ping(self) -> None:
        """A committed write (the heartbeat row): fails when the log is not writable."""
        cur = self._cursor()
        try:
            self._begin(cur)
            cur.execute(
                f"UPDATE tenure_log_meta SET value = {self.placeholder} WHERE key = 'heartbeat'",
                (datetime.now(UTC).isoformat(),),
            )
            self._con.commit()
        except BaseException:
            self._con.rollback()
            raise

    def count(self) -> tuple[int, int]:
        """Rows in (exposures, outcomes)."""
        cur = self._cursor()
        cur.execute("SELECT (SELECT count(*) FROM exposures), (SELECT count(*) FROM outcomes)")
        a, b = cur.fetchone()
        return int(a), int(b)

    def close(self) -> None:
        """Close the connection."""
        self._con.close()
