"""The window uses of the landmark members, read back from the engine in member ranges.

The events pass (:func:`tenure.hva.window.window_pass`) is cached in the engine, which can
spill it to disk; Python reads it three ways, each bounded whatever the number of members:

* :func:`member_sums` — one row per member: its activity counts and number of window uses
  (what the engagement covariates' bins and the strata need, before any use is read);
* :func:`candidate_benefits` — the distinct (action, benefit) pairs used: the candidates;
* :class:`WindowUses` — the uses themselves, one batch of whole members at a time (members
  by integer index range), each batch as numpy columns ready for the count tables.

So at ten million members the per-use columns (hundreds of millions of rows) never exist in
Python at once; only per-member arrays and one batch do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tenure._types import IntArray
from tenure.hva.window import first_days
from tenure.hva.within import WithinStratum

__all__ = [
    "USE_COLUMNS",
    "WindowUses",
    "candidate_benefits",
    "codes",
    "int_column",
    "member_sums",
]

USE_COLUMNS = ("m", "a", "n", "n0", "n1", "early", "first", "level", "da", "dd", "sid_a")
"""The integer columns of one batch of :meth:`WindowUses.batches` (which adds the float ``z_a``)."""


def codes(values: IntArray, edges: Sequence[float]) -> IntArray:
    """Level code of each count: how many of the (increasing) ``edges`` it reaches.

    Counts span few values (a first week's events), so the code of every value between the
    smallest and the largest is found once and looked up: a binary search per value, with
    the counts cast to float to meet the edges, cost ten times more on the millions of uses
    and pairs HVA codes at a million members. Wide or non-integer values are searched.
    """
    v = np.asarray(values)
    f = np.asarray(edges, dtype=np.float64)
    if v.size and np.issubdtype(v.dtype, np.integer):
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < max(v.size, 1 << 10):
            table = np.searchsorted(f, np.arange(lo, hi + 1), side="right").astype(np.int64)
            out: IntArray = table[v - lo]
            return out
    return np.searchsorted(f, v, side="right").astype(np.int64)


def int_column(table: pa.Table, name: str) -> IntArray:
    """A column of an engine result as int64 numpy (nulls are not expected here)."""
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.int64)


def _used(acts: ir.Table) -> ir.BooleanValue:
    """A window use of a candidate: used in the window, of an action with a benefit."""
    return (acts.n > 0) & acts._b.notnull()


def member_sums(acts: ir.Table, size: int) -> dict[str, IntArray]:
    """Per member index (``size`` of them): activity counts, pre-signup events and uses.

    ``d0``/``d1`` count events in the activity days and on the signup day, ``d0nb``/``d1nb``
    the same without benefit actions, ``pre`` the events before signup and ``uses`` the
    member's window uses (:func:`_used` rows). Members without events are 0.
    """
    nb = acts._b.isnull()
    got = (
        acts.group_by("_mi")
        .agg(
            d0=acts.n0.sum(),
            d0nb=nb.ifelse(acts.n0, 0).sum(),
            d1=acts.n1.sum(),
            d1nb=nb.ifelse(acts.n1, 0).sum(),
            pre=acts.pre.sum(),
            uses=_used(acts).cast("int64").sum(),
        )
        .to_pyarrow()
    )
    mi = int_column(got, "_mi")
    out: dict[str, IntArray] = {}
    for c in ("d0", "d0nb", "d1", "d1nb", "pre", "uses"):
        full = np.zeros(size, dtype=np.int64)
        full[mi] = int_column(got, c)
        out[c] = full
    return out


def candidate_benefits(acts: ir.Table) -> dict[str, str]:
    """The benefit of every action used in some member's window (the candidate actions)."""
    got = acts.filter(_used(acts)).select("action", "_b").distinct().to_pyarrow()
    return {
        str(a): str(b)
        for a, b in zip(got.column("action").to_pylist(), got.column("_b").to_pylist(), strict=True)
    }


class WindowUses:
    """The landmark members' window uses, read from the cached events pass in member batches.

    Each batch (:meth:`batches`) holds every use of a range of members — a member's uses are
    never split, which the pair counts need — as :data:`USE_COLUMNS`: ``m`` (the member's
    landmark row), ``a`` (index into ``actions``), ``n`` uses, ``n0`` in the activity days,
    ``n1`` on the signup day, ``early`` (1 when used in the pair days), ``first`` (day of the
    first use), ``level`` (index of the highest threshold reached), ``da``/``dd`` (how many
    levels the member's activity and signup-day codes drop without this action's events:
    0 or less), ``sid_a`` (the member's stratum with its activity counted so) and ``z_a``
    (the member's within-stratum index counted so, :mod:`tenure.hva.within`). The
    first use is dated from the pass's ``first_at`` and the member's ``signup`` (µs, one per
    landmark row) by :func:`tenure.hva.window.first_days`; ``early`` is a first use before
    day ``early_days``.
    """

    def __init__(
        self,
        acts: ir.Table,
        *,
        row_of: IntArray,
        n_uses: int,
        actions: Sequence[str],
        thresholds: Sequence[int],
        sid: IntArray,
        d0: IntArray,
        d1: IntArray,
        shifts: Sequence[tuple[Sequence[float], int]],
        signup: IntArray,
        window: int,
        early_days: int,
        within: WithinStratum,
    ) -> None:
        self._acts: ir.Table | None = acts
        self.row_of = row_of
        self.n_uses = n_uses
        self.position = {a: i for i, a in enumerate(actions)}
        self.thresholds = tuple(thresholds)
        self.sid, self.d0, self.d1 = sid, d0, d1
        self.shifts = tuple(shifts)
        self.signup, self.window, self.early_days = signup, window, early_days
        self.within = within

    def batches(self, rows: int) -> Iterator[dict[str, npt.NDArray[Any]]]:
        """The uses in batches of whole members, about ``rows`` uses each (see class)."""
        for got in self.reads(rows):
            batch = self.columns(got)
            if batch["m"].size:
                yield batch

    def reads(self, rows: int) -> Iterator[pa.Table]:
        """The engine's rows of each batch, before :meth:`columns` turns them into a batch.

        Apart so that threads can share one engine connection, reading in turn while the
        conversions run at once (see :func:`tenure.hva.aggregate.aggregate_counts`).
        """
        if self._acts is None:
            raise RuntimeError("the window uses were released")
        acts = self._acts
        size = self.row_of.size
        step = max(1, int(rows * size // max(self.n_uses, 1)))
        for lo in range(0, size, step):
            hi = min(lo + step, size)
            part = acts.filter(_used(acts) & (acts._mi >= lo) & (acts._mi < hi))
            got = part.select("_mi", "action", "n", "n0", "n1", "first_at").to_pyarrow()
            if got.num_rows:
                yield got

    def columns(self, got: pa.Table) -> dict[str, npt.NDArray[Any]]:
        """One batch's numpy columns (:data:`USE_COLUMNS` and ``z_a``), landmark members only.

        ``z_a`` is the member's within-stratum index without this action's events (float).
        """
        m = self.row_of[int_column(got, "_mi")]
        keep = np.flatnonzero(m >= 0)
        action = got.column("action").combine_chunks().dictionary_encode()
        remap = np.asarray(
            [self.position.get(str(a), -1) for a in action.dictionary.to_pylist()], dtype=np.int64
        )
        a = remap[np.asarray(action.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
        m = m[keep]
        n, n0, n1 = (int_column(got, c)[keep] for c in ("n", "n0", "n1"))
        first = first_days(got.column("first_at").take(pa.array(keep)), self.signup[m], self.window)
        level = np.zeros(keep.size, dtype=np.int64)
        for k in self.thresholds[1:]:
            level += n >= k
        # The stratum without this action's events: the activity codes recomputed.
        (act_edges, r_act), (d1_edges, r_d1) = self.shifts
        md0, md1 = self.d0[m], self.d1[m]
        da = codes(md0 - n0, act_edges) - codes(md0, act_edges)
        dd = codes(md1 - n1, d1_edges) - codes(md1, d1_edges)
        return {
            "m": m,
            "a": a[keep],
            "n": n,
            "n0": n0,
            "n1": n1,
            "early": (first < min(self.early_days, self.window)).astype(np.int64),
            "first": first,
            "level": level,
            "da": da,
            "dd": dd,
            "sid_a": self.sid[m] + da * r_act + dd * r_d1,
            "z_a": self.within.index(m, md0 - n0, md1 - n1),
        }

    def release(self) -> None:
        """Drop the cached events pass from the engine (batches cannot be read after)."""
        if self._acts is not None:
            release = getattr(self._acts, "release", None)
            if release is not None:
                release()
            self._acts = None
