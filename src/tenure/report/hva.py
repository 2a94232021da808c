"""Report sections for high-value actions: a short list to act on, then the evidence.

:func:`render` is a pure renderer: it receives an :class:`~tenure.hva.HvaResult` (and, for a
truth-known world, its truth) and returns sections; it never runs an analysis. The level of
every interval and q-value cut is read from the result's ``params``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tenure.hva import HvaEstimate, HvaResult
from tenure.report.figures import figure_html, interval_text, new_figure, pct, table_html
from tenure.report.page import Section

__all__ = [
    "diagnostics_section",
    "forest_section",
    "ranking_section",
    "render",
    "segment_section",
    "sensitivity_section",
]


def _conf(result: HvaResult) -> str:
    return f"{1.0 - result.alpha:.0%}"


def _row(e: HvaEstimate, conf: str) -> dict[str, Any]:
    return {
        "Action": e.candidate.name,
        "Compared": e.candidate.contrast,
        "Members doing it": pct(e.support),
        "Naive Δ retention": pct(e.naive_diff, signed=True),
        "Adjusted Δ retention": pct(e.adjusted_diff, signed=True),
        f"{conf} interval": interval_text(e.adjusted_low, e.adjusted_high),
        "q (BH-adjusted)": e.q_value,
        "E-value": e.e_value,
        "Value score": round(e.score) if np.isfinite(e.score) else None,
    }


def ranking_section(result: HvaResult, top: int = 5) -> Section:
    """The short list a team can act on, with the cut explained, then the ranked candidates."""
    conf = _conf(result)
    p = result.params
    overall = result.overall()
    hvas = result.hvas()
    short = result.shortlist(top)
    g = p.get("guards")
    max_smd = getattr(g, "max_smd", 0.1)
    max_clip = getattr(g, "max_clipped", 0.05)
    min_events = getattr(g, "min_events", 5)
    body = (
        f"<p><b>The short list.</b> Of {len(overall)} candidate early behaviours, {len(hvas)} "
        f"pass every test below; listed are the {len(short)} best by value score, one per "
        "action (a threshold or pair is shown only when it beats the action alone). A "
        f"candidate passes when its adjusted {conf} interval lies above 0 with a "
        f"Benjamini–Hochberg q below {result.alpha:g}, each arm has at least {min_events} "
        f"retained and {min_events} churned members, weighting balanced every covariate "
        f"(|SMD| ≤ {max_smd:g}), at most {max_clip:.0%} of members sit at the propensity bound, "
        "and its value score is positive.</p>"
    )
    if short:
        body += table_html(pd.DataFrame([_row(e, conf) for e in short]), digits=3)
    else:
        body += "<p><b>No candidate passes.</b> Nothing here is established enough to act on.</p>"
    body += (
        f"<p>Landmark design: members still active on day {p['window_days']} are compared; "
        f"the outcome is membership on day {p['horizon_days']}. Adjusted effects are doubly "
        "robust (AIPW) with inverse-probability-of-censoring weights, standardised over every "
        "landmark member, adjusting for "
        f"{html.escape(', '.join(p['adjust_for']))}. Intervals are score-type (Newcombe), so "
        "small groups and rates near 0% or 100% are not over-confident.</p>"
    )
    if result.warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings)
        body += f"<p><b>Warnings about the adjustment</b></p><ul>{items}</ul>"
    ranked = [_row(e, conf) | {"Status": _status(e)} for e in overall[:20]]
    body += "<p>All candidates, best score first (top 20):</p>"
    body += table_html(pd.DataFrame(ranked), digits=3)
    names = ", ".join(e.candidate.name for e in short[:3]) or "none"
    summary = (
        f"{len(short)} high-value actions to act on (of {len(hvas)} that pass, "
        f"{len(overall)} tried); top: {names}."
    )
    return Section("High-value actions", "hva", body, summary=summary)


def _status(e: HvaEstimate) -> str:
    if e.is_hva:
        return "high-value"
    if e.status != "ok":
        return {"too_few": "too few members", "few_events": "too few events"}[e.status]
    if not e.balanced:
        return "imbalanced"
    if not e.overlap:
        return "thin overlap"
    return "not established"


def diagnostics_section(result: HvaResult, top: int = 12) -> Section:
    """Balance before and after weighting, effective sizes and overlap for the leading rows."""
    rows = [e for e in result.overall() if e.status != "too_few"][:top]
    table = []
    for e in rows:
        worst = max(e.balance, key=lambda b: abs(b.after), default=None)
        table.append(
            {
                "Action": e.candidate.name,
                "Largest |SMD| before": max((abs(b.before) for b in e.balance), default=0.0),
                "Largest |SMD| after": e.max_smd_after,
                "Worst covariate": worst.covariate if worst else "",
                "Effective n (doing it)": round(e.ess_treated),
                "Effective n (not)": round(e.ess_control),
                "At the propensity bound": pct(e.clipped),
                "Within-stratum term": f"{e.within_stratum:+.4f}",
                "Warnings": "; ".join(e.warnings),
            }
        )
    body = (
        "<p>A confident adjusted effect is only as good as the adjustment behind it. For each "
        "candidate: the standardised mean difference (SMD) of every covariate between members "
        "who do it and who do not, before and after weighting (after should be within ±0.1), "
        "the effective number of members behind each arm, the share of members whose "
        "propensity was bounded (thin overlap), and how much the member-level term for what "
        "varies within a stratum moved the effect (what the strata alone would have left in "
        "it).</p>"
    )
    body += table_html(pd.DataFrame(table), digits=2) if table else "<p>No estimates.</p>"
    bad = [e.candidate.name for e in rows if not (e.balanced and e.overlap)]
    summary = f"Adjustment failed (imbalance or thin overlap) for: {', '.join(bad) or 'none of the leading rows'}."
    return Section("Is the adjustment trustworthy?", "hva-diagnostics", body, summary=summary)


def _truth_effects(truth: Mapping[str, Any] | None, horizon: int) -> dict[str, float]:
    """Overall single-action effects from either truth format (simulator or stranger world)."""
    if not truth:
        return {}
    out: dict[str, float] = {}
    for name, v in (truth.get("actions") or {}).items():
        eff = (v.get("effect") or {}).get(str(horizon))
        if eff is not None:
            out[name] = float(eff)
    for v in truth.get("effects") or []:
        if v.get("segment") is None and v.get("kind") == "action":
            out[str(v["candidate"])] = float(v["effect"])
    return out


def forest_section(result: HvaResult, truth: Mapping[str, Any] | None = None) -> Section:
    """Naive versus adjusted effect, with intervals, for every action and the listed pairs."""
    conf = _conf(result)
    horizon = int(result.params["horizon_days"])
    rows = result.overall()
    acts = [e for e in rows if e.candidate.kind == "action" and np.isfinite(e.adjusted_diff)]
    acts += [e for e in result.shortlist(6) if e.candidate.kind != "action"]
    acts.sort(key=lambda e: e.adjusted_diff)
    y = np.arange(len(acts))
    fig = new_figure(7.5, 0.32 * len(acts) + 1.4)
    ax = fig.add_subplot()

    def bars(attr: str, lo: str, hi: str) -> tuple[np.ndarray, list[np.ndarray]]:
        v = np.array([getattr(e, attr) for e in acts])
        lo_v = np.array([getattr(e, lo) for e in acts])
        hi_v = np.array([getattr(e, hi) for e in acts])
        return v, [v - lo_v, hi_v - v]

    nv, nerr = bars("naive_diff", "naive_low", "naive_high")
    av, aerr = bars("adjusted_diff", "adjusted_low", "adjusted_high")
    ax.errorbar(nv, y + 0.15, xerr=nerr, fmt="o", color="#8c8c8c", label="naive lift", ms=4)
    ax.errorbar(av, y - 0.15, xerr=aerr, fmt="s", color="#0969da", label="adjusted", ms=4)
    effects = _truth_effects(truth, horizon)
    tx = np.array([effects.get(e.candidate.name, np.nan) for e in acts])
    if np.isfinite(tx).any():
        ax.scatter(tx, y - 0.15, marker="x", color="#cf222e", zorder=5, label="true effect")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [e.candidate.name for e in acts], fontsize=8)
    ax.set_xlabel(f"difference in retention at day {horizon} (share of members)")
    ax.set_ylabel("candidate")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    body = figure_html(
        fig,
        alt="Forest plot of naive and adjusted effects",
        caption=f"Naive lift (grey) mixes an action's effect with who chooses it; the adjusted "
        f"effect (blue, {conf} interval) compares like with like."
        + (" Crosses: the world's true effect." if np.isfinite(tx).any() else ""),
    )
    summary = ""
    if acts:
        worst = max(acts, key=lambda e: e.naive_diff - e.adjusted_diff)
        summary = (
            f"Largest confounding: {worst.candidate.name} looks like "
            f"{pct(worst.naive_diff, signed=True)} naively but is "
            f"{pct(worst.adjusted_diff, signed=True)} adjusted."
        )
    return Section("Naive versus adjusted effects", "hva-forest", body, summary=summary)


def segment_section(result: HvaResult) -> Section:
    """Adjusted effect of each single action within each segment (heat-map and top HVAs)."""
    by = result.params.get("by")
    seg_rows = [
        e for e in result.estimates if e.segment is not None and e.candidate.kind == "action"
    ]
    if by is None or not seg_rows:
        return Section("High-value actions by segment", "hva-segments", "<p>No segments.</p>")
    conf = _conf(result)
    frame = pd.DataFrame(
        {
            "candidate": [e.candidate.name for e in seg_rows],
            "segment": [e.segment.value for e in seg_rows if e.segment is not None],
            "effect": [e.adjusted_diff for e in seg_rows],
            "sig": [e.is_hva for e in seg_rows],
        }
    )
    grid = frame.pivot(index="candidate", columns="segment", values="effect")
    sig = frame.pivot(index="candidate", columns="segment", values="sig").fillna(False)
    fig = new_figure(7.5, 0.3 * len(grid) + 1.6)
    ax = fig.add_subplot()
    values = grid.to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    image = ax.imshow(values, aspect="auto", cmap="RdBu", vmin=-lim, vmax=lim)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = values[i, j]
            if np.isfinite(v):
                mark = "*" if bool(sig.iat[i, j]) else ""
                dark = abs(v) > 0.6 * lim
                ax.text(j, i, f"{v:+.1%}{mark}", ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")  # fmt: skip
    ax.set_yticks(range(len(grid)), grid.index, fontsize=8)
    ax.set_xticks(range(grid.shape[1]), grid.columns, fontsize=8)
    ax.set_xlabel(str(by))
    ax.set_ylabel("action")
    bar = fig.colorbar(
        image, ax=ax, label=f"adjusted Δ retention at day {result.params['horizon_days']} (%)"
    )
    bar.ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:+.0%}")
    body = figure_html(
        fig,
        alt=f"Adjusted effects by {by}",
        caption=f"Adjusted effect of each action within each {by}; * = a high-value action in "
        f"that {by} ({conf} interval above 0, q < {result.alpha:g} within the segment, "
        "diagnostics passed).",
    )
    tops = []
    values_seen = sorted({e.segment.value for e in result.estimates if e.segment is not None})
    for value in values_seen:
        names = [e.candidate.name for e in result.shortlist(3, segment=value)]
        tops.append(
            {str(by).capitalize(): value, "Top high-value actions": ", ".join(names) or "none"}
        )
    body += table_html(pd.DataFrame(tops))
    overall = {e.candidate.name for e in result.hvas()}
    only = [c for c in sig.index if int(sig.loc[c].sum()) == 1 and c not in overall]
    only = [f"{c} ({sig.columns[sig.loc[c].to_numpy(bool)][0]})" for c in only]
    summary = f"Actions that pay off in one {by} only: {', '.join(only) or 'none'}."
    return Section(f"High-value actions by {by}", "hva-segments", body, summary=summary)


def sensitivity_section(result: HvaResult, top: int = 15) -> Section:
    """E-values of the listed high-value actions: how robust each is to unmeasured confounding."""
    hv = list(result.shortlist(top))[::-1]
    if not hv:
        return Section("Sensitivity to unmeasured confounding", "hva-sensitivity", "<p>No HVA.</p>")
    conf = _conf(result)
    fig = new_figure(7.5, 0.3 * len(hv) + 1.4)
    ax = fig.add_subplot()
    y = np.arange(len(hv))
    ax.barh(y, [e.e_value - 1 for e in hv], left=1, color="#0969da", alpha=0.35,
            label="E-value (estimate)")  # fmt: skip
    ax.barh(y, [e.e_value_ci - 1 for e in hv], left=1, color="#0969da",
            label=f"E-value ({conf} limit)")  # fmt: skip
    ax.set_yticks(y, [e.candidate.name for e in hv], fontsize=8)
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xlabel("risk ratio an unmeasured confounder would need with action and retention")
    ax.set_ylabel("high-value action")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    body = figure_html(
        fig,
        alt="E-values of the listed high-value actions",
        caption="E-values (VanderWeele & Ding 2017): a confounder associated with both the action "
        "and retention by this risk ratio, beyond the adjusted covariates, could explain the "
        "estimate (light) or move its interval to include no effect (dark) — no weaker one could.",
    )
    weakest = min(hv, key=lambda e: e.e_value_ci)
    summary = (
        f"Most fragile high-value action: {weakest.candidate.name} (a confounder of risk ratio "
        f"{weakest.e_value_ci:.2f} would make its interval cover 0)."
    )
    return Section(
        "Sensitivity to unmeasured confounding", "hva-sensitivity", body, summary=summary
    )


def render(result: HvaResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """Every HVA section for one result (pure: no analysis runs here)."""
    return [
        ranking_section(result),
        diagnostics_section(result),
        forest_section(result, truth),
        sensitivity_section(result),
        segment_section(result),
    ]
