r"""Pilots: one site against comparison sites, planned from traffic and read out as pre-registered.

A pilot is an experiment whose unit of rollout is a site (a store, a market): the pilot site
gets the change, comparison sites do not. :func:`plan_pilot` turns the team's threshold
("≥ 500 downloads a day = 10% of the store's 5,000 visitors") into the effect to detect, the
units and days it takes with the traffic each side really has (unequal allocation,
:func:`tenure.stats.power.sample_size`), and a read-out written down before the data exist.

Sites differ for reasons of their own. With an intra-site correlation :math:`\rho`, ``m``
units per site inflate the variance by the design effect :math:`1 + (m - 1)\rho`; since
:math:`m` grows with the duration :math:`d`, the days needed solve
:math:`d = K\,(1 + (d\,\bar r - 1)\rho)` for :math:`K` the days without clustering and
:math:`\bar r` the units per site per day. When :math:`K \bar r \rho \ge 1` no duration is
enough — the site effect swamps the change — and the plan says to add pilot sites.

:func:`readout_pilot` reads the outcome per exposed member in a fixed window after their
first exposure, compares pilot and comparison sites with Welch's test on engine moments,
and decides against the pre-registered threshold; with :mod:`~tenure.experiments.anomalies`
it reads out with and without the flagged members and spike days and records what it
excluded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd

from tenure._types import Alternative
from tenure.errors import DataContractError, SpecError
from tenure.experiments.anomalies import AnomalyResult
from tenure.experiments.verdict import Decision, Verdict
from tenure.results import Result, json_safe
from tenure.stats.frequentist import welch_test
from tenure.stats.moments import Moments
from tenure.stats.power import sample_size
from tenure.store import Dataset

__all__ = ["PilotPlan", "PilotReadout", "plan_pilot", "readout_pilot"]


@dataclass(frozen=True, repr=False)
class PilotPlan(Result):
    """The design of a pilot: effect to detect, units, days, derived thresholds, read-out."""

    kind: ClassVar[str] = "pilot_plan"
    baseline: float
    target: float
    mde_abs: float
    n_pilot: int
    n_comparison: int
    days: float | None
    threshold_per_day: float
    threshold_over_pilot: float | None
    design_effect: float | None
    readout: Mapping[str, Any]
    lines: tuple[str, ...]
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row: the plan's figures."""
        return pd.DataFrame(
            [
                {
                    "baseline": self.baseline,
                    "target": self.target,
                    "mde_abs": self.mde_abs,
                    "n_pilot": self.n_pilot,
                    "n_comparison": self.n_comparison,
                    "days": self.days,
                    "threshold_per_day": self.threshold_per_day,
                    "threshold_over_pilot": self.threshold_over_pilot,
                    "design_effect": self.design_effect,
                }
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure pilot plan --json`` document."""
        d = json_safe(self.to_frame().iloc[0].to_dict())
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            **d,
            "readout": json_safe(self.readout),
            "lines": list(self.lines),
        }


def plan_pilot(
    *,
    baseline: float,
    pilot_daily_traffic: float,
    comparison_daily_traffic: float,
    threshold_count: float | None = None,
    traffic: float | None = None,
    mde: float | None = None,
    relative: bool = False,
    variance: float | None = None,
    comparison_sites: int = 1,
    icc: float = 0.0,
    metric: str = "conversion",
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "greater",
) -> PilotPlan:
    """Design a pilot of one site against `comparison_sites` sites.

    Parameters
    ----------
    baseline
        The metric where the change is absent: a conversion rate (a proportion unless
        `variance` is given) or a mean.
    pilot_daily_traffic, comparison_daily_traffic
        Eligible units a day at the pilot site and at all comparison sites together.
    threshold_count, traffic
        The team's threshold as a count out of a traffic ("500 of 5,000 visitors"): the
        target rate is their ratio. Or give `mde` (absolute, or relative to `baseline`).
    variance
        Per-unit variance of a mean metric; omitted for proportions.
    comparison_sites
        How many comparison sites (they share ``comparison_daily_traffic``).
    icc
        Intra-site correlation of the metric (0: sites differ only by chance).
    metric, alpha, power, alternative
        Recorded in the pre-registered read-out; a pilot usually tests one side.

    Examples
    --------
    The seed's pilot: success is 500 downloads out of the store's 5,000 visitors a day
    (10%), against 8% where the app is not offered; four comparison stores see 12,000
    visitors a day between them.

    >>> p = plan_pilot(baseline=0.08, threshold_count=500, traffic=5_000,
    ...                pilot_daily_traffic=5_000, comparison_daily_traffic=12_000, comparison_sites=4)
    >>> round(p.target, 3), p.n_pilot, p.n_comparison, p.days
    (0.1, 1768, 4243, 1.0)
    """
    if not baseline > 0:
        raise SpecError(f"--baseline must be positive, got {baseline!r}")
    if not (pilot_daily_traffic > 0 and comparison_daily_traffic > 0):
        raise SpecError("--pilot-traffic and --comparison-traffic must be positive units a day")
    if comparison_sites < 1:
        raise SpecError(f"--comparison-sites must be at least 1, got {comparison_sites}")
    if not 0.0 <= icc < 1.0:
        raise SpecError(f"--icc must be in [0, 1), got {icc}")
    lines: list[str] = []
    if threshold_count is not None:
        if not traffic or traffic <= 0:
            raise SpecError("--traffic: the threshold count needs the traffic it is a share of")
        target = threshold_count / traffic
        lines.append(
            f"Threshold: {threshold_count:,.0f} of {traffic:,.0f} = {target:.1%} "
            f"against a baseline of {baseline:.1%}."
        )
    elif mde is not None:
        target = baseline * (1 + mde) if relative else baseline + mde
    else:
        raise SpecError("--mde: give --mde or the threshold as --threshold-count and --traffic")
    mde_abs = target - baseline
    if not mde_abs > 0:
        raise SpecError(f"the target {target!r} must exceed the baseline {baseline!r}")
    is_prop = variance is None
    if is_prop and not target < 1:
        raise SpecError(f"the target rate {target!r} must stay below 1 for a proportion")
    kw: dict[str, Any] = {
        "alpha": alpha,
        "power": power,
        "allocation": [comparison_daily_traffic, pilot_daily_traffic],
        "alternative": alternative,
    }
    if is_prop:
        n = sample_size(mde=mde_abs, proportion=baseline, **kw)
    else:
        n = sample_size(mde=mde_abs, baseline_mean=baseline, baseline_variance=variance, **kw)
    n_comp, n_pilot = int(n[..., 0]), int(n[..., 1])
    per_day = pilot_daily_traffic + comparison_daily_traffic
    k_days = max(n_comp / comparison_daily_traffic, n_pilot / pilot_daily_traffic)
    r_bar = per_day / (1 + comparison_sites)
    days: float | None
    deff: float | None
    if icc == 0.0:
        days, deff = float(math.ceil(k_days - 1e-9)), 1.0
    elif k_days * r_bar * icc >= 1.0:
        days, deff = None, None
        lines.append(
            f"No duration is enough: with intra-site correlation {icc:g} the difference "
            "between sites swamps the change. Add pilot sites, or compare each site with "
            "its own pre-period."
        )
    else:
        raw = k_days * (1 - icc) / (1 - k_days * r_bar * icc)
        days = float(math.ceil(raw - 1e-9))
        deff = 1 + (days * r_bar - 1) * icc
    lines.append(
        f"{n_pilot:,} units at the pilot site and {n_comparison_text(n_comp, comparison_sites)} "
        f"detect {mde_abs:+.4g} ({baseline:.4g} → {target:.4g}) with {power:.0%} power at "
        f"alpha = {alpha:g} ({alternative})."
    )
    per_day_threshold = target * pilot_daily_traffic
    over = per_day_threshold * days if days is not None else None
    if days is not None:
        lines.append(
            f"At {pilot_daily_traffic:,.0f} units a day at the pilot site that takes {days:.0f} "
            f"day(s); success is at least {per_day_threshold:,.0f} a day "
            f"({over:,.0f} over the pilot) = {target:.1%} of the site's traffic."
        )
    readout = {
        "metric": metric,
        "compare": f"pilot site vs the {comparison_sites} comparison site(s), pooled",
        "test": ("two-sample z test on proportions" if is_prop else "Welch t test on means")
        + f", {alternative}, alpha = {alpha:g}",
        "success": f"the pilot's {metric} is at least {target:.4g} and significantly above "
        "the comparison sites'",
        "read_at_days": days,
        "exclusions": "anomalies from `tenure anomalies` (shared codes, bursts, duplicate "
        "exposures, outcome spikes) are listed; excluded members and days are recorded",
    }
    params = {
        "baseline": baseline,
        "threshold_count": threshold_count,
        "traffic": traffic,
        "mde": mde,
        "relative": relative,
        "variance": variance,
        "pilot_daily_traffic": pilot_daily_traffic,
        "comparison_daily_traffic": comparison_daily_traffic,
        "comparison_sites": comparison_sites,
        "icc": icc,
        "metric": metric,
        "alpha": alpha,
        "power": power,
        "alternative": alternative,
    }
    return PilotPlan(
        baseline=baseline,
        target=target,
        mde_abs=mde_abs,
        n_pilot=n_pilot,
        n_comparison=n_comp,
        days=days,
        threshold_per_day=per_day_threshold,
        threshold_over_pilot=over,
        design_effect=deff,
        readout=readout,
        lines=tuple(lines),
        params=params,
    )


def n_comparison_text(n: int, sites: int) -> str:
    """``"3,794 at the 4 comparison sites"``."""
    return f"{n:,} at the {sites} comparison site{'s' if sites > 1 else ''}"


@dataclass(frozen=True, repr=False)
class PilotReadout(Result):
    """The pre-registered comparison, before and after excluding anomalies."""

    kind: ClassVar[str] = "pilot_readout"
    experiment: str
    table: pd.DataFrame  # one row per reading: "all data" and, with anomalies, "excluded"
    decision: Decision
    reason: str
    threshold_met: bool
    exclusions: Mapping[str, Any]
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per reading."""
        return self.table.copy()

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """The decision as a verdict, so ideas can link the pilot like an experiment."""
        return (
            Verdict(
                str(self.params["pilot_variant"]), self.decision, self.reason, self.threshold_met
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure pilot readout --json`` document."""
        return {
            "kind": self.kind,
            "experiment": self.experiment,
            "params": json_safe(self.params),
            "decision": self.decision,
            "reason": self.reason,
            "threshold_met": self.threshold_met,
            "exclusions": json_safe(self.exclusions),
            "readings": json_safe(self.table),
        }


def readout_pilot(
    dataset: Dataset,
    *,
    experiment: str,
    outcome_action: str,
    threshold: float,
    relative: bool = True,
    window_days: int = 14,
    pilot_variant: str = "pilot",
    anomalies: AnomalyResult | None = None,
    exclude: bool = True,
    alpha: float = 0.05,
) -> PilotReadout:
    """Read out a pilot: outcomes per member in `window_days` after the first exposure.

    Parameters
    ----------
    dataset
        Exposures (``experiment``; variant `pilot_variant` at the pilot site, any other
        variant is a comparison site) and events (the outcome).
    outcome_action
        The action counted as the outcome.
    threshold, relative
        The pre-registered effect that counts as success (relative to the comparison mean
        by default).
    window_days
        Each member's outcome window; only members whose window ends by ``as_of`` count.
    anomalies, exclude
        From :func:`~tenure.experiments.anomalies.detect_anomalies`; with ``exclude`` the
        decision uses the reading without the flagged members and spike days.
    alpha
        Two-sided level of the interval; the test of success is one-sided at `alpha`.
    """
    x_all = dataset.table("exposures")
    x = x_all.filter(x_all.experiment == experiment)
    first = x.group_by("member_id").agg(first_ts=x.ts.min(), variant=x.variant.arbitrary())
    variants = set(first.select("variant").distinct().to_pyarrow().column(0).to_pylist())
    if pilot_variant not in variants:
        raise DataContractError(
            f"--experiment {experiment!r} has no variant {pilot_variant!r} "
            f"(variants: {', '.join(sorted(map(str, variants))) or 'none'})"
        )
    if len(variants) < 2:
        raise DataContractError(f"--experiment {experiment!r} has no comparison variant")
    as_of = ibis.literal(dataset.as_of)
    horizon = ibis.interval(days=window_days)
    units = first.filter(first.first_ts + horizon <= as_of).mutate(
        pilot=(first.variant == pilot_variant).cast("int64")
    )
    ev = dataset.table("events")
    ev = ev.filter(ev.action == outcome_action)
    readings = [("all data", _moments(units, ev, horizon))]
    exclusions: dict[str, Any] = {"applied": False}
    if anomalies is not None:
        excluded = sorted(anomalies.excluded_members())
        days = anomalies.spike_days()
        clean_units = units
        if excluded:
            clean_units = units.filter(~units.member_id.isin(excluded))
        clean_ev = ev
        if days:
            clean_ev = ev.filter(~ev.ts.date().isin(list(days)))
        readings.append(("excluding anomalies", _moments(clean_units, clean_ev, horizon)))
        exclusions = {
            "applied": exclude,
            "members_excluded": len(excluded),
            "by_check": {
                c.name: len(c.members)
                for c in anomalies.checks
                if c.name in ("shared_key", "burst")
            },
            "spike_days_excluded": [d.isoformat() for d in days],
            "duplicate_exposures_ignored": anomalies.check("duplicate_exposures").count,
            "note": "duplicate exposures never count twice: each member's first exposure is "
            "their unit",
        }
    rows = []
    for label, (comp, pil) in readings:
        r = welch_test(comp, pil, alpha=alpha)
        rows.append(
            {
                "reading": label,
                "n_comparison": int(comp.n[0]),
                "n_pilot": int(pil.n[0]),
                "comparison_mean": float(r.baseline_mean[0]),
                "pilot_mean": float(r.variant_mean[0]),
                "effect_abs": float(r.effect_abs[0]),
                "ci_abs_low": float(r.ci_abs_low[0]),
                "ci_abs_high": float(r.ci_abs_high[0]),
                "effect_rel": float(r.effect_rel[0]),
                "ci_rel_low": float(r.ci_rel_low[0]),
                "ci_rel_high": float(r.ci_rel_high[0]),
                "p_value": float(r.p_value[0]),
                "status": str(r.status[0]),
            }
        )
    table = pd.DataFrame(rows)
    use = table.iloc[-1] if (anomalies is not None and exclude) else table.iloc[0]
    decision, reason, met = _decide(use, threshold, relative, alpha)
    params = {
        "experiment": experiment,
        "outcome_action": outcome_action,
        "threshold": threshold,
        "relative": relative,
        "window_days": window_days,
        "pilot_variant": pilot_variant,
        "alpha": alpha,
        "decided_on": str(use["reading"]),
        "as_of": dataset.as_of,
    }
    return PilotReadout(experiment, table, decision, reason, met, exclusions, params)


def _moments(units: Any, ev: Any, horizon: Any) -> tuple[Moments, Moments]:
    """Comparison and pilot moments of outcomes per member in the window (engine)."""
    j = units.left_join(ev.select("member_id", "ts"), "member_id")
    j = j.mutate(
        hit=((j.ts >= j.first_ts) & (j.ts < j.first_ts + horizon)).fill_null(False).cast("int64")
    )
    per = j.group_by(["member_id", "pilot"]).agg(y=j.hit.sum())
    agg = per.group_by("pilot").agg(n=per.count(), s=per.y.sum(), q=(per.y * per.y).sum())
    frame = agg.to_pandas().set_index("pilot")
    if set(frame.index) != {0, 1}:
        raise DataContractError(
            "the pilot or the comparison sites have no member whose window is observed by as_of"
        )

    def m(k: int) -> Moments:
        row = frame.loc[k]
        return Moments(
            np.array([row["n"]], dtype=np.float64),
            np.array([row["s"]], dtype=np.float64),
            np.array([row["q"]], dtype=np.float64),
        )

    return m(0), m(1)


def _decide(
    row: pd.Series, threshold: float, relative: bool, alpha: float
) -> tuple[Decision, str, bool]:
    eff = float(row["effect_rel"] if relative else row["effect_abs"])
    lo = float(row["ci_rel_low"] if relative else row["ci_abs_low"])
    hi = float(row["ci_rel_high"] if relative else row["ci_abs_high"])

    def fmt(v: float) -> str:
        return f"{v:+.1%}" if relative else f"{v:+.4g}"

    text = f"pilot vs comparison {fmt(eff)} [{fmt(lo)}, {fmt(hi)}] ({row['reading']})"
    one_sided_p = float(row["p_value"]) / 2 if eff > 0 else 1 - float(row["p_value"]) / 2
    if one_sided_p < alpha and eff >= threshold:
        return "ship", f"{text} clears the pre-registered {fmt(threshold)}", True
    if hi < threshold:
        return "do_not_ship", f"{text} rules out the pre-registered {fmt(threshold)}", False
    if one_sided_p < alpha:
        return "do_not_ship", f"{text} is real but below the pre-registered {fmt(threshold)}", False
    return "keep_running", f"{text} is inconclusive against {fmt(threshold)}", False
