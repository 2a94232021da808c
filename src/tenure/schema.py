"""The data contract as code: which tables exist, their columns, their types and value rules.

A dataset is members plus optional events, exposures and a benefits list. Required
columns must be present and non-null; optional columns are typed when present; any other
column is kept as it is and is usable as a segment attribute.

This module is the *one* statement of the contract. The validation that ingest runs and
the check that ``connect`` runs on a folder read in place are both generated from it
(``tenure.store.checks``), so the two can never disagree about what a good row is.

What the contract accepts, precisely:

* **Timestamps** (text): ``YYYY-MM-DD``, or ``YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]``
  optionally followed by ``Z``, ``UTC`` or a fixed offset ``±HH``, ``±HHMM``, ``±HH:MM``.
  A value with no offset is UTC. Named time zones (``Asia/Tokyo``), ``epoch``,
  ``infinity`` and years outside 1900–2199 are refused: a zone name is ambiguous across
  daylight-saving changes, and the others are sentinels, not times. Typed timestamps
  (Parquet, DuckDB) obey the same year range.
* **Missing values**: an empty field is null in every column; in timestamp and number
  columns ``NULL``, ``null``, ``NaN``, ``nan``, ``NA``, ``N/A`` and ``None`` are null too
  (the spellings exporters write), and a floating NaN is null.
* **Numbers**: finite decimals; ``inf`` or an overflowing ``1e309`` is refused. ``fee``,
  ``value``, ``duration_s`` and ``cost_per_use`` are never negative; ``propensity`` is a
  probability in [0, 1].
* **Text**: surrounding whitespace of contract text columns (ids, actions, …) is trimmed,
  so ``" m1"`` and ``"m1"`` are the same member; a NUL byte is refused.
* **Events before signup** are kept as pre-signup history (the mark is
  ``ts < signup_at``); analyses count in-window actions only from ``signup_at`` on.

::

    >>> MEMBERS.required
    ('member_id', 'signup_at')
    >>> EVENTS.column("value").minimum
    0.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BENEFITS",
    "CONTRACTS",
    "EVENTS",
    "EXPOSURES",
    "MEMBERS",
    "NULL_TOKENS",
    "TIMESTAMP_PATTERN",
    "YEAR_RANGE",
    "Column",
    "ColumnType",
    "TableContract",
]

ColumnType = Literal["string", "timestamp", "float"]

NULL_TOKENS = ("NULL", "null", "Null", "NaN", "nan", "NA", "N/A", "n/a", "None", "none")
"""Text that means "no value" in timestamp and number columns (never in text columns,
where ``NA`` is Namibia and ``None`` may be a plan name)."""

YEAR_RANGE = (1900, 2199)
"""Inclusive range of plausible years: outside it a timestamp is a sentinel or a typo."""

TIMESTAMP_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](\d{2}:\d{2})(?::(\d{2}(?:\.\d{1,9})?))?)?"
    r" ?(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)
"""The accepted text forms of a timestamp: groups are date, hour:minute, seconds, offset."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the contract and the values its meaning allows.

    ``minimum`` / ``maximum`` bound a number column (inclusive); ``why`` is the reason
    given when a value breaks the bound.
    """

    name: str
    type: ColumnType
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class TableContract:
    """The columns a table must or may have, and the column that must be unique."""

    name: str
    columns: tuple[Column, ...]
    unique: str | None = None
    references_members: bool = True

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the columns every file of this table must have."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        """The contract column called ``name``, or ``None`` for a user attribute."""
        return next((c for c in self.columns if c.name == name), None)


_MONEY = "money is never negative"

MEMBERS = TableContract(
    "members",
    (
        Column("member_id", "string", required=True),
        Column("signup_at", "timestamp", required=True),
        Column("ended_at", "timestamp"),
        Column("channel", "string"),
        Column("country", "string"),
        Column("plan", "string"),
        Column("age_band", "string"),
        Column("fee", "float", minimum=0.0, why="a fee per period is never negative"),
    ),
    unique="member_id",
    references_members=False,
)

EVENTS = TableContract(
    "events",
    (
        Column("member_id", "string", required=True),
        Column("ts", "timestamp", required=True),
        Column("action", "string", required=True),
        Column("benefit", "string"),
        Column("value", "float", minimum=0.0, why=_MONEY),
        Column("session_id", "string"),
        Column("duration_s", "float", minimum=0.0, why="a duration is never negative"),
    ),
)

EXPOSURES = TableContract(
    "exposures",
    (
        Column("member_id", "string", required=True),
        Column("ts", "timestamp", required=True),
        Column("experiment", "string", required=True),
        Column("variant", "string", required=True),
        Column("placement", "string"),
        Column(
            "propensity", "float", minimum=0.0, maximum=1.0, why="a propensity is a probability"
        ),
        Column("decision_id", "string"),
    ),
)

BENEFITS = TableContract(
    "benefits",
    (
        Column("benefit", "string", required=True),
        Column("name", "string", required=True),
        Column("cost_per_use", "float", minimum=0.0, why="a cost is never negative"),
    ),
    unique="benefit",
    references_members=False,
)

CONTRACTS: dict[str, TableContract] = {c.name: c for c in (MEMBERS, EVENTS, EXPOSURES, BENEFITS)}
"""Contracts in load order: members first, since events and exposures refer to it."""
