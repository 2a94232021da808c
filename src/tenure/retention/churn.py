"""Churn by acquisition channel × tenure period, with counts at risk.

Each period's churn is the KM conditional probability of ending within it given membership at
its start (:func:`tenure.stats.survival.hazard_by_period`), so members censored inside a
period count for the time they were observed, not as stayers or leavers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.stats.survival import SurvivalCurve, hazard_by_period

__all__ = ["DEFAULT_EDGES", "churn_by_period"]

DEFAULT_EDGES: tuple[int, ...] = (0, 7, 30, 60, 90, 120, 180, 270, 365)
"""Period boundaries in days; the last period runs to the longest tenure seen."""


def churn_by_period(
    curves: dict[str | None, SurvivalCurve], edges: tuple[int, ...] = DEFAULT_EDGES
) -> pd.DataFrame:
    """Per segment (``None`` excluded) and period: at risk, events, censored and churn.

    Columns: ``segment, period, start, end, at_risk, events, censored, churn`` where
    ``period`` reads ``"30-59"`` (days, inclusive).
    """
    frames = []
    last = max((float(c.time.max()) for c in curves.values() if c.time.size), default=0.0)
    bounds = np.asarray([*(e for e in edges if e < last + 1), last + 1], dtype=np.float64)
    for segment, curve in curves.items():
        if segment is None:
            continue
        h = hazard_by_period(curve, bounds).to_frame()
        h.insert(0, "segment", segment)
        h.insert(
            1,
            "period",
            [f"{int(a)}-{int(b) - 1}" for a, b in zip(h["start"], h["end"], strict=True)],
        )
        frames.append(h)
    if not frames:
        cols = ["segment", "period", "start", "end", "at_risk", "events", "censored", "churn"]
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)
