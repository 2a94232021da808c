"""Report pages for experiments: an index of every test with its outcome, then a scorecard each.

The index is what a leader reads: each experiment's hypothesis in one sentence and what was
decided. Each scorecard shows the overall comparisons with intervals (a forest plot and a
table), the verdict with its reason, the SRM check, the cross-market pooling and, where the
spec asks for one, the surrogate-index prediction of long-term retention with its validity
check (compared with the simulator's truth when the world is simulated).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tenure.errors import SpecError
from tenure.experiments.analysis import Scorecard, analyze
from tenure.experiments.encouragement import ease_of_encouraging
from tenure.experiments.spec import ExperimentSpec, load_specs
from tenure.experiments.surrogate import SurrogateResult, surrogate_index
from tenure.report.figures import figure_html, new_figure, table_html
from tenure.report.page import Section

if TYPE_CHECKING:
    from tenure.demo import DemoContext, DemoOutput

__all__ = ["demo_step", "experiment_sections", "find_specs"]

_CLASS = {"ship": "good", "do_not_ship": "bad", "keep_running": "warn", "investigate": "bad"}


def find_specs() -> Path:
    """The folder of experiment specs: the repository's ``experiments/``, else ``./experiments``."""
    here = Path(__file__).resolve().parents[3] / "experiments"
    return here if here.is_dir() else Path.cwd() / "experiments"


def _forest(card: Scorecard) -> str:
    """Relative effects with intervals, one line per metric × variant (whole population)."""
    t = card.table[card.table["segment"] == "all"].dropna(subset=["effect_rel"])
    if t.empty:
        return ""
    fig = new_figure(7.5, 0.45 * len(t) + 1.0)
    ax = fig.add_subplot()
    y = np.arange(len(t))[::-1]
    colors = np.where(
        t["significant_good"], "#1a7f37", np.where(t["significant_bad"], "#cf222e", "#57606a")
    )
    lo = (t["effect_rel"] - t["ci_rel_low"]).to_numpy()
    hi = (t["ci_rel_high"] - t["effect_rel"]).to_numpy()
    for i, (x, c) in enumerate(zip(t["effect_rel"], colors, strict=True)):
        ax.errorbar([x], [y[i]], xerr=[[lo[i]], [hi[i]]], fmt="none", ecolor=str(c), capsize=3)
    ax.scatter(t["effect_rel"], y, c=colors, zorder=3)
    ax.axvline(0, color="#d0d7de", lw=1)
    ax.set_yticks(y, [f"{m} · {v}" for m, v in zip(t["metric"], t["variant"], strict=True)])
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:+.0%}")
    ax.set_xlabel("effect relative to control (95% interval)")
    return figure_html(fig, f"Forest plot of {card.spec.name}'s effects")


def _surrogate_html(res: SurrogateResult, truth: dict[str, Any] | None) -> str:
    t = res.table.copy()
    if truth is not None:
        eff = truth.get("experiments", {}).get(res.experiment, {}).get("true_effects", {})
        key = f"retention_{res.horizon_days}"
        t["true_effect"] = [eff.get(v, {}).get(key, np.nan) for v in t["variant"]]
    body = (
        f"<h3>Leading indicator: retention at {res.horizon_days} days, predicted after a week</h3>"
        f"<p class='note'>Surrogate index fitted on {res.n_historical:,} historical members "
        "(never exposed) from first-week benefit use, app opens, first-week cancellation, "
        f"country and plan. Checked against the observed {res.check_horizon_days}-day effect.</p>"
    )
    body += table_html(t.drop(columns=["reason"]), digits=4)
    for r in t.itertuples(index=False):
        cls = "bad" if r.doubtful else "good"
        label = "assumption doubtful" if r.doubtful else "assumption holds"
        body += f"<p class='{cls}'>{html.escape(str(r.variant))}: {label} — {html.escape(str(r.reason))}</p>"
    return body


def _card_section(
    card: Scorecard, surrogate: SurrogateResult | None, truth: dict[str, Any] | None
) -> Section:
    s = card.spec
    verdicts = "".join(
        f"<li class='{_CLASS[v.decision]}'><b>{html.escape(v.variant)}: "
        f"{v.decision.replace('_', ' ')}</b> — {html.escape(v.reason)}</li>"
        for v in card.verdicts
    )
    doc = f" <a href='{html.escape(s.doc)}'>press release / FAQ</a>" if s.doc else ""
    counts = ", ".join(f"{k} {int(v):,}" for k, v in card.exposed.items())
    srm_cls = "bad" if card.srm_p_value < s.method.srm_alpha else "good"
    overall = card.table[card.table["segment"] == "all"]
    cols = [
        "metric", "role", "variant", "n_variant", "baseline_mean", "variant_mean", "effect_abs",
        "ci_abs_low", "ci_abs_high", "effect_rel", "p_value_decision", "chance_to_win",
        "threshold_met", "guardrail",
    ]  # fmt: skip
    body = (
        f"<p><b>Hypothesis.</b> {html.escape(s.hypothesis)}{doc}</p>"
        f"<p>Primary metric <code>{html.escape(s.primary.name)}</code>, threshold "
        f"{html.escape(str(s.primary.threshold.model_dump() if s.primary.threshold else ''))}; "
        f"method {s.method.horizon} × {s.method.inference}, α = {s.method.alpha}.</p>"
        f"<p class='{srm_cls}'>Exposed: {html.escape(counts)} — SRM p = {card.srm_p_value:.3g}"
        f"{'; ' + str(card.multi_arm) + ' members in several arms dropped' if card.multi_arm else ''}</p>"
        f"<ul>{verdicts}</ul>{_forest(card)}{table_html(overall[cols], digits=4)}"
    )
    if truth is not None:
        eff = truth.get("experiments", {}).get(s.name, {}).get("true_effects", {})
        rows = [
            {"variant": v, **{k: x for k, x in e.items() if isinstance(x, float)}}
            for v, e in eff.items()
            if v != s.control
        ]
        if rows:
            body += "<h3>Simulator truth</h3>" + table_html(pd.DataFrame(rows), digits=4)
    if not card.pooled.empty:
        prim = card.pooled[card.pooled["metric"] == s.primary.name]
        body += "<h3>Across markets (random effects)</h3>" + table_html(prim, digits=4)
    if surrogate is not None:
        body += _surrogate_html(surrogate, truth)
    return Section(
        f"Experiment: {s.name}", f"exp-{s.name}", body, summary=f"{s.name}: {card.outcome}"
    )


def experiment_sections(
    ctx_dataset: Any, specs: list[ExperimentSpec], truth: dict[str, Any] | None = None
) -> tuple[list[Section], list[Scorecard]]:
    """The index section and one scorecard section per spec."""
    cards = [analyze(ctx_dataset, s) for s in specs]
    surrogates: dict[str, SurrogateResult] = {}
    for s in specs:
        if s.surrogate is not None:
            try:
                surrogates[s.name] = surrogate_index(ctx_dataset, s)
            except SpecError:  # too little history to fit: the scorecard stands without it
                continue
    ease = ease_of_encouraging(ctx_dataset, specs)
    index = pd.DataFrame(
        {
            "experiment": [c.spec.name for c in cards],
            "hypothesis": [c.spec.hypothesis for c in cards],
            "primary": [c.spec.primary.name for c in cards],
            "outcome": [c.outcome for c in cards],
        }
    )
    rows = "".join(
        f"<tr><td><a href='#exp-{html.escape(r.experiment)}'>{html.escape(r.experiment)}</a></td>"
        f"<td>{html.escape(r.hypothesis)}</td><td>{html.escape(r.primary)}</td>"
        f"<td>{html.escape(r.outcome)}</td></tr>"
        for r in index.itertuples(index=False)
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
    sections = [Section("Experiments", "experiments", body, summary=summary)]
    sections += [_card_section(c, surrogates.get(c.spec.name), truth) for c in cards]
    return sections, cards


def demo_step(ctx: DemoContext) -> DemoOutput:
    """The demo's experiments step: every spec in ``experiments/`` on the demo world."""
    from tenure.demo import DemoOutput

    specs = load_specs(find_specs())
    if not specs:
        return DemoOutput([], ["Experiments: no specs found in experiments/."])
    sections, cards = experiment_sections(ctx.dataset, specs, ctx.truth)
    summary = [f"Experiment {c.spec.name}: {c.outcome}" for c in cards]
    return DemoOutput(sections, summary)
