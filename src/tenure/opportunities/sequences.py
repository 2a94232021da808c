"""From the events table to a compact database of short episodes, mostly in the engine.

The engine does the heavy cut (:func:`linked_events`): it drops actions too rare to be in
any frequent pattern, orders each member's events, and keeps only events within ``max_gap``
seconds of a neighbour — a pattern step never stands alone, and in a product's event log
most events do. What comes back is a small table sorted by member and time, with the gap to
the previous event and whether the session changed.

:func:`episodes` turns it into the symbol database the miner reads: an *episode* is a run of
linked events (capped at ``max_len`` steps); between two events, an exit — a session change,
a long gap, or an exit action (``app.background``…) with its return (``app.foreground``) —
becomes one ``<exit>`` symbol that remembers its kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.errors import BackendError
from tenure.opportunities.roles import EXIT, StepRoles
from tenure.store.epoch import epoch_us

__all__ = ["EXIT_KINDS", "Episodes", "episodes", "epoch_seconds", "linked_events", "to_arrow"]

EXIT_KINDS = ("none", "session", "background", "gap")


def to_arrow(expr: ir.Table, what: str) -> pa.Table:
    """Materialise `expr`, or say which backend lacks the window functions it needs."""
    from ibis.common.exceptions import OperationNotDefinedError

    try:
        table: pa.Table = expr.to_pyarrow()
    except OperationNotDefinedError as exc:
        name = getattr(expr._find_backend(), "name", "this")
        raise BackendError(
            f"{what} needs window functions (lag/lead over each member's events), which the "
            f"{name} backend of Ibis does not translate ({exc}); open the data with the "
            "duckdb backend (the default)"
        ) from exc
    return table


def epoch_seconds(ts: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since the epoch with the microseconds, the same on every backend.

    From the engine's integer microseconds (:func:`tenure.store.epoch.epoch_us`): Ibis's own
    ``epoch_seconds`` is whole seconds on Polars and Spark, and on DuckDB it casts each
    time-zone-aware timestamp through the ICU calendar (1.6 s per 10M events against 0.04 s).
    """
    out: ir.FloatingValue = epoch_us(ts).cast("float64") / 1e6
    return out


def linked_events(
    events: ir.Table, *, max_gap: float, min_members: int, exclude: tuple[str, ...] = ()
) -> pa.Table:
    """Events of frequent actions that have a neighbour within `max_gap` seconds.

    Returns a pyarrow table grouped by member and sorted by time within a member with ``member_id``, ``action``,
    ``t`` (seconds since the epoch, float), ``gap`` (seconds since the member's previous
    kept-or-not event, null for the first), ``new_session`` (bool: ``session_id`` changed;
    null when the table has no ``session_id``) and ``duration_s`` (null when absent).
    """
    ev = events
    if exclude:
        ev = ev.filter(~ev.action.isin(list(exclude)))
    support = ev.group_by("action").agg(n_members=ev.member_id.nunique())
    frequent = support.filter(support.n_members >= min_members).select("action")
    ev = ev.semi_join(frequent, "action")
    t = epoch_seconds(ev.ts)
    cols: dict[str, ir.Value] = {
        "member_id": ev.member_id,
        "action": ev.action,
        "ts": ev.ts,
        "t": t,
    }
    has_session = "session_id" in ev.columns
    if has_session:
        cols["session_id"] = ev.session_id.cast("string")
    cols["duration_s"] = (
        ev.duration_s.cast("float64") if "duration_s" in ev.columns else ibis.null("float64")
    )
    ev = ev.select(**cols)
    w = ibis.window(group_by=ev.member_id, order_by=ev.ts)
    prev_t, next_t = ev.t.lag().over(w), ev.t.lead().over(w)
    extra: dict[str, ir.Value] = {"gap": ev.t - prev_t, "gap_next": next_t - ev.t}
    if has_session:
        extra["new_session"] = ev.session_id != ev.session_id.lag().over(w)
    else:
        extra["new_session"] = ibis.null("boolean")
    ev = ev.mutate(**extra)
    keep = ev.filter((ev.gap <= max_gap) | (ev.gap_next <= max_gap))
    out = keep.select("member_id", "action", "t", "gap", "new_session", "duration_s")
    table = to_arrow(out, "workaround mining")
    # Sorting the small result here is cheaper than an ORDER BY on strings in the engine.
    codes = pc.dictionary_encode(table["member_id"]).combine_chunks().indices
    order = np.lexsort((table["t"].to_numpy(), codes.to_numpy(zero_copy_only=False)))
    table = table.take(pa.array(order))
    return table


@dataclass(frozen=True, slots=True)
class Episodes:
    """Flat arrays of symbols, grouped into episodes (rows of one episode are contiguous).

    ``sym`` indexes ``symbols`` (``symbols[exit_code] == "<exit>"``); ``exit_kind`` indexes
    :data:`EXIT_KINDS` on exit rows; ``route`` is the symbol of the real step right after an
    exit (the way back in); ``member`` indexes ``members``.
    """

    ep: IntArray
    start: IntArray  # first row of each episode
    length: IntArray
    member: IntArray
    sym: IntArray
    t: FloatArray
    duration: FloatArray
    exit_kind: IntArray
    symbols: tuple[str, ...]
    members: tuple[str, ...]
    exit_code: int
    roles: tuple[str | None, ...]

    @property
    def n_rows(self) -> int:
        """Number of symbol rows."""
        return int(self.sym.shape[0])

    @property
    def n_episodes(self) -> int:
        """Number of episodes."""
        return int(self.start.shape[0])


def episodes(
    linked: pa.Table,
    roles: StepRoles,
    *,
    max_gap: float,
    exit_gap: float,
    session_gap: float,
    max_len: int,
) -> Episodes:
    """Cut linked events into episodes and encode exits as one ``<exit>`` symbol.

    Examples
    --------
    >>> import pyarrow as pa
    >>> tab = pa.table({"member_id": ["a"] * 4, "action": ["x.download", "app.open", "x.upload", "x.play"],
    ...                 "t": [0.0, 600.0, 630.0, 9000.0], "gap": [None, 600.0, 30.0, 8370.0],
    ...                 "new_session": pa.nulls(4, pa.bool_()), "duration_s": pa.nulls(4, pa.float64())})
    >>> e = episodes(tab, StepRoles(), max_gap=3600, exit_gap=120, session_gap=1800, max_len=20)
    >>> [e.symbols[s] for s in e.sym], e.length.tolist()
    (['x.download', '<exit>', 'app.open', 'x.upload', 'x.play'], [4, 1])
    """
    n = linked.num_rows
    if n == 0:
        return _empty(roles)
    member_enc = pc.dictionary_encode(linked["member_id"]).combine_chunks()
    action_enc = pc.dictionary_encode(linked["action"]).combine_chunks()
    member = np.asarray(member_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    action = np.asarray(action_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    names = tuple(str(a) for a in action_enc.dictionary.to_pylist())
    t = np.asarray(linked["t"].to_numpy(zero_copy_only=False), dtype=np.float64)
    gap = np.asarray(
        pc.fill_null(linked["gap"], np.inf).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    dur = np.asarray(
        pc.fill_null(linked["duration_s"], np.nan).to_numpy(zero_copy_only=False),
        dtype=np.float64,
    )
    sess_col = linked["new_session"]
    has_session = sess_col.null_count < n
    new_session: BoolArray = np.asarray(
        pc.fill_null(sess_col, False).to_numpy(zero_copy_only=False), dtype=bool
    )
    role_of = [roles.role(a) for a in names]
    is_exit_action = np.array([r == "exit" for r in role_of], dtype=bool)[action]
    is_return = np.array([r == "return" for r in role_of], dtype=bool)[action]

    # Episode boundaries: a new member or a gap beyond max_gap.
    first = np.ones(n, dtype=bool)
    first[1:] = (member[1:] != member[:-1]) | (gap[1:] > max_gap)
    ep_of_event = np.cumsum(first) - 1
    # An exit before an event: a session change or a long gap, except at an episode start and
    # right after an exit action (``app.background``), whose gap is that exit's own.
    session_change = new_session if has_session else gap >= session_gap
    kind = np.where(session_change, 1, np.where(gap >= exit_gap, 3, 0))
    after_exit_action = np.zeros(n, dtype=bool)
    after_exit_action[1:] = is_exit_action[:-1]
    exit_before = (kind > 0) & ~first & ~after_exit_action
    emit = ~is_return  # the return from an exit is folded into the exit

    # The symbol stream: per event, an optional <exit> row, then the event's own row.
    exit_code = len(names)
    symbols = (*names, EXIT)
    per_event = exit_before.astype(np.int64) + emit.astype(np.int64)
    offset = np.cumsum(per_event) - per_event
    total = int(per_event.sum())
    sym = np.empty(total, dtype=np.int64)
    rt = np.empty(total, dtype=np.float64)
    rdur = np.full(total, np.nan)
    rkind = np.zeros(total, dtype=np.int64)
    rmember = np.empty(total, dtype=np.int64)
    rep = np.empty(total, dtype=np.int64)
    prev_t = np.r_[np.nan, t[:-1]]
    r = offset[exit_before]
    sym[r], rt[r], rkind[r] = exit_code, prev_t[exit_before], kind[exit_before]
    rmember[r], rep[r] = member[exit_before], ep_of_event[exit_before]
    r = offset[emit] + exit_before[emit]
    sym[r] = np.where(is_exit_action[emit], exit_code, action[emit])
    rt[r], rdur[r] = t[emit], dur[emit]
    rkind[r] = np.where(is_exit_action[emit], 2, 0)
    rmember[r], rep[r] = member[emit], ep_of_event[emit]
    # Two exits in a row are one exit; an exit at an episode's edge is not between two steps.
    is_exit = sym == exit_code
    same_ep_prev = np.r_[False, rep[1:] == rep[:-1]]
    same_ep_next = np.r_[rep[:-1] == rep[1:], False]
    dup = is_exit & np.r_[False, is_exit[:-1]] & same_ep_prev
    keep = ~dup
    sym, rt, rdur, rkind, rmember, rep = (a[keep] for a in (sym, rt, rdur, rkind, rmember, rep))
    is_exit = sym == exit_code
    same_ep_prev = np.r_[False, rep[1:] == rep[:-1]]
    same_ep_next = np.r_[rep[:-1] == rep[1:], False]
    keep = ~(is_exit & ~(same_ep_prev & same_ep_next))
    sym, rt, rdur, rkind, rmember, ep_id = (a[keep] for a in (sym, rt, rdur, rkind, rmember, rep))
    # Cap episode length: split long runs (bursts) into chunks of max_len.
    if sym.shape[0] == 0:
        return _empty(roles)
    _, ep_id = np.unique(ep_id, return_inverse=True)
    first_of = np.r_[0, np.flatnonzero(np.diff(ep_id)) + 1]
    pos = np.arange(sym.shape[0]) - np.repeat(first_of, np.diff(np.r_[first_of, sym.shape[0]]))
    ep_id = ep_id * (1 + pos.max(initial=0) // max_len) + pos // max_len
    _, ep_id = np.unique(ep_id, return_inverse=True)
    ep_id = ep_id.astype(np.int64)
    start = np.r_[0, np.flatnonzero(np.diff(ep_id)) + 1].astype(np.int64)
    length = np.diff(np.r_[start, sym.shape[0]]).astype(np.int64)
    roles_tuple = (*role_of, "exit")
    return Episodes(
        ep=ep_id,
        start=start,
        length=length,
        member=rmember,
        sym=sym,
        t=rt,
        duration=rdur,
        exit_kind=rkind,
        symbols=symbols,
        members=tuple(str(m) for m in member_enc.dictionary.to_pylist()),
        exit_code=exit_code,
        roles=roles_tuple,
    )


def _empty(roles: StepRoles) -> Episodes:
    z = np.zeros(0, dtype=np.int64)
    return Episodes(z, z, z, z, z, np.zeros(0), np.zeros(0), z, (EXIT,), (), 0, ("exit",))
