"""Report pages for experiments: an index of every test with its outcome, then a scorecard each.

The index is what a leader reads: each experiment's hypothesis in one sentence and what was
decided. Each scorecard shows the overall comparisons with intervals (a forest plot and a
table), the verdict with its reason, the SRM check, the cross-market pooling and, where the
spec asks for one, the surrogate-index prediction of long-term retention with its validity
check (compared with the simulator's truth when the world is simulated).

:func:`render` only renders: it receives scorecards (and surrogate results) already computed
and reads the confidence level and correction from each result's settings, never a
hard-coded "95%".
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tenure.experiments.comparison import GUARDRAIL_LABELS
from tenure.report.figures import (
    cell_text,
    figure_html,
    interval_text,
    new_figure,
    pct,
    table_html,
)
from tenure.report.page import Section

if TYPE_CHECKING:
    from tenure.experiments.analysis import Scorecard
    from tenure.experiments.surrogate import SurrogateResult

__all__ = ["index_section", "render", "scorecard_section"]

_CLASS = {"ship": "good", "do_not_ship": "bad", "keep_running": "warn", "investigate": "bad"}

_SHARES = ("binary", "retention")
"""Metric kinds whose means are shares of members: shown in % and effects in points."""


def _kinds(card: Scorecard) -> dict[str, str]:
    return {m.name: str(m.kind) for m in card.spec.metrics}


def _mean_text(value: float, share: bool) -> str:
    if not math.isfinite(value):
        return "n/a"
    return pct(value) if share else cell_text(float(value))


def _effect_text(value: float, share: bool) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{100 * value:+.1f} pts" if share else f"{value:+.3g}"


def _interval(low: float, high: float, share: bool) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    if share:
        return f"[{100 * low:+.1f}, {100 * high:+.1f}]"
    return f"[{low:+.3g}, {high:+.3g}]"


def _forest(card: Scorecard) -> str:
    """Relative effects with intervals, one line per metric × variant (whole population)."""
    rows = [c for c in card.overall() if math.isfinite(c.effect_rel)]
    if not rows:
        return ""
    label = card.inference.confidence_label
    fig = new_figure(7.5, 0.45 * len(rows) + 1.0)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    for i, c in enumerate(rows):
        color = "#1a7f37" if c.significant_good else "#cf222e" if c.significant_bad else "#57606a"
        lo, hi = c.effect_rel - c.ci_rel_low, c.ci_rel_high - c.effect_rel
        ax.errorbar([c.effect_rel], [y[i]], xerr=[[lo], [hi]], fmt="o", color=color, capsize=3)
    ax.axvline(0, color="#d0d7de", lw=1)
    ax.set_yticks(y, [f"{c.metric} · {c.variant}" for c in rows])
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:+.0%}")
    ax.set_xlabel(f"effect relative to control ({label} interval)")
    ax.set_ylabel("metric · variant")
    return figure_html(fig, f"Forest plot of {card.spec.name}'s effects")


def _surrogate_html(res: SurrogateResult, truth: Mapping[str, Any] | None) -> str:
    eff: Mapping[str, Any] = {}
    if truth is not None:
        eff = truth.get("experiments", {}).get(res.experiment, {}).get("true_effects", {})
    key = f"retention_{res.horizon_days}"
    level = f"{100 * (1 - float(res.params.get('alpha', 0.05))):.4g}%"
    rows = []
    for a in res.arms:
        true = eff.get(a.variant, {}).get(key) if eff else None
        rows.append(
            {
                "variant": a.variant,
                "predicted": f"{_effect_text(a.predicted_effect, True)} "
                f"{_interval(a.ci_low, a.ci_high, True)}",
                "observed": _effect_text(a.observed_effect, True)
                if math.isfinite(a.observed_effect)
                else "not yet observable",
                "check": f"{_effect_text(a.check_predicted, True)} predicted vs "
                f"{_effect_text(a.check_observed, True)} observed",
                "holds": "doubtful" if a.doubtful else "holds",
                "true": _effect_text(float(true), True) if isinstance(true, float) else "",
            }
        )
    names = {
        "variant": "Variant",
        "predicted": f"Predicted effect at day {res.horizon_days} ({level} interval)",
        "observed": f"Observed at day {res.horizon_days}",
        "check": f"Check at day {res.check_horizon_days}",
        "holds": "Assumption",
    }
    if eff:
        names["true"] = "Simulator truth"
    body = (
        f"<h3>Leading indicator: retention at {res.horizon_days} days, predicted after a week</h3>"
        f"<p class='note'>Surrogate index fitted on {res.n_historical:,} historical members "
        "(never exposed) from first-week benefit use, app opens, first-week cancellation, "
        f"country and plan; {level} intervals; effects in percentage points. Checked against "
        f"the observed {res.check_horizon_days}-day effect.</p>"
    )
    body += table_html(pd.DataFrame(rows), columns=names)
    for a in res.arms:
        cls = "bad" if a.doubtful else "good"
        label = "assumption doubtful" if a.doubtful else "assumption holds"
        body += f"<p class='{cls}'>{html.escape(a.variant)}: {label} — {html.escape(a.reason)}</p>"
    return body


def _p_text(p: float) -> str:
    if not math.isfinite(p):
        return ""
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


def _result_text(c: Any, share: bool) -> str:
    if c.role == "primary":
        return (
            "threshold clear"
            if c.threshold_clear
            else "threshold met (point estimate only)"
            if c.threshold_met
            else "threshold not met"
        )
    if c.role == "guardrail":
        if c.margin_relative:
            margin = pct(c.margin)
        else:
            margin = f"{100 * c.margin:.1f} pts" if share else f"{c.margin:g}"
        return f"{GUARDRAIL_LABELS[c.guardrail]} (margin {margin})"
    return "significant" if c.significant_good or c.significant_bad else "no clear difference"


def _comparison_table(card: Scorecard) -> str:
    """The whole-population comparisons for a product team; the full detail folded below.

    Five columns fit a narrow page: the metric and its role, the variant, the two means,
    the effect with its interval (points for shares of members) and the result. Members,
    relative effects, p-values and chance to win are one click away, in a second table.
    """
    inf = card.inference
    kinds = _kinds(card)
    main, detail = [], []
    for c in card.overall():
        share = kinds.get(c.metric) in _SHARES
        interval = _interval(c.ci_abs_low, c.ci_abs_high, share)
        if not interval:
            interval = f"(no interval: {c.why_missing})"
        main.append(
            {
                "metric": f"{c.metric} ({c.role})",
                "variant": c.variant,
                "means": f"{_mean_text(c.baseline_mean, share)} → "
                f"{_mean_text(c.variant_mean, share)}",
                "effect": f"{_effect_text(c.effect_abs, share)} {interval}",
                "result": _result_text(c, share),
            }
        )
        rel = (
            f"{pct(c.effect_rel, signed=True)} {interval_text(c.ci_rel_low, c.ci_rel_high)}"
            if math.isfinite(c.effect_rel)
            else "n/a"
        )
        detail.append(
            {
                "what": f"{c.metric} · {c.variant}",
                "n": f"{int(c.n_baseline):,} / {int(c.n_variant):,}",
                "rel": rel,
                "p": _p_text(c.p_value_decision),
                "win": pct(c.chance_to_win),
            }
        )
    level = inf.confidence_label
    table = table_html(
        pd.DataFrame(main),
        columns={
            "metric": "Metric (role)",
            "variant": "Variant",
            "means": "Control → variant",
            "effect": f"Effect ({level} interval)",
            "result": "Result",
        },
    )
    p_name = f"p ({inf.correction}-adjusted)" if inf.adjusts else "p"
    more = table_html(
        pd.DataFrame(detail),
        columns={
            "what": "Metric · variant",
            "n": "Members (control / variant)",
            "rel": f"Relative effect ({level})",
            "p": p_name,
            "win": "Chance to win",
        },
    )
    return (
        f"{table}<details><summary>Members, relative effects, p-values and chance to win"
        f"</summary>{more}</details>"
        "<p class='note'>Shares of members (adoption, retention) are shown in %, their "
        "effects in percentage points (pts). The primary metric's p-values are adjusted "
        f"across the variants ({inf.correction}); guardrails are read unadjusted, as "
        "non-inferiority against their margins: a guardrail passes only when its interval "
        "excludes a loss beyond the margin.</p>"
    )


def _truth_table(name: str, control: str, truth: Mapping[str, Any]) -> str:
    """The simulator's true effects on retention per variant, in percentage points."""
    eff = truth.get("experiments", {}).get(name, {}).get("true_effects", {})
    rows = [
        {"variant": v, **{k: x for k, x in e.items() if isinstance(x, float)}}
        for v, e in eff.items()
        if v != control
    ]
    if not rows:
        return ""
    frame = pd.DataFrame(rows)
    columns = {"variant": "Variant"}
    for col in frame.columns[1:]:
        days = str(col).removeprefix("retention_")
        retention = str(col).startswith("retention_") and days.isdigit()
        columns[col] = f"Retention at day {days}" if retention else str(col).replace("_", " ")
        frame[col] = [_effect_text(float(x), retention) for x in frame[col]]
    return (
        "<h3>Simulator truth</h3><p class='note'>True effects by counterfactual "
        "re-simulation (retention in percentage points).</p>" + table_html(frame, columns=columns)
    )


def scorecard_section(
    card: Scorecard,
    surrogate: SurrogateResult | None = None,
    truth: Mapping[str, Any] | None = None,
) -> Section:
    """One experiment's scorecard section (pure: renders the results it is given)."""
    s = card.spec
    inf = card.inference
    verdicts = "".join(
        f"<li class='{_CLASS[v.decision]}'><b>{html.escape(v.variant)}: "
        f"{v.decision.replace('_', ' ')}</b> — {html.escape(v.reason)}</li>"
        for v in card.verdicts
    )
    doc = f" <a href='{html.escape(s.doc)}'>press release / FAQ</a>" if s.doc else ""
    counts = ", ".join(f"{k} {int(v):,}" for k, v in card.exposed.items())
    srm_cls = "bad" if card.srm_p_value < inf.srm_alpha else "good"
    th = s.primary.threshold
    bar = ""
    if th is not None:
        bar = f"{th.value:+.1%} relative" if th.kind != "absolute" else f"{th.value:+.3g}"
    dropped = f"; {card.multi_arm:,} members in several arms dropped" if card.multi_arm else ""
    body = (
        f"<p><b>Hypothesis.</b> {html.escape(s.hypothesis)}{doc}</p>"
        f"<p>Primary metric <code>{html.escape(s.primary.name)}</code>, pre-registered "
        f"threshold {html.escape(bar)}; {inf.stopping} design, {inf.framework} read, "
        f"α = {inf.alpha:g} ({inf.confidence_label} intervals), {inf.correction} correction.</p>"
        f"<p class='{srm_cls}'>Exposed: {html.escape(counts)} — SRM p = "
        f"{_p_text(card.srm_p_value)}{dropped}</p>"
        f"<ul>{verdicts}</ul>{_forest(card)}{_comparison_table(card)}"
    )
    if truth is not None:
        body += _truth_table(s.name, s.control, truth)
    prim = [p for p in card.pooled if p.metric == s.primary.name]
    prim_share = str(s.primary.kind) in _SHARES
    if prim:
        frame = pd.DataFrame(
            [
                {
                    "variant": p.variant,
                    "markets": f"{p.segment_column} ({p.k})",
                    "pooled": _effect_text(p.pooled, prim_share),
                    "interval": _interval(p.ci_low, p.ci_high, prim_share),
                    "p": _p_text(p.p_value),
                    "i2": p.i2,
                }
                for p in prim
            ]
        )
        names = {
            "variant": "Variant",
            "markets": "Pooled over",
            "pooled": "Pooled effect",
            "interval": f"{inf.confidence_label} interval",
            "p": "p (unadjusted)",
            "i2": "Heterogeneity I²",
        }
        body += "<h3>Across markets (random effects)</h3>" + table_html(
            frame, columns=names, percent=("i2",)
        )
    if surrogate is not None:
        body += _surrogate_html(surrogate, truth)
    return Section(
        f"Experiment: {s.name}", f"exp-{s.name}", body, summary=f"{s.name}: {card.outcome}"
    )


def index_section(cards: Sequence[Scorecard], ease: Mapping[str, float] | None = None) -> Section:
    """The index: every experiment's hypothesis and outcome, linked to its scorecard."""
    rows = "".join(
        f"<tr><td><a href='#exp-{html.escape(c.spec.name)}'>{html.escape(c.spec.name)}</a></td>"
        f"<td>{html.escape(c.spec.hypothesis)}</td><td>{html.escape(c.spec.primary.name)}</td>"
        f"<td>{html.escape(c.outcome)}</td></tr>"
        for c in cards
    )
    body = (
        "<table><tr><th>experiment</th><th>hypothesis</th><th>primary metric</th>"
        f"<th>outcome</th></tr>{rows}</table>"
    )
    if ease:
        body += (
            "<p>Ease of encouraging (adoption uplift from encouragement tests, fed to the HVA score): "
            + ", ".join(f"<code>{html.escape(a)}</code> {u:+.1%}" for a, u in ease.items())
            + "</p>"
        )
    n_ship = sum(v.decision == "ship" for c in cards for v in c.verdicts)
    summary = f"{len(cards)} experiments read; {n_ship} variant(s) to ship."
    return Section("Experiments", "experiments", body, summary=summary)


def render(
    scorecards: Sequence[Scorecard],
    *,
    truth: Mapping[str, Any] | None = None,
    surrogates: Mapping[str, SurrogateResult] | None = None,
    ease: Mapping[str, float] | None = None,
) -> list[Section]:
    """The index section, then one scorecard section per experiment (renders only)."""
    sur = surrogates or {}
    sections = [index_section(scorecards, ease)]
    sections += [scorecard_section(c, sur.get(c.spec.name), truth) for c in scorecards]
    return sections
