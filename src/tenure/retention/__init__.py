r"""Retention analytics: cohort table, survival curves with intervals, churn by channel × tenure.

::

    from tenure.retention import analyse_retention
    result = analyse_retention(connect("world/"), by="channel")
    result.to_dict()["median"]

All heavy work is two Ibis aggregations (span counts per segment × day, and per cohort);
curves, intervals, medians and hazards are computed from those counts by
:mod:`tenure.stats.survival`.

**The day convention, one for table, JSON and report.** *Retained at day d* is the share of
members still a member ``d`` whole days after signing up (``tenure_days >= d``). On the
Kaplan–Meier curve of whole-day tenures that is :math:`\hat S(d - 1)`, the share whose
membership lasted more than ``d - 1`` days; the cohort table uses the same rule at
``d = k × period``. Median tenure is the curve's own (lifelines') median duration: the
whole days of membership by which half have left. A day past the end of follow-up (the
longest tenure anyone was observed for) has no estimate: it is reported as missing with
that reason, never as the last value carried forward.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np
import pandas as pd

from tenure.results import Result, json_safe
from tenure.retention.churn import DEFAULT_EDGES, churn_by_period
from tenure.retention.cohorts import CohortUnit, cohort_table
from tenure.retention.curves import curves_from_counts, span_counts
from tenure.retention.spans import member_spans
from tenure.settings import Inference
from tenure.stats.survival import SurvivalCurve
from tenure.store import Dataset

__all__ = [
    "DAYS_PER_UNIT",
    "DEFAULT_POINTS",
    "RetentionPoint",
    "RetentionResult",
    "TimeUnit",
    "analyse_retention",
    "retained_at",
]

TimeUnit: TypeAlias = Literal["days", "weeks", "months"]
DAYS_PER_UNIT: dict[str, int] = {"days": 1, "weeks": 7, "months": 30}
"""Days in each unit; a month is 30 days, as in the month cohorts."""
DEFAULT_POINTS: dict[str, tuple[int, ...]] = {
    "days": (30, 90, 180, 365),
    "weeks": (1, 4, 12, 26, 52),
    "months": (1, 3, 6, 12),
}
"""Time points shown by default, in each unit."""

_NOT_SEGMENTS = frozenset(
    {"member_id", "signup_at", "ended_at", "tenure_days", "ended", "observed_days"}
)
"""Member columns a curve cannot be split by: one value per member, or the span itself."""

CONVENTION = (
    "retained at day d = share still a member d whole days after signup (tenure >= d days), "
    "the Kaplan-Meier survival past d - 1 days; median = lifelines' median duration in days"
)


@dataclass(frozen=True, slots=True)
class RetentionPoint:
    """Retention of one segment at one time point, with its interval.

    ``day`` is in days whatever the display ``unit``; ``at_risk`` the members still under
    observation at that tenure. ``retained`` is NaN past the end of follow-up
    (``note`` says so).
    """

    segment: str | None
    time: int
    unit: str
    day: int
    retained: float
    ci_low: float
    ci_high: float
    at_risk: int
    note: str


def retained_at(curve: SurvivalCurve, days: Sequence[int]) -> tuple[np.ndarray, ...]:
    """``(retained, low, high, at_risk, observable)`` at each whole day of ``days``.

    Day ``d`` reads the curve at ``d - 1`` (see the module docstring). A day beyond the
    longest observed tenure is not observable (NaN), unless everyone had already left.

    >>> from tenure.stats.survival import kaplan_meier
    >>> c = kaplan_meier([1, 2, 3], [1, 0, 1], [0, 1, 1])   # 4 members, follow-up to day 3
    >>> r, lo, hi, n, ok = retained_at(c, [0, 2, 3, 4, 10])
    >>> r.round(3).tolist()[:4], ok.tolist()
    ([1.0, 0.75, 0.75, 0.375], [True, True, True, True, False])
    """
    d = np.asarray(days, dtype=np.float64)
    t = d - 1.0
    if curve.time.size == 0:
        nan = np.full(d.shape, np.nan)
        return nan, nan, nan, np.zeros(d.shape), np.zeros(d.shape, dtype=bool)
    idx = np.searchsorted(curve.time, t, side="right") - 1
    safe = np.maximum(idx, 0)
    s = np.where(idx >= 0, curve.survival[safe], 1.0)
    lo = np.where(idx >= 0, curve.ci_low[safe], 1.0)
    hi = np.where(idx >= 0, curve.ci_high[safe], 1.0)
    follow_up = float(curve.time.max())
    extinct = float(curve.survival[-1]) == 0.0
    observable = (t <= follow_up) | extinct
    # Members at risk at tenure t: those whose tenure is at least t.
    after = np.searchsorted(curve.time, np.maximum(t, 0.0), side="left")
    counts = curve.events + curve.censored
    tail = np.concatenate([np.cumsum(counts[::-1])[::-1], [0.0]])
    at_risk = tail[after]
    nan = np.full(d.shape, np.nan)
    return (
        np.where(observable, s, nan),
        np.where(observable, lo, nan),
        np.where(observable, hi, nan),
        at_risk,
        observable,
    )


@dataclass(frozen=True, repr=False)
class RetentionResult(Result):
    """Survival curves (overall and by ``by``), retention points, cohort table and churn.

    ``curves`` maps a segment value to its Kaplan–Meier curve on whole-day tenures (``None``
    is the overall curve); ``points`` holds retention at the chosen time points in the one
    day convention of the module docstring; ``params`` the settings.
    """

    kind: ClassVar[str] = "retention"
    as_of: datetime
    by: str | None
    curves: Mapping[str | None, SurvivalCurve]
    points: tuple[RetentionPoint, ...]
    cohorts: pd.DataFrame
    churn_by_channel: pd.DataFrame
    params: Mapping[str, Any]
    cohort_unit: str = "month"

    def medians(self) -> pd.DataFrame:
        """Median tenure (days) per segment; ``inf`` when the curve never reaches 0.5."""
        return pd.DataFrame(
            {"segment": list(self.curves), "median": [c.median for c in self.curves.values()]}
        )

    def points_frame(self) -> pd.DataFrame:
        """Retention at the chosen time points, one row per segment × point."""
        cols = list(RetentionPoint.__dataclass_fields__)
        return pd.DataFrame([[getattr(p, c) for c in cols] for p in self.points], columns=cols)

    def to_frame(self) -> pd.DataFrame:
        """Every curve's steps in the day convention (``day`` = tenure + 1).

        Columns ``segment, day, at_risk, left, censored, retained, ci_low, ci_high``.
        """
        parts = []
        for segment, curve in self.curves.items():
            parts.append(
                pd.DataFrame(
                    {
                        "segment": segment,
                        "day": curve.time.astype(np.int64) + 1,
                        "at_risk": curve.at_risk.astype(np.int64),
                        "left": curve.events.astype(np.int64),
                        "censored": curve.censored.astype(np.int64),
                        "retained": curve.survival,
                        "ci_low": curve.ci_low,
                        "ci_high": curve.ci_high,
                    }
                )
            )
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure retention --json`` document."""
        survival = [
            {
                "segment": r["segment"],
                "day": r["day"],
                "at_risk": r["at_risk"],
                "left": r["left"],
                "censored": r["censored"],
                "retained": r["retained"],
                "ci": [r["ci_low"], r["ci_high"]],
            }
            for r in self.to_frame().to_dict("records")
        ]
        points = [
            {
                "segment": p.segment,
                "time": p.time,
                "unit": p.unit,
                "day": p.day,
                "retained": p.retained,
                "ci": [p.ci_low, p.ci_high],
                "at_risk": p.at_risk,
                **({"note": p.note} if p.note else {}),
            }
            for p in self.points
        ]
        medians = [
            {"segment": seg, "median": None if math.isinf(c.median) else int(c.median)}
            for seg, c in self.curves.items()
        ]
        churn = self.churn_by_channel.rename(columns={"segment": "channel"})
        doc: dict[str, Any] = json_safe(
            {
                "kind": self.kind,
                "params": self.params,
                "as_of": self.as_of,
                "unit": "day",
                "convention": CONVENTION,
                "points": points,
                "survival": survival,
                "median": medians,
                "cohorts": self.cohorts,
                "churn_by_channel": churn,
            }
        )
        return doc


def _points(
    curves: Mapping[str | None, SurvivalCurve], times: Sequence[int], unit: str
) -> tuple[RetentionPoint, ...]:
    per = DAYS_PER_UNIT[unit]
    days = [int(t) * per for t in times]
    out = []
    for segment, curve in curves.items():
        r, lo, hi, n, ok = retained_at(curve, days)
        last = int(curve.time.max()) + 1 if curve.time.size else 0
        for i, (t, d) in enumerate(zip(times, days, strict=True)):
            note = "" if ok[i] else f"beyond follow-up (observed to day {last})"
            out.append(
                RetentionPoint(
                    segment,
                    int(t),
                    unit,
                    d,
                    float(r[i]),
                    float(lo[i]),
                    float(hi[i]),
                    int(n[i]),
                    note,
                )
            )
    return tuple(out)


def analyse_retention(
    dataset: Dataset,
    *,
    by: str | None = None,
    cohort_unit: CohortUnit = "month",
    edges: tuple[int, ...] = DEFAULT_EDGES,
    points: Sequence[int] | None = None,
    unit: TimeUnit = "days",
    inference: Inference | None = None,
) -> RetentionResult:
    """Cohorts, KM curves (overall and by `by`), retention points and churn by channel × period.

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
    points, unit
        Time points (in ``unit``: days, weeks of 7 days or months of 30 days) at which to
        report retention; :data:`DEFAULT_POINTS` of the unit by default.
    inference
        Its ``alpha`` sets the intervals' coverage (0.05 by default).
    """
    from tenure.errors import DataContractError, SpecError

    inf = Inference() if inference is None else inference
    if unit not in DAYS_PER_UNIT:
        raise SpecError(f"unit: must be days, weeks or months, got {unit!r}")
    times = tuple(DEFAULT_POINTS[unit] if points is None else points)
    if not times or any(int(t) != t or t < 0 for t in times):
        raise SpecError(f"points: give whole, non-negative time points, got {list(times)!r}")
    spans = member_spans(dataset.members, dataset.as_of)
    if by is not None and by not in spans.columns:
        raise DataContractError(f"members has no column {by!r} to split by")
    if by is not None and (by in _NOT_SEGMENTS or spans[by].type().is_temporal()):
        raise SpecError(
            f"--by {by}: split by a member attribute (channel, country, plan…), not an id, "
            "a timestamp or a derived span; use --cohort for signup cohorts"
        )
    keys = [c for c in dict.fromkeys([by, "channel"]) if c is not None and c in spans.columns]
    # Both aggregations read the spans: compute them once in the engine.
    spans = spans.select("signup_at", "tenure_days", "ended", "observed_days", *keys).cache()
    try:
        counts = span_counts(spans, keys)
        cohorts = cohort_table(spans, cohort_unit)
    finally:
        spans.release()
    curves = curves_from_counts(counts, by, alpha=inf.alpha)
    if "channel" in keys:
        by_channel = (
            curves if by == "channel" else curves_from_counts(counts, "channel", alpha=inf.alpha)
        )
        churn = churn_by_period(by_channel, edges)
    else:
        churn = churn_by_period({}, edges)
    params = {
        "by": by,
        "cohort_unit": cohort_unit,
        "edges": list(edges),
        "points": list(times),
        "unit": unit,
        "alpha": inf.alpha,
        "as_of": dataset.as_of,
    }
    return RetentionResult(
        as_of=dataset.as_of,
        by=by,
        curves=curves,
        points=_points(curves, times, unit),
        cohorts=cohorts,
        churn_by_channel=churn,
        params=params,
        cohort_unit=cohort_unit,
    )
