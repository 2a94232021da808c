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

    The bounds (``signup_at`` plus 1 … ``window`` days, plus the activity and pair days)
    are computed here on the members' timestamps as integers: in the engine, adding an
    interval to a time-zone-aware timestamp goes through calendar arithmetic that cost
    more than the whole events join at a million members. A day is 86,400 s (UTC).
    """
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
        "_act_end": shifted(activity_days),
        "_early_end": shifted(early_days),
        **{f"_day{k}": shifted(k) for k in range(1, window + 1)},
    }
    return ibis.memtable(pa.table(cols))


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
    """
    # Per event there are only comparisons with the member's bounds (see
    # :func:`member_index`); the day of first use is the number of day boundaries passed.
    bounds = keyed.select(
        "member_id", "_mi", "signup_at", "_act_end", "_early_end",
        *(f"_day{k}" for k in range(1, window + 1)),
    )  # fmt: skip
    bcol = events.benefit if "benefit" in events.columns else events.action
    ev = events.select("member_id", "ts", "action", _b=bcol.cast("string")).join(
        bounds, "member_id"
    )
    ev = ev.filter(ev.ts < ev[f"_day{window}"])
    inwin = ev.ts >= ev.signup_at
    passed: ir.IntegerValue = ibis.literal(0, type="int64")
    for k in range(1, window):
        passed = passed + (ev.ts >= ev[f"_day{k}"]).cast("int64")
    acts = ev.group_by(["_mi", "action", "_b"]).agg(
        n=inwin.cast("int64").sum(),
        n0=(inwin & (ev.ts < ev._act_end)).cast("int64").sum(),
        n1=(inwin & (ev.ts < ev._day1)).cast("int64").sum(),
        early=(inwin & (ev.ts < ev._early_end)).cast("int64").max(),
        first=inwin.ifelse(passed, window).min(),
        pre=(~inwin).cast("int64").sum(),
    )
    return acts.cache()
