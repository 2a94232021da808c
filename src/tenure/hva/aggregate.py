"""The count tables of HVA discovery, built in numpy from the landmark's columns.

From the landmark (:func:`tenure.hva.features.landmark`, whose one pass over events is all
the engine work):

* ``totals`` — members per (stratum, horizon observable, retained); ``totals_nb`` the same by
  the stratum whose activity leaves out benefit actions (for "≥ k distinct benefits");
  beside each count, the tables keyed by strata sum the members' within-stratum index
  (:data:`SUMS`, :mod:`tenure.hva.within`);
* ``curve`` — members per (segment code, days since landmark, churned);
* ``uses`` — per (action, threshold level, early, stratum, stratum without the action's own
  events, observable, retained); ``uses_curve`` per (action, level, early, segment, day, churned);
* ``pairs`` / ``pairs_curve`` — the same for members who used two actions early;
* ``distinct`` / ``distinct_curve`` — per number of distinct benefits used (capped);
* ``first`` / ``first_curve`` — per (action, day of first use), for the timing candidates.

Every contrast's arms are sums and differences of these (:mod:`tenure.hva.estimate`), so no
member × candidate grid is ever built. The tables are group-by counts over integer columns:
each key is packed into one ``int64`` (mixed radix over the columns' ranges, wide columns
factorised first) and counted with one hash pass, which at a million members takes a
fraction of what the same ``GROUP BY`` costs after a round trip through the engine.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray, IntArray
from tenure.hva.design import ACTIVITY, DAY0
from tenure.hva.features import Landmark
from tenure.hva.uses import codes

__all__ = ["HvaCounts", "aggregate_counts", "group_count"]

_PACK_LIMIT = 2**62
_DENSE_CELLS = 1 << 21  # a table with at most this many possible cells is counted densely

COUNT_BUDGET_BYTES = 512 * 2**20
"""Working memory of one batch of window uses while counting (see :meth:`tenure.hva.uses.WindowUses.batches`)."""

COUNT_THREADS = 2
"""Most threads counting batches of window uses at once (see :func:`_count_uses`)."""

# A batch of use rows holds about this many int64 arrays at once (the key columns, their
# codes and packed key, the pair offsets' left/right columns).
_ROW_ARRAYS = 32


def _batch_rows(budget: int | None = None) -> int:
    """Rows per batch from the memory budget (the budget, not the world, sets it)."""
    return max(1 << 10, int((budget or COUNT_BUDGET_BYTES) // (8 * _ROW_ARRAYS)))


def _summed(frames: list[pd.DataFrame], names: list[str], sums: Sequence[str] = ()) -> pd.DataFrame:
    """The sum of count tables over the same keys (one table, sorted like `group_count`'s)."""
    if not frames:
        return _empty(*names, "n", sums=sums)
    if len(frames) == 1:
        return frames[0]
    allf = pd.concat(frames, ignore_index=True)
    cols = {c: allf[c].to_numpy(np.int64) for c in names}
    totals = {c: allf[c].to_numpy(np.float64) for c in sums}
    return group_count(cols, allf["n"].to_numpy(np.int64), sums=totals)


class _Summed:
    """One count table summed over batches, its columns coded in fixed ranges ``[0, span)``.

    The spans are the columns' global ranges, known before the first batch, so every batch
    packs its rows into the same ``int64`` keys; the batches' distinct keys are folded into
    the running table once they are as many as it has (so each row is sorted a few times,
    not once per batch). The running table is two arrays whatever its width, where summing
    frames column by column held several copies of every column at once. A table with few
    possible cells (the curves: action × level × segment × day) is a dense array of counts
    instead, and a table whose spans do not fit one ``int64`` is summed as frames
    (:func:`_summed`). A sparse table's spans are rounded up to powers of two, so that its
    keys are decoded with shifts and masks: dividing by the exact spans was 1.2 s of the
    pairs' 13.6M cells at a million Parla members, serial, after the threads' counting.

    ``sums`` names float columns summed per cell beside the count (the within-stratum
    index, :mod:`tenure.hva.within`).
    """

    def __init__(self, spans: Mapping[str, int], sums: Sequence[str] = ()) -> None:
        self.names = list(spans)
        self.sum_names = tuple(sums)
        exact = [max(int(spans[c]), 1) for c in self.names]
        cells = math.prod(exact)
        dense = cells <= _DENSE_CELLS
        wide = [1 << (s - 1).bit_length() for s in exact]
        self.spans = exact if dense or math.prod(wide) >= _PACK_LIMIT else wide
        self.packed = cells < _PACK_LIMIT
        self.dense = np.zeros(cells, dtype=np.int64) if dense else None
        self.dense_sums = {c: np.zeros(cells) for c in self.sum_names} if dense else {}
        self.keys = np.zeros(0, dtype=np.int64)
        self.n = np.zeros(0, dtype=np.int64)
        self.sums = {c: np.zeros(0) for c in self.sum_names}
        self.pending: list[tuple[IntArray, IntArray, dict[str, FloatArray]]] = []
        self.n_pending = 0
        self.frame: pd.DataFrame | None = None

    def add(self, cols: Mapping[str, npt.NDArray[Any]]) -> None:
        """Count the rows of ``cols`` (coded columns and the float ``sums``) into the table."""
        sums = {c: cols[c] for c in self.sum_names}
        if not self.packed:
            part = group_count({c: cols[c] for c in self.names}, sums=sums)
            self.frame = (
                part
                if self.frame is None
                else _summed([self.frame, part], self.names, self.sum_names)
            )
            return
        key = np.zeros(np.asarray(cols[self.names[0]]).size, dtype=np.int64)
        for c, span in zip(self.names, self.spans, strict=True):
            key = key * span + cols[c]
        self.add_keys(key, sums)

    def multipliers(self) -> dict[str, int] | None:
        """Each column's weight in the packed key (None when the table is not packed).

        A key is the sum of ``column * weight`` over the columns, so parts of it can be
        summed ahead (see :func:`_pair_tables`) and completed by :meth:`add_keys`.
        """
        if not self.packed:
            return None
        out, weight = {}, 1
        for c, span in zip(self.names[::-1], self.spans[::-1], strict=True):
            out[c], weight = weight, weight * span
        return out

    def add_keys(self, key: IntArray, sums: Mapping[str, FloatArray] | None = None) -> None:
        """Count rows already packed into keys (``sum(column * weight)``, :meth:`multipliers`).

        ``sums`` holds the rows' values of the table's float sums.
        """
        sums = sums or {}
        if self.dense is not None:
            self.dense += np.bincount(key, minlength=self.dense.size)
            for c, total in self.dense_sums.items():
                total += np.bincount(key, sums[c], total.size)
            return
        if self.sum_names:
            k, group = _groups(key)
            n = np.bincount(group, minlength=k.size).astype(np.int64)
            got = {c: _weighted_count(group, sums[c], k.size) for c in self.sum_names}
        else:
            k, n = np.unique(key, return_counts=True)
            got = {}
        self.pending.append((k, n, got))
        self.n_pending += k.size
        if self.n_pending >= max(self.keys.size, 1 << 20):
            self._merge()

    def absorb(self, other: _Summed) -> None:
        """Add ``other`` (the same columns, counted from other batches) into this table."""
        if not self.packed:
            if other.frame is not None:
                frames = [f for f in (self.frame, other.frame) if f is not None]
                self.frame = _summed(frames, self.names, self.sum_names)
            return
        if self.dense is not None and other.dense is not None:
            self.dense += other.dense
            for c, total in self.dense_sums.items():
                total += other.dense_sums[c]
            return
        other._merge()
        self.pending.append((other.keys, other.n, other.sums))
        self.n_pending += other.keys.size
        self._merge()

    def _merge(self) -> None:
        """Fold the pending batches' keys into the running table (one merge of sorted runs).

        The running keys and each batch's are sorted and distinct, so their concatenation is
        a few sorted runs: a stable (run-merging) sort orders it in a fraction of the time
        ``np.unique`` takes to sort it from scratch (0.27 s against 1.38 s for 14M keys in
        three runs), and equal keys end up side by side to be summed.
        """
        if not self.pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _, _ in self.pending)])
        n = np.concatenate([self.n, *(c for _, c, _ in self.pending)])
        sums = {
            c: np.concatenate([self.sums[c], *(p[c] for _, _, p in self.pending)])
            for c in self.sum_names
        }
        self.pending, self.n_pending = [], 0
        if keys.size == 0:
            return
        self.keys, group = _groups(keys, kind="stable")
        self.n = np.rint(np.bincount(group, n, self.keys.size)).astype(np.int64)
        self.sums = {c: _weighted_count(group, v, self.keys.size) for c, v in sums.items()}

    def columns(self) -> tuple[dict[str, IntArray], IntArray, dict[str, FloatArray]]:
        """The coded columns of every non-empty cell, its count and its sums."""
        if not self.packed:
            f = self.frame
            if f is None:
                f = _empty(*self.names, "n", sums=self.sum_names)
            return (
                {c: f[c].to_numpy(np.int64) for c in self.names},
                f["n"].to_numpy(np.int64),
                {c: f[c].to_numpy(np.float64) for c in self.sum_names},
            )
        self._merge()
        if self.dense is not None:
            self.keys = np.flatnonzero(self.dense)
            self.n = self.dense[self.keys]
            self.sums = {c: v[self.keys] for c, v in self.dense_sums.items()}
        packed = self.keys.copy()
        out: dict[str, IntArray] = {}
        shifts = all(s & (s - 1) == 0 for s in self.spans)
        for c, span in zip(self.names[::-1], self.spans[::-1], strict=True):
            if shifts:
                out[c] = packed & (span - 1)
                packed >>= span.bit_length() - 1
            else:
                out[c] = packed % span
                packed //= span
        return {c: out[c] for c in self.names}, self.n, dict(self.sums)


@dataclass(frozen=True)
class HvaCounts:
    """Sufficient statistics for every candidate's naive and adjusted effect (see module)."""

    totals: pd.DataFrame  # sid, obs_h, retained, n, z
    totals_nb: pd.DataFrame  # sid, obs_h, retained, n, z (activity without benefit actions)
    curve: pd.DataFrame  # seg, t, event, n
    uses: pd.DataFrame  # a, level, early, sid, sid_a, obs_h, retained, n, z, z_a
    uses_curve: pd.DataFrame  # a, level, early, seg, t, event, n
    pairs: pd.DataFrame  # i, j, sid, sid_i, sid_j, sid_ij, obs_h, retained, n, z, z_i, z_j, z_ij
    pairs_curve: pd.DataFrame  # i, j, seg, t, event, n
    distinct: pd.DataFrame  # level, sid, obs_h, retained, n, z
    distinct_curve: pd.DataFrame  # level, seg, t, event, n
    first: pd.DataFrame  # a, first, sid_a, obs_h, retained, n, z_a (empty unless timing)
    first_curve: pd.DataFrame  # a, first, seg, t, event, n


def _empty(*cols: str, sums: Sequence[str] = ()) -> pd.DataFrame:
    frame = {c: pd.Series(dtype="int64") for c in cols}
    return pd.DataFrame({**frame, **{c: pd.Series(dtype="float64") for c in sums}})


def _weighted_count(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """``np.bincount`` with weights, typed as the float array it is."""
    return np.asarray(np.bincount(index, weights, size), dtype=np.float64)


def _groups(keys: IntArray, kind: Literal["stable"] | None = None) -> tuple[IntArray, IntArray]:
    """The distinct keys, sorted, and each row's index among them.

    Sums per key are then ``np.bincount(index, values)``, which reads the values in order:
    gathering each summed column by the sort order instead cost twice as much (4M keys,
    four float columns: 0.67 s against 1.36 s).
    """
    order = np.argsort(keys, kind=kind)
    ordered = keys[order]
    first = np.empty(keys.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    index = np.empty(keys.size, dtype=np.int64)
    index[order] = np.cumsum(first) - 1
    return ordered[first], index


def group_count(
    cols: Mapping[str, IntArray],
    weights: IntArray | None = None,
    *,
    sums: Mapping[str, FloatArray] | None = None,
) -> pd.DataFrame:
    """``GROUP BY`` every column, ``n`` = rows (or the sum of ``weights``) per group.

    ``sums`` are float columns summed per group as well (one output column each).

    >>> group_count({"a": np.array([1, 1, 2]), "b": np.array([0, 0, 5])}).to_dict("list")
    {'a': [1, 2], 'b': [0, 5], 'n': [2, 1]}
    """
    names = list(cols)
    sums = sums or {}
    arrays = [np.asarray(cols[c], dtype=np.int64) for c in names]
    if not arrays or arrays[0].size == 0:
        return _empty(*names, "n", sums=list(sums))
    # Each column as a code in [0, span): its offset from the minimum, or its factorised
    # value when its range is too wide to pack with the others.
    lows = [int(x.min()) for x in arrays]
    spans = [int(x.max()) - lo + 1 for x, lo in zip(arrays, lows, strict=True)]
    uniques: list[IntArray | None] = [None] * len(arrays)
    codes: list[IntArray] = [x - lo for x, lo in zip(arrays, lows, strict=True)]
    while float(np.prod([float(s) for s in spans])) >= _PACK_LIMIT:
        wide = int(np.argmax([s if u is None else 0 for s, u in zip(spans, uniques, strict=True)]))
        if uniques[wide] is not None:
            # Too many distinct combinations to pack even factorised: let pandas hash them.
            frame = pd.DataFrame(dict(zip(names, arrays, strict=True)))
            frame["n"] = 1 if weights is None else np.asarray(weights, dtype=np.int64)
            for c, v in sums.items():
                frame[c] = np.asarray(v, dtype=np.float64)
            out = frame.groupby(names, sort=False)[["n", *sums]].sum().reset_index()
            return out.sort_values(names, ignore_index=True)
        code, uniq = pd.factorize(arrays[wide], sort=True)
        codes[wide] = np.asarray(code, dtype=np.int64)
        uniques[wide] = np.asarray(uniq, dtype=np.int64)
        spans[wide] = len(uniq)
    key = np.zeros(arrays[0].size, dtype=np.int64)
    for code, span in zip(codes, spans, strict=True):
        key = key * span + code
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    total = int(np.prod(spans, dtype=np.float64))
    if total <= max(4 * key.size, 1 << 16):  # few possible keys: count them all, keep the used
        dense = np.bincount(key, w, total)
        packed = np.flatnonzero(dense)
        n = np.rint(dense[packed]).astype(np.int64)
        summed = {c: _weighted_count(key, v, total)[packed] for c, v in sums.items()}
    else:
        group, uniq = pd.factorize(key, sort=True)
        n = np.rint(np.bincount(group, w)).astype(np.int64)
        packed = np.asarray(uniq, dtype=np.int64)
        summed = {c: _weighted_count(group, v, packed.size) for c, v in sums.items()}
    out_cols: dict[str, IntArray] = {}
    for i in range(len(names) - 1, -1, -1):
        code = packed % spans[i]
        packed = packed // spans[i]
        u = uniques[i]
        out_cols[names[i]] = u[code] if u is not None else code + lows[i]
    frame = pd.DataFrame({c: out_cols[c] for c in names})
    frame["n"] = np.asarray(n, dtype=np.int64)
    for c, total_c in summed.items():
        frame[c] = total_c
    return frame


def aggregate_counts(
    lm: Landmark,
    *,
    pairs: bool = True,
    distinct: bool = True,
    max_distinct: int = 12,
    timing: bool = False,
    budget: int | None = None,
    threads: int | None = None,
) -> HvaCounts:
    """Every count table of :func:`tenure.hva.discover` after the landmark (numpy only).

    The tables over window uses are counted one batch of whole members at a time (about
    ``budget`` bytes of working memory, default :data:`COUNT_BUDGET_BYTES`; see
    :meth:`tenure.hva.uses.WindowUses.batches`) and summed as they come (:class:`_Summed`),
    so the working memory does not grow with the number of members; up to ``threads``
    threads (default: the cores this process may use, at most :data:`COUNT_THREADS`) count
    batches at once (:func:`_count_uses`).

    Inside the sums a use's stratum is coded as its member's (an index into the landmark's
    distinct strata) and the two activity-code shifts without the action (a few values
    each), which span far less than a second stratum id would; the strata are rebuilt on
    the summed tables (:class:`_Coding`).
    """
    base = lm.members
    code = _Coding(lm)
    specs = code.specs(timing=timing, pairs=pairs and len(lm.actions) > 1)
    tables, n_uses = _count_uses(
        lm,
        code,
        specs,
        budget or COUNT_BUDGET_BYTES,
        threads or min(len(os.sched_getaffinity(0)), COUNT_THREADS),
    )
    out = {name: code.table(name, *table.columns()) for name, table in tables.items()}
    out.setdefault("pairs", _empty(*_PAIR_TABLE, "n", sums=SUMS["pairs"]))
    out.setdefault("pairs_curve", _empty(*_PAIR_CURVE, "n"))
    for name, columns in _TIMING_TABLES.items():
        out.setdefault(name, _empty(*columns, "n", sums=SUMS.get(name, ())))
    z, z_nb = lm.within_index["z"], lm.within_index["z_nb"]
    stratum = ("sid", "obs_h", "retained")
    out["totals"] = group_count({c: base[c] for c in stratum}, sums={"z": z})
    out["curve"] = group_count({c: base[c] for c in ("seg", "t", "event")})
    top = min(max_distinct, len(lm.actions))
    if distinct and lm.has_benefit and top > 0:
        out["totals_nb"] = group_count(
            {"sid": base["sid_nb"], "obs_h": base["obs_h"], "retained": base["retained"]},
            sums={"z": z_nb},
        )
        who = np.flatnonzero(n_uses > 0)
        level = np.minimum(n_uses[who], top).astype(np.int64)
        out["distinct"] = group_count(
            {
                "level": level,
                "sid": base["sid_nb"][who],
                "obs_h": base["obs_h"][who],
                "retained": base["retained"][who],
            },
            sums={"z": z_nb[who]},
        )
        out["distinct_curve"] = group_count(
            {
                "level": level,
                "seg": base["seg"][who],
                "t": base["t"][who],
                "event": base["event"][who],
            }
        )
    else:
        out["totals_nb"] = _empty(*stratum, "n", sums=("z",))
        out["distinct"] = _empty("level", *stratum, "n", sums=("z",))
        out["distinct_curve"] = _empty("level", "seg", "t", "event", "n")
    return HvaCounts(**out)


def _count_uses(
    lm: Landmark,
    code: _Coding,
    specs: Mapping[str, Mapping[str, int]],
    budget: int,
    threads: int,
) -> tuple[dict[str, _Summed], IntArray]:
    """The use tables summed over every batch, and each landmark member's number of uses.

    ``threads`` threads each take the next batch and count it into tables of their own,
    summed at the end: numpy releases the GIL in its sorts, gathers and arithmetic, so on
    two cores two batches are counted at once (at a million Parla members, 4.2-6.7 s of
    counting became 3.4 s; the whole step 6.3 s to 5.1 s on average, A/B in one process).
    The memory budget is shared: each thread's batches are ``budget / threads``. The
    engine is read by one thread at a time; its rows become a batch's columns in the thread
    (:meth:`tenure.hva.uses.WindowUses.columns`).
    """
    reads = lm.uses.reads(_batch_rows(budget // threads))
    lock = threading.Lock()
    size = lm.members["sid"].size

    def work() -> tuple[dict[str, _Summed], IntArray]:
        tables = {name: _Summed(spans, SUMS.get(name, ())) for name, spans in specs.items()}
        n_uses = np.zeros(size, dtype=np.int64)
        while True:
            with lock:
                got = next(reads, None)
            if got is None:
                return tables, n_uses
            u = lm.uses.columns(got)
            if u["m"].size:  # every use in the range was a member's outside the landmark
                _count_batch(lm.members, code, u, tables)
                n_uses += np.bincount(u["m"], minlength=size)

    if threads <= 1:
        return work()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = [f.result() for f in [pool.submit(work) for _ in range(threads)]]
    tables, n_uses = parts[0]
    for other, n in parts[1:]:
        for name, table in tables.items():
            table.absorb(other[name])
        n_uses += n
    return tables, n_uses


def _count_batch(
    base: Mapping[str, IntArray],
    code: _Coding,
    u: Mapping[str, IntArray],
    tables: Mapping[str, _Summed],
) -> None:
    """Count one batch of window uses into the use tables (pairs by :func:`_pair_tables`)."""
    m = u["m"]
    member = {c: base[c][m] for c in ("obs_h", "retained", "seg", "t", "event")}
    cols = {**u, **member, "sid": code.sid[m], "da": code.da(u["da"]), "dd": code.dd(u["dd"]),
            "z": code.z[m]}  # fmt: skip
    for name, table in tables.items():
        if not name.startswith("pairs"):
            table.add(cols)
    if "pairs" in tables:
        _pair_tables(base, code, u, (tables["pairs"], tables["pairs_curve"]))


_TIMING_TABLES = {
    "first": ("a", "first", "sid_a", "obs_h", "retained"),
    "first_curve": ("a", "first", "seg", "t", "event"),
}
_PAIR_TABLE = ("i", "j", "sid", "sid_i", "sid_j", "sid_ij", "obs_h", "retained")
_PAIR_CURVE = ("i", "j", "seg", "t", "event")

SUMS = {"uses": ("z", "z_a"), "first": ("z_a",), "pairs": ("z", "z_i", "z_j", "z_ij")}
"""The float sums of the tables keyed by strata: the within-stratum index (:mod:`tenure.hva.within`)
of each stratum column, ``z`` for ``sid`` and ``z_a`` for ``sid_a`` and so on (the tables
built from the members' arrays, ``totals``, ``totals_nb`` and ``distinct``, carry ``z``)."""


class _Coding:
    """How the use tables' columns are coded while summed, and decoded into the tables.

    Every column is coded in ``[0, span)`` with its span known from the landmark: the
    member's stratum as an index into the landmark's sorted distinct strata, the shifts of
    the activity codes without an action (``0`` or less) offset by their largest size, the
    rest as they are. :meth:`table` turns a summed table back into the stratum ids
    :mod:`tenure.hva.estimate` reads (``sid_a = sid + da * radix + dd * radix``).
    """

    def __init__(self, lm: Landmark) -> None:
        base, design = lm.members, lm.design
        self.z, self.within = lm.within_index["z"], lm.within
        self.strata, self.sid = np.unique(base["sid"], return_inverse=True)
        self.sid = np.asarray(self.sid, dtype=np.int64).reshape(-1)
        act, day0 = design.factor(ACTIVITY), design.factor(DAY0)
        self.act_edges, self.d1_edges = act.edges, day0.edges
        self.n_act, self.n_d1 = act.n_levels, day0.n_levels
        self.r_act, self.r_d1 = design.radix[ACTIVITY], design.radix[DAY0]

        def span(c: str) -> int:
            return int(base[c].max()) + 1 if base[c].size else 1

        self.common = {"obs_h": 2, "retained": 2}
        self.curve = {"seg": span("seg"), "t": span("t"), "event": 2}
        self.n_a, self.n_k, self.days = len(lm.actions), len(lm.thresholds), design.window + 1

    def da(self, shift: IntArray) -> IntArray:
        return shift + (self.n_act - 1)

    def dd(self, shift: IntArray) -> IntArray:
        return shift + (self.n_d1 - 1)

    def specs(self, *, timing: bool, pairs: bool) -> dict[str, dict[str, int]]:
        """The spans of every summed table's coded columns."""
        use = {"a": self.n_a, "level": self.n_k, "early": 2}
        stratum = {"sid": self.strata.size, "da": self.n_act, "dd": self.n_d1}
        out = {
            "uses": {**use, **stratum, **self.common},
            "uses_curve": {**use, **self.curve},
        }
        if timing:
            out["first"] = {"a": self.n_a, "first": self.days, **stratum, **self.common}
            out["first_curve"] = {"a": self.n_a, "first": self.days, **self.curve}
        if pairs:
            shifts = {f"{k}_{s}": n for s in ("i", "j", "ij") for k, n in
                      (("da", self.n_act), ("dd", self.n_d1))}  # fmt: skip
            pair = {"i": self.n_a, "j": self.n_a}
            out["pairs"] = {**pair, "sid": self.strata.size, **shifts, **self.common}
            out["pairs_curve"] = {**pair, **self.curve}
        return out

    def stratum(self, sid: IntArray, cols: Mapping[str, IntArray], side: str = "") -> IntArray:
        """Member strata ``sid`` shifted by coded (da, dd) columns (``side``: a pair's ``_i``, …)."""
        out = sid + cols[f"da{side}"] * self.r_act
        out += cols[f"dd{side}"] * self.r_d1
        out -= (self.n_act - 1) * self.r_act + (self.n_d1 - 1) * self.r_d1
        return out

    def table(
        self, name: str, cols: dict[str, IntArray], n: IntArray, sums: dict[str, FloatArray]
    ) -> pd.DataFrame:
        """A summed table with its strata decoded (cells in the order of their coded keys)."""
        if "sid" in cols:
            sides = ("_i", "_j", "_ij") if name == "pairs" else ("",)
            sid = self.strata[cols["sid"]]
            decoded = {f"sid{s}" if s else "sid_a": self.stratum(sid, cols, s) for s in sides}
            cols = {**cols, **decoded, "sid": sid}
        names = {
            "uses": ("a", "level", "early", "sid", "sid_a", "obs_h", "retained"),
            "uses_curve": ("a", "level", "early", "seg", "t", "event"),
            "pairs": _PAIR_TABLE,
            "pairs_curve": _PAIR_CURVE,
            **_TIMING_TABLES,
        }[name]
        if n.size == 0:
            return _empty(*names, "n", sums=list(sums))
        if name == "first":  # its member stratum is dropped: cells merge, so count again
            return group_count({c: cols[c] for c in names}, n, sums=sums)
        # Every other table's cells stay distinct when decoded (a stratum and its shift give
        # the other strata one to one): no second grouping, which on the pairs' millions of
        # cells and four wide stratum columns cost more memory than everything before it.
        # One construction, uncopied: adding ``n`` and the sums column by column to a frame
        # copied its columns into one block first (0.5 s each way on the pairs).
        return pd.DataFrame({**{c: cols[c] for c in names}, "n": n, **sums}, copy=False)


# Where each pair-table column comes from: the pair's first action's use row ("left"), its
# second's ("right"), or the pair itself ("both": the activity codes without both actions).
_PAIR_SOURCES = {
    "i": ("left", "a"),
    "j": ("right", "a"),
    "sid": ("left", "sid"),
    "da_i": ("left", "da"),
    "dd_i": ("left", "dd"),
    "da_j": ("right", "da"),
    "dd_j": ("right", "dd"),
    "da_ij": ("both", "da"),
    "dd_ij": ("both", "dd"),
    **{c: ("left", c) for c in ("obs_h", "retained", "seg", "t", "event")},
}


def _early_rows(
    base: Mapping[str, IntArray], code: _Coding, u: Mapping[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[Any]]:
    """A batch's early uses sorted by (member, action), with the columns a pair reads, coded.

    ``rest`` is how many more early uses the row's member has after it: a row has a partner
    ``k`` rows on only while ``rest >= k``.
    """
    early = np.flatnonzero(u["early"] > 0)
    # One stable sort of a packed (member, action) key: the order of a lexsort on the two
    # columns, in half its time.
    order = early[np.argsort(u["m"][early] * code.n_a + u["a"][early], kind="stable")]
    mm = u["m"][order]
    d0, d1 = base["d0"][mm], base["d1"][mm]
    last = np.flatnonzero(mm[1:] != mm[:-1])  # each member's last row (but the final one)
    last = np.append(last, mm.size - 1) if mm.size else last
    ends = np.repeat(last, np.diff(np.append(-1, last)))
    return {
        "m": mm,
        "a": u["a"][order],
        "rest": ends - np.arange(mm.size),
        "d0": d0,
        "d1": d1,
        "n0": u["n0"][order],
        "n1": u["n1"][order],
        "c0": codes(d0, code.act_edges),
        "c1": codes(d1, code.d1_edges),
        "da": code.da(u["da"][order]),
        "dd": code.dd(u["dd"][order]),
        "sid": code.sid[mm],
        "z": code.z[mm],
        "z_a": u["z_a"][order],
        **{c: base[c][mm] for c in ("obs_h", "retained", "seg", "t", "event")},
    }


def _pair_offsets(
    rows: Mapping[str, npt.NDArray[Any]], code: _Coding
) -> Iterator[tuple[IntArray, IntArray, dict[str, npt.NDArray[Any]]]]:
    """Every pair of actions both used early by one member (``i < j``), one offset at a time.

    The rows ``r`` and ``r + k`` of one member are a pair, so each offset ``k`` is one
    vectorised step over the rows that still have a partner ``k`` on (their number shrinks
    with ``k``), yielded as (left rows, right rows, the pair's own coded activity shifts):
    the member × pair rows never exist at once. A pair's strata differ from the member's
    only in the activity codes, carried as shifts (see :class:`_Coding`).
    """
    aa, rest = rows["a"], rows["rest"]
    live = np.flatnonzero(rest >= 1)
    k = 1
    while live.size:
        right = live + k
        keep = aa[live] < aa[right]  # two rows of one action (two benefits) are no pair
        left, right = live[keep], right[keep]
        d0 = rows["d0"][left] - rows["n0"][left] - rows["n0"][right]
        d1 = rows["d1"][left] - rows["n1"][left] - rows["n1"][right]
        both = {
            "da": code.da(codes(d0, code.act_edges) - rows["c0"][left]),
            "dd": code.dd(codes(d1, code.d1_edges) - rows["c1"][left]),
            "z": code.within.index(rows["m"][left], d0, d1),
        }
        if left.size:
            yield left, right, both
        k += 1
        live = live[rest[live] >= k]


def _pair_tables(
    base: Mapping[str, IntArray],
    code: _Coding,
    u: Mapping[str, IntArray],
    tables: tuple[_Summed, ...],
) -> None:
    """Count a batch's pairs into the pair tables (see :func:`_pair_offsets`).

    A packed table's key is a sum of ``column * weight``: the parts from the left and from
    the right row are summed once per use row, so a pair row costs two gathers and a few
    additions instead of a gather and a multiply-add per column (the pairs are the largest
    table: 13.6M rows at a million Parla members).
    """
    rows = _early_rows(base, code, u)
    packed = [(t, *_key_parts(t, w, rows)) for t in tables if (w := t.multipliers()) is not None]
    framed = [t for t in tables if t.multipliers() is None]
    for left, right, pair in _pair_offsets(rows, code):
        sums = {"z": rows["z"][left], "z_i": rows["z_a"][left], "z_j": rows["z_a"][right],
                "z_ij": pair["z"]}  # fmt: skip
        for table, lp, rp, both in packed:
            key = lp[left] + rp[right]
            for col, weight in both:
                key += pair[col] * weight
            table.add_keys(key, {c: sums[c] for c in table.sum_names})
        sides = {"left": left, "right": right}
        for table in framed:
            cols: dict[str, npt.NDArray[Any]] = {c: sums[c] for c in table.sum_names}
            for c in table.names:
                where, col = _PAIR_SOURCES[c]
                cols[c] = pair[col] if where == "both" else rows[col][sides[where]]
            table.add(cols)


def _key_parts(
    table: _Summed, weights: Mapping[str, int], rows: Mapping[str, IntArray]
) -> tuple[IntArray, IntArray, list[tuple[str, int]]]:
    """A packed pair table's key parts: summed per use row on each side, and the pair's own."""
    parts = []
    for side in ("left", "right"):
        part = np.zeros(rows["m"].size, dtype=np.int64)
        for c in table.names:
            where, col = _PAIR_SOURCES[c]
            if where == side:
                part += rows[col] * weights[c]
        parts.append(part)
    both = [(_PAIR_SOURCES[c][1], weights[c]) for c in table.names if _PAIR_SOURCES[c][0] == "both"]
    return parts[0], parts[1], both
