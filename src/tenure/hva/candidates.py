"""Candidate high-value actions as (member, candidate) rows, built in the engine.

Kinds and names:

* ``action`` — ``video.stream``: used at least once in the window;
* ``threshold`` — ``video.stream>=3``: used at least *k* times (``k`` in ``thresholds``;
  ``k = 1`` is the action itself);
* ``pair`` — ``shipping.order+video.stream``: both first used within the first
  ``pair_days`` day(s) (default 1: the signup day; names in alphabetical order);
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
    """Candidate rows ``(member_id, *carry, cid)`` and how integer ids decode.

    Candidates are integer-coded in the engine (grouping on integers is much cheaper than on
    built strings). Nested families ("≥ k uses of an action", "≥ k distinct benefits") are
    sent as one row per member at its *highest* level: ``cumulative`` lists each family's
    ids from the lowest level up, and a level's treated members are those at that level or
    above (a reverse cumulative sum of the counts, taken in numpy). Pairs are plain rows.
    """

    rows: ir.Table
    names: dict[int, str]
    cumulative: tuple[tuple[int, ...], ...]


def treated_rows(
    counts: ir.Table,
    actions: Sequence[str],
    *,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    pairs: bool = True,
    max_distinct: int = 12,
    carry: Sequence[str] = (),
) -> Candidates:
    """Candidate rows for every member: highest threshold level per action, highest
    distinct-benefit level, and every day-0 pair.

    Parameters
    ----------
    counts
        Per (member, benefit action) window uses ``n``, ``early`` (first used within the
        landmark's ``early_days``) and the action's index ``a`` into `actions`
        (:attr:`tenure.hva.features.Landmark.counts`).
    actions
        The benefit actions, in index order.
    thresholds
        The *k* of "at least *k* uses in the window" (1 is the action itself).
    pairs
        Add pairs of actions both first used early (within the landmark's ``early_days``).
    max_distinct
        Distinct-benefit thresholds run ``1..max_distinct``.
    carry
        Per-member columns of `counts` to keep on every row (the landmark attributes).
    """
    n_act = len(actions)
    ks = sorted({1, *(int(k) for k in thresholds if k >= 1)})
    names: dict[int, str] = {}
    groups: list[tuple[int, ...]] = []
    for a, action in enumerate(actions):
        for i, k in enumerate(ks):
            names[a * len(ks) + i] = action if k == 1 else f"{action}>={k}"
        groups.append(tuple(a * len(ks) + i for i in range(len(ks))))
    keep = ["member_id", *carry]
    level = ibis.literal(0, type="int64")
    for k in ks[1:]:
        level = level + (counts.n >= k).cast("int64")
    parts = [counts.select(*keep, cid=(counts.a * len(ks) + level).cast("int64"))]
    pair0 = n_act * len(ks)
    if pairs:
        for i, j in itertools.combinations(range(n_act), 2):
            names[pair0 + i * n_act + j] = f"{actions[i]}+{actions[j]}"
        early = counts.filter(counts.early)
        left = early.select(*keep, _i=early.a)
        right = early.select(_m=early.member_id, _j=early.a)
        both = left.join(right, left.member_id == right._m)
        both = both.filter(both._i < both._j)
        parts.append(both.select(*keep, cid=(pair0 + both._i * n_act + both._j).cast("int64")))
    distinct0 = pair0 + n_act * n_act
    top = min(max_distinct, n_act)
    if top > 0:
        names.update({distinct0 + k - 1: f"{DISTINCT}>={k}" for k in range(1, top + 1)})
        groups.append(tuple(distinct0 + k - 1 for k in range(1, top + 1)))
        nd = counts.group_by(keep).agg(_nd=counts.count())
        parts.append(nd.select(*keep, cid=(distinct0 + ibis.least(nd._nd, top) - 1).cast("int64")))
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return Candidates(out, names, tuple(groups))
