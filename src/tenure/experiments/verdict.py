"""From a scorecard's numbers to a decision with its reason: ship, do not ship, keep running, investigate.

The rules run in this order for each variant, and the first that applies decides:

1. **Investigate — sample-ratio mismatch.** If the arms' exposure counts contradict the designed
   split (chi-square p below ``method.srm_alpha``), assignment or logging is broken and no
   metric can be trusted, however good it looks.
2. **Guardrail breach.** A guardrail worsened significantly and by more than its margin:
   *investigate* when the primary metric wins (a trade-off a person must weigh), *do not
   ship* otherwise.
3. **Primary significantly better** (corrected p below alpha, or chance to win above the
   spec's level for Bayesian specs): *ship* when the estimate clears the pre-registered
   threshold, *do not ship* when the effect is real but smaller than the bar.
4. **Primary significantly worse:** *do not ship*.
5. **Inconclusive:** *do not ship* when the interval already rules out the threshold effect;
   otherwise *keep running*, with the days still needed to detect the threshold at the
   spec's power (from :func:`tenure.stats.power.sample_size`, the observed control variance
   and the observed enrolment rate per arm).

The decision family for rule 3 is the primary metric's variant comparisons on the whole
population; the scorecard's table also shows p-values corrected across every metric,
variant and segment, for exploration.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from tenure.experiments.spec import ExperimentSpec
from tenure.stats.power import sample_size

__all__ = ["Decision", "Verdict", "decide"]

Decision = Literal["ship", "do_not_ship", "keep_running", "investigate"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one variant against control, and why."""

    variant: str
    decision: Decision
    reason: str
    threshold_met: bool
    days_needed: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _fmt(x: float, relative: bool) -> str:
    return f"{x:+.1%}" if relative else f"{x:+.4g}"


def _days_needed(
    spec: ExperimentSpec, primary: pd.Series, exposed: pd.Series, days_running: float
) -> float:
    """Days of further enrolment (plus the metric's window) to detect the threshold."""
    assert spec.primary.threshold is not None
    th = spec.primary.threshold
    n_b, n_v = float(primary["n_baseline"]), float(primary["n_variant"])
    base = float(primary["baseline_mean"])
    var = float(primary.get("baseline_variance", np.nan))
    if not (math.isfinite(var) and var > 0 and th.value > 0):
        return math.inf
    relative = th.kind != "absolute"
    if relative and base == 0:
        return math.inf
    need = float(
        sample_size(
            mde=th.value,
            baseline_mean=base,
            baseline_variance=var,
            relative=relative,
            alpha=spec.method.alpha,
            power=spec.method.power,
        )[..., 0]
    )
    have = min(n_b, n_v)
    if have >= need:
        return 0.0
    arm_exposed = float(exposed.min()) if len(exposed) else 0.0
    rate = arm_exposed / max(days_running, 1.0)
    if rate <= 0:
        return math.inf
    more = max(need - arm_exposed, 0.0) / rate
    return float(math.ceil(more + spec.primary.span_days))


def decide(
    spec: ExperimentSpec,
    table: pd.DataFrame,
    *,
    srm_p_value: float,
    exposed: pd.Series,
    days_running: float,
) -> tuple[Verdict, ...]:
    """Verdicts for every non-control variant of `spec`.

    Parameters
    ----------
    spec : ExperimentSpec
    table : pandas.DataFrame
        The scorecard table: one row per metric × variant × segment with the comparison
        columns plus ``role``, ``good_effect``, ``significant_good``, ``significant_bad``,
        ``threshold_met`` and ``guardrail`` (see :mod:`tenure.experiments.analysis`).
    srm_p_value : float
        Sample-ratio-mismatch p-value on exposures.
    exposed : pandas.Series
        Members exposed per variant (index: variant).
    days_running : float
        Days between the first exposure and ``as_of`` (or the last exposure).
    """
    overall = table[table["segment"] == "all"]
    prim = overall[overall["role"] == "primary"].set_index("variant")
    guard = overall[overall["role"] == "guardrail"]
    threshold = spec.primary.threshold
    assert threshold is not None
    relative = threshold.kind != "absolute"
    out: list[Verdict] = []
    for v in [x.name for x in spec.variants if x.name != spec.control]:
        if v not in prim.index:
            out.append(Verdict(v, "investigate", f"no exposures were found for {v}", False))
            continue
        row = prim.loc[v]
        met = bool(row["threshold_met"])
        eff = float(row["effect_rel"] if relative else row["effect_abs"])
        lo = float(row["ci_rel_low"] if relative else row["ci_abs_low"])
        hi = float(row["ci_rel_high"] if relative else row["ci_abs_high"])
        sign = 1.0 if spec.primary.higher_is_better else -1.0
        good_hi = max(sign * lo, sign * hi)
        ci = f"[{_fmt(lo, relative)}, {_fmt(hi, relative)}]"
        effect_text = f"{spec.primary.name} {_fmt(eff, relative)} {ci}"
        if srm_p_value < spec.method.srm_alpha:
            counts = ", ".join(f"{k} {int(n):,}" for k, n in exposed.items())
            out.append(
                Verdict(
                    v,
                    "investigate",
                    f"sample-ratio mismatch (p = {srm_p_value:.2g}): exposures {counts} do not "
                    "match the designed split; fix assignment or logging before reading metrics",
                    met,
                )
            )
            continue
        breached = guard[(guard["variant"] == v) & (guard["guardrail"] == "breach")]
        if len(breached):
            g = breached.iloc[0]
            g_rel = bool(g.get("margin_relative", False))
            text = (
                f"guardrail {g['metric']} worsened by "
                f"{_fmt(abs(float(g['effect_rel'] if g_rel else g['effect_abs'])), g_rel)} "
                f"(margin {_fmt(float(g['margin']), g_rel)}, p = {float(g['p_value']):.2g})"
            )
            if bool(row["significant_good"]):
                out.append(
                    Verdict(
                        v,
                        "investigate",
                        f"{text} while {effect_text} wins: weigh the trade-off",
                        met,
                    )
                )
            else:
                out.append(Verdict(v, "do_not_ship", f"{text}; {effect_text} does not win", met))
            continue
        if bool(row["significant_good"]):
            if met:
                reason = f"{effect_text} clears the threshold {_fmt(threshold.value, relative)}"
                out.append(Verdict(v, "ship", reason, True))
            else:
                reason = f"{effect_text} is real but below the threshold {_fmt(threshold.value, relative)}"
                out.append(Verdict(v, "do_not_ship", reason, False))
            continue
        if bool(row["significant_bad"]):
            out.append(Verdict(v, "do_not_ship", f"{effect_text}: the variant is worse", False))
            continue
        if good_hi < threshold.value:
            reason = f"{effect_text} rules out the threshold {_fmt(threshold.value, relative)}"
            out.append(Verdict(v, "do_not_ship", reason, False))
            continue
        days = _days_needed(spec, row, exposed, days_running)
        if math.isinf(days):
            reason = f"{effect_text} is inconclusive and the needed sample cannot be estimated"
            out.append(Verdict(v, "keep_running", reason, False, None))
            continue
        note = (
            f" (beyond max_days = {spec.method.max_days}: consider stopping)"
            if days > spec.method.max_days
            else ""
        )
        reason = f"{effect_text} is inconclusive; about {days:.0f} more days to detect the threshold{note}"
        out.append(Verdict(v, "keep_running", reason, False, days))
    return tuple(out)
