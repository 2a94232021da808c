"""Report section for workaround mining: the ranked patterns, their size, and how they were found."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tenure.opportunities import OpportunityResult
from tenure.report.figures import figure_html, interval_text, new_figure, pct, table_html
from tenure.report.page import Section

__all__ = ["render"]


def _hours_figure(result: OpportunityResult, top: int = 8) -> str:
    rows = result.opportunities[:top]
    fig = new_figure(7.5, 0.45 * len(rows) + 1.4)
    ax = fig.add_subplot()
    labels = [" → ".join(o.steps) for o in rows][::-1]
    mid = np.array([o.hours_saved_per_week for o in rows])[::-1]
    lo = np.array([o.hours_saved_ci[0] for o in rows])[::-1]
    hi = np.array([o.hours_saved_ci[1] for o in rows])[::-1]
    colours = ["#1a7f37" if o.shape == "workaround" else "#8c959f" for o in rows][::-1]
    y = np.arange(len(rows))
    ax.barh(y, mid, color=colours)
    ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="none", ecolor="#1f2328", capsize=3)
    ax.set_yticks(y, labels, fontsize=8)
    alpha = float(result.params.get("alpha", 0.05))
    ax.set_xlabel(f"hours saved per week if it were one step (bars: {1 - alpha:.0%} interval)")
    ax.set_ylabel("pattern")
    ax.set_title("Hours members would save per week (green: workaround shape)")
    return figure_html(
        fig,
        "Hours saved per week by pattern",
        "Cluster bootstrap over members; score = hours saved × the stated shape weight.",
    )


def _balance_table(result: OpportunityResult) -> str:
    """Diagnostics of the top workaround's publish-rate association: ESS and SMDs."""
    ws = result.workarounds()
    pub = (ws[0].publish_rate or {}) if ws else {}
    smd = pub.get("smd") or {}
    if not smd:
        return ""
    frame = pd.DataFrame(
        [{"covariate": c, "before": v["before"], "after": v["after"]} for c, v in smd.items()]
    )
    table = table_html(
        frame,
        columns={
            "covariate": "Covariate",
            "before": "SMD before (largest level)",
            "after": "after weighting",
        },
    )
    return (
        f"<p>Balance of the publish-rate comparison for {html.escape(' → '.join(ws[0].steps))}"
        f" (doers vs not, effective sizes {pub['ess_treated']:,.0f} and "
        f"{pub['ess_untreated']:,.0f} of {pub['n_treated']:,} and {pub['n_untreated']:,}; "
        f"covariates: {html.escape(', '.join(pub['covariates']))}):</p>{table}"
    )


def _planted(truth: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The planted workaround's truth: ``truth_workarounds.json`` itself or nested in it."""
    if not truth:
        return None
    inner = truth.get("workarounds", truth)
    if isinstance(inner, Mapping) and {"members", "occurrences", "median_seconds"} <= set(inner):
        return inner
    return None


def render(result: OpportunityResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """One section: the ranked table, the hours-saved figure, variants, rules and score.

    `truth` is the simulator's ``truth_workarounds.json`` when the world planted one (or a
    document holding it under ``"workarounds"``); any other truth is ignored.
    """
    p = result.params
    conf = f"{1 - float(p.get('alpha', 0.05)):.0%}"
    if not result.opportunities:
        body = f"<p class='warn'>{html.escape(str(p.get('note', 'No pattern was found.')))}</p>"
        return [Section("Opportunities", "opportunities", body, "no multi-step pattern found")]
    frame = pd.DataFrame(
        [
            {
                "steps": " → ".join(o.steps),
                "shape": o.shape.replace("_", " "),
                "members": o.members,
                "per_week": o.occurrences_per_week,
                "median_min": o.median_seconds / 60.0,
                "hours_week": o.hours_per_week,
                "saved": o.hours_saved_per_week,
                "ci": interval_text(*o.hours_saved_ci, percent=False),
                "heavy": o.heavy_user_share,
                "score": o.score,
            }
            for o in result.opportunities
        ]
    )
    table = table_html(
        frame,
        columns={
            "steps": "Steps",
            "shape": "Shape",
            "members": "Members",
            "per_week": "Occurrences / week",
            "median_min": "Median minutes",
            "hours_week": "Hours / week spent",
            "saved": "Hours / week saved",
            "ci": f"{conf} interval",
            "heavy": "Heavy users",
            "score": "Score",
        },
        percent=("heavy",),
    )
    parts = []
    for o in result.workarounds()[:3]:
        shares = "; ".join(
            f"{kind}: " + ", ".join(f"{html.escape(k)} {pct(v, 0)}" for k, v in s.items())
            for kind, s in o.variants.items()
            if s
        )
        ret = o.retention or {}
        assoc = ""
        if ret.get("effect") is not None:
            assoc = (
                f" Retention at day {ret['horizon_days']} among members who did it in their "
                f"first {ret['window_days']} days: {pct(ret['effect'], signed=True)} "
                f"{interval_text(*ret['ci'])} (adjusted association, not a causal promise)."
            )
        pub = o.publish_rate or {}
        if pub.get("effect") is not None:
            d0, d1 = pub["follow_up_days"]
            assoc += (
                f" Publishing ({html.escape(str(pub['publish_action']))}, not counting the "
                f"workaround's own) on days {d0}–{d1}: {pub['effect']:+.3f} per member-week "
                f"{interval_text(*pub['ci'], percent=False)} for those who did it by day "
                f"{pub['window_days']} (adjusted; the raw difference is "
                f"{pub['naive_effect']:+.3f} {interval_text(*pub['naive_ci'], percent=False)}; "
                f"{pub['rate_treated']:.2f} vs {pub['rate_untreated']:.2f} a week)."
            )
        warns = dict.fromkeys([*ret.get("warnings", []), *pub.get("warnings", [])])
        warn_html = "".join(f"<br><span class='warn'>{html.escape(str(w))}</span>" for w in warns)
        parts.append(
            f"<li><b>{html.escape(' → '.join(o.steps))}</b>: {o.members:,} members, "
            f"{o.occurrences:,} times, median {o.median_seconds / 60:.1f} min; "
            f"{o.merged_patterns} mined variants merged ({shares}).{assoc}{warn_html}</li>"
        )
    balance_html = _balance_table(result)
    truth_html = ""
    planted = _planted(truth)
    if planted is not None and result.workarounds():
        w = result.workarounds()[0]
        truth = planted
        truth_html = (
            f"<p class='note'>Planted in the simulated world: {truth['members']:,} members, "
            f"{truth['occurrences']:,} occurrences, median {truth['median_seconds'] / 60:.1f} "
            f"min; recovered {w.members:,}, {w.occurrences:,}, {w.median_seconds / 60:.1f} min.</p>"
        )
        effect = planted.get("publish_rate_effect")
        pub = w.publish_rate or {}
        if isinstance(effect, Mapping) and pub.get("effect") is not None:
            truth_html += (
                f"<p class='note'>Planted publish-rate effect: {effect['per_member_week']:+.2f} "
                f"per member-week (confounded by {html.escape(str(effect['confounder']))}); "
                f"estimated {pub['effect']:+.3f} {interval_text(*pub['ci'], percent=False)}, "
                f"raw {pub['naive_effect']:+.3f}.</p>"
            )
    roles = p.get("roles", {})
    body = (
        f"<p>Sequential patterns mined with PrefixSpan (at most {p['max_gap_s']:.0f} s between "
        f"steps, {p['max_span_s']:.0f} s from first to last) over {result.weeks:.1f} weeks; a "
        f"pattern counts when at least {p['min_members']:,} members do it once. Sessions from "
        f"{html.escape(str(p['sessions']))}; an exit is a session change, a background/"
        f"foreground pair or a gap of {p['exit_gap_s']:.0f} s or more.</p>"
        f"<p><b>Score</b>: <code>{html.escape(str(p['score_formula']))}</code></p>"
        f"{table}{_hours_figure(result)}"
        f"<ul>{''.join(parts)}</ul>{balance_html}{truth_html}"
        f"<p class='note'>Roles recognised by {html.escape(str(roles.get('source', 'name rules')))}"
        " (export-like, bring-back, exit and return name tokens; set them with "
        "<code>--roles FILE</code>); the value column is not used.</p>"
    )
    top = result.opportunities[0]
    summary = (
        f"top opportunity {' → '.join(top.steps)}: {top.members:,} members, "
        f"{top.hours_saved_per_week:,.0f} hours a week to save "
        f"{interval_text(*top.hours_saved_ci, percent=False)}"
    )
    return [Section("Opportunities", "opportunities", body, summary)]
