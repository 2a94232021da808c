"""Retention analytics: cohort table, survival curves with intervals, churn by channel × tenure.

::

    from tenure.retention import analyse_retention
    result = analyse_retention(connect("world/"), by="channel")
    result.to_dict()["median"]

All heavy work is two Ibis aggregations (span counts per segment × day, and per cohort);
curves, intervals, medians and hazards are computed from those counts by
:mod:`tenure.stats.survival`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from tenure.retention.churn import DEFAULT_EDGES, churn_by_period
from tenure.retention.cohorts import CohortUnit, cohort_table
from tenure.retention.curves import curves_from_counts, span_counts
from tenure.retention.spans import member_spans
from tenure.stats.survival import SurvivalCurve
from tenure.store import Dataset

__all__ = ["RetentionResult", "analyse_retention"]


@dataclass(frozen=True)
class RetentionResult:
    """Survival curves (overall and by ``by``), cohort table and churn by channel × period.

    ``curves`` maps a segment value to its curve; ``None`` is the overall curve.
    """

    as_of: datetime
    by: str | None
    curves: dict[str | None, SurvivalCurve]
    cohorts: pd.DataFrame
    churn_by_channel: pd.DataFrame
    cohort_unit: str = "month"

    def medians(self) -> pd.DataFrame:
        """Median tenure (days) per segment; ``inf`` when the curve never reaches 0.5."""
        return pd.DataFrame(
            {"segment": list(self.curves), "median": [c.median for c in self.curves.values()]}
        )

    def to_frame(self) -> pd.DataFrame:
        """Every curve's rows, with a ``segment`` column (``None`` for overall)."""
        parts = []
        for segment, curve in self.curves.items():
            f = curve.to_frame()
            f.insert(0, "segment", segment)
            parts.append(f)
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure retention --json`` document."""
        survival = [
            {
                "segment": seg,
                "t": int(t),
                "at_risk": int(n),
                "events": int(d),
                "censored": int(c),
                "survival": float(s),
                "ci": [float(lo), float(hi)],
            }
            for seg, curve in self.curves.items()
            for t, n, d, c, s, lo, hi in zip(
                curve.time,
                curve.at_risk,
                curve.events,
                curve.censored,
                curve.survival,
                curve.ci_low,
                curve.ci_high,
                strict=True,
            )
        ]
        medians = [
            {"segment": seg, "median": None if math.isinf(c.median) else int(c.median)}
            for seg, c in self.curves.items()
        ]
        churn = [
            {
                "channel": r.segment,
                "period": r.period,
                "start": int(r.start),
                "end": int(r.end),
                "at_risk": int(r.at_risk),
                "events": int(r.events),
                "censored": int(r.censored),
                "churn": None if pd.isna(r.churn) else float(r.churn),
            }
            for r in self.churn_by_channel.itertuples(index=False)
        ]
        cohorts = [
            {
                "cohort": r.cohort,
                "period": int(r.period),
                "members": int(r.members),
                "retained": int(r.retained),
                "rate": float(r.rate),
            }
            for r in self.cohorts.itertuples(index=False)
        ]
        return {
            "as_of": self.as_of.isoformat(),
            "unit": "day",
            "survival": survival,
            "median": medians,
            "cohorts": cohorts,
            "churn_by_channel": churn,
        }


def analyse_retention(
    dataset: Dataset,
    *,
    by: str | None = None,
    cohort_unit: CohortUnit = "month",
    edges: tuple[int, ...] = DEFAULT_EDGES,
    alpha: float = 0.05,
) -> RetentionResult:
    """Cohorts, KM curves (overall and by `by`) and churn by channel × tenure period.

    Parameters
    ----------
    dataset
        From :func:`tenure.store.connect`.
    by
        A member attribute to split the curves by (``channel``, ``country``, …).
    cohort_unit
        Signup cohorts by ``"month"`` (30-day periods) or ``"week"`` (7-day periods).
    edges
        Tenure period boundaries (days) for churn by channel.
    alpha
        One minus the interval coverage.
    """
    from tenure.errors import DataContractError

    spans = member_spans(dataset.members, dataset.as_of)
    if by is not None and by not in spans.columns:
        raise DataContractError(f"members has no column {by!r} to split by")
    keys = [c for c in dict.fromkeys([by, "channel"]) if c is not None and c in spans.columns]
    # Both aggregations read the spans: compute them once in the engine.
    spans = spans.select("signup_at", "tenure_days", "ended", "observed_days", *keys).cache()
    try:
        counts = span_counts(spans, keys)
        cohorts = cohort_table(spans, cohort_unit)
    finally:
        spans.release()
    curves = curves_from_counts(counts, by, alpha=alpha)
    if "channel" in keys:
        by_channel = (
            curves if by == "channel" else curves_from_counts(counts, "channel", alpha=alpha)
        )
        churn = churn_by_period(by_channel, edges)
    else:
        churn = churn_by_period({}, edges)
    return RetentionResult(
        as_of=dataset.as_of,
        by=by,
        curves=curves,
        cohorts=cohorts,
        churn_by_channel=churn,
        cohort_unit=cohort_unit,
    )
