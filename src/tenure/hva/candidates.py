"""Candidate high-value actions as (member, candidate) rows, built in the engine.

Kinds and names:

* ``action`` — ``video.stream``: used at least once in the window;
* ``threshold`` — ``video.stream>=3``: used at least *k* times (``k`` in ``thresholds``;
  ``k = 1`` is the action itself);
* ``pair`` — ``shipping.order+video.stream``: both first used within the first
  ``pair_days`` day(s) (names in alphabetical order);
* ``distinct`` — ``distinct_benefits>=2``: at least *k* different benefit actions used.

Only candidates' *treated* members become rows; the untreated are the landmark population
minus those, taken from stratum totals, so the engine never materialises a member ×
candidate grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

__all__ = ["DEFAULT_THRESHOLDS", "Candidates", "candidate_kind", "treated_rows"]

DEFAULT_THRESHOLDS: tuple[int, ...] = (1, 2, 3, 5)
DISTINCT = "distinct_benefits"


def candidate_kind(name: str) -> str:
    """The kind of a candidate from its name."""
    if name.startswith(f"{DISTINCT}>="):
        return "distinct"
    if "+" in name:
        return "pair"
    if ">=" in name:
        return "threshold"
    return "action"


@dataclass(frozen=True)
class Candidates:
    """Treated rows ``(member_id, cid)`` and the name of each integer candidate id.

    Candidates are integer-coded in the engine (grouping on integers is much cheaper than on
    built strings over tens of millions of rows); ``names`` decodes them.
    """

    rows: ir.Table
    names: dict[int, str]


def treated_rows(
    counts: ir.Table,
    actions: Sequence[str],
    *,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    pair_days: int = 1,
    max_distinct: int = 12,
    carry: Sequence[str] = (),
) -> Candidates:
    """Every candidate each member satisfies, as ``(member_id, *carry, cid)`` rows.

    Parameters
    ----------
    counts
        Per (member, benefit action) window uses ``n``, first use ``first_ts``, the member's
        ``signup_at`` and the action's index ``a`` into `actions`
        (:attr:`tenure.hva.features.Landmark.counts`).
    actions
        The benefit actions, in index order.
    thresholds
        The *k* of "at least *k* uses in the window" (1 is the action itself).
    pair_days
        Pairs are actions both first used on days ``< pair_days``.
    max_distinct
        Distinct-benefit thresholds run ``1..max_distinct``.
    carry
        Per-member columns of `counts` to keep on every row (the landmark attributes).
    """
    n_act = len(actions)
    ks = sorted({1, *(int(k) for k in thresholds if k >= 1)})
    names: dict[int, str] = {}
    for a, action in enumerate(actions):
        for i, k in enumerate(ks):
            names[a * len(ks) + i] = action if k == 1 else f"{action}>={k}"
    keep = ["member_id", *carry]
    grid = counts.cross_join(ibis.memtable({"_k": ks, "_ki": list(range(len(ks)))}))
    grid = grid.filter(grid.n >= grid._k)
    parts = [grid.select(*keep, cid=(grid.a * len(ks) + grid._ki).cast("int64"))]
    pair0 = n_act * len(ks)
    if pair_days > 0:
        for i, j in itertools.combinations(range(n_act), 2):
            names[pair0 + i * n_act + j] = f"{actions[i]}+{actions[j]}"
        early = counts.filter(counts.first_ts < counts.signup_at + ibis.interval(days=pair_days))
        left = early.select(*keep, _i=early.a)
        right = early.select(_m=early.member_id, _j=early.a)
        pairs = left.join(right, left.member_id == right._m)
        pairs = pairs.filter(pairs._i < pairs._j)
        parts.append(pairs.select(*keep, cid=(pair0 + pairs._i * n_act + pairs._j).cast("int64")))
    distinct0 = pair0 + n_act * n_act
    if max_distinct > 0:
        top = min(max_distinct, n_act)
        names.update({distinct0 + k - 1: f"{DISTINCT}>={k}" for k in range(1, top + 1)})
        nd = counts.group_by(keep).agg(_nd=counts.count())
        grid = nd.cross_join(ibis.memtable({"_k": list(range(1, top + 1))}))
        grid = grid.filter(grid._nd >= grid._k)
        parts.append(grid.select(*keep, cid=(distinct0 + grid._k - 1).cast("int64")))
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return Candidates(out, names)
