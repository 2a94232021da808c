"""Survival curves overall and by a member attribute, from one engine aggregation.

The engine returns counts per (segment columns, tenure day, ended); every curve, the overall
one included, is assembled from those counts in numpy by :func:`tenure.stats.survival.kaplan_meier`.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tenure.stats.survival import SurvivalCurve, kaplan_meier

__all__ = ["MISSING", "curves_from_counts", "segment_value", "span_counts"]

MISSING = "(missing)"


def segment_value(t: ir.Table, column: str) -> ir.StringValue:
    """A segment column as a string, with nulls labelled :data:`MISSING`."""
    return t[column].cast("string").fill_null(MISSING)


def span_counts(spans: ir.Table, by: Sequence[str]) -> pd.DataFrame:
    """Members per (``by`` columns, ``tenure_days``, ``ended``): the sufficient statistics.

    Returns a small pandas frame with columns ``*by, tenure_days, ended, n``.
    """
    keyed = spans.mutate(**{c: segment_value(spans, c) for c in by})
    agg = keyed.group_by([*by, "tenure_days", "ended"]).agg(n=keyed.count())
    frame = agg.to_pyarrow().to_pandas()
    out: pd.DataFrame = frame.sort_values([*by, "tenure_days", "ended"], ignore_index=True)
    return out


def curves_from_counts(
    counts: pd.DataFrame, by: str | None, *, alpha: float = 0.05
) -> dict[str | None, SurvivalCurve]:
    """KM curves keyed by segment value (``None`` is the overall curve) from :func:`span_counts`."""
    out: dict[str | None, SurvivalCurve] = {None: _curve(counts, alpha)}
    if by is not None:
        for value, part in counts.groupby(by, sort=True):
            out[str(value)] = _curve(part, alpha)
    return out


def _curve(part: pd.DataFrame, alpha: float) -> SurvivalCurve:
    t = part["tenure_days"].to_numpy(np.float64)
    n = part["n"].to_numpy(np.float64)
    ended = part["ended"].to_numpy() == 1
    return kaplan_meier(t, np.where(ended, n, 0.0), np.where(ended, 0.0, n), alpha=alpha)
