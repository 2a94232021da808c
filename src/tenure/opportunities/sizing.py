r"""How often a pattern happens, how long it takes, and how many hours building it would save.

An *occurrence* is one match of the pattern inside an episode; matches are counted without
overlap (the earliest-ending match first, then the next one starting after it ends — the
greedy rule that maximises the count). Its time runs from the first step's timestamp to the
last step's, plus the last step's ``duration_s`` when the events carry it.

If the flow took one step, each occurrence would cost ``one_step`` seconds instead, so the
time saved is

.. math::

    H = \frac{1}{3600\,W} \sum_{\text{occurrences } o} \max(T_o - \text{one\_step}, 0)

hours per week over the ``W`` weeks of data. Its interval is a cluster bootstrap over
members (members are resampled, not occurrences: one member's occurrences are not
independent), with Poisson(1) weights so all replicates are one matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import FloatArray, IntArray
from tenure.opportunities.prefixspan import Pattern
from tenure.opportunities.sequences import EXIT_KINDS, Episodes

__all__ = ["Occurrences", "hours_saved_interval", "occurrences", "trend_per_week", "variants"]


@dataclass(frozen=True, slots=True)
class Occurrences:
    """Non-overlapping occurrences of one pattern: rows of the first and last step, and time."""

    first: IntArray
    last: IntArray
    member: IntArray
    start_t: FloatArray
    seconds: FloatArray


def occurrences(db: Episodes, pattern: Pattern) -> Occurrences:
    """Non-overlapping occurrences of `pattern`, earliest end first within each episode."""
    first, last = pattern.first, pattern.last
    order = np.argsort(last, kind="stable")
    first, last = first[order], last[order]
    ep = db.ep[last]
    accept = np.ones(last.shape[0], dtype=bool)
    shared = np.flatnonzero(np.r_[ep[1:] == ep[:-1], False] | np.r_[False, ep[1:] == ep[:-1]])
    if shared.shape[0]:
        prev_ep, prev_end = -1, -1
        for i in shared.tolist():  # only episodes with several matches need the greedy pass
            if ep[i] != prev_ep:
                prev_ep, prev_end = int(ep[i]), int(last[i])
                continue
            if first[i] > prev_end:
                prev_end = int(last[i])
            else:
                accept[i] = False
    first, last = first[accept], last[accept]
    extra = np.nan_to_num(db.duration[last], nan=0.0)
    seconds = db.t[last] - db.t[first] + extra
    return Occurrences(first, last, db.member[last], db.t[first], seconds)


def variants(
    db: Episodes, occ: Occurrences, *, min_share: float = 0.01
) -> dict[str, dict[str, float]]:
    """Shares of each exit kind and each way back in, over occurrences with an exit.

    Shares below `min_share` are pooled as ``other``.
    The exit is the first ``<exit>`` row after the occurrence's first step; the way back in
    is the step right after it (``direct`` when that step is the occurrence's last).
    """
    exits = np.flatnonzero(db.sym == db.exit_code)
    if exits.shape[0] == 0 or occ.first.shape[0] == 0:
        return {"exit": {}, "reentry": {}}
    k = np.searchsorted(exits, occ.first, side="right")
    has = k < exits.shape[0]
    row = exits[np.minimum(k, exits.shape[0] - 1)]
    has &= row < occ.last
    row = row[has]
    kinds = db.exit_kind[row]
    route_row = row + 1
    direct = route_row >= occ.last[has]
    route = np.where(direct, -1, db.sym[np.minimum(route_row, db.n_rows - 1)])
    n = max(int(has.sum()), 1)
    exit_share = {
        EXIT_KINDS[int(c)]: float((kinds == c).sum() / n) for c in np.unique(kinds) if c > 0
    }
    reentry: dict[str, float] = {}
    for c in np.unique(route):
        label = "direct" if c < 0 else db.symbols[int(c)]
        reentry[label] = float((route == c).sum() / n)
    return {"exit": _top(exit_share, min_share), "reentry": _top(reentry, min_share)}


def _top(shares: dict[str, float], min_share: float) -> dict[str, float]:
    """Shares, largest first, with those below `min_share` pooled as ``other``."""
    out = {k: v for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= min_share}
    rest = sum(v for v in shares.values() if v < min_share)
    if rest > 0:
        out["other"] = rest
    return out


def hours_saved_interval(
    member: IntArray,
    saved_seconds: FloatArray,
    weeks: float,
    *,
    alpha: float = 0.05,
    replicates: int = 200,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Percentile interval of hours saved per week, resampling members (Poisson bootstrap)."""
    if saved_seconds.shape[0] == 0 or weeks <= 0:
        return (0.0, 0.0)
    _, inv = np.unique(member, return_inverse=True)
    per_member = np.bincount(inv, weights=saved_seconds)
    w = rng.poisson(1.0, size=(replicates, per_member.shape[0])).astype(np.float32)
    totals = (w @ per_member.astype(np.float32)).astype(np.float64) / 3600.0 / weeks
    lo, hi = np.quantile(totals, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(lo), float(hi))


def trend_per_week(start_t: FloatArray, t0: float, t1: float) -> float:
    """Least-squares slope of weekly occurrence counts, as a share of the mean week (NaN if <3 weeks)."""
    weeks = int((t1 - t0) // (7 * 86_400))
    if weeks < 3 or start_t.shape[0] == 0:
        return float("nan")
    idx = np.clip(((start_t - t0) // (7 * 86_400)).astype(np.int64), 0, weeks - 1)
    counts = np.bincount(idx, minlength=weeks).astype(np.float64)
    x = np.arange(weeks, dtype=np.float64)
    slope = float(np.polyfit(x, counts, 1)[0])
    mean = float(counts.mean())
    return slope / mean if mean > 0 else float("nan")
