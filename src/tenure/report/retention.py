"""Report sections for retention: survival by channel, cohort heat-map, churn by channel × tenure.

:func:`render` only renders a :class:`~tenure.retention.RetentionResult` it is given, in the
result's own day convention ("retained at day d": still a member d days after signup) and
at the confidence level recorded in its settings.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np

from tenure.report.figures import figure_html, new_figure, table_html
from tenure.report.page import Section
from tenure.retention import RetentionResult, retained_at

__all__ = ["churn_section", "cohort_section", "render", "survival_section"]

MIN_AT_RISK = 30
"""Churn cells with fewer members at risk at the period's start are marked as thin."""


def _level(result: RetentionResult) -> str:
    return f"{100 * (1 - float(result.params.get('alpha', 0.05))):.4g}%"


def survival_section(result: RetentionResult) -> Section:
    """KM curves per segment with their log(-log) Greenwood bands, and median tenure."""
    fig = new_figure(7.5, 4.2)
    ax = fig.add_subplot()
    for segment, curve in result.curves.items():
        t = np.concatenate([[0.0], curve.time + 1.0])  # day d shows S(d - 1): the day convention
        s = np.concatenate([[1.0], curve.survival])
        lo = np.concatenate([[1.0], curve.ci_low])
        hi = np.concatenate([[1.0], curve.ci_high])
        style = {"color": "black", "lw": 2.0} if segment is None else {"lw": 1.2}
        (line,) = ax.step(t, s, where="post", label=segment or "all members", **style)
        ax.fill_between(t, lo, hi, step="post", alpha=0.18, color=line.get_color(), lw=0)
    ax.set_xlabel("days since signup")
    ax.set_ylabel("share still a member")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    by = result.by or "segment"
    medians = result.medians().assign(
        segment=lambda f: f["segment"].fillna("all"),
        median=lambda f: f["median"].map(lambda m: "not reached" if np.isinf(m) else f"{m:.0f}"),
    )
    body = figure_html(
        fig,
        alt=f"Kaplan–Meier survival by {by}",
        caption=f"Kaplan–Meier: share still a member d days after signup, by {by}; shaded: "
        f"{_level(result)} Greenwood (log-log) intervals. Curves stop at the end of follow-up.",
    )
    body += "<h3>Median tenure (days)</h3>" + table_html(
        medians, columns={"segment": by.capitalize(), "median": "Median tenure (days)"}
    )
    overall = result.curves[None]
    text = "not reached" if np.isinf(overall.median) else f"{overall.median:.0f} days"
    r90 = retained_at(overall, [90])[0][0]
    at90 = (
        f"{r90:.1%} of members are still members 90 days after signup"
        if np.isfinite(r90)
        else "follow-up ends before day 90"
    )
    return Section(f"Survival by {by}", "survival", body, summary=f"Median tenure {text}; {at90}.")


def cohort_section(result: RetentionResult) -> Section:
    """Heat-map of cohort × period retention; unobservable cells are blank, not zero."""
    grid = result.cohorts.pivot(index="cohort", columns="period", values="rate")
    fig = new_figure(7.5, 0.3 * len(grid) + 1.5)
    ax = fig.add_subplot()
    image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(grid)), grid.index, fontsize=8)
    ax.set_xticks(range(len(grid.columns)), grid.columns, fontsize=8)
    ax.set_ylabel("signup cohort")
    ax.set_xlabel(
        f"period since signup ({result.cohort_unit}s of {30 if result.cohort_unit == 'month' else 7} days)"
    )
    fig.colorbar(image, ax=ax, label="share retained")
    body = figure_html(
        fig,
        alt="Cohort retention heat-map",
        caption="Share of each signup cohort still a member after k periods; blank cells are "
        "not yet observable (censored), not zero.",
    )
    first = result.cohorts[result.cohorts["period"] == 3]
    summary = ""
    if len(first) > 1:
        rates = first["rate"].to_numpy(dtype=float)
        names = first["cohort"].astype(str).to_numpy()
        hi, lo = int(np.argmax(rates)), int(np.argmin(rates))
        summary = (
            f"Three-period retention ranges from {rates[lo]:.1%} ({names[lo]}) "
            f"to {rates[hi]:.1%} ({names[hi]})."
        )
    return Section("Cohort retention", "cohorts", body, summary=summary)


def churn_section(result: RetentionResult) -> Section:
    """Churn by acquisition channel × tenure period: heat-map plus counts at risk."""
    churn = result.churn_by_channel
    if churn.empty:
        return Section("Churn by channel", "churn", "<p>No channel column in members.</p>")
    order = list(dict.fromkeys(churn["period"]))
    rate = churn.pivot(index="segment", columns="period", values="churn")[order]
    risk = churn.pivot(index="segment", columns="period", values="at_risk")[order]
    fig = new_figure(7.5, 0.4 * len(rate) + 1.5)
    ax = fig.add_subplot()
    values = rate.to_numpy(dtype=float)
    at_risk = risk.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", cmap="magma_r")
    ax.set_yticks(range(len(rate)), rate.index, fontsize=8)
    ax.set_xticks(range(len(order)), order, fontsize=8)
    ax.set_xlabel("tenure period (days)")
    ax.set_ylabel("acquisition channel")
    finite = values[np.isfinite(values)]
    mid = float(finite.min() + finite.max()) / 2 if finite.size else 0.0
    thin = False
    for i in range(rate.shape[0]):
        for j in range(rate.shape[1]):
            v = float(values[i, j])
            if v == v:
                few = float(at_risk[i, j]) < MIN_AT_RISK
                thin |= few
                # magma_r is dark at high churn: white text there, black on the light end.
                color = "white" if v > mid else "black"
                label = f"{v:.0%}" + ("*" if few else "")
                ax.text(j, i, label, ha="center", va="center", fontsize=7, color=color)
    bar = fig.colorbar(image, ax=ax, label="churn in period (%)")
    bar.ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    body = figure_html(
        fig,
        alt="Churn by channel and tenure period",
        caption="Probability of leaving within each tenure period given membership at its start "
        "(Kaplan–Meier, so censored members count for the time observed)."
        + (f" * fewer than {MIN_AT_RISK} members at risk: read with care." if thin else ""),
    )
    body += "<h3>Members at risk at the start of each period</h3>"
    risk_frame = risk.reset_index()
    risk_names = {"segment": "Channel", **{c: f"Days {c}" for c in order}}
    body += table_html(risk_frame, columns=risk_names, digits=0)
    first = churn[churn["start"] == 0].set_index("segment")["churn"]
    summary = (
        f"First-week churn is highest for {html.escape(str(first.idxmax()))} ({first.max():.1%}) "
        f"and lowest for {html.escape(str(first.idxmin()))} ({first.min():.1%})."
    )
    return Section("Churn by channel × tenure", "churn", body, summary=summary)


def render(result: RetentionResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """Survival, cohort and churn sections of `result` (renders only; ``truth`` unused)."""
    return [survival_section(result), cohort_section(result), churn_section(result)]
