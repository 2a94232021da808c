"""The engine's part of HVA discovery: four small tables of counts, materialised once each.

* stratum totals — landmark members per (stratum, horizon observable, retained);
* stratum treated — the same per candidate, treated members only;
* landmark curve totals — per (segment code, days since landmark, churned);
* landmark curve treated — the same per candidate.

Untreated counts are totals minus treated, taken in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from tenure.hva.candidates import Candidates
from tenure.hva.features import LANDMARK_COLUMNS, Landmark

__all__ = ["HvaCounts", "aggregate_counts"]


@dataclass(frozen=True)
class HvaCounts:
    """Sufficient statistics for every candidate's naive and adjusted effect."""

    strata_totals: pd.DataFrame  # sid, obs_h, retained, n
    strata_treated: pd.DataFrame  # cid, sid, obs_h, retained, n
    curve_totals: pd.DataFrame  # seg, t, event, n
    curve_treated: pd.DataFrame  # cid, seg, t, event, n
    names: dict[int, str]  # candidate id -> name
    cumulative: tuple[tuple[int, ...], ...]  # nested families, lowest level first


def _segment_code(lm: Landmark, t: ir.Table) -> ir.IntegerValue:
    if lm.segment is None:
        return ibis.literal(0, type="int64")
    n_levels = len(lm.levels[lm.segment])
    return ((t.sid // lm.radix[lm.segment]) % n_levels).cast("int64")


def _fetch(expr: ir.Table) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def aggregate_counts(lm: Landmark, treated: Candidates) -> HvaCounts:
    """Run the four aggregations (the only engine work of :func:`tenure.hva.discover`).

    `treated` rows must carry the landmark columns (``treated_rows(..., carry=...)``).
    """
    base = lm.members
    base = base.mutate(seg=_segment_code(lm, base))
    rows = treated.rows
    rows = rows.select("cid", *LANDMARK_COLUMNS, seg=_segment_code(lm, rows)).cache()
    totals = base.group_by(["sid", "obs_h", "retained"]).agg(n=base.count())
    by_cand = rows.group_by(["cid", "sid", "obs_h", "retained"]).agg(n=rows.count())
    curve_tot = base.group_by(["seg", "t", "event"]).agg(n=base.count())
    curve_cand = rows.group_by(["cid", "seg", "t", "event"]).agg(n=rows.count())
    try:
        return HvaCounts(
            _fetch(totals),
            _fetch(by_cand),
            _fetch(curve_tot),
            _fetch(curve_cand),
            treated.names,
            treated.cumulative,
        )
    finally:
        rows.release()
