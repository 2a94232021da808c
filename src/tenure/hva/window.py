"""The engine's part of HVA discovery: each member's integer index and the one pass over events.

Everything HVA discovery reads from events is one grouped scan, :func:`window_pass`: events
joined to the members on ``member_id`` (each member carrying a dense integer index and its
window bounds, :func:`member_index`), cut to the window and grouped to a few rows per member
and action. Its result stays in the engine, cached (DuckDB spills it to disk under a memory
limit): :mod:`tenure.hva.uses` reads it back in member ranges, so no result the size of the
events ever has to fit in Python's memory at once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from tenure.retention.spans import SECONDS_PER_DAY

__all__ = ["WINDOW_PASS_COLUMNS", "member_index", "window_pass"]

WINDOW_PASS_COLUMNS = ("_mi", "action", "_b", "n", "n0", "n1", "early", "first", "pre")
"""Columns of :func:`window_pass`'s table."""


def member_index(spans: ir.Table, *, window: int, activity_days: int, early_days: int) -> ir.Table:
    """Each member's dense integer index and window bounds, as an in-memory table.

    The bounds (``signup_at`` plus 1 … ``window`` days) are computed here on the members'
    timestamps as integers: in the engine, adding an interval to a time-zone-aware timestamp
    goes through calendar arithmetic that cost more than the whole events join at a million
    members. A day is 86,400 s (UTC). The activity and pair days' ends are among them
    (``_day{k}``); the parameters are kept so that every caller passes the same three.
    """
    del activity_days, early_days  # their bounds are _day columns (see _bound)
    got = spans.select("member_id", "signup_at").to_pyarrow()
    signup = got.column("signup_at").combine_chunks()
    kind = signup.type
    micros = np.asarray(
        signup.cast(pa.timestamp(kind.unit, kind.tz))
        .cast(pa.int64())
        .to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    per_day = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[kind.unit] * SECONDS_PER_DAY

    def shifted(days: int) -> pa.Array:
        return pa.array(micros + days * per_day, type=pa.int64()).cast(kind)

    cols: dict[str, pa.Array] = {
        "member_id": got.column("member_id").combine_chunks(),
        "_mi": pa.array(np.arange(got.num_rows, dtype=np.int64)),
        **{f"_day{k}": shifted(k) for k in range(1, window + 1)},
    }
    return ibis.memtable(pa.table(cols))


def _bound(days: int, window: int) -> str | None:
    """The bound column for "before day ``days``" within the window (None: no event is)."""
    return None if days <= 0 else f"_day{min(days, window)}"


def _before(ev: ir.Table, days: int, window: int) -> ir.BooleanValue:
    """In the window and before day ``days``: one comparison, none when every event is."""
    bound = _bound(days, window)
    inwin = ev.ts >= ev.signup_at
    if bound is None:
        return inwin & ibis.literal(False)  # still a column, to sum
    return inwin if bound == f"_day{window}" else inwin & (ev.ts < ev[bound])


def window_pass(
    keyed: ir.Table,
    events: ir.Table,
    *,
    window: int,
    activity_days: int,
    early_days: int,
) -> ir.Table:
    """The one scan of events, cached in the engine: per (member, action, benefit), counts.

    Joined to the members on ``member_id`` once and filtered to events before the window's
    end, it has :data:`WINDOW_PASS_COLUMNS`: ``_mi``, ``action``, ``_b`` (the benefit, or
    the action without a ``benefit`` column), ``n`` uses in the window, ``n0`` in the
    activity days, ``n1`` on the signup day, ``early`` (1 when any in the pair days),
    ``first`` (first day used in the window, ``window`` when none) and ``pre`` (events
    before signup): a few rows per member. The caller releases the cached table.

    Per event there are only comparisons with the member's bounds (see :func:`member_index`),
    and only the bounds the counts need ride along the join: with the defaults (activity
    and pair days = the window) that is ``signup_at``, ``_day1`` and the window's end. The
    day of first use is taken from each group's earliest in-window timestamp *after*
    grouping (a few rows per member instead of one per event), and ``early`` follows from
    it: some use before day ``early_days`` is a first use before it.
    """
    needed = {f"_day{window}"} | {
        b for b in (_bound(1, window), _bound(activity_days, window)) if b
    }
    bounds = keyed.select("member_id", "_mi", "signup_at", *sorted(needed))
    bcol = events.benefit if "benefit" in events.columns else events.action
    ev = events.select("member_id", "ts", "action", _b=bcol.cast("string")).join(
        bounds, "member_id"
    )
    ev = ev.filter(ev.ts < ev[f"_day{window}"])
    inwin = ev.ts >= ev.signup_at
    # Per event only two sums, a count and a MIN: ``n`` is every event less those before
    # signup, taken after grouping, and so is ``n0`` when the activity days cover the
    # window (the default).
    whole = _bound(activity_days, window) == f"_day{window}"
    sums = {} if whole else {"n0": _before(ev, activity_days, window).cast("int64").sum()}
    grouped = ev.group_by(["_mi", "action", "_b"]).agg(
        _c=ev.count(),
        n1=_before(ev, 1, window).cast("int64").sum(),
        pre=(~inwin).cast("int64").sum(),
        _t=ev.ts.min(where=inwin),
        **sums,
    )
    grouped = grouped.mutate(n=(grouped._c - grouped.pre).cast("int64"))
    if whole:
        grouped = grouped.mutate(n0=grouped.n)
    # The groups' first uses are dated against the members' day bounds, handed to the engine
    # again as an in-memory table (members-sized, like :func:`member_index`'s): a second
    # reference to ``keyed`` in one plan trips Polars' common-subplan optimiser (a panic).
    days = ibis.memtable(keyed.select("_mi", *_days(1, window)).to_pyarrow())
    acts = _first_use(grouped.join(days, "_mi"), window, early_days).cache()
    return acts


def _days(lo: int, hi: int) -> list[str]:
    return [f"_day{k}" for k in range(lo, hi)]


def _first_use(g: ir.Table, window: int, early_days: int) -> ir.Table:
    """``first`` from each group's earliest in-window timestamp ``_t``, and ``early`` from it.

    The day of first use is the number of day bounds ``_t`` has passed (``window`` when the
    group has no use in the window); some use before day ``early_days`` is a first use
    before it.
    """
    passed: ir.IntegerValue = ibis.literal(0, type="int64")
    for col in _days(1, window):
        passed = passed + (g._t >= g[col]).cast("int64")
    first = g._t.isnull().ifelse(window, passed)
    return g.select(
        "_mi",
        "action",
        "_b",
        "n",
        "n0",
        "n1",
        early=(first < min(early_days, window)).cast("int64"),
        first=first,
        pre="pre",
    )
