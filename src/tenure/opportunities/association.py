"""Is doing a workaround associated with retention? Adjusted the way high-value actions are.

Landmark design, as in :mod:`tenure.hva`: only members still active ``window`` days after
signup, whose ``horizon`` is observed by ``as_of``, are compared; *treated* means at least one
occurrence starting in days ``[0, window)``; the outcome is still being a member at
``horizon``. Confounding by the member's attributes and their day-0 activity (events on the
signup day, capped at 6 — the HVA covariate) is removed with the doubly robust estimator on
stratum counts, :func:`tenure.stats.ipw.aipw_grouped`; the engine returns one row per stratum.

An association, not a promise: a workaround done by engaged members will look "good" for
retention even when building it natively changes nothing. The result says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from tenure.opportunities.sequences import epoch_seconds
from tenure.stats.ipw import aipw_grouped, one_hot
from tenure.store import Dataset

__all__ = ["DEFAULT_COVARIATES", "retention_association"]

DEFAULT_COVARIATES = ("channel", "country", "plan", "age_band")
_DAY0_CAP = 6


def retention_association(
    dataset: Dataset,
    first_start: Mapping[str, float],
    *,
    window: int,
    horizon: int,
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Adjusted difference in retention at `horizon`: did the pattern in the window, or not.

    Treated members did the pattern in their first `window` days; see the module docstring.

    Parameters
    ----------
    first_start : mapping of member id to seconds since the epoch
        Each member's first occurrence of the pattern.
    """
    m = dataset.members
    covs = [c for c in (covariates or DEFAULT_COVARIATES) if c in m.columns]
    as_of = ibis.literal(dataset.as_of)
    signup_s = epoch_seconds(m.signup_at)
    end = m.ended_at if "ended_at" in m.columns else ibis.null("timestamp")
    base = m.select(
        member_id=m.member_id,
        signup_s=signup_s,
        active_at_window=end.isnull() | (end > m.signup_at + ibis.interval(days=window)),
        known=(m.signup_at + ibis.interval(days=horizon)) <= as_of,
        retained=end.isnull() | (end > m.signup_at + ibis.interval(days=horizon)),
        **{c: m[c].cast("string").fill_null("(missing)") for c in covs},
    )
    base = base.filter(base.active_at_window & base.known)
    if dataset.events is not None:
        ev = dataset.events
        day0 = (
            ev.join(m.select("member_id", "signup_at"), "member_id")
            .filter(lambda t: (t.ts >= t.signup_at) & (t.ts < t.signup_at + ibis.interval(days=1)))
            .group_by("member_id")
            .agg(day0=lambda t: t.count())
        )
        base = base.left_join(day0, "member_id").drop("member_id_right")
        base = base.mutate(day0=ibis.least(base.day0.fill_null(0), _DAY0_CAP))
    else:
        base = base.mutate(day0=ibis.literal(0))
    if first_start:
        treated_tab = ibis.memtable(
            pd.DataFrame(
                {
                    "member_id": list(first_start),
                    "first_t": np.fromiter(first_start.values(), float),
                }
            )
        )
        base = base.left_join(treated_tab, "member_id").drop("member_id_right")
        treated = base.first_t.notnull() & (base.first_t < base.signup_s + window * 86_400.0)
    else:
        treated = ibis.literal(False)
    base = base.mutate(treated=treated.cast("int64"), y=base.retained.cast("int64"))
    keys = [*covs, "day0"]
    strata = (
        base.group_by(keys)
        .agg(
            n1=base.treated.sum(),
            y1=(base.treated * base.y).sum(),
            n=base.count(),
            y=base.y.sum(),
        )
        .to_pandas()
    )
    params = {"window_days": window, "horizon_days": horizon, "covariates": [*covs, "day0"]}
    if strata.empty:
        return {**params, "status": "no_landmark_members", "effect": None, "ci": [None, None]}
    n1 = strata["n1"].to_numpy(np.float64)
    y1 = strata["y1"].to_numpy(np.float64)
    n0 = strata["n"].to_numpy(np.float64) - n1
    y0 = strata["y"].to_numpy(np.float64) - y1
    cols = [np.ones(len(strata))]
    for c in covs:
        codes, levels = pd.factorize(strata[c], sort=True)
        if len(levels) > 1:
            cols.append(one_hot(codes, len(levels))[:, 1:])
    a = strata["day0"].to_numpy(np.float64) / _DAY0_CAP
    cols.extend([a, a * a])
    X = np.column_stack(cols)
    r = aipw_grouped(X, n1[None, :], y1[None, :], n0[None, :], y0[None, :], alpha=alpha)
    status = str(r.status[0])
    return {
        **params,
        "status": status,
        "n_treated": int(n1.sum()),
        "n_untreated": int(n0.sum()),
        "retention_treated": float(r.mean1[0]),
        "retention_untreated": float(r.mean0[0]),
        "effect": float(r.estimate[0]),
        "ci": [float(r.ci_low[0]), float(r.ci_high[0])],
        "p_value": float(r.p_value[0]),
        "note": "adjusted association (AIPW on attribute and day-0 activity strata), not a "
        "causal promise",
    }
