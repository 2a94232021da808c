"""Is doing a workaround associated with retention and with publishing? Adjusted like HVAs.

Both use a landmark design, as :mod:`tenure.hva` does: *treated* members did the pattern at
least once in their first ``window`` days (one occurrence starting in ``[0, window)``);
only members still active on day ``window`` are compared, so the exposure window never
overlaps the outcome.

* **Retention**: still a member on day ``horizon``, among landmark members whose horizon is
  observed by ``as_of``; doubly robust (AIPW) on stratum counts,
  :func:`tenure.stats.ipw.aipw_grouped`.
* **Publish rate**: publishes per member-week in the *follow-up* window, days
  ``[window, window + follow_up)``, while a member, among landmark members whose follow-up is
  observed. "Publish" is an action (by default the pattern's bring-back step, e.g.
  ``video.upload``; ``--publish-action`` sets another). Publishes that are the closing step
  of an occurrence of the pattern itself are not counted: otherwise a workaround that ends in
  an upload would "raise publishing" by definition. Doubly robust ratio of standardised means,
  :func:`tenure.stats.rate_effect.rate_difference`.

The covariates (:mod:`~tenure.opportunities.adjustment`) are the HVA engine's kinds: activity
from any action but the pattern's own steps in quantile bins, every member attribute
(continuous ones in quantile bins) and pre-signup history when present. Each result carries
its diagnostics — effective sample sizes, standardised mean differences before and after
weighting, the share of members at the propensity clip — and ``warnings`` that say loudly
when the comparison is degenerate (an empty arm, no overlap, a constant covariate, no publish
at all, residual imbalance).

An association, not a promise: a workaround done by engaged members will look "good" even
when building it natively changes nothing. The results say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tenure._types import FloatArray, IntArray
from tenure.opportunities.adjustment import Adjustment, adjustment_table
from tenure.opportunities.sequences import epoch_seconds
from tenure.stats.ipw import aipw_grouped
from tenure.stats.rate_effect import ArmSums, rate_difference
from tenure.store import Dataset

__all__ = [
    "DEFAULT_FOLLOW_UP",
    "MAX_WEIGHT",
    "SMD_LIMIT",
    "publish_rate_association",
    "retention_association",
    "smd_limit",
]

DEFAULT_FOLLOW_UP = 28
"""Days of follow-up after the window over which publishes are counted."""
SMD_LIMIT = 0.1
"""Largest |standardised mean difference| after weighting that counts as balanced (at least;
see :func:`smd_limit`)."""
MAX_WEIGHT = 20.0
"""Stabilised inverse-probability weights are truncated here, as in the HVA engine."""
_MIN_ARM = 10
_MIN_ESS = 30.0
_CLIP_LIMIT = 0.05
_DAY = 86_400.0
_NOTE = "adjusted association (doubly robust on covariate strata), not a causal promise"


def _treated_table(first_start: Mapping[str, float]) -> ir.Table:
    return ibis.memtable(
        pd.DataFrame(
            {
                "member_id": pd.Series(list(first_start), dtype="string"),
                "first_t": np.fromiter(first_start.values(), float, len(first_start)),
            }
        )
    )


def _with_treatment(adj: Adjustment, first_start: Mapping[str, float], window: int) -> ir.Table:
    """Landmark members (active on day `window`) with ``treated`` (0/1)."""
    t = adj.members
    t = t.filter(t.end_s.isnull() | (t.end_s > t.signup_s + window * _DAY))
    if not first_start:
        return t.mutate(treated=ibis.literal(0, type="int64"))
    joined = t.left_join(_treated_table(first_start), "member_id").drop("member_id_right")
    did = joined.first_t.notnull() & (joined.first_t < joined.signup_s + window * _DAY)
    return joined.mutate(treated=did.cast("int64")).drop("first_t")


def _arms(
    frame: pd.DataFrame, keys: list[str], sums: list[str]
) -> tuple[IntArray, dict[str, FloatArray]]:
    """Stratum codes and, per sum and arm, arrays aligned on the strata (``name1``/``name0``)."""
    wide = frame.pivot_table(
        index=keys, columns="treated", values=sums, aggfunc="sum", fill_value=0
    )
    codes = np.asarray(list(wide.index), dtype=np.int64).reshape(len(wide), len(keys))
    out: dict[str, FloatArray] = {}
    for name in sums:
        for arm in (1, 0):
            col = (name, arm)
            out[f"{name}{arm}"] = (
                wide[col].to_numpy(np.float64) if col in wide.columns else np.zeros(len(wide))
            )
    return codes, out


def _balance(
    adj: Adjustment, codes: IntArray, n1: FloatArray, n0: FloatArray, e: FloatArray
) -> dict[str, dict[str, float]]:
    """Largest |SMD| per covariate, before and after inverse-probability weighting."""
    b, names = adj.balance_columns(codes)
    if not names:
        return {}

    def smd(w1: FloatArray, w0: FloatArray) -> FloatArray:
        m1 = (w1[:, None] * b).sum(0) / w1.sum()
        m0 = (w0[:, None] * b).sum(0) / w0.sum()
        v1 = (w1[:, None] * (b - m1) ** 2).sum(0) / w1.sum()
        v0 = (w0[:, None] * (b - m0) ** 2).sum(0) / w0.sum()
        sd = np.sqrt((v1 + v0) / 2.0)
        out: FloatArray = np.where(sd > 0, (m1 - m0) / np.where(sd > 0, sd, 1.0), 0.0)
        return out

    before = smd(n1, n0)
    after = smd(n1 / e, n0 / (1.0 - e))
    owner = [nm.split("=", 1)[0] for nm in names]
    result: dict[str, dict[str, float]] = {}
    for j, cov in enumerate(owner):
        row = result.setdefault(cov, {"before": 0.0, "after": 0.0})
        if abs(before[j]) >= abs(row["before"]):
            row["before"] = float(before[j])
        if abs(after[j]) >= abs(row["after"]):
            row["after"] = float(after[j])
    return result


def _warnings(
    adj: Adjustment,
    n1: float,
    n0: float,
    ess1: float,
    ess0: float,
    clipped: float,
    balance: Mapping[str, Mapping[str, float]],
) -> list[str]:
    out = [n for n in adj.notes if n.startswith("constant covariate")]
    if n1 < _MIN_ARM or n0 < _MIN_ARM:
        out.append(
            f"degenerate: {int(n1)} members did it in the window and {int(n0)} did not "
            f"(at least {_MIN_ARM} each are needed); no estimate"
        )
        return out
    for arm, ess in (("doers", ess1), ("non-doers", ess0)):
        if ess < _MIN_ESS:
            out.append(f"low effective sample: the weighted {arm} count as {ess:.0f} members")
    if clipped > _CLIP_LIMIT:
        out.append(
            f"poor overlap: {clipped:.0%} of members have a propensity at the clip — some "
            "members have no comparable counterpart in the other arm"
        )
    limit = smd_limit(ess1, ess0)
    bad = [c for c, v in balance.items() if abs(v["after"]) > limit]
    if bad:
        out.append(
            f"imbalance after weighting (|SMD| > {limit:.2f}): {', '.join(bad)} — the "
            "adjustment did not make the arms comparable"
        )
    return out


def smd_limit(ess1: float, ess0: float) -> float:
    r"""|SMD| after weighting above which a covariate is flagged as imbalanced.

    :data:`SMD_LIMIT`, or twice the SMD's chance spread for the effective sizes,
    :math:`2\sqrt{1/\mathrm{ESS}_1 + 1/\mathrm{ESS}_0}`, when that is larger: with a
    hundred effective doers an SMD of 0.1 on one of twenty indicator columns is noise.

    Examples
    --------
    >>> round(smd_limit(100.0, 5_000.0), 3), smd_limit(10_000.0, 10_000.0)
    (0.202, 0.1)
    """
    if not (ess1 > 0 and ess0 > 0):
        return SMD_LIMIT
    return max(SMD_LIMIT, 2.0 * float(np.sqrt(1.0 / ess1 + 1.0 / ess0)))


def _adjustment(
    dataset: Dataset,
    adjustment: Adjustment | None,
    window: int,
    exclude_actions: Sequence[str],
    covariates: Sequence[str] | None,
) -> Adjustment:
    if adjustment is not None:
        return adjustment
    return adjustment_table(
        dataset, window=window, exclude_actions=exclude_actions, covariates=covariates
    )


def retention_association(
    dataset: Dataset,
    first_start: Mapping[str, float],
    *,
    window: int,
    horizon: int,
    exclude_actions: Sequence[str] = (),
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
    adjustment: Adjustment | None = None,
) -> dict[str, Any]:
    """Adjusted difference in retention at `horizon`: did the pattern in the window, or not.

    Parameters
    ----------
    first_start : mapping of member id to seconds since the epoch
        Each member's first occurrence of the pattern.
    exclude_actions
        The pattern's steps, left out of the activity covariate.
    adjustment
        A prebuilt :func:`~tenure.opportunities.adjustment.adjustment_table` (shared with the
        publish-rate association); built here when not given.
    """
    adj = _adjustment(dataset, adjustment, window, exclude_actions, covariates)
    t = _with_treatment(adj, first_start, window)
    as_of_s = dataset.as_of.timestamp()
    t = t.filter(t.signup_s + horizon * _DAY <= as_of_s)
    t = t.mutate(y=(t.end_s.isnull() | (t.end_s > t.signup_s + horizon * _DAY)).cast("int64"))
    keys = adj.code_columns
    frame = t.group_by([*keys, "treated"]).agg(n=t.count(), y=t.y.sum()).to_pandas()
    params: dict[str, Any] = {
        "window_days": window,
        "horizon_days": horizon,
        "covariates": adj.describe(),
        "excluded_from_activity": list(exclude_actions),
    }
    if frame.empty:
        return {
            **params,
            "status": "no_landmark_members",
            "effect": None,
            "ci": [None, None],
            "warnings": [
                f"degenerate: no member active on day {window} has day {horizon} observed"
            ],
        }
    codes, a = _arms(frame, keys, ["n", "y"])
    x = adj.matrix(codes)
    r = aipw_grouped(
        x,
        a["n1"][None, :],
        a["y1"][None, :],
        a["n0"][None, :],
        a["y0"][None, :],
        alpha=alpha,
        clip=1e-3,
        max_weight=MAX_WEIGHT,
    )
    raw = aipw_grouped(
        np.ones((len(codes), 1)),
        a["n1"][None, :],
        a["y1"][None, :],
        a["n0"][None, :],
        a["y0"][None, :],
        alpha=alpha,
    )
    n1, n0 = float(a["n1"].sum()), float(a["n0"].sum())
    balance = _balance(adj, codes, a["n1"], a["n0"], r.propensity[0])
    warns = _warnings(adj, n1, n0, float(r.ess1[0]), float(r.ess0[0]), float(r.clipped[0]), balance)
    naive1 = float(a["y1"].sum() / n1) if n1 else float("nan")
    naive0 = float(a["y0"].sum() / n0) if n0 else float("nan")
    ok = n1 >= _MIN_ARM and n0 >= _MIN_ARM
    return {
        **params,
        "status": str(r.status[0]) if ok else "too_few",
        "n_treated": int(n1),
        "n_untreated": int(n0),
        "retention_treated": float(r.mean1[0]) if ok else None,
        "retention_untreated": float(r.mean0[0]) if ok else None,
        "effect": float(r.estimate[0]) if ok else None,
        "ci": [float(r.ci_low[0]), float(r.ci_high[0])] if ok else [None, None],
        "p_value": float(r.p_value[0]) if ok else None,
        "naive_effect": naive1 - naive0,
        "naive_ci": [float(raw.ci_low[0]), float(raw.ci_high[0])],
        "ess_treated": float(r.ess1[0]),
        "ess_untreated": float(r.ess0[0]),
        "clipped_share": float(r.clipped[0]),
        "smd": balance,
        "smd_limit": smd_limit(float(r.ess1[0]), float(r.ess0[0])),
        "warnings": warns,
        "note": _NOTE,
    }


def publish_rate_association(
    dataset: Dataset,
    first_start: Mapping[str, float],
    *,
    publish_action: str,
    own_publish_member: Sequence[str] = (),
    own_publish_t: FloatArray | None = None,
    window: int,
    follow_up: int = DEFAULT_FOLLOW_UP,
    exclude_actions: Sequence[str] = (),
    covariates: Sequence[str] | None = None,
    alpha: float = 0.05,
    adjustment: Adjustment | None = None,
) -> dict[str, Any]:
    """Adjusted difference in publishes per member-week after the window (see the module doc).

    Parameters
    ----------
    first_start : mapping of member id to seconds since the epoch
        Each member's first occurrence of the pattern.
    publish_action
        The action counted as a publish.
    own_publish_member, own_publish_t
        Members and times (seconds since the epoch) of publishes that close an occurrence of
        the pattern: not counted.
    window, follow_up
        Days of exposure, then days of follow-up over which publishes are counted.
    exclude_actions
        The pattern's steps, left out of the activity covariate.
    adjustment
        A prebuilt adjustment table (shared with the retention association).
    """
    adj = _adjustment(dataset, adjustment, window, exclude_actions, covariates)
    t = _with_treatment(adj, first_start, window)
    as_of_s = dataset.as_of.timestamp()
    start = t.signup_s + window * _DAY
    stop = t.signup_s + (window + follow_up) * _DAY
    t = t.filter(stop <= as_of_s).mutate(fu0=start, fu1=stop)
    t = t.mutate(weeks=(ibis.least(t.end_s.fill_null(t.fu1), t.fu1) - t.fu0) / (7 * _DAY)).cache()
    ev = dataset.table("events")
    pub = ev.filter(ev.action == publish_action)
    pub = pub.select(pub.member_id, t_s=epoch_seconds(pub.ts))
    counts = _count_in_follow_up(t, pub, "c_all")
    t2 = t.left_join(counts, "member_id").drop("member_id_right")
    if own_publish_t is not None and len(own_publish_member):
        own = ibis.memtable(
            pd.DataFrame(
                {
                    "member_id": pd.Series(list(own_publish_member), dtype="string"),
                    "t_s": np.asarray(own_publish_t, dtype=np.float64),
                }
            )
        )
        own_counts = _count_in_follow_up(t, own, "c_own")
        t2 = t2.left_join(own_counts, "member_id").drop("member_id_right")
        c = ibis.greatest(t2.c_all.fill_null(0) - t2.c_own.fill_null(0), 0)
    else:
        c = t2.c_all.fill_null(0)
    t2 = t2.mutate(c=c.cast("float64"), e=t2.weeks.cast("float64"))
    keys = adj.code_columns
    frame = (
        t2.group_by([*keys, "treated"])
        .agg(
            n=t2.count(),
            c=t2.c.sum(),
            e=t2.e.sum(),
            cc=(t2.c * t2.c).sum(),
            ee=(t2.e * t2.e).sum(),
            ce=(t2.c * t2.e).sum(),
        )
        .to_pandas()
    )
    _release(t)
    params: dict[str, Any] = {
        "publish_action": publish_action,
        "window_days": window,
        "follow_up_days": [window, window + follow_up],
        "unit": "publishes per member-week while a member, in the follow-up window",
        "excludes": "publishes that close an occurrence of the pattern itself",
        "covariates": adj.describe(),
        "excluded_from_activity": list(exclude_actions),
    }
    if frame.empty:
        return {
            **params,
            "status": "no_landmark_members",
            "effect": None,
            "ci": [None, None],
            "warnings": [
                f"degenerate: no member active on day {window} has its follow-up to day "
                f"{window + follow_up} observed (shorten --follow-up)"
            ],
        }
    codes, a = _arms(frame, keys, ["n", "c", "e", "cc", "ee", "ce"])
    arm1 = ArmSums(a["n1"], a["c1"], a["e1"], a["cc1"], a["ee1"], a["ce1"])
    arm0 = ArmSums(a["n0"], a["c0"], a["e0"], a["cc0"], a["ee0"], a["ce0"])
    n1, n0 = float(arm1.n.sum()), float(arm0.n.sum())
    naive1 = float(arm1.c.sum() / arm1.e.sum()) if arm1.e.sum() > 0 else float("nan")
    naive0 = float(arm0.c.sum() / arm0.e.sum()) if arm0.e.sum() > 0 else float("nan")
    out: dict[str, Any] = {
        **params,
        "n_treated": int(n1),
        "n_untreated": int(n0),
        "publishes_treated": float(arm1.c.sum()),
        "publishes_untreated": float(arm0.c.sum()),
        "naive_rate_treated": naive1,
        "naive_rate_untreated": naive0,
        "naive_effect": naive1 - naive0,
    }
    if n1 < _MIN_ARM or n0 < _MIN_ARM:
        warns = _warnings(adj, n1, n0, 0.0, 0.0, 0.0, {})
        return {**out, "status": "too_few", "effect": None, "ci": [None, None], "warnings": warns}
    r = rate_difference(adj.matrix(codes), arm1, arm0, alpha=alpha, max_weight=MAX_WEIGHT)
    raw = rate_difference(np.ones((len(codes), 1)), arm1, arm0, alpha=alpha, max_weight=None)
    balance = _balance(adj, codes, arm1.n, arm0.n, r.propensity)
    warns = _warnings(adj, n1, n0, r.ess1, r.ess0, r.clipped, balance)
    status = "ok"
    if arm1.c.sum() == 0 or arm0.c.sum() == 0:
        status = "no_publishes"
        warns.append(
            f"degenerate: {'doers' if arm1.c.sum() == 0 else 'non-doers'} never "
            f"{publish_action} in the follow-up window — the rate difference says nothing "
            "(is --publish-action the right action?)"
        )
    return {
        **out,
        "status": status,
        "naive_ci": list(raw.ci),
        "rate_treated": r.rate1,
        "rate_untreated": r.rate0,
        "effect": r.estimate,
        "ci": list(r.ci),
        "p_value": r.p_value,
        "ess_treated": r.ess1,
        "ess_untreated": r.ess0,
        "clipped_share": r.clipped,
        "smd": balance,
        "smd_limit": smd_limit(r.ess1, r.ess0),
        "warnings": warns,
        "note": _NOTE,
    }


def _count_in_follow_up(t: ir.Table, times: ir.Table, name: str) -> ir.Table:
    """Per landmark member, rows of `times` (``member_id``, ``t_s``) in its follow-up window."""
    j = times.join(t.select("member_id", "fu0", "fu1"), "member_id")
    j = j.filter((j.t_s >= j.fu0) & (j.t_s < j.fu1))
    return j.group_by("member_id").agg(**{name: j.count()})


def _release(t: ir.Table) -> None:
    release = getattr(t, "release", None)
    if release is not None:
        release()
