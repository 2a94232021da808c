"""The engine's part of HVA discovery: small tables of counts, materialised once each.

From the landmark (:func:`tenure.hva.features.landmark`):

* ``totals`` — members per (stratum, horizon observable, retained); ``totals_nb`` the same by
  the stratum whose activity leaves out benefit actions (for "≥ k distinct benefits");
* ``curve`` — members per (segment code, days since landmark, churned);
* ``uses`` — per (action, threshold level, early, stratum, stratum without the action's own
  events, observable, retained); ``uses_curve`` per (action, level, early, segment, day, churned);
* ``pairs`` / ``pairs_curve`` — the same for members who used two actions early;
* ``distinct`` / ``distinct_curve`` — per number of distinct benefits used (capped);
* ``first`` / ``first_curve`` — per (action, day of first use), for the timing candidates.

Every contrast's arms are sums and differences of these in numpy
(:mod:`tenure.hva.estimate`), so the engine never materialises a member × candidate grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.hva.design import ACTIVITY, DAY0
from tenure.hva.features import Landmark, _code

__all__ = ["HvaCounts", "aggregate_counts"]


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


def _fetch(expr: ir.Table) -> pd.DataFrame:
    frame: pd.DataFrame = expr.to_pyarrow().to_pandas()
    return frame


def _empty(*cols: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64") for c in cols})


def aggregate_counts(
    lm: Landmark,
    *,
    pairs: bool = True,
    distinct: bool = True,
    max_distinct: int = 12,
    timing: bool = False,
) -> HvaCounts:
    """Run the aggregations: all the engine work of :func:`tenure.hva.discover` after the landmark."""
    base, u = lm.members, lm.uses
    act = lm.design.factor(ACTIVITY)
    r_act = lm.design.radix[ACTIVITY]
    day0 = lm.design.factor(DAY0)
    r_d1 = lm.design.radix[DAY0]
    totals = base.group_by(["sid", "obs_h", "retained"]).agg(n=base.count())
    curve = base.group_by(["seg", "t", "event"]).agg(n=base.count())
    uses = u.group_by(["a", "level", "early", "sid", "sid_a", "obs_h", "retained"]).agg(n=u.count())
    uses_curve = u.group_by(["a", "level", "early", "seg", "t", "event"]).agg(n=u.count())
    out = {
        "totals": _fetch(totals),
        "curve": _fetch(curve),
        "uses": _fetch(uses),
        "uses_curve": _fetch(uses_curve),
    }
    if pairs and len(lm.actions) > 1:
        e = u.filter(u.early)
        left = e.select("member_id", "sid", "d0", "d1", "obs_h", "retained", "seg", "t", "event",
                        i=e.a, n0_i=e.n0, n1_i=e.n1, sid_i=e.sid_a)  # fmt: skip
        right = e.select(_m=e.member_id, j=e.a, n0_j=e.n0, n1_j=e.n1, sid_j=e.sid_a)
        both = left.join(right, left.member_id == right._m)
        both = both.filter(both.i < both.j)
        shift = _code(both.d0 - both.n0_i - both.n0_j, act.edges) - _code(both.d0, act.edges)
        shift_d1 = _code(both.d1 - both.n1_i - both.n1_j, day0.edges) - _code(both.d1, day0.edges)
        # Not cached: the self-join has a row per member and pair (tens of millions at 1M
        # members); streaming it into each aggregation twice is cheaper than materialising it.
        both = both.mutate(sid_ij=both.sid + shift * r_act + shift_d1 * r_d1)
        keys = ["i", "j", "sid", "sid_i", "sid_j", "sid_ij", "obs_h", "retained"]
        out["pairs"] = _fetch(both.group_by(keys).agg(n=both.count()))
        pc = both.group_by(["i", "j", "seg", "t", "event"]).agg(n=both.count())
        out["pairs_curve"] = _fetch(pc)
    else:
        out["pairs"] = _empty("i", "j", "sid", "sid_i", "sid_j", "sid_ij", "obs_h", "retained", "n")
        out["pairs_curve"] = _empty("i", "j", "seg", "t", "event", "n")
    top = min(max_distinct, len(lm.actions))
    if distinct and lm.has_benefit and top > 0:
        out["totals_nb"] = _fetch(
            base.group_by(sid=base.sid_nb, obs_h=base.obs_h, retained=base.retained).agg(
                n=base.count()
            )
        )
        keep = ["member_id", "sid_nb", "obs_h", "retained", "seg", "t", "event"]
        nd = u.group_by(keep).agg(_nd=u.count())
        nd = nd.mutate(level=ibis.least(nd._nd, top))
        out["distinct"] = _fetch(
            nd.group_by(level=nd.level, sid=nd.sid_nb, obs_h=nd.obs_h, retained=nd.retained).agg(
                n=nd.count()
            )
        )
        out["distinct_curve"] = _fetch(
            nd.group_by(["level", "seg", "t", "event"]).agg(n=nd.count())
        )
    else:
        out["totals_nb"] = _empty("sid", "obs_h", "retained", "n")
        out["distinct"] = _empty("level", "sid", "obs_h", "retained", "n")
        out["distinct_curve"] = _empty("level", "seg", "t", "event", "n")
    if timing:
        by_day = ["a", "first", "sid_a", "obs_h", "retained"]
        out["first"] = _fetch(u.group_by(by_day).agg(n=u.count()))
        out["first_curve"] = _fetch(
            u.group_by(["a", "first", "seg", "t", "event"]).agg(n=u.count())
        )
    else:
        out["first"] = _empty("a", "first", "sid_a", "obs_h", "retained", "n")
        out["first_curve"] = _empty("a", "first", "seg", "t", "event", "n")
    return HvaCounts(**out)
