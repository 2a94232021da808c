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

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenure._types import IntArray
from tenure.hva.design import ACTIVITY, DAY0
from tenure.hva.features import Landmark
from tenure.hva.uses import codes

__all__ = ["HvaCounts", "aggregate_counts", "group_count"]

_PACK_LIMIT = 2**62

COUNT_BUDGET_BYTES = 512 * 2**20
"""Working memory of one batch of window uses while counting (see :meth:`tenure.hva.uses.WindowUses.batches`)."""

# A batch of use rows holds about this many int64 arrays at once (the key columns, their
# codes and packed key, the pair offsets' left/right columns).
_ROW_ARRAYS = 32


def _batch_rows(budget: int | None = None) -> int:
    """Rows per batch from the memory budget (the budget, not the world, sets it)."""
    return max(1 << 10, int((budget or COUNT_BUDGET_BYTES) // (8 * _ROW_ARRAYS)))


def _summed(frames: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    """The sum of count tables over the same keys (one table, sorted like `group_count`'s)."""
    if not frames:
        return _empty(*names, "n")
    if len(frames) == 1:
        return frames[0]
    allf = pd.concat(frames, ignore_index=True)
    cols = {c: allf[c].to_numpy(np.int64) for c in names}
    return group_count(cols, allf["n"].to_numpy(np.int64))


def _add(tables: dict[str, pd.DataFrame], name: str, part: pd.DataFrame) -> None:
    """Add the count table `part` into ``tables[name]`` (counts are sums over rows)."""
    prev = tables.get(name)
    keys = [c for c in part.columns if c != "n"]
    tables[name] = part if prev is None else _summed([prev, part], keys)


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


_USE_TABLES = {
    "uses": ("a", "level", "early", "sid", "sid_a", "obs_h", "retained"),
    "uses_curve": ("a", "level", "early", "seg", "t", "event"),
}
_TIMING_TABLES = {
    "first": ("a", "first", "sid_a", "obs_h", "retained"),
    "first_curve": ("a", "first", "seg", "t", "event"),
}
_PAIR_KEYS = (
    "i",
    "j",
    "sid",
    "da_i",
    "dd_i",
    "da_j",
    "dd_j",
    "da_ij",
    "dd_ij",
    "obs_h",
    "retained",
)
_PAIR_TABLE = ("i", "j", "sid", "sid_i", "sid_j", "sid_ij", "obs_h", "retained")
_PAIR_CURVE = ("i", "j", "seg", "t", "event")


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

    The tables over window uses are counted one batch of whole members at a time (about
    ``budget`` bytes of working memory, default :data:`COUNT_BUDGET_BYTES`; see
    :meth:`tenure.hva.uses.WindowUses.batches`) and the batches' tables summed, so the
    working memory does not grow with the number of members.
    """
    base = lm.members
    act, day0 = lm.design.factor(ACTIVITY), lm.design.factor(DAY0)
    specs = {**_USE_TABLES, **(_TIMING_TABLES if timing else {})}
    with_pairs = pairs and len(lm.actions) > 1
    out: dict[str, pd.DataFrame] = {}
    n_uses = np.zeros(base["sid"].size, dtype=np.int64)  # window uses per landmark member
    for u in lm.uses.batches(_batch_rows(budget)):
        m = u["m"]
        for name, columns in specs.items():
            _add(out, name, group_count({c: u[c] if c in u else base[c][m] for c in columns}))
        if with_pairs:
            part, cpart = _pairs_batch(base, u, act.edges, day0.edges)
            _add(out, "pairs", part)
            _add(out, "pairs_curve", cpart)
        n_uses += np.bincount(m, minlength=n_uses.size)
    for name, columns in specs.items():
        out.setdefault(name, _empty(*columns, "n"))
    if "pairs" in out:
        out["pairs"] = _pair_strata(out["pairs"], lm.design.radix[ACTIVITY], lm.design.radix[DAY0])
    else:
        out["pairs"] = _empty(*_PAIR_TABLE, "n")
    out.setdefault("pairs_curve", _empty(*_PAIR_CURVE, "n"))
    out["totals"] = group_count({c: base[c] for c in ("sid", "obs_h", "retained")})
    out["curve"] = group_count({c: base[c] for c in ("seg", "t", "event")})
    top = min(max_distinct, len(lm.actions))
    if distinct and lm.has_benefit and top > 0:
        out["totals_nb"] = group_count(
            {"sid": base["sid_nb"], "obs_h": base["obs_h"], "retained": base["retained"]}
        )
        who = np.flatnonzero(n_uses > 0)
        level = np.minimum(n_uses[who], top).astype(np.int64)
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
    for name in _TIMING_TABLES:
        out.setdefault(name, _empty(*_TIMING_TABLES[name], "n"))
    return HvaCounts(**out)


def _pair_strata(counts: pd.DataFrame, r_act: int, r_d1: int) -> pd.DataFrame:
    """The pair table with its three strata rebuilt from the member's stratum and code shifts."""
    out = counts.copy()
    for side in ("i", "j", "ij"):
        shift = out.pop(f"da_{side}") * r_act + out.pop(f"dd_{side}") * r_d1
        out[f"sid_{side}"] = out["sid"] + shift
    return out[[*_PAIR_TABLE, "n"]]


def _pairs_batch(
    base: Mapping[str, IntArray],
    u: Mapping[str, IntArray],
    act_edges: tuple[float, ...],
    d1_edges: tuple[float, ...],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts over every member's pairs of actions both used early (``i < j``), one batch.

    The batch's early uses are sorted by (member, action); the rows ``r`` and ``r + k`` of
    one member are a pair, so each offset ``k`` is one vectorised step, counted on its own
    and the small results summed: the member × pair rows never exist at once. A pair's
    strata differ from the member's only in the two activity codes, so they are carried as
    code shifts (a few values each) and packed with the member's stratum; the stratum ids
    are rebuilt once, on the small result (:func:`_pair_strata`).
    """
    early = np.flatnonzero(u["early"] > 0)
    order = early[np.lexsort((u["a"][early], u["m"][early]))]
    mm, aa = u["m"][order], u["a"][order]
    d0, d1 = base["d0"][mm], base["d1"][mm]
    c0, c1 = codes(d0, act_edges), codes(d1, d1_edges)
    n0, n1 = u["n0"][order], u["n1"][order]
    da, dd = codes(d0 - n0, act_edges) - c0, codes(d1 - n1, d1_edges) - c1
    sid, obs_h, retained = base["sid"][mm], base["obs_h"][mm], base["retained"][mm]
    seg, t, event = base["seg"][mm], base["t"][mm], base["event"][mm]
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
            "da_ij": codes(d0[left] - n0[left] - n0[right], act_edges) - c0[left],
            "dd_ij": codes(d1[left] - n1[left] - n1[right], d1_edges) - c1[left],
            "obs_h": obs_h[left],
            "retained": retained[left],
        }
        parts.append(group_count(cols))
        ccols = {c: v[left] for c, v in (("seg", seg), ("t", t), ("event", event))}
        cparts.append(group_count({"i": aa[left], "j": aa[right], **ccols}))
    return _summed(parts, list(_PAIR_KEYS)), _summed(cparts, list(_PAIR_CURVE))
