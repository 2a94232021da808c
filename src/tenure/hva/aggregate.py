"""The count tables of HVA discovery, built in numpy from the landmark's columns.

From the landmark (:func:`tenure.hva.features.landmark`, whose one pass over events is all
the engine work):

* ``totals`` — members per (stratum, horizon observable, retained); ``totals_nb`` the same by
  the stratum whose activity leaves out benefit actions (for "≥ k distinct benefits");
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

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenure._types import IntArray
from tenure.hva.design import ACTIVITY, DAY0
from tenure.hva.features import Landmark, _codes

__all__ = ["HvaCounts", "aggregate_counts", "group_count"]

_PACK_LIMIT = 2**62

COUNT_BUDGET_BYTES = 512 * 2**20
"""Working memory of one batch of window uses while counting (see :func:`_batches`)."""

# A batch of use rows holds about this many int64 arrays at once (the key columns, their
# codes and packed key, the pair offsets' left/right columns).
_ROW_ARRAYS = 32


def _batch_rows(budget: int | None = None) -> int:
    """Rows per batch from the memory budget (the budget, not the world, sets it)."""
    return max(1 << 16, int((budget or COUNT_BUDGET_BYTES) // (8 * _ROW_ARRAYS)))


def _summed(frames: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    """The sum of count tables over the same keys (one table, sorted like `group_count`'s)."""
    if not frames:
        return _empty(*names, "n")
    if len(frames) == 1:
        return frames[0]
    allf = pd.concat(frames, ignore_index=True)
    cols = {c: allf[c].to_numpy(np.int64) for c in names}
    return group_count(cols, allf["n"].to_numpy(np.int64))


def _batched_count(
    build: Callable[[slice], Mapping[str, IntArray]], size: int, rows: int
) -> pd.DataFrame:
    """`group_count` of ``build(batch)`` over row batches of ``rows``, the tables summed.

    The counts are sums over rows, so adding the batches' tables gives exactly the table of
    all rows; only one batch's key columns exist at a time. The running total is merged
    after each batch, so it never holds more than two tables.
    """
    total: pd.DataFrame | None = None
    names: list[str] = []
    for lo in range(0, max(size, 1), rows):
        cols = build(slice(lo, min(lo + rows, size)))
        names = list(cols)
        part = group_count(cols)
        total = part if total is None else _summed([total, part], names)
    assert total is not None
    return total


@dataclass(frozen=True)
class HvaCounts:
    """Sufficient statistics for every candidate's naive and adjusted effect (see module)."""

    totals: pd.DataFrame  # sid, obs_h, retained, n
    totals_nb: pd.DataFrame  # sid, obs_h, retained, n (activity without benefit actions)
    curve: pd.DataFrame  # seg, t, event, n
    uses: pd.DataFrame  # a, level, early, sid, sid_a, obs_h, retained, n
    uses_curve: pd.DataFrame  # a, level, early, seg, t, event, n
    pairs: pd.DataFrame  # i, j, sid, sid_i, sid_j, sid_ij, obs_h, retained, n
    pairs_curve: pd.DataFrame  # i, j, seg, t, event, n
    distinct: pd.DataFrame  # level, sid, obs_h, retained, n
    distinct_curve: pd.DataFrame  # level, seg, t, event, n
    first: pd.DataFrame  # a, first, sid_a, obs_h, retained, n (empty unless timing)
    first_curve: pd.DataFrame  # a, first, seg, t, event, n


def _empty(*cols: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64") for c in cols})


def group_count(cols: Mapping[str, IntArray], weights: IntArray | None = None) -> pd.DataFrame:
    """``GROUP BY`` every column, ``n`` = rows (or the sum of ``weights``) per group.

    >>> group_count({"a": np.array([1, 1, 2]), "b": np.array([0, 0, 5])}).to_dict("list")
    {'a': [1, 2], 'b': [0, 5], 'n': [2, 1]}
    """
    names = list(cols)
    arrays = [np.asarray(cols[c], dtype=np.int64) for c in names]
    if not arrays or arrays[0].size == 0:
        return _empty(*names, "n")
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
            out = frame.groupby(names, sort=False)["n"].sum().reset_index()
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
    else:
        group, uniq = pd.factorize(key, sort=True)
        n = np.rint(np.bincount(group, w)).astype(np.int64)
        packed = np.asarray(uniq, dtype=np.int64)
    out_cols: dict[str, IntArray] = {}
    for i in range(len(names) - 1, -1, -1):
        code = packed % spans[i]
        packed = packed // spans[i]
        u = uniques[i]
        out_cols[names[i]] = u[code] if u is not None else code + lows[i]
    frame = pd.DataFrame({c: out_cols[c] for c in names})
    frame["n"] = np.asarray(n, dtype=np.int64)
    return frame


def aggregate_counts(
    lm: Landmark,
    *,
    pairs: bool = True,
    distinct: bool = True,
    max_distinct: int = 12,
    timing: bool = False,
    budget: int | None = None,
) -> HvaCounts:
    """Every count table of :func:`tenure.hva.discover` after the landmark (numpy only).

    The tables over window uses are counted in batches of rows sized from ``budget``
    (bytes, default :data:`COUNT_BUDGET_BYTES`) and summed — pairs in batches of whole
    members — so the working memory does not grow with the number of members.
    """
    base, u = lm.members, lm.uses
    act = lm.design.factor(ACTIVITY)
    r_act = lm.design.radix[ACTIVITY]
    day0 = lm.design.factor(DAY0)
    r_d1 = lm.design.radix[DAY0]
    m = u["m"]
    rows = _batch_rows(budget)

    def count_uses(*columns: str) -> pd.DataFrame:
        """Window uses counted by ``columns``: a use's own (``lm.uses``) or its member's."""
        return _batched_count(
            lambda b: {c: u[c][b] if c in u else base[c][m[b]] for c in columns}, m.size, rows
        )

    out = {
        "totals": group_count({c: base[c] for c in ("sid", "obs_h", "retained")}),
        "curve": group_count({c: base[c] for c in ("seg", "t", "event")}),
        "uses": count_uses("a", "level", "early", "sid", "sid_a", "obs_h", "retained"),
        "uses_curve": count_uses("a", "level", "early", "seg", "t", "event"),
    }
    if pairs and len(lm.actions) > 1:
        out["pairs"], out["pairs_curve"] = _pairs(lm, act.edges, day0.edges, r_act, r_d1, rows)
    else:
        out["pairs"] = _empty("i", "j", "sid", "sid_i", "sid_j", "sid_ij", "obs_h", "retained", "n")
        out["pairs_curve"] = _empty("i", "j", "seg", "t", "event", "n")
    top = min(max_distinct, len(lm.actions))
    if distinct and lm.has_benefit and top > 0:
        out["totals_nb"] = group_count(
            {"sid": base["sid_nb"], "obs_h": base["obs_h"], "retained": base["retained"]}
        )
        nd = np.bincount(m, minlength=base["sid"].size)
        who = np.flatnonzero(nd > 0)
        level = np.minimum(nd[who], top).astype(np.int64)
        out["distinct"] = group_count(
            {
                "level": level,
                "sid": base["sid_nb"][who],
                "obs_h": base["obs_h"][who],
                "retained": base["retained"][who],
            }
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
        out["totals_nb"] = _empty("sid", "obs_h", "retained", "n")
        out["distinct"] = _empty("level", "sid", "obs_h", "retained", "n")
        out["distinct_curve"] = _empty("level", "seg", "t", "event", "n")
    if timing:
        out["first"] = count_uses("a", "first", "sid_a", "obs_h", "retained")
        out["first_curve"] = count_uses("a", "first", "seg", "t", "event")
    else:
        out["first"] = _empty("a", "first", "sid_a", "obs_h", "retained", "n")
        out["first_curve"] = _empty("a", "first", "seg", "t", "event", "n")
    return HvaCounts(**out)


def _pairs(
    lm: Landmark,
    act_edges: tuple[float, ...],
    d1_edges: tuple[float, ...],
    r_act: int,
    r_d1: int,
    rows: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts over every member's pairs of actions both used early (``i < j``).

    The early uses are sorted by (member, action); the rows ``r`` and ``r + k`` of one
    member are a pair, so each offset ``k`` is one vectorised step. The sorted uses are cut
    into batches of about ``rows`` rows at member boundaries (a member's pairs are all in
    one batch); each step of each batch is counted on its own and the small results summed,
    so the member × pair rows (tens of millions at a million members) never exist at once.
    """
    u = lm.uses
    early = np.flatnonzero(u["early"] > 0)
    order = early[np.lexsort((u["a"][early], u["m"][early]))]
    del early
    mm_all = u["m"][order]
    keys = ["i", "j", "sid", "da_i", "dd_i", "da_j", "dd_j", "da_ij", "dd_ij", "obs_h", "retained"]
    ckeys = ["i", "j", "seg", "t", "event"]
    out: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    lo = 0
    while lo < order.size:
        # End the batch where a member starts: the first row of the member at ``lo + rows``.
        hi = (
            order.size
            if lo + rows >= order.size
            else int(np.searchsorted(mm_all, mm_all[lo + rows], side="left"))
        )
        if hi <= lo:  # one member with more than ``rows`` early uses
            hi = int(np.searchsorted(mm_all, mm_all[lo], side="right"))
        part, cpart = _pairs_batch(lm, order[lo:hi], act_edges, d1_edges)
        out = part if out is None else _summed([out, part], keys)
        curve = cpart if curve is None else _summed([curve, cpart], ckeys)
        lo = hi
    if out is None or curve is None:
        out, curve = _empty(*keys, "n"), _empty(*ckeys, "n")
    for side in ("i", "j", "ij"):
        shift = out.pop(f"da_{side}") * r_act + out.pop(f"dd_{side}") * r_d1
        out[f"sid_{side}"] = out["sid"] + shift
    order_cols = ["i", "j", "sid", "sid_i", "sid_j", "sid_ij", "obs_h", "retained", "n"]
    return out[order_cols], curve


def _pairs_batch(
    lm: Landmark,
    order: IntArray,
    act_edges: tuple[float, ...],
    d1_edges: tuple[float, ...],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pair count tables of the early uses ``order`` (sorted by member and action)."""
    base, u = lm.members, lm.uses
    mm, aa = u["m"][order], u["a"][order]
    # A pair's strata differ from the member's only in the two activity codes, so they are
    # carried as code shifts (a few values each) and packed with the member's stratum; the
    # stratum ids are rebuilt once, on the small result.
    d0, d1 = base["d0"][mm], base["d1"][mm]
    c0, c1 = _codes(d0, act_edges), _codes(d1, d1_edges)
    n0, n1 = u["n0"][order], u["n1"][order]
    da, dd = _codes(d0 - n0, act_edges) - c0, _codes(d1 - n1, d1_edges) - c1
    sid, obs_h, retained = base["sid"][mm], base["obs_h"][mm], base["retained"][mm]
    seg, t, event = base["seg"][mm], base["t"][mm], base["event"][mm]
    keys = ["i", "j", "sid", "da_i", "dd_i", "da_j", "dd_j", "da_ij", "dd_ij", "obs_h", "retained"]
    ckeys = ["i", "j", "seg", "t", "event"]
    parts: list[pd.DataFrame] = []
    cparts: list[pd.DataFrame] = []
    for k in range(1, order.size):
        member = mm[:-k] == mm[k:]
        if not member.any():  # sorted by member: no member has more than k early uses
            break
        left = np.flatnonzero(member & (aa[:-k] < aa[k:]))
        if left.size == 0:
            continue
        right = left + k
        cols = {
            "i": aa[left],
            "j": aa[right],
            "sid": sid[left],
            "da_i": da[left],
            "dd_i": dd[left],
            "da_j": da[right],
            "dd_j": dd[right],
            "da_ij": _codes(d0[left] - n0[left] - n0[right], act_edges) - c0[left],
            "dd_ij": _codes(d1[left] - n1[left] - n1[right], d1_edges) - c1[left],
            "obs_h": obs_h[left],
            "retained": retained[left],
        }
        parts.append(group_count(cols))
        ccols = {
            "i": aa[left],
            "j": aa[right],
            "seg": seg[left],
            "t": t[left],
            "event": event[left],
        }
        cparts.append(group_count(ccols))
    return _summed(parts, keys), _summed(cparts, ckeys)
