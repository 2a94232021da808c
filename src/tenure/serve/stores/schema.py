"""The decision log's tables, declared once and rendered as DDL for each backend's dialect.

Four tables: ``tenure_log_meta`` (the format stamp and a heartbeat), ``exposures`` (one row
per decision, the data contract's exposures), ``eligible_sets`` (each distinct eligible set
once) and ``outcomes``. The set a decision was drawn from is stored by reference: a
placement has a couple of hundred creatives and most decisions share one of a few
thousand sets, so writing the ids on every row made a decision ~9 KB — most of the
commit's bytes and of its CPU. ``eligible_set`` is the set's content hash, so every
writer, in any process, names a set the same way; the same-creative cap makes many sets
member-specific, so a row stores the cap-free set and, in ``eligible_drop``, the JSON list
of the few creatives the cap removed from it (null when it removed none).

::

    >>> [s for s in render(SQLITE) if "eligible_sets" in s]
    ['CREATE TABLE eligible_sets (set_id TEXT PRIMARY KEY NOT NULL, ids TEXT NOT NULL)']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DUCKDB",
    "EXPOSURE_COLUMNS",
    "OUTCOME_COLUMNS",
    "POSTGRES",
    "SQLITE",
    "TABLES",
    "Dialect",
    "render",
]

Kind = Literal["text", "float", "ts"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its name, kind and whether it may be null."""

    name: str
    kind: Kind = "text"
    null: bool = True


@dataclass(frozen=True, slots=True)
class Table:
    """A table: columns in stored order, the primary key, and indexed columns."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one backend spells the kinds, and whether it gets secondary indexes."""

    types: Mapping[Kind, str]
    indexes: bool = True


CONTEXT_COLUMNS = ("country", "plan", "channel")
"""Context keys promoted to columns of their own, so segments need no JSON parsing."""

META = Table("tenure_log_meta", (Column("key", null=False), Column("value")), key=("key",))
EXPOSURES = Table(
    "exposures",
    (
        Column("decision_id", null=False),
        Column("member_id", null=False),
        Column("ts", "ts", null=False),
        Column("experiment", null=False),
        Column("variant"),
        Column("placement", null=False),
        Column("propensity", "float", null=False),
        Column("eligible_set", null=False),
        Column("eligible_drop"),
        Column("benefit"),
        Column("text"),
        Column("reason"),
        *(Column(c) for c in CONTEXT_COLUMNS),
        Column("context", null=False),
    ),
    key=("decision_id",),
    indexes=("ts",),
)
ELIGIBLE_SETS = Table(
    "eligible_sets", (Column("set_id", null=False), Column("ids", null=False)), key=("set_id",)
)
OUTCOMES = Table(
    "outcomes",
    (
        Column("decision_id", null=False),
        Column("outcome", null=False),
        Column("ts", "ts", null=False),
        Column("reward", "float"),
        Column("event"),
    ),
    key=("decision_id", "outcome"),
)
TABLES = (META, EXPOSURES, ELIGIBLE_SETS, OUTCOMES)

EXPOSURE_COLUMNS = EXPOSURES.names
OUTCOME_COLUMNS = OUTCOMES.names
SET_COLUMNS = ELIGIBLE_SETS.names

SQLITE = Dialect({"text": "TEXT", "float": "REAL", "ts": "TEXT"})
"""SQLite: timestamps as ISO 8601 text in UTC."""
DUCKDB = Dialect({"text": "VARCHAR", "float": "DOUBLE", "ts": "TIMESTAMP"}, indexes=False)
"""DuckDB: naive UTC ``TIMESTAMP`` (``TIMESTAMPTZ`` needs pytz to read back); its zone maps
serve the time-range scan, so no secondary index is kept up to date on every insert."""
POSTGRES = Dialect({"text": "TEXT", "float": "DOUBLE PRECISION", "ts": "TIMESTAMPTZ"})
"""PostgreSQL: ``TIMESTAMPTZ``."""


def render(dialect: Dialect) -> tuple[str, ...]:
    """``CREATE TABLE`` (and ``CREATE INDEX``) statements for every table, in order."""
    statements: list[str] = []
    for table in TABLES:
        cols = [
            f"{c.name} {dialect.types[c.kind]}"
            + (" PRIMARY KEY" if table.key == (c.name,) else "")
            + ("" if c.null else " NOT NULL")
            for c in table.columns
        ]
        if len(table.key) > 1:
            cols.append(f"PRIMARY KEY ({', '.join(table.key)})")
        statements.append(f"CREATE TABLE {table.name} ({', '.join(cols)})")
        if dialect.indexes:
            statements += [
                f"CREATE INDEX {table.name}_{c} ON {table.name} ({c})" for c in table.indexes
            ]
    return tuple(statements)
