"""Report section for a pilot: the plan, the anomalies found, and the read-out."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from tenure.experiments.anomalies import AnomalyResult
from tenure.experiments.pilot import PilotPlan, PilotReadout
from tenure.report.figures import cell_text, interval_text, pct, table_html
from tenure.report.page import Section

__all__ = ["render"]


CHECK_NAMES = {
    "duplicate_exposures": "Duplicate exposures",
    "shared_key": "Shared code or device",
    "burst": "Bursts faster than a person",
    "spike": "Outcome spike days",
}


def _example(example: Mapping[str, Any]) -> str:
    """One example for people: names spaced, times to the second, numbers rounded."""
    parts = []
    for k, v in example.items():
        timestamp = k in ("ts", "day") or k.endswith(("_ts", "_at"))
        text = str(v)[:19].replace("T", " ") if timestamp else cell_text(v)
        parts.append(f"{k.replace('_', ' ')} {text}")
    return ", ".join(parts)


def _anomaly_table(results: Sequence[AnomalyResult]) -> str:
    rows = [
        {
            "experiment": r.experiment,
            "exposed": r.exposed_members,
            **{c.name: c.count for c in r.checks},
            "examples": "; ".join(
                f"{CHECK_NAMES.get(c.name, c.name)}: {_example(c.examples[0])}"
                for c in r.checks
                if c.count and c.examples
            ),
        }
        for r in results
    ]
    return table_html(
        pd.DataFrame(rows),
        columns={
            "experiment": "Experiment",
            "exposed": "Exposed members",
            "duplicate_exposures": "Duplicate exposures",
            "shared_key": "Shared codes",
            "burst": "Bursting members",
            "spike": "Spike days",
            "examples": "First example of each",
        },
    )


def render(
    result: PilotReadout | AnomalyResult | Sequence[AnomalyResult],
    *,
    truth: Mapping[str, Any] | None = None,
    plan: PilotPlan | None = None,
    anomalies: AnomalyResult | None = None,
) -> list[Section]:
    """One section: plan lines, anomaly counts with examples, both readings and the decision.

    Given anomaly results only (one per experiment), the section lists their checks.
    `truth` is the simulator's ``truth_abuse.json`` when the world planted abuse (or a
    document holding it under ``"abuse"``); any other truth document is ignored.
    """
    if not isinstance(result, PilotReadout):
        found = (result,) if isinstance(result, AnomalyResult) else tuple(result)
        flagged = [r.experiment for r in found if any(c.count for c in r.checks)]
        body = (
            "<p>Edge cases in each experiment's data: exposure rows logged twice, a code or "
            "device used by more members than a person shares with, bursts of events faster "
            "than a person, and days with an outcome spike (see <code>tenure anomalies</code>; "
            "<code>tenure pilot readout</code> excludes them and records it).</p>"
            + _anomaly_table(found)
        )
        summary = (
            f"anomalies in {', '.join(flagged)}" if flagged else "no anomalies in the experiments"
        )
        return [Section("Anomalies", "anomalies", body, summary)]
    if truth is not None:  # truth_abuse.json itself, or a document holding it under "abuse"
        inner = truth.get("abuse", truth)
        truth = inner if isinstance(inner, Mapping) and "shared_code" in inner else None
    p = result.params
    conf = f"{1 - float(p.get('alpha', 0.05)):.0%}"
    parts: list[str] = []
    if plan is not None:
        parts.append(
            "<h3>Plan</h3><ul>"
            + "".join(f"<li>{html.escape(line)}</li>" for line in plan.lines)
            + "</ul>"
        )
    if anomalies is not None:
        rows = [
            {
                "check": CHECK_NAMES.get(c.name, c.name.replace("_", " ")),
                "count": c.count,
                "members": len(c.members),
                "description": c.description,
                "examples": "; ".join(_example(e) for e in c.examples[:2]),
            }
            for c in anomalies.checks
        ]
        parts.append(
            "<h3>Anomalies</h3>"
            + table_html(
                pd.DataFrame(rows),
                columns={
                    "check": "Check",
                    "count": "Count",
                    "members": "Members",
                    "description": "What it means",
                    "examples": "Examples",
                },
            )
        )
    frame = result.table.copy()
    frame["ci"] = [
        interval_text(lo, hi)
        for lo, hi in zip(frame["ci_rel_low"], frame["ci_rel_high"], strict=True)
    ]
    frame["effect"] = [pct(x, signed=True) for x in frame["effect_rel"]]
    frame["p"] = ["< 0.0001" if x < 1e-4 else f"{x:.2g}" for x in frame["p_value"]]
    parts.append(
        "<h3>Read-out</h3>"
        + table_html(
            frame,
            columns={
                "reading": "Reading",
                "n_comparison": "Comparison members",
                "n_pilot": "Pilot members",
                "comparison_mean": "Comparison mean",
                "pilot_mean": "Pilot mean",
                "effect": "Effect (relative)",
                "ci": f"{conf} interval",
                "p": "p",
            },
        )
    )
    ex = result.exclusions
    if ex.get("members_excluded") is not None:
        parts.append(
            f"<p>Excluded {ex['members_excluded']:,} members "
            f"({html.escape(', '.join(f'{CHECK_NAMES.get(k, k).lower()}: {v}' for k, v in ex['by_check'].items()))}) and "
            f"spike days {html.escape(', '.join(ex['spike_days_excluded']) or 'none')}; "
            f"{ex['duplicate_exposures_ignored']:,} duplicate exposures never counted twice"
            + ("" if ex["applied"] else " — not applied to the decision")
            + ".</p>"
        )
    if truth:
        rates = truth.get("rate_per_day", {})
        if rates:
            true_rel = float(rates["pilot"]) / float(rates["comparison"]) - 1
            parts.append(
                f"<p class='note'>Simulated truth: the pilot raises the rate by {pct(true_rel)}; "
                f"planted abuse: a code shared by {truth['shared_code']['members']} members, "
                f"{len(truth['bursts']['members'])} bots, {truth['duplicate_exposures']} "
                f"duplicate exposures, a spike on {html.escape(truth['spike']['day'])}.</p>"
            )
    decision = result.decision.replace("_", " ")
    parts.append(f"<p><b>Decision: {html.escape(decision)}</b> — {html.escape(result.reason)}</p>")
    summary = f"pilot {result.experiment}: {decision} ({result.reason})"
    return [
        Section(
            f"Pilot: {result.experiment}", f"pilot-{result.experiment}", "".join(parts), summary
        )
    ]
