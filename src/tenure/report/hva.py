"""Report sections for high-value actions: ranked table, forest plot, per-segment view."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tenure.hva import HvaResult, discover
from tenure.report.figures import figure_html, new_figure, table_html
from tenure.report.page import Section

if TYPE_CHECKING:
    from tenure.demo import DemoContext, DemoOutput

__all__ = [
    "demo_step",
    "forest_section",
    "ranking_section",
    "segment_section",
    "sensitivity_section",
]

_COLUMNS = {
    "candidate": "candidate",
    "kind": "kind",
    "support": "support",
    "naive_diff": "naive Δ",
    "adjusted_diff": "adjusted Δ",
    "adjusted_low": "95% low",
    "adjusted_high": "95% high",
    "q_value": "q",
    "e_value": "E-value",
    "score": "score",
    "is_hva": "HVA",
}


def _overall(result: HvaResult) -> pd.DataFrame:
    t = result.table
    return t[t["segment"].isna()]


def ranking_section(result: HvaResult, top: int = 20) -> Section:
    """The ranked candidates with naive and adjusted effects, q-values, E-values and score."""
    rows = _overall(result)
    shown = rows.head(top)[list(_COLUMNS)].rename(columns=_COLUMNS)
    shown["score"] = shown["score"].round(0)
    hvas = rows[rows["is_hva"]]
    body = (
        f"<p>Landmark design: members still active on day {result.window_days} are compared; "
        f"the outcome is membership on day {result.horizon_days} (members whose horizon is not "
        "yet observed are censored, never counted as churned or retained). Adjusted effects are "
        f"doubly robust (AIPW) on strata of {', '.join(map(html.escape, result.covariates))}; "
        "q-values are Benjamini–Hochberg over all candidates; the E-value is how strongly an "
        "unmeasured confounder would have to be tied to both the action and retention (risk-ratio "
        "scale) to explain the adjusted effect away.</p>"
        f"<p><b>Score</b>: <code>{html.escape(result.formula)}</code> with weights "
        f"value={result.weights.value}, cost={result.weights.cost}, ease={result.weights.ease}, "
        f"value_periods={result.weights.value_periods}.</p>"
    )
    body += table_html(shown, digits=3)
    top_names = ", ".join(hvas["candidate"].head(3))
    summary = f"{len(hvas)} of {len(rows)} candidates are high-value actions; top: {top_names}."
    return Section("High-value actions", "hva", body, summary=summary)


def forest_section(result: HvaResult, truth: dict[str, Any] | None = None) -> Section:
    """Naive versus adjusted effect, with 95% intervals, for every action and the top pairs."""
    rows = _overall(result)
    pairs = rows[(rows["kind"] == "pair") & rows["is_hva"]].head(6)
    acts = pd.concat([rows[rows["kind"] == "action"], pairs]).sort_values("adjusted_diff")
    y = np.arange(len(acts))
    fig = new_figure(7.5, 0.32 * len(acts) + 1.4)
    ax = fig.add_subplot()
    ax.errorbar(
        acts["naive_diff"],
        y + 0.15,
        xerr=[acts["naive_diff"] - acts["naive_low"], acts["naive_high"] - acts["naive_diff"]],
        fmt="o",
        color="#b0b0b0",
        label="naive lift",
        ms=4,
    )
    ax.errorbar(
        acts["adjusted_diff"],
        y - 0.15,
        xerr=[
            acts["adjusted_diff"] - acts["adjusted_low"],
            acts["adjusted_high"] - acts["adjusted_diff"],
        ],
        fmt="s",
        color="#0969da",
        label="adjusted (AIPW)",
        ms=4,
    )
    effects = (truth or {}).get("actions", {})
    key = str(result.horizon_days)
    tx = [effects.get(c, {}).get("effect", {}).get(key, np.nan) for c in acts["candidate"]]
    if np.isfinite(np.asarray(tx, dtype=float)).any():
        ax.scatter(tx, y - 0.15, marker="x", color="#cf222e", zorder=5, label="truth (simulator)")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, acts["candidate"], fontsize=8)
    ax.set_xlabel(f"difference in retention at day {result.horizon_days}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    body = figure_html(
        fig,
        alt="Forest plot of naive and adjusted effects",
        caption="Naive lift (grey) mixes the action's effect with who chooses it; the adjusted "
        "effect (blue) compares like with like. Crosses: the simulator's true effect.",
    )
    gap = acts.assign(gap=acts["naive_diff"] - acts["adjusted_diff"]).sort_values("gap")
    summary = ""
    if len(gap):
        worst = gap.iloc[-1]
        summary = (
            f"Largest confounding: {worst['candidate']} looks like +{worst['naive_diff']:.3f} naively "
            f"but is {worst['adjusted_diff']:+.3f} adjusted."
        )
    return Section("Naive versus adjusted effects", "hva-forest", body, summary=summary)


def segment_section(result: HvaResult) -> Section:
    """Adjusted effect of each single action within each segment (heat-map and top HVAs)."""
    t = result.table
    seg = t[t["segment"].notna() & (t["kind"] == "action")]
    if result.by is None or seg.empty:
        return Section("High-value actions by segment", "hva-segments", "<p>No segments.</p>")
    grid = seg.pivot(index="candidate", columns="segment", values="adjusted_diff")
    seg = seg.assign(_sig=(seg["adjusted_low"] > 0) & (seg["q_value"] < 0.05))
    sig = seg.pivot(index="candidate", columns="segment", values="_sig").fillna(False)
    fig = new_figure(7.5, 0.3 * len(grid) + 1.6)
    ax = fig.add_subplot()
    lim = float(np.nanmax(np.abs(grid.to_numpy()))) or 1.0
    image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="RdBu", vmin=-lim, vmax=lim)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid.iat[i, j]
            if v == v:
                mark = "*" if bool(sig.iat[i, j]) else ""
                ax.text(j, i, f"{v:+.2f}{mark}", ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(grid)), grid.index, fontsize=8)
    ax.set_xticks(range(grid.shape[1]), grid.columns, fontsize=8)
    fig.colorbar(image, ax=ax, label=f"adjusted Δ retention at day {result.horizon_days}")
    body = figure_html(
        fig,
        alt=f"Adjusted effects by {result.by}",
        caption=f"Adjusted effect of each action within each {result.by}; * = 95% interval above 0 "
        "and q < 0.05 (Benjamini–Hochberg within the segment).",
    )
    tops = []
    for value, part in t[t["segment"].notna()].groupby("segment", sort=True):
        hv = part[part["is_hva"]]["candidate"].head(3).tolist()
        tops.append({result.by: value, "top high-value actions": ", ".join(hv) or "none"})
    body += table_html(pd.DataFrame(tops))
    overall_hva = set(_overall(result).query("is_hva")["candidate"])
    only = [c for c in sig.index if int(sig.loc[c].sum()) == 1 and c not in overall_hva]
    only = [f"{c} ({sig.columns[sig.loc[c].to_numpy(bool)][0]})" for c in only]
    summary = f"Actions that pay off in one {result.by} only: {', '.join(only) or 'none'}."
    return Section(f"High-value actions by {result.by}", "hva-segments", body, summary=summary)


def sensitivity_section(result: HvaResult, top: int = 15) -> Section:
    """E-values of the top high-value actions: how robust each is to unmeasured confounding."""
    rows = _overall(result)
    hv = rows[rows["is_hva"]].head(top).iloc[::-1]
    if hv.empty:
        return Section("Sensitivity to unmeasured confounding", "hva-sensitivity", "<p>No HVA.</p>")
    fig = new_figure(7.5, 0.3 * len(hv) + 1.4)
    ax = fig.add_subplot()
    y = np.arange(len(hv))
    ax.barh(y, hv["e_value"] - 1, left=1, color="#0969da", alpha=0.35, label="E-value (estimate)")
    ax.barh(y, hv["e_value_ci"] - 1, left=1, color="#0969da", label="E-value (95% limit)")
    ax.set_yticks(y, hv["candidate"], fontsize=8)
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xlabel("risk ratio an unmeasured confounder would need with action and retention")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    body = figure_html(
        fig,
        alt="E-values of the top high-value actions",
        caption="E-values (VanderWeele & Ding 2017): a confounder associated with both the action "
        "and retention by this risk ratio, beyond the adjusted covariates, could explain the "
        "estimate (light) or move its interval to include no effect (dark) — no weaker one could.",
    )
    weakest = hv.loc[hv["e_value_ci"].idxmin()]
    summary = (
        f"Most fragile HVA: {weakest['candidate']} (a confounder of risk ratio "
        f"{weakest['e_value_ci']:.2f} would make its interval cover 0)."
    )
    return Section(
        "Sensitivity to unmeasured confounding", "hva-sensitivity", body, summary=summary
    )


def demo_step(ctx: DemoContext) -> DemoOutput:
    """The demo's HVA step: window 7 days, retention at day 90, per country."""
    from tenure.demo import DemoOutput

    by = "country" if "country" in ctx.dataset.members.columns else None
    ease = _measured_ease(ctx)
    result = discover(ctx.dataset, window=7, horizon=90, by=by, ease_of_encouraging=ease)
    sections = [
        ranking_section(result),
        forest_section(result, ctx.truth),
        sensitivity_section(result),
        segment_section(result),
    ]
    return DemoOutput(sections, [s.summary for s in sections if s.summary])


def _measured_ease(ctx: DemoContext) -> dict[str, float]:
    """Adoption uplift measured by the dataset's encouragement tests, for the HVA score."""
    from tenure.experiments.encouragement import ease_of_encouraging
    from tenure.experiments.spec import load_specs
    from tenure.report.experiments import find_specs

    folder = find_specs()
    if ctx.dataset.exposures is None or not folder.is_dir():
        return {}
    return ease_of_encouraging(ctx.dataset, load_specs(folder))
