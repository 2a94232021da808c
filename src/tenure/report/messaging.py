"""The messaging section of the report: the closed loop and the cancel-flow question.

A pure renderer: it receives a :class:`~tenure.messaging.loop.LoopResult` (and optionally a
:class:`~tenure.messaging.cancel_flow.ValueVsDiscount`) and returns sections — cumulative
regret curves, adoption and retention at the horizon per arm, the winning creatives per
segment, the offline (OPE) estimate of the learned policy against its true value, and value
messaging against a discount. It never runs an analysis.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from tenure.report.figures import figure_html, interval_text, new_figure, pct, table_html
from tenure.report.page import Section

if TYPE_CHECKING:
    from tenure.messaging.cancel_flow import ValueVsDiscount
    from tenure.messaging.loop import LoopResult

__all__ = ["render"]

_ARM_NAMES = {
    "thompson": "Thompson sampling (learning)",
    "uniform": "Uniform A/B",
    "oracle": "Oracle",
}


def _regret_figure(result: LoopResult) -> str:
    fig = new_figure(7.5, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    for a, arm in enumerate(result.arms):
        ax.plot(result.days, result.cumulative_regret[a], label=_ARM_NAMES.get(arm, arm))
    ax.set_xlabel("day of the loop")
    ax.set_ylabel("cumulative expected regret (adoptions)")
    ax.set_title("Cumulative regret: adoptions lost against the oracle")
    ax.legend(frameon=False)
    return figure_html(
        fig,
        "Cumulative regret per arm",
        "Expected regret: the oracle's true adoption probability minus the chosen creative's, "
        "summed over decisions.",
    )


def _loop_body(result: LoopResult) -> tuple[str, str]:
    p = result.params
    summary = result.summary_frame()
    summary["arm"] = [_ARM_NAMES.get(a, a) for a in summary["arm"]]
    t, u, o = (result.arms.index(a) for a in ("thompson", "uniform", "oracle"))
    gap = result.expected_adoption[o] - result.expected_adoption[u]
    closed = (
        (result.expected_adoption[t] - result.expected_adoption[u]) / gap if gap else float("nan")
    )
    saved = 1 - result.cumulative_regret[t, -1] / result.cumulative_regret[u, -1]
    headline = (
        f"Over {p['days']} days of {p['members_per_day']:,} members a day, the learning policy "
        f"lost {pct(1 - saved, 0)} of the adoptions the uniform A/B test lost against the "
        f"oracle and closed {pct(closed, 0)} of the gap between uniform and oracle."
    )
    table = table_html(
        summary,
        columns={
            "arm": "arm",
            "regret": "cumulative regret",
            "adoption": "adoption (realised)",
            "expected_adoption": "adoption (expected)",
            "retention": f"member at {p['horizon_days']} days",
        },
        percent=("adoption", "expected_adoption", "retention"),
    )
    body = (
        f"<p>{html.escape(headline)}</p>{_regret_figure(result)}{table}"
        f'<p class="note">Reward: {html.escape(str(p["reward"]))}, final {p["delay_days"]} days '
        f"after each decision. {_cadence(p)} Arms share "
        f"the same members, eligible sets and random numbers. Context pooled over: "
        f"{html.escape(', '.join(p['context']))}; creative factors: "
        f"{html.escape(', '.join(p['factors']))}; exploration floor {p['exploration']:g}.</p>"
    )
    return body, headline


def _cadence(p: Mapping[str, Any]) -> str:
    """How the learning arm used rewards whose window was still open."""
    if p.get("early_rewards"):
        return (
            "The policy retrains each morning on every decision so far: a benefit already "
            "used counts the day it happens, and a window still open counts as a failure "
            "only for the share of its successes that would be visible by then."
        )
    return "The policy retrains each morning on closed windows only."


def _winners_body(result: LoopResult) -> str:
    rows = pd.DataFrame(
        [
            {
                "placement": w.placement,
                "country": w.country,
                "learned": w.learned,
                "learned_prob": w.learned_prob,
                "learned_adoption": w.learned_adoption,
                "oracle": w.oracle,
                "oracle_adoption": w.oracle_adoption,
            }
            for w in result.winners
        ]
    )
    if rows.empty:
        return "<p>No segment had an eligible creative.</p>"
    same = float((rows["learned"] == rows["oracle"]).mean())
    return (
        f"<p>The learned policy's favourite creative is the oracle's best in {pct(same, 0)} of "
        "segments (monthly plan); where it differs, compare the true adoption of the two.</p>"
        + table_html(
            rows,
            columns={
                "placement": "placement",
                "country": "country",
                "learned": "learned favourite",
                "learned_prob": "its selection probability",
                "learned_adoption": "its true adoption",
                "oracle": "oracle's best",
                "oracle_adoption": "oracle's adoption",
            },
            percent=("learned_prob", "learned_adoption", "oracle_adoption"),
        )
    )


def _ope_body(result: LoopResult) -> tuple[str, str]:
    conf = f"{1 - float(result.params.get('alpha', 0.05)):.0%}"
    rows = []
    for label, est, truth in (
        ("uniform A/B logs", result.ope_uniform, result.true_value_uniform),
        ("its own arm's held-out days", result.ope_own, result.true_value_own),
    ):
        for name in ("ips", "snips", "dr"):
            lo, hi = est.interval_of(name)
            rows.append(
                {
                    "logs": label,
                    "estimator": name.upper(),
                    "estimate": est.value_of(name),
                    "interval": interval_text(lo, hi),
                    "truth": truth,
                    "covers": lo <= truth <= hi,
                    "ess": est.diagnostics.ess,
                }
            )
    frame = pd.DataFrame(rows)
    covered = int(frame["covers"].sum())
    line = (
        f"The final policy's offline value estimates cover its true value in {covered} of "
        f"{len(frame)} {conf} intervals."
    )
    body = (
        f"<p>{html.escape(line)} Realised adoption of the learning arm over the held-out days: "
        f"{pct(result.realised_own)}.</p>"
        + table_html(
            frame,
            columns={
                "logs": "logs",
                "estimator": "estimator",
                "estimate": "estimate",
                "interval": f"{conf} interval",
                "truth": "true value",
                "covers": "covers",
                "ess": "effective sample size",
            },
            percent=("estimate", "truth"),
        )
    )
    return body, line


def _discount_body(result: ValueVsDiscount) -> tuple[str, str]:
    f = result.to_frame()
    now, later = f.iloc[0], f.iloc[1]
    line = (
        f"A discount saves {pct(-now['value_minus_discount'], 1)} more members in the cancel flow "
        f"today, but value messaging keeps {pct(later['value_minus_discount'], 1, signed=True)} "
        f"more still members at {result.params['horizon_days']} days "
        f"{interval_text(float(later['ci_low']), float(later['ci_high']))}, without the discount's "
        f"${result.discount_cost_per_member:.2f} per member."
    )
    table = table_html(
        f.assign(
            interval=[interval_text(a, b) for a, b in zip(f["ci_low"], f["ci_high"], strict=True)]
        ),
        columns={
            "outcome": "outcome",
            "value": "value recap",
            "discount": "discount",
            "value_minus_discount": "value − discount",
            "interval": "interval",
        },
        percent=("value", "discount", "value_minus_discount"),
    )
    return f"<p>{html.escape(line)}</p>{table}", line


def render(
    result: LoopResult,
    *,
    truth: Mapping[str, Any] | None = None,
    discount: ValueVsDiscount | None = None,
) -> list[Section]:
    """Sections of the messaging part of the report (``truth`` is unused: the loop carries it).

    ``discount`` defaults to the cancel-flow test the loop ran in the same world, if any.
    """
    del truth
    discount = discount if discount is not None else result.discount
    body, headline = _loop_body(result)
    sections = [
        Section("Benefit messaging that learns", "messaging-loop", body, headline),
        Section("Winning creatives per segment", "messaging-winners", _winners_body(result)),
    ]
    ope, ope_line = _ope_body(result)
    sections.append(Section("Offline evaluation vs realised value", "messaging-ope", ope, ope_line))
    if discount is not None:
        d_body, d_line = _discount_body(discount)
        sections.append(
            Section("Value messaging vs a discount", "messaging-discount", d_body, d_line)
        )
    return sections
