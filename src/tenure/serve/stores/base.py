"""The decision log's rows, its one protocol, and the SQL every backend shares.

The log *is* the data contract's ``exposures`` table (one row per decision, the policy
version as ``experiment``, the creative as ``variant``, null when nothing was eligible) plus
an ``outcomes`` table keyed by ``(decision_id, outcome)``. Both keys make retries harmless:
a client ``decision_id`` is stored once, and an outcome once per decision.

Every method of a store is called from one thread only (the group committer's), so a
store holds one connection and needs no locking of its own. :meth:`SQLLog.write` looks
up which rows already exist *before* inserting, in the same thread, which is what lets a
retry answer with the decision stored the first time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar, Protocol

from tenure.errors import SpecError

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
    "SQLLog",
    "WriteResult",
]

FORMAT = "tenure-decision-log/1"
"""Written to the store's ``tenure_log_meta`` table; a store holding anything else is refused."""

CONTEXT_COLUMNS = ("country", "plan", "channel")
"""Context keys promoted to columns of their own, so segments need no JSON parsing."""

EXPOSURE_COLUMNS = (
    "decision_id",
    "member_id",
    "ts",
    "experiment",
    "variant",
    "placement",
    "propensity",
    "eligible",
    "benefit",
    "text",
    "reason",
    *CONTEXT_COLUMNS,
    "context",
)
OUTCOME_COLUMNS = ("decision_id", "outcome", "ts", "reward", "event")


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

    def values(self) -> tuple[Any, ...]:
        """The row in :data:`EXPOSURE_COLUMNS` order, as stored (JSON for lists and maps)."""
        promoted = tuple(self.context.get(c) for c in CONTEXT_COLUMNS)
        return (
            self.decision_id,
            self.member_id,
            self.ts,
            self.experiment,
            self.variant,
            self.placement,
            self.propensity,
            eligible_json(self.eligible),
            self.benefit,
            self.text,
            self.reason,
            *promoted,
            json.dumps(dict(self.context), sort_keys=True),
        )

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> DecisionRow:
        """Rebuild a row read back in :data:`EXPOSURE_COLUMNS` order."""
        row = dict(zip(EXPOSURE_COLUMNS, values, strict=True))
        return cls(
            decision_id=str(row["decision_id"]),
            member_id=str(row["member_id"]),
            ts=as_utc(row["ts"]),
            experiment=str(row["experiment"]),
            variant=row["variant"],
            placement=str(row["placement"]),
            propensity=float(row["propensity"]),
            eligible=tuple(json.loads(row["eligible"])),
            benefit=row["benefit"],
            text=row["text"],
            reason=row["reason"],
            context=json.loads(row["context"]),
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
def eligible_json(ids: tuple[str, ...]) -> str:
    """The eligible set as the JSON list the log stores, cached.

    A placement has hundreds of creatives and most decisions there share one of a few
    eligible sets, so encoding each set once takes most of the cost off a log row.
    """
    if _PLAIN.fullmatch("".join(ids)):  # catalogue ids: nothing JSON would escape
        return '["' + '","'.join(ids) + '"]' if ids else "[]"
    return json.dumps(list(ids))


def as_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime (stores keep naive UTC or ISO text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SQLLog:
    """The write algorithm, once, over a DB-API connection; backends give DDL and dialect.

    Subclasses set ``kind``, ``placeholder`` and ``ddl`` and open ``self._con``; they may
    override :meth:`_to_db_ts` for how a timestamp is bound.
    """

    kind: ClassVar[str] = "sql"
    placeholder: ClassVar[str] = "?"
    ddl: ClassVar[tuple[str, ...]] = ()
    location: str
    _con: Any

    # -- schema ---------------------------------------------------------------------------
    def _init_schema(self, tables: set[str]) -> None:
        """Create the tables in an empty store, or check an existing store is a Tenure log.

        The connection is closed when the store is refused.
        """
        try:
            self._check_schema(tables)
        except BaseException:
            self._con.close()
            raise

    def _check_schema(self, tables: set[str]) -> None:
        if not tables:
            cur = self._cursor()
            for statement in self.ddl:
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
        for table, expected in (("exposures", EXPOSURE_COLUMNS), ("outcomes", OUTCOME_COLUMNS)):
            columns = self._columns(table)
            if tuple(columns) != expected:
                raise LogError(
                    f"--log {self.location}: table {table} has columns {columns}, expected "
                    f"{list(expected)}; refusing to write into it (choose a new file)"
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
        known = self._existing(
            [d.decision_id for d in decisions] + [o.decision_id for o in outcomes]
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
        if new_decisions or new_outcomes:
            self._insert(new_decisions, new_outcomes)
        return WriteResult(tuple(stored), tuple(statuses))

    def _insert(self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]) -> None:
        cur = self._cursor()
        try:
            self._begin(cur)
            if decisions:
                cur.executemany(
                    f"INSERT INTO exposures VALUES ({self._marks(len(EXPOSURE_COLUMNS))})",
                    [self._bind_decision(d) for d in decisions],
                )
            if outcomes:
                cur.executemany(
                    f"INSERT INTO outcomes VALUES ({self._marks(len(OUTCOME_COLUMNS))})",
                    [self._bind_outcome(o) for o in outcomes],
                )
            self._con.commit()
        except BaseException:
            self._con.rollback()
            raise

    def _begin(self, cur: Any) -> None:
        """Open a transaction where the driver does not (DuckDB and SQLite autocommit)."""
        cur.execute("BEGIN")

    def _existing(self, ids: Iterable[str]) -> dict[str, DecisionRow]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        cur = self._cursor()
        cur.execute(
            f"SELECT {', '.join(EXPOSURE_COLUMNS)} FROM exposures "
            f"WHERE decision_id IN ({self._marks(len(wanted))})",
            wanted,
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
            f"SELECT {', '.join(EXPOSURE_COLUMNS)} FROM exposures WHERE ts >= {self.placeholder} "
            "ORDER BY ts",
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
