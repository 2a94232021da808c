"""Cohort retention table: signup cohort × tenure period, with censoring left empty.

A member is *observable* at period ``k`` when observation reaches day ``k × period_days``
after their signup, and *retained* there when still a member at that day
(``tenure_days >= k × period_days``). Each cell counts only observable members, so a recent
cohort's late periods are partial or absent (empty), never zero.

The engine returns members per (cohort, last observable period, last retained period);
the cumulative counts per cell are taken in numpy.
"""

from __future__ import annotations

from typing import Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd

__all__ = ["CohortUnit", "cohort_table"]

CohortUnit = Literal["month", "week"]
PERIOD_DAYS: dict[str, int] = {"month": 30, "week": 7}


def cohort_table(spans: ir.Table, unit: CohortUnit = "month") -> pd.DataFrame:
    """Cohort × period retention from :func:`~tenure.retention.spans.member_spans`.

    Returns
    -------
    pandas.DataFrame
        Columns ``cohort`` (``YYYY-MM`` or the week's Monday ``YYYY-MM-DD``), ``period``
        (0, 1, …: periods of 30 days for month cohorts, 7 for week cohorts), ``members``
        (observable at that period), ``retained`` and ``rate``; only cells with at least
        one observable member.
    """
    days = PERIOD_DAYS[unit]
    code = "M" if unit == "month" else "W"
    t = spans.mutate(
        cohort=spans.signup_at.truncate(code).cast("date"),
        last_obs=spans.observed_days // days,
        last_kept=spans.tenure_days // days,
    )
    agg = t.group_by(["cohort", "last_obs", "last_kept"]).agg(n=t.count())
    frame = agg.to_pyarrow().to_pandas()
    rows: list[tuple[str, int, int, int, float]] = []
    for cohort, part in frame.groupby("cohort", sort=True):
        obs = part["last_obs"].to_numpy()
        kept = np.minimum(part["last_kept"].to_numpy(), obs)
        n = part["n"].to_numpy(np.float64)
        k = np.arange(int(obs.max()) + 1)
        members = ((obs[None, :] >= k[:, None]) * n).sum(axis=1)
        retained = ((kept[None, :] >= k[:, None]) * n).sum(axis=1)
        label = f"{cohort:%Y-%m}" if unit == "month" else f"{cohort:%Y-%m-%d}"
        rows.extend(
            (label, int(p), int(m), int(r), r / m)
            for p, m, r in zip(k, members, retained, strict=True)
            if m > 0
        )
    return pd.DataFrame(rows, columns=["cohort", "period", "members", "retained", "rate"])
