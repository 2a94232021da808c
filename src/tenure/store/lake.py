"""The contract's rules as Ibis expressions, for typed tables read where they live.

Ingest checks text files with DuckDB SQL (:mod:`tenure.store.checks`), because only text
needs parsing. Parquet in a lake is already typed, and a lake is read by an engine that is
not DuckDB (Spark), so there the same rules run as backend-neutral Ibis: one aggregation per
table that gives each rule's row count, plus one row that breaks it. The rule texts and their
order are ingest's (a row is counted under the first rule it breaks), so ``rule_counts`` on a
folder equals ingest's quarantine count per rule on the same folder; the test suite checks it.

Text-only rules (a timestamp that does not parse, a NUL byte, a named time zone) cannot
occur in typed columns and are not run; a column of the wrong type is refused outright.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import ibis
import ibis.expr.types as ir

from tenure.errors import DataContractError
from tenure.schema import CONTRACTS, YEAR_RANGE, Column, TableContract

__all__ = ["RuleCount", "refuse_broken", "rule_counts"]

_TYPE_OK = {
    "string": lambda t: t.is_string(),
    "timestamp": lambda t: t.is_timestamp(),
    "float": lambda t: t.is_numeric(),
}


@dataclass(frozen=True, slots=True)
class RuleCount:
    """Rows of one table that break one rule, and the key of one such row."""

    table: str
    rule: str
    rows: int
    example: str | None


def _schema_problems(name: str, t: ir.Table, contract: TableContract) -> None:
    schema = t.schema()
    for c in contract.required:
        if c not in schema:
            raise DataContractError(f"{name} has no {c} column (required by the data contract)")
    for col in contract.columns:
        if col.name in schema and not _TYPE_OK[col.type](schema[col.name]):
            raise DataContractError(
                f"{name}.{col.name} is {schema[col.name]}, expected a {col.type} column "
                "(fix the export, or ingest the files as text to quarantine bad rows)"
            )


def _column_rules(t: ir.Table, col: Column, as_of: datetime) -> list[tuple[ir.BooleanValue, str]]:
    v = t[col.name]
    c = col.name
    rules: list[tuple[ir.BooleanValue, str]] = []
    if col.required:
        rules.append((v.isnull(), f"{c} is missing"))
    if col.type == "timestamp":
        lo, hi = YEAR_RANGE
        low = ibis.literal(datetime(lo, 1, 1, tzinfo=UTC), type="timestamp('UTC')")
        high = ibis.literal(datetime(hi + 1, 1, 1, tzinfo=UTC), type="timestamp('UTC')")
        why = f"is outside the years {lo}–{hi} (a sentinel or a typo?)"
        rules.append(((v < low) | (v >= high), f"{c} {why}"))
        bound = ibis.literal(as_of.astimezone(UTC), type="timestamp('UTC')")
        rules.append((v > bound, f"{c} is after as_of"))
    elif col.type == "float":
        x = v.cast("float64")
        # Not ``x.isinf()``: Ibis 12 compiles it to ``FALSE OR FALSE`` for Spark.
        infinite = (x == float("inf")) | (x == float("-inf"))
        rules.append((x.isnan() | infinite, f"{c} is not a finite number"))
        if col.minimum is not None:
            what = "negative" if col.minimum == 0 else f"below {col.minimum:g}"
            why = f"is {what} ({col.why})" if col.why else f"is {what}"
            rules.append((x < col.minimum, f"{c} {why}"))
        if col.maximum is not None:
            why = f"is above {col.maximum:g}" + (f" ({col.why})" if col.why else "")
            rules.append((x > col.maximum, f"{c} {why}"))
    return rules


def _first_rule(t: ir.Table, contract: TableContract, as_of: datetime) -> ir.Table:
    """`t` with ``_rule``: the first rule each row breaks (null for a good row)."""
    rules: list[tuple[ir.BooleanValue, str]] = []
    for col in contract.columns:
        if col.name in t.columns:
            rules += _column_rules(t, col, as_of)
    if "ended_at" in t.columns and "signup_at" in t.columns:
        rules.append((t.ended_at < t.signup_at, "ended_at is before signup_at"))
    if not rules:
        return t.mutate(_rule=ibis.null("string"))
    cases = [(cond.fill_null(False), ibis.literal(rule)) for cond, rule in rules]
    return t.mutate(_rule=ibis.cases(*cases, else_=ibis.null("string")))


def _counts(t: ir.Table, table: str) -> list[RuleCount]:
    bad = t.filter(t._rule.notnull())
    agg = bad.group_by("_rule").agg(rows=bad.count(), example=bad.member_id.cast("string").min())
    frame = agg.to_pyarrow().to_pylist()
    return [RuleCount(table, r["_rule"], int(r["rows"]), r["example"]) for r in frame]


def rule_counts(tables: Mapping[str, ir.Table], *, as_of: datetime) -> list[RuleCount]:
    """Rows breaking each contract rule, per table, in ingest's rule texts and order.

    A later copy of a ``member_id`` already held by a good members row is a duplicate; an
    events or exposures row whose member is not a good member breaks ``member_id is not a
    known member`` (or ``member_id's member was quarantined`` when its only members rows
    are bad). Only rules some row breaks are listed.
    """
    out: list[RuleCount] = []
    members = _first_rule(tables["members"], CONTRACTS["members"], as_of)
    good = members.filter(members._rule.isnull())
    key = CONTRACTS["members"].unique
    assert key is not None
    out += _counts(members, "members")
    dup = good.aggregate(rows=good.count() - good[key].nunique())
    extra = int(dup.to_pyarrow().to_pylist()[0]["rows"] or 0)
    if extra:
        seen = good.group_by(key).agg(k=good.count())
        example = seen.filter(seen.k > 1)[key].min().to_pyarrow().as_py()
        out.append(RuleCount("members", f"{key} is a duplicate", extra, example))
    good_ids = good.select(_gid=good.member_id).distinct()
    bad_ids = members.filter(members._rule.notnull()).select(_qid=members.member_id).distinct()
    for name in ("events", "exposures"):
        if name not in tables:
            continue
        contract = CONTRACTS[name]
        t = _first_rule(tables[name], contract, as_of)
        t = t.left_join(good_ids, t.member_id == good_ids._gid)
        t = t.left_join(bad_ids, t.member_id == bad_ids._qid)
        orphan = t._rule.isnull() & t._gid.isnull()
        rule = ibis.cases(
            (orphan & t._qid.notnull(), "member_id's member was quarantined"),
            (orphan, "member_id is not a known member"),
            else_=t._rule,
        )
        out += _counts(t.mutate(_rule=rule), name)
    return out


def refuse_broken(tables: Mapping[str, ir.Table], *, label: str, as_of: datetime) -> None:
    """Raise `DataContractError` naming the first broken rule when any row breaks one.

    The schema is checked first (a required column missing, or of the wrong type).
    """
    for name, t in tables.items():
        _schema_problems(f"{label} {name}", t, CONTRACTS[name])
    broken = rule_counts(tables, as_of=as_of)
    if broken:
        first = broken[0]
        total = sum(b.rows for b in broken)
        raise DataContractError(
            f"{label}: {total} rows break the data contract; first: {first.table} "
            f"{first.rule} ({first.rows} rows, e.g. member_id {first.example!r}); "
            "fix them at the source or ingest the files to quarantine them"
        )
