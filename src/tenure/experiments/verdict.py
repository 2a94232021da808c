"""From a scorecard's numbers to a decision with its reason: ship, do not ship, keep running, investigate.

The rules run in this order for each variant, and the first that applies decides:

1. **Investigate — sample-ratio mismatch.** If the arms' exposure counts contradict the designed
   split (chi-square p below ``srm_alpha``), assignment or logging is broken and no metric can
   be trusted, however good it looks.
2. **Guardrail breach.** A guardrail worsened significantly and by more than its margin:
   *investigate* when the primary metric wins (a trade-off a person must weigh), *do not
   ship* otherwise.
3. **Primary significantly better** (corrected p below alpha, or chance to win above the
   spec's level for Bayesian specs) and its estimate clears the pre-registered threshold:
   *ship* only when every guardrail is **non-inferior** — its interval excludes a loss beyond
   its pre-registered margin. A guardrail whose interval still reaches past the margin cannot
   tell yet, so the verdict is *keep running* with the days it needs, never *ship*. When only
   the point estimate clears the threshold (the interval's lower bound does not) the reason
   says so. A real effect smaller than the bar is *do not ship*.
4. **Primary significantly worse:** *do not ship*.
5. **Inconclusive:** *do not ship* when the interval already rules out the threshold effect;
   otherwise *keep running*, with the days still needed to detect the threshold at the
   spec's power (from :func:`tenure.stats.power.sample_size`, the observed control variance,
   the observed enrolment rate per arm and the level the correction leaves each variant).

The decision family for rule 3 is the primary metric's variant comparisons on the whole
population; the scorecard's table also shows p-values corrected across every metric,
variant and segment, for exploration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tenure.experiments.comparison import GUARDRAIL_LABELS, Comparison
from tenure.experiments.spec import ExperimentSpec
from tenure.settings import Inference
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
    return f"{x:+.1%}" if relative else f"{x:+.3g}"


def _days_needed(
    effect: float,
    relative: bool,
    row: Comparison,
    exposed: Mapping[str, int],
    days_running: float,
    *,
    alpha: float,
    power: float,
    span_days: int,
) -> float:
    """Days of further enrolment (plus the metric's span) to resolve ``effect`` on ``row``."""
    base, var = row.baseline_mean, row.baseline_variance
    if not (math.isfinite(var) and var > 0 and effect > 0):
        return math.inf
    if relative and base == 0:
        return math.inf
    need = float(
        sample_size(
            mde=effect,
            baseline_mean=base,
            baseline_variance=var,
            relative=relative,
            alpha=alpha,
            power=power,
        )[..., 0]
    )
    if min(row.n_baseline, row.n_variant) >= need:
        return 0.0
    arm_exposed = float(min(exposed.values())) if exposed else 0.0
    rate = arm_exposed / max(days_running, 1.0)
    if rate <= 0:
        return math.inf
    more = max(need - arm_exposed, 0.0) / rate
    return float(math.ceil(more + span_days))


def decide(
    spec: ExperimentSpec,
    comparisons: Sequence[Comparison],
    *,
    srm_p_value: float,
    exposed: Mapping[str, int],
    days_running: float,
    inference: Inference | None = None,
) -> tuple[Verdict, ...]:
    """Verdicts for every non-control variant of `spec`.

    Parameters
    ----------
    spec : ExperimentSpec
    comparisons : sequence of Comparison
        The scorecard's annotated comparisons (see :mod:`tenure.experiments.analysis`).
    srm_p_value : float
        Sample-ratio-mismatch p-value on exposures.
    exposed : mapping
        Members exposed per variant.
    days_running : float
        Days between the first exposure and ``as_of`` (or the last exposure).
    inference : Inference, optional
        The settings the comparisons were computed with (the spec's by default).
    """
    inf = spec.inference if inference is None else inference
    overall = [c for c in comparisons if c.overall]
    prim = {c.variant: c for c in overall if c.role == "primary"}
    threshold = spec.primary.threshold
    assert threshold is not None
    relative = threshold.kind != "absolute"
    arms = [x.name for x in spec.variants if x.name != spec.control]
    # Each variant is one test of the corrected family: plan at the level it is held to.
    plan_alpha = inf.family_alpha(len(arms))
    bar = _fmt(threshold.value, relative)
    out: list[Verdict] = []
    for v in arms:
        if v not in prim:
            out.append(Verdict(v, "investigate", f"no exposures were found for {v}", False))
            continue
        row = prim[v]
        met = row.threshold_met
        eff, lo, hi = row.effect(relative=relative)
        sign = 1.0 if row.higher_is_better else -1.0
        good_hi = max(sign * lo, sign * hi)
        if not (math.isfinite(eff) and math.isfinite(lo) and math.isfinite(hi)):
            why = row.why_missing or "interval not estimable"
            effect_text = f"{spec.primary.name} is not estimable ({why})"
        else:
            ci = f"[{_fmt(lo, relative)}, {_fmt(hi, relative)}]"
            effect_text = f"{spec.primary.name} {_fmt(eff, relative)} {ci}"
        if srm_p_value < inf.srm_alpha:
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
        guards = [c for c in overall if c.role == "guardrail" and c.variant == v]
        breached = [g for g in guards if g.guardrail == "breach"]
        if breached:
            g = breached[0]
            loss, _ = g.loss(relative=g.margin_relative)
            text = (
                f"guardrail {g.metric} worsened by {_fmt(abs(loss), g.margin_relative)} "
                f"(margin {_fmt(g.margin, g.margin_relative)}, p = {g.p_value:.2g})"
            )
            if row.significant_good:
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
        if row.significant_good:
            if not met:
                reason = f"{effect_text} is real but below the threshold {bar}"
                out.append(Verdict(v, "do_not_ship", reason, False))
                continue
            clears = (
                f"clears the threshold {bar}"
                if row.threshold_clear
                else f"clears the threshold {bar} by its point estimate only (the interval's "
                f"lower bound {_fmt(min(sign * lo, sign * hi) * sign, relative)} is below it)"
            )
            unsure = [g for g in guards if g.guardrail != "ok"]
            if not unsure:
                out.append(
                    Verdict(v, "ship", f"{effect_text} {clears}; guardrails non-inferior", True)
                )
                continue
            out.append(
                _guardrail_wait(v, effect_text, clears, unsure, exposed, days_running, inf, spec)
            )
            continue
        if row.significant_bad:
            out.append(Verdict(v, "do_not_ship", f"{effect_text}: the variant is worse", False))
            continue
        if good_hi < threshold.value:
            reason = f"{effect_text} rules out the threshold {bar}"
            out.append(Verdict(v, "do_not_ship", reason, False))
            continue
        days = _days_needed(
            threshold.value,
            relative,
            row,
            exposed,
            days_running,
            alpha=plan_alpha,
            power=inf.power,
            span_days=spec.primary.span_days,
        )
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


def _guardrail_wait(
    variant: str,
    effect_text: str,
    clears: str,
    unsure: Sequence[Comparison],
    exposed: Mapping[str, int],
    days_running: float,
    inf: Inference,
    spec: ExperimentSpec,
) -> Verdict:
    """Keep running: the primary wins but a guardrail's interval still reaches past its margin."""
    parts, days = [], 0.0
    by_name = {g.name: g for g in spec.guardrails}
    for g in unsure:
        rel = g.margin_relative
        label = GUARDRAIL_LABELS[g.guardrail]
        if g.guardrail == "n/a":
            parts.append(f"guardrail {g.metric} {label} ({g.why_missing or 'no estimate'})")
            days = math.inf
            continue
        e, lo, hi = g.effect(relative=rel)
        parts.append(
            f"guardrail {g.metric} {label}: {_fmt(e, rel)} [{_fmt(lo, rel)}, {_fmt(hi, rel)}] "
            f"does not exclude a loss beyond its margin {_fmt(g.margin, rel)}"
        )
        # Non-inferiority at no true change: the interval half-width must shrink to the margin.
        need = _days_needed(
            g.margin,
            rel,
            g,
            exposed,
            days_running,
            alpha=inf.alpha,
            power=inf.power,
            span_days=by_name[g.metric].span_days if g.metric in by_name else 0,
        )
        days = max(days, need)
    beyond = (
        f" (beyond max_days = {spec.method.max_days}: consider a larger margin or stopping)"
        if math.isfinite(days) and days > spec.method.max_days
        else ""
    )
    when = (
        f"; about {days:.0f} more days to tell{beyond}"
        if math.isfinite(days) and days > 0
        else ("; the needed sample cannot be estimated" if math.isinf(days) else "")
    )
    reason = f"{effect_text} {clears}, but " + "; ".join(parts) + when
    return Verdict(
        variant, "keep_running", reason, True, days if math.isfinite(days) and days > 0 else None
    )
