"""The one-page memo: what we learned, the numbers with intervals, the decision, risks, open questions.

Working Backwards argues decisions with data *and* narrative; the memo is that narrative,
written from the results alone (it renders, it never runs an analysis). It opens the HTML
report and is what ``tenure memo`` prints as Markdown. Every number it states comes with its
interval and the coverage the analysis used; a step that could not run is an open question,
not a silent gap.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tenure.report.figures import pct, table_html
from tenure.report.page import Section

if TYPE_CHECKING:
    from tenure.experiments.analysis import Scorecard
    from tenure.hva import HvaResult
    from tenure.lifecycle import LifecycleResult
    from tenure.portfolio import PortfolioResult
    from tenure.retention import RetentionResult
    from tenure.store import IngestReport

__all__ = [
    "Memo",
    "build_memo",
    "data_section",
    "experiments_index_section",
    "memo_html",
]

FRAGILE_E_VALUE = 1.5
"""An HVA whose E-value of the interval limit is below this is called fragile in the risks."""


@dataclass(frozen=True)
class Memo:
    """The memo's five parts, each a tuple of plain-text sentences."""

    title: str
    context: str
    learned: tuple[str, ...]
    decisions: tuple[str, ...]
    risks: tuple[str, ...]
    questions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The memo as JSON (``tenure memo --json``)."""
        return asdict(self)

    def to_markdown(self) -> str:
        """The memo as Markdown, one page."""
        parts = [f"# {self.title}", "", self.context, ""]
        for heading, items in self._parts():
            parts += [f"## {heading}", ""]
            parts += [f"- {i}" for i in items] or ["- Nothing to report."]
            parts.append("")
        return "\n".join(parts)

    def _parts(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return (
            ("What we learned", self.learned),
            ("The decision", self.decisions),
            ("Risks", self.risks),
            ("Open questions", self.questions),
        )


def memo_html(memo: Memo) -> str:
    """The memo as the HTML block that opens the report."""
    out = f"<h2>Memo</h2><p>{html.escape(memo.context)}</p>"
    for heading, items in memo._parts():
        lis = "".join(f"<li>{html.escape(i)}</li>" for i in items) or "<li>Nothing to report.</li>"
        out += f"<h3>{html.escape(heading)}</h3><ul>{lis}</ul>"
    return out


def _conf(alpha: float) -> str:
    return f"{1 - alpha:.0%}"


def _ci(lo: float, hi: float, *, points: bool = False) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "[interval not available]"
    if points:
        return f"[{lo * 100:+.1f}, {hi * 100:+.1f}] pts"
    return f"[{pct(lo)}, {pct(hi)}]"


def _pts(x: float) -> str:
    return f"{x * 100:+.1f} pts"


def build_memo(
    *,
    retention: RetentionResult | None = None,
    hva: HvaResult | None = None,
    scorecards: Sequence[Scorecard] = (),
    lifecycle: LifecycleResult | None = None,
    portfolio: PortfolioResult | None = None,
    ingest: IngestReport | None = None,
    skipped: Mapping[str, str] | None = None,
    as_of: datetime | None = None,
    source: str = "",
) -> Memo:
    """Write the memo from whichever results are available."""
    learned: list[str] = []
    decisions: list[str] = []
    risks: list[str] = []
    questions: list[str] = []
    if retention is not None:
        learned += _retention_lines(retention)
    if lifecycle is not None:
        learned += _lifecycle_lines(lifecycle)
        small = int(np.sum(lifecycle.small & (np.asarray(lifecycle.dimension) != "all")))
        if small:
            risks.append(
                f"{small} lifecycle group×stage cells have fewer than "
                f"{lifecycle.params.get('min_n')} members: shown greyed, not compared."
            )
    if hva is not None:
        a, b = _hva_lines(hva)
        learned += a
        risks += b
    for card in scorecards:
        d, r, q = _experiment_lines(card)
        decisions += d
        risks += r
        questions += q
    if portfolio is not None:
        ranked = portfolio.ranked()
        if len(ranked):
            top = ranked.iloc[0]
            decisions.append(
                f"Invest next in {top['line']} in {top['geography']}: {top['reason']}."
            )
            if len(ranked) > 1:
                nxt = ranked.iloc[1]
                decisions.append(f"Then {nxt['line']} in {nxt['geography']}: {nxt['reason']}.")
    if ingest is not None:
        bad = sum(c.quarantined for c in ingest.tables)
        if bad:
            risks.append(f"{bad:,} input rows were quarantined at ingest (see the Data section).")
    for step, why in (skipped or {}).items():
        questions.append(f"{step} did not run: {why}.")
    if hva is not None and not questions:
        questions.append(
            "Which of the top high-value actions can a message or feature actually move? "
            "Only an encouragement experiment measures that."
        )
    when = f" as of {as_of:%Y-%m-%d}" if as_of is not None else ""
    context = f"Data: {source or 'dataset'}{when}."
    return Memo(
        "What the data says about keeping members",
        context,
        tuple(learned),
        tuple(decisions) or ("No decision is ready: no experiment was read.",),
        tuple(risks),
        tuple(questions),
    )


def _retention_lines(r: RetentionResult) -> list[str]:
    curve = r.curves.get(None)
    if curve is None or curve.time.size == 0:
        return []
    idx = int(np.searchsorted(curve.time, 89.0, side="right") - 1)
    if idx < 0 or curve.time[-1] < 89:
        return [f"Follow-up ends before day 90 (last day {curve.time[-1]:.0f})."]
    s, lo, hi = curve.survival[idx], curve.ci_low[idx], curve.ci_high[idx]
    med = "not reached" if np.isinf(curve.median) else f"{curve.median:.0f} days"
    n = int(curve.at_risk[0])
    return [
        f"{pct(s)} of {n:,} members are still members after 90 days "
        f"({_conf(curve.alpha)} interval {_ci(lo, hi)}, Kaplan–Meier); median tenure {med}."
    ]


def _lifecycle_lines(lc: LifecycleResult) -> list[str]:
    out = []
    act = lc.stage_rate("activated")
    saved = lc.stage_rate("saved")
    conf = _conf(float(lc.params.get("alpha", 0.05)))
    window = lc.params.get("window_days")
    if np.isfinite(act[0]):
        out.append(
            f"{pct(act[0])} of new members use a high-value action in their first {window} days "
            f"({conf} interval {_ci(act[1], act[2])})."
        )
    if np.isfinite(saved[0]):
        out.append(
            f"{pct(saved[0])} of members who open the cancel flow are still members "
            f"{lc.params.get('save_days')} days later ({conf} interval {_ci(saved[1], saved[2])})."
        )
    # Retention is stated once, from the Kaplan–Meier curve (see _retention_lines).
    return out


def _hva_lines(hva: HvaResult) -> tuple[list[str], list[str]]:
    learned: list[str] = []
    risks: list[str] = []
    conf = _conf(hva.alpha)
    horizon = hva.params.get("horizon_days")
    top = hva.shortlist(3)
    if top:
        parts = [
            f"{e.candidate.name} {e.adjusted_diff * 100:+.1f} "
            f"{_ci(e.adjusted_low, e.adjusted_high, points=True)}"
            for e in top
        ]
        learned.append(
            f"The early actions that keep members (adjusted effect on day-{horizon} "
            f"retention, {conf} intervals): " + "; ".join(parts) + "."
        )
    rows = [
        e
        for e in hva.overall()
        if e.candidate.kind == "action" and np.isfinite(e.naive_diff - e.adjusted_diff)
    ]
    if rows:
        worst = max(rows, key=lambda e: e.naive_diff - e.adjusted_diff)
        if worst.naive_diff - worst.adjusted_diff > 0.02:
            learned.append(
                f"Correlation is not the effect: {worst.candidate.name} looks like "
                f"{_pts(worst.naive_diff)} naively but is {_pts(worst.adjusted_diff)} once who "
                "chooses it is accounted for."
            )
    fragile = [e.candidate.name for e in top if e.e_value_ci < FRAGILE_E_VALUE]
    if fragile:
        risks.append(
            "Fragile to unmeasured confounding (E-value of the interval limit < "
            f"{FRAGILE_E_VALUE}): {', '.join(fragile)}."
        )
    return learned, risks


def _experiment_lines(card: Scorecard) -> tuple[list[str], list[str], list[str]]:
    name = card.spec.name
    decisions: list[str] = []
    risks: list[str] = []
    questions: list[str] = []
    for v in card.verdicts:
        verb = v.decision.replace("_", " ")
        line = f"{name} · {v.variant}: {verb} — {v.reason}"
        if v.decision == "investigate":
            risks.append(line)
        elif v.decision == "keep_running":
            days = f" (≈{v.days_needed:.0f} more days)" if v.days_needed else ""
            questions.append(f"{name} · {v.variant} needs more data{days}.")
        else:
            decisions.append(line)
    return decisions, risks, questions


def data_section(report: IngestReport) -> Section:
    """What was loaded and what was quarantined, with the top reasons."""
    counts = pd.DataFrame([asdict(c) for c in report.tables])
    reasons = pd.DataFrame(report.top_reasons, columns=["table", "reason", "rows"])
    body = table_html(
        counts,
        columns={"table": "Table", "read": "Rows read", "accepted": "Accepted",
                 "quarantined": "Quarantined"},
    )  # fmt: skip
    body += (
        table_html(reasons, columns={"table": "Table", "reason": "Reason", "rows": "Rows"})
        if len(reasons)
        else "<p>No row was quarantined.</p>"
    )
    parts = [f"{c.accepted:,} {c.table}" for c in report.tables]
    bad = sum(c.quarantined for c in report.tables)
    summary = f"Loaded {', '.join(parts)}; {bad:,} rows quarantined."
    return Section("Data", "data", body, summary=summary)


def experiments_index_section(cards: Sequence[Scorecard], ease: Mapping[str, float]) -> Section:
    """Every experiment's hypothesis and outcome in one table (a leader's index)."""
    rows = "".join(
        f"<tr><td><a href='#exp-{html.escape(c.spec.name)}'>{html.escape(c.spec.name)}</a></td>"
        f"<td>{html.escape(c.spec.hypothesis)}</td><td>{html.escape(c.spec.primary.name)}</td>"
        f"<td>{html.escape(c.outcome)}</td></tr>"
        for c in cards
    )
    body = (
        "<table><thead><tr><th>Experiment</th><th>Hypothesis</th><th>Primary metric</th>"
        f"<th>Outcome</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    if ease:
        body += (
            "<p>Ease of encouraging (adoption uplift from encouragement tests, fed to the HVA "
            "score): "
            + ", ".join(
                f"<code>{html.escape(a)}</code> {pct(u, signed=True)}" for a, u in ease.items()
            )
            + "</p>"
        )
    n_ship = sum(v.decision == "ship" for c in cards for v in c.verdicts)
    summary = f"{len(cards)} experiments read; {n_ship} variant(s) to ship."
    return Section("Experiments", "experiments", body, summary=summary)
