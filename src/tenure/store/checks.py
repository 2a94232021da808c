"""The contract's rules as set-based SQL, generated from `tenure.schema` in one place.

Ingest (which quarantines the rows that break a rule) and ``connect`` on a folder read in
place (which refuses a folder with any such row) both run the SQL built here, so there is
one definition of a good row. Each rule is a triple: a condition, a *rule* (a fixed text,
used to count rows per cause) and a *reason* (the rule with the offending value, shown to
the user). The first rule a row breaks is its reason.

Timestamps in text are matched against `tenure.schema.TIMESTAMP_PATTERN` and built from
their parts (a naive timestamp minus the written offset), never by casting text to
``TIMESTAMPTZ``: DuckDB's zone-aware cast carries a named zone met on one row over to the
rows after it, silently shifting them.

Bookkeeping columns (file, line, reason…) are named with a prefix that no column of the
input starts with, so a user column called ``_line`` or ``_reason`` is data like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tenure.schema import NULL_TOKENS, TIMESTAMP_PATTERN, YEAR_RANGE, Column, TableContract

__all__ = [
    "Internal",
    "Probe",
    "checked_sql",
    "cleanable",
    "dirty_condition",
    "internal_names",
    "lit",
    "quick_check_sql",
    "quote",
    "typed_sql",
    "values_probe",
]

_INTEGER_TYPES: tuple[str, ...] = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
)
_NUMERIC_PREFIXES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", *_INTEGER_TYPES)
_TIMESTAMP_TYPES = (
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "DATE",
)


def quote(name: str) -> str:
    """``name`` as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class Internal:
    """Names of the bookkeeping columns, all sharing a prefix no input column starts with."""

    prefix: str

    def __getattr__(self, item: str) -> str:
        if item.startswith("__"):
            raise AttributeError(item)
        return self.prefix + item


def internal_names(columns: Iterable[str]) -> Internal:
    """A prefix for bookkeeping columns that collides with none of `columns`."""
    taken = [c.lower() for c in columns]
    prefix = "_tenure_"
    while any(c.startswith(prefix) for c in taken):
        prefix = "_" + prefix
    return Internal(prefix)


def type_problem(column: Column, sql_type: str) -> str | None:
    """Why a column stored as `sql_type` cannot hold `column`, or None when it can."""
    t = sql_type.upper()
    if t == "VARCHAR":
        return None
    if column.type == "string":
        if t in _INTEGER_TYPES or t == "UUID":
            return None
        return f"{column.name} is stored as {sql_type}; store it as text (or integers)"
    if column.type == "timestamp":
        if t in _TIMESTAMP_TYPES or t.startswith("TIMESTAMP"):
            return None
        hint = " (a number is not a timestamp: its unit and epoch are unknown)"
        return (
            f"{column.name} is stored as {sql_type}{hint if t in _NUMERIC_PREFIXES else ''}; "
            "store a timestamp type or ISO 8601 text such as 2024-01-31T09:30:00Z"
        )
    if t.startswith(_NUMERIC_PREFIXES):
        return None
    return f"{column.name} is stored as {sql_type}; store it as a number"


def _tokens() -> str:
    return ", ".join(lit(t) for t in NULL_TOKENS)


def _text_value(q: str) -> str:
    """Trimmed text, with empty and the null spellings as NULL (timestamp/number columns)."""
    x = f"trim({q}, ' \t\r\n')"
    return f"CASE WHEN {x} = '' OR {x} IN ({_tokens()}) THEN NULL ELSE {x} END"


def _parse_timestamp(ok: str, m: str) -> str:
    """SQL building TIMESTAMPTZ from the parts `m` of an accepted text (`ok`), else NULL.

    `ok` and `m` name columns computed one query level below (whether the text matches
    the pattern, and its parts): referring to them by name keeps the statement small,
    which DuckDB plans in milliseconds rather than seconds.
    """
    naive = (
        f"TRY_CAST({m}.d || ' ' || coalesce(nullif({m}.hm, ''), '00:00') || ':' || "
        f"coalesce(nullif(left({m}.s, 9), ''), '00') AS TIMESTAMP)"
    )
    o = f"replace({m}.o, ':', '')"
    hours = f"TRY_CAST(substr({o}, 2, 2) AS INTEGER)"
    minutes = f"(CASE WHEN length({o}) = 5 THEN TRY_CAST(substr({o}, 4, 2) AS INTEGER) ELSE 0 END)"
    sign = f"(CASE WHEN left({o}, 1) = '-' THEN -1 ELSE 1 END)"
    offset = (
        f"(CASE WHEN {m}.o IN ('', 'Z', 'z', 'UTC') THEN 0 "
        f"WHEN {hours} <= 18 AND {minutes} < 60 THEN {sign} * ({hours} * 60 + {minutes}) END)"
    )
    return f"CASE WHEN {ok} THEN CAST({naive} - to_minutes({offset}) AS TIMESTAMPTZ) END"


def cleanable(contract: TableContract, columns: dict[str, str]) -> list[str]:
    """Contract columns whose typed value is the stored value itself when no row needs cleaning.

    A text id or label is cleaned (trimmed, empty as NULL) and a stored float has NaN read
    as NULL; on data with no such value both are the identity, so a table's typed view can
    read the column as stored (see `dirty_condition`). Text timestamps and numbers are
    parsed whatever the data, so they are not listed.
    """
    out = []
    for c, sql_type in columns.items():
        col = contract.column(c)
        text = sql_type.upper() == "VARCHAR"
        if col is not None and (
            (col.type == "string" and text) or (col.type == "float" and not text)
        ):
            out.append(c)
    return out


def dirty_condition(column: Column, q: str) -> str:
    """SQL true for a stored value (of a `cleanable` column) that cleaning would change.

    A superset of the values cleaning changes is enough, since a table with any such value
    is checked with the cleaning on: text sorting before ``'!'`` (empty, or starting with a
    space, a tab, a line break, or any other control character), text ending with
    whitespace, and NaN. Cheaper than the cleaning itself: one comparison of the first bytes
    and four suffix tests instead of eight prefix/suffix tests and a trim.
    """
    if column.type == "string":
        ends = " OR ".join(
            f"ends_with({q}, {ch})" for ch in ("' '", "chr(9)", "chr(10)", "chr(13)")
        )
        return f"({q} < '!' OR {ends})"
    return f"isnan(CAST({q} AS DOUBLE))"


def _value(
    column: Column, q: str, sql_type: str, names: Internal, i: int, clean: bool = False
) -> str:
    """SQL for the typed value of contract column `column` stored as `sql_type`.

    `clean`: the column has no value that cleaning would change (a `cleanable` column with
    no row meeting `dirty_condition`), so its value is the stored one, only cast.
    """
    text = sql_type.upper() == "VARCHAR"
    x = quote(names.prefix + f"x{i}")
    if column.type == "string":
        if not text or clean:
            return f"CAST({q} AS VARCHAR)"
        # Trim only the values that need it: testing the first and last byte is far cheaper
        # than building a trimmed copy of every id in a 60M-row events table.
        edges = " OR ".join(
            f"{fn}({q}, {ch})"
            for fn in ("starts_with", "ends_with")
            for ch in ("' '", "chr(9)", "chr(10)", "chr(13)")
        )
        return (
            f"CASE WHEN {q} = '' THEN NULL WHEN {edges} "
            f"THEN nullif(trim({q}, ' \t\r\n'), '') ELSE {q} END"
        )
    if column.type == "timestamp":
        if text:
            return _parse_timestamp(quote(names.prefix + f"ok{i}"), quote(names.prefix + f"m{i}"))
        return f"CAST({q} AS TIMESTAMPTZ)"
    d = f"TRY_CAST({x} AS DOUBLE)" if text else f"CAST({q} AS DOUBLE)"
    if clean and not text:
        return d
    return f"CASE WHEN isnan({d}) THEN NULL ELSE {d} END"


def _stamp(v: str) -> str:
    return f"strftime({v}, '%Y-%m-%dT%H:%M:%SZ')"


def _shown(q: str, v: str, text: bool) -> str:
    """The value as the user wrote it (text) or as Tenure read it (typed), for a reason."""
    return f"left(CAST({q} AS VARCHAR), 80)" if text else v


@dataclass(frozen=True, slots=True)
class Rule:
    """A condition a row breaks, a fixed description to count by, and the shown reason."""

    condition: str
    rule: str
    reason: str


def column_rules(
    column: Column, q: str, v: str, x: str, sql_type: str, as_of: datetime
) -> list[Rule]:
    """The rules of one contract column: `v` names its typed value, `x` its cleaned text."""
    c = column.name
    text = sql_type.upper() == "VARCHAR"
    shown = _shown(q, v, text)
    rules: list[Rule] = []
    if column.required:
        empty = v if column.type == "string" or not text else x
        rules.append(Rule(f"{empty} IS NULL", f"{c} is missing", lit(f"{c} is missing")))
    if column.type == "string":
        if text:
            why = f"{c} contains a NUL byte; remove it"
            rules.append(Rule(f"strpos({q}, chr(0)) > 0", why, lit(why)))
        return rules
    written = f"{x} IS NOT NULL" if text else f"{q} IS NOT NULL"
    if column.type == "timestamp":
        lo, hi = YEAR_RANGE
        if text:
            zone = f"regexp_matches({q}, '[A-Za-z]+/[A-Za-z_]+')"
            why = "has a named time zone; write a UTC offset such as +09:00 instead"
            rules.append(
                Rule(
                    f"{written} AND {v} IS NULL AND {zone}",
                    f"{c} {why}",
                    f"{lit(c + ' ')} || {shown} || {lit(' ' + why)}",
                )
            )
            why = "is not a UTC timestamp (expected ISO 8601, e.g. 2024-01-31T09:30:00Z)"
            rules.append(
                Rule(
                    f"{written} AND {v} IS NULL",
                    f"{c} {why}",
                    f"{lit(c + ' ' + chr(39))} || {shown} || {lit(chr(39) + ' ' + why)}",
                )
            )
        why = f"is outside the years {lo}–{hi} (a sentinel or a typo?)"
        bounds = (
            f"{v} < TIMESTAMPTZ '{lo:04d}-01-01 00:00:00+00' OR "
            f"{v} >= TIMESTAMPTZ '{hi + 1:04d}-01-01 00:00:00+00'"
        )
        shown_any = shown if text else f"CAST({q} AS VARCHAR)"
        rules.append(
            Rule(bounds, f"{c} {why}", f"{lit(c + ' ')} || {shown_any} || {lit(' ' + why)}")
        )
        bound = as_of.astimezone(UTC)
        late = f"is after as_of {bound:%Y-%m-%dT%H:%M:%SZ}"
        rules.append(
            Rule(
                f"{v} > TIMESTAMPTZ '{bound.isoformat()}'",
                f"{c} is after as_of",
                f"{lit(c + ' ')} || {shown if text else _stamp(v)} || {lit(' ' + late)}",
            )
        )
        return rules
    raw = f"{lit(c + ' ' + chr(39))} || {shown} || {lit(chr(39))}"
    if text:
        rules.append(
            Rule(
                f"{written} AND {v} IS NULL", f"{c} is not a number", f"{raw} || ' is not a number'"
            )
        )
    rules.append(
        Rule(
            f"NOT isfinite({v})",
            f"{c} is not a finite number",
            f"{raw} || ' is not a finite number'",
        )
    )
    if column.minimum is not None:
        what = "negative" if column.minimum == 0 else f"below {column.minimum:g}"
        why = f"is {what} ({column.why})" if column.why else f"is {what}"
        rules.append(Rule(f"{v} < {column.minimum!r}", f"{c} {why}", f"{raw} || {lit(' ' + why)}"))
    if column.maximum is not None:
        why = f"is above {column.maximum:g}" + (f" ({column.why})" if column.why else "")
        rules.append(Rule(f"{v} > {column.maximum!r}", f"{c} {why}", f"{raw} || {lit(' ' + why)}"))
    return rules


def _first(rules: list[Rule], field: str) -> str:
    if not rules:
        return "CAST(NULL AS VARCHAR)"
    shown = (lit(r.rule) if field == "rule" else r.reason for r in rules)
    whens = " ".join(f"WHEN {r.condition} THEN {x}" for r, x in zip(rules, shown, strict=True))
    return f"CASE {whens} END"


def _typed_columns(
    contract: TableContract, columns: dict[str, str], names: Internal
) -> dict[str, str]:
    """Output column -> the internal name holding its typed value (or itself)."""
    return {
        c: (names.prefix + f"v{i}" if contract.column(c) is not None else c)
        for i, c in enumerate(columns)
    }


def _values_select(
    contract: TableContract,
    columns: dict[str, str],
    names: Internal,
    source: str,
    clean: frozenset[str] = frozenset(),
) -> str:
    """`source` plus, per contract column, its cleaned text, its parts and its typed value."""
    typed = _typed_columns(contract, columns, names)
    text_cols = [
        (i, c, col)
        for i, c in enumerate(columns)
        if (col := contract.column(c)) is not None
        and col.type != "string"
        and columns[c].upper() == "VARCHAR"
    ]
    level1 = "".join(
        f", {_text_value(quote(c))} AS {quote(names.prefix + f'x{i}')}" for i, c, _ in text_cols
    )
    level2 = "".join(
        f", regexp_full_match({x}, {lit(TIMESTAMP_PATTERN)}) AS {quote(names.prefix + f'ok{i}')}"
        f", regexp_extract({x}, {lit(TIMESTAMP_PATTERN)}, ['d', 'hm', 's', 'o']) "
        f"AS {quote(names.prefix + f'm{i}')}"
        for i, _, col in text_cols
        if col.type == "timestamp" and (x := quote(names.prefix + f"x{i}"))
    )
    level3 = "".join(
        f", {_value(col, quote(c), columns[c], names, i, c in clean)} AS {quote(typed[c])}"
        for i, c in enumerate(columns)
        if (col := contract.column(c)) is not None
    )
    return f"SELECT *{level3} FROM (SELECT *{level2} FROM (SELECT s.*{level1} FROM {source} s))"


def typed_sql(
    contract: TableContract,
    columns: dict[str, str],
    names: Internal,
    source: str,
    clean: frozenset[str] = frozenset(),
) -> str:
    """The rows of `source` with contract columns typed, without checking them.

    Columns in `clean` are read as stored (see `cleanable`): only for columns a check has
    shown to hold no value that cleaning would change.
    """
    typed = _typed_columns(contract, columns, names)
    out = ", ".join(f"{quote(typed[c])} AS {quote(c)}" for c in columns)
    return f"SELECT {out} FROM ({_values_select(contract, columns, names, source, clean)})"


def checked_sql(
    contract: TableContract,
    columns: dict[str, str],
    names: Internal,
    source: str,
    as_of: datetime,
    *,
    members: str | None = None,
    quarantined_members: str | None = None,
    clean: frozenset[str] = frozenset(),
    flag_dirty: bool = False,
) -> str:
    """SQL of `source` with typed columns plus the bookkeeping columns of `names`.

    Adds ``reason`` and ``rule`` (NULL for a good row), ``record`` (the raw row as JSON,
    only for a bad row: building it for every row would cost more than all the checks)
    and ``pre`` (an event before its member's signup). `members` names the accepted
    members table, `quarantined_members` a table of the ids quarantined there.

    `clean` columns are checked as stored, without cleaning (see `cleanable`): the result
    is exact only when none of their values meets `dirty_condition`, which `flag_dirty`
    reports per row in ``dirty0``, ``dirty1``… (one per `clean` column, in column order).
    """
    typed = _typed_columns(contract, columns, names)
    rules: list[Rule] = []
    for i, (c, sql_type) in enumerate(columns.items()):
        col = contract.column(c)
        if col is not None:
            x = quote(names.prefix + f"x{i}")
            rules += column_rules(col, quote(c), quote(typed[c]), x, sql_type, as_of)
    if "ended_at" in columns and "signup_at" in columns:
        e, s = quote(typed["ended_at"]), quote(typed["signup_at"])
        rules.append(
            Rule(f"{e} < {s}", "ended_at is before signup_at", lit("ended_at is before signup_at"))
        )
    n = names
    select = (
        f"SELECT *, {_first(rules, 'reason')} AS {quote(n.reason)}, "
        f"{_first(rules, 'rule')} AS {quote(n.rule)} "
        f"FROM ({_values_select(contract, columns, names, source, clean)})"
    )
    if contract.unique:
        select = _unique(select, quote(typed[contract.unique]), contract.unique, n)
    pre = "FALSE"
    if contract.references_members and members is not None:
        select = _known(select, quote(typed["member_id"]), n, members, quarantined_members)
        if "ts" in columns:
            pre = f"{quote(n.signup)} IS NOT NULL AND {quote(typed['ts'])} < {quote(n.signup)}"
    out = ", ".join(f"{quote(typed[c])} AS {quote(c)}" for c in columns)
    if flag_dirty:
        flagged = [c for c in columns if c in clean]
        out += "".join(
            f", {dirty_condition(col, quote(c))} AS {quote(n.prefix + f'dirty{k}')}"
            for k, c in enumerate(flagged)
            if (col := contract.column(c)) is not None
        )
    raw = ", ".join(f"{quote(c)} := {quote(c)}" for c in columns)
    return (
        f"SELECT {out}, {quote(n.fileno)}, {quote(n.file)}, {quote(n.line)}, "
        f"{quote(n.reason)}, {quote(n.rule)}, "
        f"CASE WHEN {quote(n.reason)} IS NOT NULL THEN to_json(struct_pack({raw})) END "
        f"AS {quote(n.record)}, {quote(n.reason)} IS NULL AND {pre} AS {quote(n.pre)} "
        f"FROM ({select})"
    )


def _unique(select: str, key: str, name: str, n: Internal) -> str:
    """Quarantine every later copy of `key`, naming where the first good copy was seen."""
    fno, f, ln, r, rule = (quote(x) for x in (n.fileno, n.file, n.line, n.reason, n.rule))
    why = f"{name} is a duplicate"
    return (
        f"WITH c AS ({select}), firsts AS (SELECT {key} AS k, "
        f"arg_min({f} || ' line ' || {ln}, ({fno}, {ln})) AS first_at, "
        f"min(({fno}, {ln})) AS first_pos FROM c WHERE {r} IS NULL GROUP BY {key}) "
        f"SELECT c.* REPLACE ("
        f"CASE WHEN c.{r} IS NULL AND (c.{fno}, c.{ln}) <> f.first_pos THEN "
        f"{lit(name + ' ' + chr(39))} || c.{key} || ''' is a duplicate of ' || f.first_at "
        f"ELSE c.{r} END AS {r}, "
        f"CASE WHEN c.{r} IS NULL AND (c.{fno}, c.{ln}) <> f.first_pos THEN {lit(why)} "
        f"ELSE c.{rule} END AS {rule}) "
        f"FROM c LEFT JOIN firsts f ON c.{key} = f.k"
    )


def _known(select: str, key: str, n: Internal, members: str, quarantined: str | None) -> str:
    """Quarantine rows whose member is not an accepted member, saying when it was quarantined."""
    r, rule = quote(n.reason), quote(n.rule)
    was_q = "q.k IS NOT NULL" if quarantined else "FALSE"
    join_q = f"LEFT JOIN {quarantined} q ON c.{key} = q.k" if quarantined else ""
    unknown = "member_id is not a known member"
    dropped = "member_id's member was quarantined"
    return (
        f"WITH c AS ({select}) SELECT c.* REPLACE ("
        f"CASE WHEN c.{r} IS NOT NULL THEN c.{r} "
        f"WHEN m.member_id IS NULL AND {was_q} THEN 'member_id ''' || c.{key} || "
        f"''' was quarantined in members (see its row there)' "
        f"WHEN m.member_id IS NULL THEN 'member_id ''' || c.{key} || ''' is not a known member' "
        f"END AS {r}, "
        f"CASE WHEN c.{r} IS NOT NULL THEN c.{rule} "
        f"WHEN m.member_id IS NULL AND {was_q} THEN {lit(dropped)} "
        f"WHEN m.member_id IS NULL THEN {lit(unknown)} END AS {rule}), "
        f"m.signup_at AS {quote(n.signup)} "
        f"FROM c LEFT JOIN {members} m ON c.{key} = m.member_id {join_q}"
    )


@dataclass(frozen=True, slots=True)
class Probe:
    """One query of a table's quick check: one row, ``breaks`` then one flag per `dirty`.

    ``breaks`` says whether some row breaks a rule; each flag whether some value of that
    `cleanable` column meets `dirty_condition`.
    """

    sql: str
    dirty: tuple[str, ...] = ()
    column: str | None = None
    """The column whose distinct values alone decide the probe (see `values_probe`)."""


def quick_check_sql(
    contract: TableContract,
    columns: dict[str, str],
    names: Internal,
    source: str,
    as_of: datetime,
    *,
    members: str | None = None,
) -> list[Probe]:
    """The quick check: does any row break a rule, and which columns need cleaning?

    It answers what the row-by-row first pass of `checked_sql` (all `cleanable` columns
    read as stored, ``flag_dirty``) answers, as "is any row refused?" rather than a count.
    The dirty flags are exact; ``breaks`` (the OR over the probes) is exact whenever no
    flag is set, which is when the caller relies on it (otherwise it checks again with the
    cleaning on). They are cheaper than the row-by-row pass because a rule is tested on a
    summary of its column where one decides it: a bound on a typed number or timestamp by
    the column's min and max (DuckDB reads those, and the counts, from Parquet footers); a
    text rule, a unique key and a reference to members on the column's distinct values (a
    few per events file for an action, a million member ids for 100M events, instead of a
    join and several string tests per row). Each probe reads only the columns it tests.
    Rules on text to parse, and the rule across two columns, are tested row by row, exactly
    as `checked_sql` words them; so is NaN in a typed number column, since the footers'
    min and max leave NaN out (a NaN needs cleaning, so its column is then checked again
    row by row, and the min and max need only be right about the other values).
    """
    clean = frozenset(cleanable(contract, columns))
    typed = _typed_columns(contract, columns, names)
    rows_source = _values_select(contract, columns, names, source, clean)
    stats: list[str] = []
    per_row: list[str] = []
    probes: list[Probe] = []
    for i, (c, sql_type) in enumerate(columns.items()):
        col = contract.column(c)
        if col is None:
            continue
        text = sql_type.upper() == "VARCHAR"
        if col.type == "string":
            probes += _distinct_probe(contract, col, quote(c), text, c in clean, source, members)
        elif text:
            x = quote(names.prefix + f"x{i}")
            conditions = column_rules(col, quote(c), quote(typed[c]), x, sql_type, as_of)
            per_row += [r.condition for r in conditions]
        else:
            stats += _summary_breaks(col, quote(typed[c]), as_of)
            if col.type == "float" and c in clean:  # NaN: row by row (see the docstring)
                nan = f"coalesce(bool_or(isnan({quote(typed[c])})), FALSE)"
                probes.append(Probe(f"SELECT FALSE, {nan} FROM ({rows_source})", (c,)))
    if "ended_at" in columns and "signup_at" in columns:
        per_row.append(f"{quote(typed['ended_at'])} < {quote(typed['signup_at'])}")
    if stats:
        probes.append(Probe(f"SELECT {_any(stats)} FROM ({rows_source})"))
    if per_row:
        every = " OR ".join(f"({r})" for r in per_row)
        probes.append(Probe(f"SELECT coalesce(bool_or({every}), FALSE) FROM ({rows_source})"))
    return probes


def _any(conditions: list[str]) -> str:
    """SQL true when any of `conditions` is (NULL, from an empty summary, counts as false)."""
    if not conditions:
        return "FALSE"
    return "coalesce(" + " OR ".join(f"({c})" for c in conditions) + ", FALSE)"


def _summary_breaks(column: Column, v: str, as_of: datetime) -> list[str]:
    """Aggregates true when some row of typed column `v` breaks one of `column_rules`' rules.

    Exact for each rule on its own: a value is below a bound iff the minimum is, above iff
    the maximum is; an infinite value is the minimum or the maximum; a value is missing iff
    the column counts fewer values than rows. NaN is left to the caller's own probe.
    """
    out = [f"count({v}) < count(*)"] if column.required else []
    if column.type == "timestamp":
        lo, hi = YEAR_RANGE
        bound = as_of.astimezone(UTC)
        out += [
            f"min({v}) < TIMESTAMPTZ '{lo:04d}-01-01 00:00:00+00'",
            f"max({v}) >= TIMESTAMPTZ '{hi + 1:04d}-01-01 00:00:00+00'",
            f"max({v}) > TIMESTAMPTZ '{bound.isoformat()}'",
        ]
        return out
    out += [f"NOT isfinite(min({v}))", f"NOT isfinite(max({v}))"]
    if column.minimum is not None:
        out.append(f"min({v}) < {column.minimum!r}")
    if column.maximum is not None:
        out.append(f"max({v}) > {column.maximum!r}")
    return out


def _distinct_probe(
    contract: TableContract,
    column: Column,
    q: str,
    text: bool,
    clean: bool,
    source: str,
    members: str | None,
) -> list[Probe]:
    """The rules of string column `q` tested once per distinct value (and how often it occurs).

    A row breaks a rule of the column iff its value does: missing (NULL), a NUL byte, a
    member id no accepted member has, or a unique key seen more than once (when every row
    is otherwise good, which is when ``breaks`` is relied on). Cleaning is off (`clean`),
    so the typed value is the stored value as text.
    """
    name = column.name
    key = contract.unique == name
    refers = contract.references_members and name == "member_id" and members is not None
    breaks = ["d.k IS NULL"] if column.required else []
    if text:
        breaks.append("strpos(d.k, chr(0)) > 0")
    if key:
        breaks.append("d.k IS NOT NULL AND d.n > 1")
    if refers:
        breaks.append("d.k IS NOT NULL AND m.member_id IS NULL")
    if not breaks and not clean:
        return []
    every = " OR ".join(f"({b})" for b in breaks) or "FALSE"
    flag = f", coalesce(bool_or({dirty_condition(column, 'd.k')}), FALSE)" if clean else ""
    count = ", count(*) AS n" if key else ""
    join = f" LEFT JOIN {members} m ON d.k = m.member_id" if refers else ""
    return [
        Probe(
            f"SELECT coalesce(bool_or({every}), FALSE){flag} FROM (SELECT k{count} FROM "
            f"(SELECT CAST({q} AS VARCHAR) AS k FROM {source}) GROUP BY k) d{join}",
            (name,) if clean else (),
            None if key else name,
        )
    ]


def values_probe(
    contract: TableContract,
    columns: dict[str, str],
    column: str,
    source: str,
    *,
    members: str | None = None,
) -> Probe | None:
    """The probe of `quick_check_sql` on string `column`, run on `source` instead.

    `source` holds the column's distinct values, or a superset of them (the dictionaries of
    Parquet files, where a value may be listed that no row has): a probe finding nothing
    there proves the same of the table; one finding something proves nothing.
    """
    col = contract.column(column)
    if col is None or col.type != "string" or contract.unique == column:
        return None
    text = columns[column].upper() == "VARCHAR"
    clean = column in cleanable(contract, columns)
    probes = _distinct_probe(contract, col, quote(column), text, clean, source, members)
    return probes[0] if probes else None
