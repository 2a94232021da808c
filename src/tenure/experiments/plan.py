"""Plan an experiment before it runs: sample size, detectable effect and duration.

Thin glue between a question a product team asks ("500 downloads — 10% of store traffic —
means it works: how long must the pilot run?") and :mod:`tenure.stats.power`, which holds
the formulas. A :class:`Plan` is a value that renders to lines, JSON and a table.

With more than two arms the analysis corrects the variants' comparisons as a family (Holm or
Benjamini–Hochberg, :class:`~tenure.settings.Inference` ``correction``), so each comparison
is planned at ``alpha / (arms - 1)`` — the level Holm's first step holds the best variant
to — otherwise a three-arm plan would be under-powered for the test it will get.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import pandas as pd

from tenure.errors import SpecError
from tenure.results import Result, json_safe
from tenure.settings import Inference
from tenure.stats.power import duration_days, minimum_detectable_effect, sample_size

__all__ = ["Plan", "plan_experiment"]


@dataclass(frozen=True, repr=False)
class Plan(Result):
    """A power calculation and what it means, in the planner's own units.

    ``alpha`` is the family level asked for; ``alpha_per_comparison`` the level each
    variant-versus-control test is planned at after the correction.
    """

    kind: ClassVar[str] = "plan"
    baseline: float
    target: float
    mde_abs: float
    proportion: bool
    n_per_arm: int
    n_total: int
    arms: int
    daily_traffic: float | None
    days: float | None
    mde_at_one_day: float | None
    alpha: float
    alpha_per_comparison: float
    power: float
    lines: tuple[str, ...]
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row: the numbers of the plan."""
        skip = {"lines", "params"}
        return pd.DataFrame(
            [{f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}]
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the numbers, the settings and the lines a person reads."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["kind"] = self.kind
        return dict(json_safe(d))


def plan_experiment(
    *,
    baseline: float,
    mde: float | None = None,
    relative: bool = False,
    variance: float | None = None,
    daily_traffic: float | None = None,
    threshold_count: float | None = None,
    traffic: float | None = None,
    arms: int = 2,
    inference: Inference | None = None,
) -> Plan:
    """Units per arm to detect `mde` over `baseline`, and the days that takes.

    Parameters
    ----------
    baseline : float
        Control conversion rate (a proportion unless `variance` is given) or mean.
    mde : float, optional
        Effect to detect, absolute or (``relative=True``) a fraction of the baseline.
    variance : float, optional
        Per-unit variance of a mean metric; omitted for proportions.
    daily_traffic : float, optional
        Eligible units a day, all arms together.
    threshold_count, traffic : float, optional
        The pilot form: success is more than ``threshold_count`` conversions out of
        ``traffic`` units, i.e. a rate of ``threshold_count / traffic``; the effect to detect
        is that rate minus the baseline. ``traffic`` also serves as daily traffic if
        `daily_traffic` is not given.
    arms : int, default 2
        Arms including control.
    inference : Inference, optional
        Level, power, sidedness and the correction the analysis will apply across the
        ``arms - 1`` comparisons (defaults: 0.05, 0.8, two-sided, Holm).

    Examples
    --------
    The pilot: "more than 500 downloads, 10% of store traffic, means it works", against an
    8% baseline, with 5,000 store visitors a day:

    >>> p = plan_experiment(baseline=0.08, threshold_count=500, traffic=5000)
    >>> p.target, round(p.mde_abs, 3), p.n_per_arm, p.days
    (0.1, 0.02, 3213, 2.0)
    """
    inf = Inference() if inference is None else inference
    if not baseline > 0:
        raise SpecError(f"baseline must be positive, got {baseline!r}")
    if arms < 2:
        raise SpecError(f"arms: a test needs at least 2 arms (control included), got {arms}")
    alpha, power = inf.alpha, inf.power
    a_each = inf.family_alpha(arms - 1)
    lines: list[str] = []
    if threshold_count is not None:
        if not traffic or traffic <= 0:
            raise SpecError("traffic: the pilot threshold needs the traffic it is a share of")
        target = threshold_count / traffic
        mde_abs = target - baseline
        lines.append(
            f"Success threshold: {threshold_count:,.0f} of {traffic:,.0f} = {target:.1%} "
            f"(baseline {baseline:.1%}, so the effect to detect is {mde_abs:+.2%} absolute)."
        )
        if daily_traffic is None:
            daily_traffic = traffic
    elif mde is not None:
        mde_abs = mde * baseline if relative else mde
        target = baseline + mde_abs
    else:
        raise SpecError("mde: give --mde or the pilot's --threshold-count and --traffic")
    if not mde_abs > 0:
        raise SpecError(f"mde: the effect to detect must be positive, got {mde_abs!r}")
    is_prop = variance is None
    if is_prop and not target < 1:
        raise SpecError(f"the target rate {target!r} must stay below 1 for a proportion")
    kw: dict[str, Any] = {
        "alpha": a_each,
        "power": power,
        "n_arms": arms,
        "alternative": inf.alternative,
    }
    if is_prop:
        per_arm = sample_size(mde=mde_abs, proportion=baseline, **kw)
    else:
        per_arm = sample_size(mde=mde_abs, baseline_mean=baseline, baseline_variance=variance, **kw)
    n = int(per_arm[..., 0])
    total = int(per_arm.sum())
    level = (
        f"alpha = {alpha:g} ({inf.correction} across {arms - 1} comparisons: {a_each:.4g} each)"
        if a_each != alpha
        else f"alpha = {alpha:g}"
    )
    lines.append(
        f"{n:,} units per arm ({total:,} in all) detect {mde_abs:+.4g} "
        f"with {power:.0%} power at {level}."
    )
    days = mde_day = None
    if daily_traffic:
        days = float(duration_days(total, daily_traffic))
        per_day_arm = daily_traffic / arms
        if is_prop:
            mde_day = float(minimum_detectable_effect(per_day_arm, proportion=baseline, **kw))
        else:
            mde_day = float(
                minimum_detectable_effect(
                    per_day_arm, baseline_mean=baseline, baseline_variance=variance, **kw
                )
            )
        lines.append(
            f"At {daily_traffic:,.0f} units a day that takes {days:.0f} day(s); one day alone "
            f"detects {mde_day:+.4g}."
        )
    return Plan(
        baseline=baseline,
        target=target,
        mde_abs=mde_abs,
        proportion=is_prop,
        n_per_arm=n,
        n_total=total,
        arms=arms,
        daily_traffic=daily_traffic,
        days=days if days is None or math.isfinite(days) else None,
        mde_at_one_day=mde_day,
        alpha=alpha,
        alpha_per_comparison=a_each,
        power=power,
        lines=tuple(lines),
        params=inf.to_dict(),
    )
