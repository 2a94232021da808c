"""Candidate high-value actions as (member, candidate) rows, built in the engine.

Kinds and names:

* ``action`` — ``video.stream``: used at least once in the window;
* ``threshold`` — ``video.stream>=3``: used at least *k* times (``k`` in ``thresholds``,
  1 excluded since it is the action itself);
* ``pair`` — ``shipping.order+video.stream``: both first used within the first
  ``pair_days`` day(s) (names in alphabetical order);
* ``distinct`` — ``distinct_benefits>=2``: at least *k* different benefit actions used.

Only candidates' *treated* members become rows; the untreated are the landmark population
minus those, taken from stratum totals, so the engine never materialises a member ×
candidate grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

__all__ = ["DEFAULT_THRESHOLDS", "candidate_kind", "treated_rows"]

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


def treated_rows(
    counts: ir.Table,
    *,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    pair_days: int = 1,
    max_distinct: int = 12,
) -> ir.Table:
    """``(member_id, candidate)`` for every candidate each member satisfies.

    Parameters
    ----------
    counts
        Per (member, benefit action) window uses ``n`` and first-use day ``first``
        (:attr:`tenure.hva.features.Landmark.counts`).
    thresholds
        The *k* of "at least *k* uses in the window".
    pair_days
        Pairs are actions both first used on days ``< pair_days``.
    max_distinct
        Distinct-benefit thresholds run ``1..max_distinct``.
    """
    parts = [counts.select("member_id", candidate=counts.action)]
    ks = sorted(k for k in set(thresholds) if k > 1)
    if ks:
        grid = counts.cross_join(ibis.memtable({"_k": ks}))
        grid = grid.filter(grid.n >= grid._k)
        parts.append(
            grid.select("member_id", candidate=grid.action.concat(">=", grid._k.cast("string")))
        )
    if pair_days > 0:
        early = counts.filter(counts.first < pair_days)
        a = early.select("member_id", _a=early.action)
        b = early.select("member_id", _b=early.action)
        pairs = a.join(b, "member_id")
        pairs = pairs.filter(pairs._a < pairs._b)
        parts.append(pairs.select("member_id", candidate=pairs._a.concat("+", pairs._b)))
    if max_distinct > 0:
        nd = counts.group_by("member_id").agg(_nd=counts.count())
        grid = nd.cross_join(ibis.memtable({"_k": list(range(1, max_distinct + 1))}))
        grid = grid.filter(grid._nd >= grid._k)
        parts.append(
            grid.select(
                "member_id", candidate=ibis.literal(f"{DISTINCT}>=").concat(grid._k.cast("string"))
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return out
