"""The lifecycle funnel, per signup cohort, market and segment, from the contract's tables.

Stages and how each is read from the data contract (day ``d`` = whole days since signup;
events before signup are pre-signup history and never count, ``d >= 0`` only):

=============== ============================================================ ======================
stage           reached when                                                 observable when
=============== ============================================================ ======================
acquired        the member signed up on or before ``as_of``                  always
activated       an activation action (the high-value actions) in ``d < window`` ``as_of`` ≥ day ``window``
engaged         events on ≥ ``engaged_min_days`` distinct days in             ``as_of`` ≥ day ``engaged_until``
                ``window ≤ d < engaged_until``
retained        still a member on day ``horizon`` (``tenure_days ≥ horizon``)  day ``horizon`` observed, or ended before
cancel attempt  an event whose ``action`` is in ``cancel_actions``, or an      always (ever, while observed)
                exposure whose ``placement`` is in ``cancel_placements``
saved           a member ``save_days`` after the first cancel attempt          that day observed
=============== ============================================================ ======================

The contract has no "cancel" column, so a cancel attempt is read through a mapping the caller
can change: by default the action names ``cancel.start`` / ``cancel.attempt`` /
``cancel_flow.open`` and exposures logged at the ``cancel_flow`` placement (where a save offer
is shown). Each rate is among the members for whom the stage is *observable*, so a member who
signed up last week is not counted as "not retained"; its interval is Wilson's score interval,
which keeps its coverage at small n and rates near 0 or 1. Groups below ``min_n`` eligible
members are flagged ``small``.

Each stage carries the metric the Working Backwards lifecycle assigns to it: adoption for
activation, usage (active days) for engagement, revenue for retention (monthly fees kept) and
the fees a save keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.errors import DataContractError, SpecError
from tenure.results import Result
from tenure.retention.spans import day_number, member_spans
from tenure.store import Dataset

__all__ = [
    "DEFAULT_CANCEL_ACTIONS",
    "DEFAULT_CANCEL_PLACEMENTS",
    "STAGES",
    "LifecycleResult",
    "lifecycle_funnel",
    "member_stages",
    "wilson_interval",
]

STAGES: Final = ("acquired", "activated", "engaged", "retained", "cancel attempt", "saved")
"""The funnel's stages, in order."""

DEFAULT_CANCEL_ACTIONS: Final = ("cancel.start", "cancel.attempt", "cancel_flow.open")
"""Event actions read as a cancel attempt unless the caller names others."""

DEFAULT_CANCEL_PLACEMENTS: Final = ("cancel_flow",)
"""Exposure placements read as a cancel attempt (a save offer shown in the cancel flow)."""


def wilson_interval(
    reached: npt.ArrayLike, n: npt.ArrayLike, *, alpha: float = 0.05
) -> tuple[FloatArray, FloatArray]:
    r"""Wilson score interval for binomial proportions, vectorised; NaN where ``n == 0``.

    .. math::

        \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    Unlike the Wald interval it never collapses to a point at 0 % or 100 %.

    >>> lo, hi = wilson_interval([32], [32])
    >>> round(float(lo[0]), 3), float(hi[0])
    (0.893, 1.0)
    """
    k = np.asarray(reached, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    z = float(sps.norm.ppf(1 - alpha / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denom
    # At k = 0 the lower end is exactly 0 and at k = n the upper end exactly 1 (no rounding).
    lo = np.where(m > 0, np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    hi = np.where(m > 0, np.where(k == m, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return lo.astype(np.float64), hi.astype(np.float64)


@dataclass(frozen=True, repr=False)
class LifecycleResult(Result):
    """One row per (dimension, group, stage): eligible and reached members, rate and interval.

    ``dimension`` is ``"all"``, ``"cohort"`` (signup month), ``"market"`` or ``"segment"``;
    ``metric_name`` / ``metric_value`` is the stage's lifecycle metric (NaN when the data
    cannot give it, e.g. revenue without a ``fee`` column).
    """

    kind = "lifecycle"
    dimension: tuple[str, ...]
    group: tuple[str, ...]
    stage: tuple[str, ...]
    eligible: IntArray
    reached: IntArray
    rate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    metric_name: tuple[str, ...]
    metric_value: FloatArray
    small: BoolArray
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The funnel as a tidy table (one row per dimension × group × stage)."""
        return pd.DataFrame(
            {
                "dimension": self.dimension,
                "group": self.group,
                "stage": self.stage,
                "eligible": self.eligible,
                "reached": self.reached,
                "rate": self.rate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "metric": self.metric_name,
                "metric_value": self.metric_value,
                "small": self.small,
            }
        )

    def overall(self) -> pd.DataFrame:
        """The whole population's funnel (``dimension == "all"``), in stage order."""
        f = self.to_frame()
        return f[f["dimension"] == "all"].reset_index(drop=True)

    def stage_rate(self, stage: str) -> tuple[float, float, float]:
        """The whole population's (rate, low, high) at `stage`."""
        for i, (d, s) in enumerate(zip(self.dimension, self.stage, strict=True)):
            if d == "all" and s == stage:
                return float(self.rate[i]), float(self.ci_low[i]), float(self.ci_high[i])
        raise SpecError(f"stage {stage!r} is not one of {', '.join(STAGES)}")


def lifecycle_funnel(
    dataset: Dataset,
    *,
    activation: Sequence[str] | None = None,
    window: int = 7,
    engaged_until: int = 30,
    engaged_min_days: int = 3,
    horizon: int = 90,
    save_days: int = 30,
    cancel_actions: Sequence[str] = DEFAULT_CANCEL_ACTIONS,
    cancel_placements: Sequence[str] = DEFAULT_CANCEL_PLACEMENTS,
    market: str | None = "country",
    segment: str | None = "plan",
    min_n: int = 30,
    alpha: float = 0.05,
) -> LifecycleResult:
    """The lifecycle funnel overall and per signup month, market and segment.

    Parameters
    ----------
    dataset
        From :func:`tenure.store.connect`; needs an events table.
    activation
        The actions whose use in the window counts as activation — the high-value actions.
        ``None``: any event with a ``benefit`` (any benefit used), recorded in ``params``.
    window, engaged_until, engaged_min_days, horizon, save_days
        Stage definitions in days since signup (see the module's table).
    cancel_actions, cancel_placements
        How a cancel attempt is read from events and exposures.
    market, segment
        Member columns for the per-market and per-segment funnels (skipped when absent).
    min_n
        Groups with fewer eligible members than this are flagged ``small``.
    alpha
        One minus the intervals' coverage.
    """
    if not 0 < window < engaged_until <= horizon:
        raise SpecError(
            f"need 0 < window < engaged_until <= horizon, got {window}, {engaged_until}, {horizon}"
        )
    if engaged_min_days < 1 or save_days < 1 or min_n < 1:
        raise SpecError("engaged_min_days, save_days and min_n must be at least 1")
    used_market = market if market is not None and market in dataset.members.columns else None
    used_segment = segment if segment is not None and segment in dataset.members.columns else None
    flags = member_stages(
        dataset,
        activation=activation,
        keep=_present([used_market, used_segment], dataset.members.columns),
        window=window,
        engaged_until=engaged_until,
        engaged_min_days=engaged_min_days,
        horizon=horizon,
        save_days=save_days,
        cancel_actions=cancel_actions,
        cancel_placements=cancel_placements,
    )
    has_fee = "fee" in dataset.members.columns
    dims: list[tuple[str, str | None]] = [("all", None), ("cohort", "cohort")]
    if used_market:
        dims.append(("market", used_market))
    if used_segment:
        dims.append(("segment", used_segment))
    # Every dimension aggregates the same member rows: compute them once in the engine.
    flags = flags.cache()
    try:
        frames = [_aggregate(flags, name, col) for name, col in dims]
    finally:
        flags.release()
    counts = pd.concat(frames, ignore_index=True)
    params = {
        "as_of": dataset.as_of,
        "activation": list(activation) if activation is not None else "any benefit used",
        "window_days": window,
        "engaged_until_days": engaged_until,
        "engaged_min_days": engaged_min_days,
        "horizon_days": horizon,
        "save_days": save_days,
        "cancel_actions": list(cancel_actions),
        "cancel_placements": list(cancel_placements),
        "market": used_market,
        "segment": used_segment,
        "min_n": min_n,
        "alpha": alpha,
    }
    return _result(counts, params, min_n=min_n, alpha=alpha, has_fee=has_fee)


def member_stages(
    dataset: Dataset,
    *,
    activation: Sequence[str] | None,
    keep: Sequence[str] = (),
    window: int = 7,
    engaged_until: int = 30,
    engaged_min_days: int = 3,
    horizon: int = 90,
    save_days: int = 30,
    cancel_actions: Sequence[str] = DEFAULT_CANCEL_ACTIONS,
    cancel_placements: Sequence[str] = DEFAULT_CANCEL_PLACEMENTS,
) -> ir.Table:
    """One row per member: the member columns in `keep`, stage flags and observability.

    Columns: ``obs_activated``/``is_activated``, ``obs_engaged``/``is_engaged``,
    ``days_active``, ``obs_retained``/``is_retained``, ``attempt``, ``obs_saved``/``is_saved``
    (0/1 integers), ``cohort`` (signup month) and ``fee_`` (NaN without a ``fee`` column).
    An Ibis expression: the portfolio view aggregates the same rows by other keys.
    """
    events = dataset.table("events")
    members = dataset.members
    spans = member_spans(members, dataset.as_of)
    cols = ["member_id", "signup_at", "tenure_days", "observed_days", *keep]
    has_fee = "fee" in spans.columns
    if has_fee:
        cols.append("fee")
    spans = spans.select(*dict.fromkeys(cols))

    # Stage boundaries per member, before the join: per-event timestamp-with-zone arithmetic
    # is what makes such queries slow, so events are compared with timestamps, and a day
    # number is computed only for the few events that need one (engagement days).
    bounds = spans.select(
        "member_id",
        "signup_at",
        window_end=spans.signup_at + ibis.interval(days=window),
        engaged_end=spans.signup_at + ibis.interval(days=engaged_until),
    )
    e = events.select(
        "member_id", "ts", "action", *(["benefit"] if "benefit" in events.columns else [])
    )
    e = e.join(bounds, "member_id")
    e = e.filter(e.ts >= e.signup_at)  # pre-signup history never counts as lifecycle activity
    if activation is None:
        if "benefit" not in e.columns:
            raise DataContractError(
                "events has no benefit column: pass activation=[...] (the high-value actions)",
                column="benefit",
            )
        act_cond = e.benefit.notnull()
    else:
        if not activation:
            raise SpecError("activation: name at least one action (or None for any benefit)")
        act_cond = e.action.isin(list(activation))
    per_member = e.group_by("member_id").agg(
        activated=(act_cond & (e.ts < e.window_end)).cast("int64").max(),
        cancel_event_ts=e.ts.min(where=e.action.isin(list(cancel_actions))),
    )
    late = e.filter((e.ts >= e.window_end) & (e.ts < e.engaged_end))
    late = late.select("member_id", day=day_number(late.ts, late.signup_at)).distinct()
    engaged = late.group_by("member_id").agg(active_days=late.count())
    m = spans.left_join(per_member, "member_id").select(spans, "activated", "cancel_event_ts")
    m = m.left_join(engaged, "member_id").select(m, "active_days")
    cancel_ts = m.cancel_event_ts
    exposures = dataset.exposures
    if exposures is not None and "placement" in exposures.columns and cancel_placements:
        x = exposures.filter(exposures.placement.isin(list(cancel_placements)))
        x = x.join(bounds.select("member_id", "signup_at"), "member_id")
        x = x.filter(x.ts >= x.signup_at)
        xd = x.group_by("member_id").agg(cancel_exposure_ts=x.ts.min())
        m = m.left_join(xd, "member_id").select(m, "cancel_exposure_ts")
        cancel_ts = ibis.cases(
            (m.cancel_event_ts.isnull(), m.cancel_exposure_ts),
            (m.cancel_exposure_ts.isnull(), m.cancel_event_ts),
            else_=ibis.least(m.cancel_event_ts, m.cancel_exposure_ts),
        )
    cancel_day = day_number(cancel_ts, m.signup_at)  # one per member, not per event
    flags = m.mutate(
        obs_activated=(m.observed_days >= window).cast("int64"),
        is_activated=m.activated.fill_null(0).cast("int64"),
        obs_engaged=(m.observed_days >= engaged_until).cast("int64"),
        is_engaged=(m.active_days.fill_null(0) >= engaged_min_days).cast("int64"),
        days_active=m.active_days.fill_null(0).cast("float64"),
        obs_retained=((m.observed_days >= horizon) | (m.tenure_days < m.observed_days)).cast(
            "int64"
        ),
        is_retained=(m.tenure_days >= horizon).cast("int64"),
        attempt=cancel_day.notnull().cast("int64"),
        obs_saved=(cancel_day.notnull() & (cancel_day + save_days <= m.observed_days))
        .fill_null(False)
        .cast("int64"),
        is_saved=(cancel_day.notnull() & (m.tenure_days >= cancel_day + save_days))
        .fill_null(False)
        .cast("int64"),
        cohort=m.signup_at.strftime("%Y-%m"),
        fee_=m.fee.cast("float64") if has_fee else ibis.literal(float("nan")),
    )
    return flags


def _present(cols: Sequence[str | None], available: Sequence[str]) -> list[str]:
    return [c for c in cols if c is not None and c in available]


def _aggregate(flags: ir.Table, dimension: str, column: str | None) -> pd.DataFrame:
    """Stage counts for one dimension (a small table: one row per group)."""
    group = flags[column].cast("string").fill_null("(missing)") if column else ibis.literal("all")
    t = flags.mutate(_group=group)
    out = (
        t.group_by("_group")
        .agg(
            acquired=t.count(),
            fees=t.fee_.sum(),
            obs_activated=t.obs_activated.sum(),
            activated=(t.is_activated * t.obs_activated).sum(),
            obs_engaged=t.obs_engaged.sum(),
            engaged=(t.is_engaged * t.obs_engaged).sum(),
            active_days=(t.days_active * t.obs_engaged).sum(),
            obs_retained=t.obs_retained.sum(),
            retained=(t.is_retained * t.obs_retained).sum(),
            retained_fees=(t.fee_ * (t.is_retained * t.obs_retained)).sum(),
            attempt=t.attempt.sum(),
            obs_saved=t.obs_saved.sum(),
            saved=(t.is_saved * t.obs_saved).sum(),
            saved_fees=(t.fee_ * (t.is_saved * t.obs_saved)).sum(),
        )
        .to_pandas()
    )
    out.insert(0, "dimension", dimension)
    ordered: pd.DataFrame = out.sort_values("_group", ignore_index=True)
    return ordered


def _result(
    c: pd.DataFrame, params: Mapping[str, Any], *, min_n: int, alpha: float, has_fee: bool
) -> LifecycleResult:
    """Stack the per-group counts into stage rows and add rates and Wilson intervals."""
    g = len(c)
    num = {
        k: c[k].fillna(0).to_numpy(np.float64)
        for k in c.columns
        if k not in ("dimension", "_group")
    }
    nan = np.full(g, np.nan)
    fee = (lambda v: v) if has_fee else (lambda _v: nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        stage_rows = [
            ("acquired", num["acquired"], num["acquired"], "monthly fees of members", fee(num["fees"])),
            ("activated", num["obs_activated"], num["activated"], "high-value-action adoption",
             num["activated"] / num["obs_activated"]),
            ("engaged", num["obs_engaged"], num["engaged"], "mean active days after the window",
             num["active_days"] / num["obs_engaged"]),
            ("retained", num["obs_retained"], num["retained"], "monthly fees retained",
             fee(num["retained_fees"])),
            ("cancel attempt", num["acquired"], num["attempt"], "attempt rate",
             num["attempt"] / num["acquired"]),
            ("saved", num["obs_saved"], num["saved"], "monthly fees saved", fee(num["saved_fees"])),
        ]  # fmt: skip
    n_stage = len(stage_rows)
    eligible = np.concatenate([r[1] for r in stage_rows]).astype(np.int64)
    reached = np.concatenate([r[2] for r in stage_rows]).astype(np.int64)
    # Stage-major order within each group: interleave so rows read group by group.
    order = np.arange(n_stage * g).reshape(n_stage, g).T.ravel()
    eligible, reached = eligible[order], reached[order]
    metric_value = np.concatenate([r[4] for r in stage_rows])[order]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(eligible > 0, reached / np.maximum(eligible, 1), np.nan)
    lo, hi = wilson_interval(reached, eligible, alpha=alpha)
    dims = np.repeat(c["dimension"].to_numpy(str), n_stage)
    groups = np.repeat(c["_group"].astype(str).to_numpy(str), n_stage)
    stages = np.tile(np.array([r[0] for r in stage_rows]), g)
    names = np.tile(np.array([r[3] for r in stage_rows]), g)
    return LifecycleResult(
        dimension=tuple(dims.tolist()),
        group=tuple(groups.tolist()),
        stage=tuple(stages.tolist()),
        eligible=eligible,
        reached=reached,
        rate=rate.astype(np.float64),
        ci_low=lo,
        ci_high=hi,
        metric_name=tuple(names.tolist()),
        metric_value=metric_value.astype(np.float64),
        small=eligible < min_n,
        params=params,
    )
