"""The decision service in the report: what replayed touchpoints were shown.

It also shows one cancel-flow value recap as a member would see it.

A pure renderer of :class:`tenure.serve.replay.ReplayResult`; it computes nothing and
runs nothing (the pipeline runs the replay).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tenure.report.figures import table_html
from tenure.report.page import Section

if TYPE_CHECKING:
    from tenure.serve.replay import ReplayResult

__all__ = ["render"]


def render(result: ReplayResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """One section: decisions by placement (from the durable log) and the cancel-flow card."""
    del truth  # a replay has no causal truth to compare with
    frame = result.to_frame()
    table = table_html(
        frame,
        columns={
            "placement": "Placement",
            "decisions": "Decisions logged",
            "shown": "Creative shown",
            "nothing_eligible": "Nothing eligible",
            "mean_propensity": "Mean propensity",
            "creatives_shown": "Distinct creatives",
            "top_creative": "Most shown creative",
        },
    )
    seconds = float(result.seconds)
    intro = (
        f"<p>The decision service ran on a loopback port for {seconds:.1f} s against this world "
        f"and answered {result.requests:,} requests from touchpoints replayed by "
        f"{result.params.get('concurrency', '?')} concurrent clients "
        f"(median {result.latency_ms_p50:.1f} ms, p99 {result.latency_ms_p99:.1f} ms on this "
        f"machine, while the rest of the demo shares it). Every count below is read back from "
        f"the decision log — {result.total_decisions:,} decisions and {result.outcomes:,} "
        f"outcomes committed before they were acknowledged.</p>"
    )
    if result.errors:
        intro += f'<p class="warn">{result.errors:,} requests were not answered with 200.</p>'
    note = (
        '<p class="note">"Nothing eligible" decisions are logged too (a capped placement, or '
        "every creative excluded): off-policy evaluation needs the times nothing was shown. "
        "The propensity is the probability the serving policy gave the creative it chose; "
        "with the uniform policy it is one over the eligible set.</p>"
    )
    body = intro + table + note + _cancel_card(result)
    shown = int(result.shown.sum())
    summary = (
        f"{result.total_decisions:,} decisions served and durably logged in {seconds:.1f} s "
        f"({shown:,} with a creative); p99 {result.latency_ms_p99:.0f} ms."
    )
    return [Section("Decision service", "serve", body, summary=summary)]


def _cancel_card(result: ReplayResult) -> str:
    recap = result.cancel_recap
    decision = result.cancel_decision
    if recap is None:
        return "<p>No member could be shown a value recap (none is known to the data).</p>"
    esc = html.escape
    used = ", ".join(recap.get("benefits_used", [])) or "none"
    lose = ", ".join(recap.get("would_lose", [])) or "none"
    offer = ""
    if decision is not None and decision.get("creative") is not None:
        cta = decision["creative"].get("cta_text") or decision["creative"].get("cta", "")
        offer = (
            f"<p><b>Offer shown:</b> {esc(str(decision.get('text') or ''))} "
            f"<code>[{esc(str(cta))}]</code> (creative <code>{esc(decision['creative']['id'])}"
            f"</code>, propensity {float(decision['propensity']):.4f})</p>"
        )
    elif decision is not None:
        offer = f"<p><b>No offer:</b> {esc(str(decision.get('reason') or ''))}</p>"
    saved_30 = recap.get("saved_30d")
    saved_7 = recap.get("saved_7d")
    money = (
        f"${float(saved_30):,.2f} in 30 days (${float(saved_7 or 0):,.2f} in the last 7)"
        if saved_30 is not None
        else "not known"
    )
    return (
        f"<h3>Cancel flow, as member <code>{esc(str(recap.get('member_id')))}</code> sees it</h3>"
        f'<div class="memo"><p>{esc(str(recap.get("text", "")))}</p>{offer}</div>'
        f"<p>Benefits used: {esc(used)}. Would lose: {esc(lose)}. Saved: {esc(money)}. "
        f"Plan includes {int(recap.get('plan_benefits', 0))} benefits.</p>"
    )
