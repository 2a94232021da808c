"""The engine's part of HVA discovery: each member's integer index and the one pass over events.

Everything HVA discovery reads from events is one grouped scan, :func:`window_pass`: events
joined to the members on ``member_id`` (each member carrying a dense integer index and its
window bounds, :func:`member_index`), cut to the window and grouped to a few rows per member
and action. Its result stays in the engine, cached (DuckDB spills it to disk under a memory
limit): :mod:`tenure.hva.uses` reads it back in member ranges, so no result the size of the
events ever has to fit in Python's memory at once. The day of a group's first use is dated
as it is read back (:func:`first_days`, integer arithmetic on the batch), not in the engine.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from tenure._types import IntArray
from tenure.retention.spans import SECONDS_PER_DAY

__all__ = ["WINDOW_PASS_COLUMNS", "epoch_us", "first_days", "member_index", "window_pass"]

WINDOW_PASS_COLUMNS = ("_mi", "action", "_b", "n", "n0", "n1", "pre", "first_at")
"""Columns of :func:`window_pass`'s table."""


def member_index(spans: ir.Table, *, window: int, activity_days: int, early_days: int) -> ir.Table:
    """Each member's dense integer index and window bounds, as an in-memory table.

    The bounds (``signup_at`` plus 1 … ``window`` days) are computed here on the members'
    timestamps as integers: in the engine, adding an interval to a time-zone-aware timestamp
    goes through calendar arithmetic that cost more than the whole events join at a million
    members. A day is 86,400 s (UTC). Only the bounds the events pass compares with are
    made (``_day{k}``: the signup day's, the activity days' and the window's ends); the pair
    days are dated on the groups read back, so ``early_days`` needs none.
    """
    del early_days
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
        **{b: shifted(int(b.removeprefix("_day"))) for b in _bounds(window, activity_days)},
    }
    return ibis.memtable(pa.table(cols))


def _bounds(window: int, activity_days: int) -> list[str]:
    """The bound columns the events pass compares with (the window's end always)."""
    wanted = {f"_day{window}"} | {
        b for b in (_bound(1, window), _bound(activity_days, window)) if b
    }
    return sorted(wanted)


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
    activity days, ``n1`` on the signup day, ``pre`` (events before signup) and
    ``first_at`` (the earliest use in the window, null when none; :func:`first_days` dates
    it): a few rows per member. The caller releases the cached table. ``early_days`` is
    kept so that every caller passes the same three; the pair days are read from
    ``first_at``.

    Per event there are only comparisons with the member's bounds (see :func:`member_index`),
    and only the bounds the counts need ride along the join: with the defaults (activity
    and pair days = the window) that is ``signup_at``, ``_day1`` and the window's end.
    Dating the first use in the engine took a second join to the members' day bounds and a
    comparison per bound on every group, 1.3 s of the pass's 13 at a million Parla members;
    on the groups read back it is one subtraction.
    """
    del early_days
    bounds = keyed.select("member_id", "_mi", "signup_at", *_bounds(window, activity_days))
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
        first_at=ev.ts.min(where=inwin),
        **sums,
    )
    n = (grouped._c - grouped.pre).cast("int64")
    n0 = n if whole else grouped.n0
    columns = {"n": n, "n0": n0, **{c: grouped[c] for c in ("n1", "pre", "first_at")}}
    return grouped.select("_mi", "action", "_b", **columns).cache()


def epoch_us(stamps: pa.Array | pa.ChunkedArray) -> IntArray:
    """Timestamps as int64 microseconds since the epoch, whatever their unit (nulls: 0).

    Engines hand timestamps back in their own unit (DuckDB and Spark µs, Polars µs or ns);
    the contract's timestamps are µs-precise, so a finer unit is truncated to µs.
    """
    arr = stamps.combine_chunks() if isinstance(stamps, pa.ChunkedArray) else stamps
    us = arr.cast(pa.timestamp("us", arr.type.tz), safe=False).cast(pa.int64()).fill_null(0)
    return np.asarray(us.to_numpy(zero_copy_only=False), dtype=np.int64)


def first_days(first_at: pa.Array | pa.ChunkedArray, signup: IntArray, window: int) -> IntArray:
    """The day of each group's first use in the window, from ``first_at`` and ``signup`` (µs).

    Day ``k`` is ``[signup + k * 86,400 s, signup + (k + 1) * 86,400 s)``, the engine's
    bounds, so floor division of the exact µs difference dates a use as they do. A group
    with no use in the window (only history: ``first_at`` null) gets ``window``.
    """
    day = (epoch_us(first_at) - signup) // (SECONDS_PER_DAY * 10**6)
    missing = np.asarray(first_at.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    out: IntArray = np.where(missing, window, day).astype(np.int64)
    return out
