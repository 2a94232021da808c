"""The data contract as code: which tables exist, their columns, and their types.

A dataset is members plus optional events and exposures. Required columns must be
present and non-null; optional columns are typed when present; any other column is
kept as it is and is usable as a segment attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "timestamp", "float"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the contract."""

    name: str
    type: ColumnType
    required: bool = False


@dataclass(frozen=True, slots=True)
class TableContract:
    """The columns a table must or may have, and the column that must be unique."""

    name: str
    columns: tuple[Column, ...]
    unique: str | None = None
    references_members: bool = True

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


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
        Column("fee", "float"),
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
        Column("value", "float"),
        Column("session_id", "string"),
        Column("duration_s", "float"),
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
        Column("propensity", "float"),
        Column("decision_id", "string"),
    ),
)

CONTRACTS: dict[str, TableContract] = {c.name: c for c in (MEMBERS, EVENTS, EXPOSURES)}
"""Contracts in load order: members first, since the others refer to it."""

TIMESTAMP_COLUMNS = ("signup_at", "ended_at", "ts")
