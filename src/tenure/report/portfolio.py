"""Report section for the portfolio: product lines × geographies, KPIs and where to invest next."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tenure.portfolio import PortfolioResult
from tenure.report.figures import figure_html, interval_text, new_figure, pct, table_html
from tenure.report.page import Section

__all__ = ["render"]

TOP = 8


def _heatmap(cells: pd.DataFrame, line: str, geography: str, horizon: object) -> str:
    """Retention per line × geography, labels readable on dark cells, small cells hatched."""
    grid = cells.pivot(index="line", columns="geography", values="retention") * 100
    small = cells.pivot(index="line", columns="geography", values="small").fillna(True)
    fig = new_figure(7.5, 0.45 * len(grid) + 1.8)
    ax = fig.add_subplot()
    values = grid.to_numpy(float)
    image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=100)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if not np.isfinite(v):
                continue
            dark = v < 55  # viridis is dark below about the middle: write in white there
            mark = "*" if bool(small.iat[i, j]) else ""
            ax.text(j, i, f"{v:.0f}%{mark}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_yticks(range(len(grid)), grid.index)
    ax.set_xticks(range(grid.shape[1]), grid.columns)
    ax.set_xlabel(f"geography ({geography})")
    ax.set_ylabel(f"product line ({line})")
    ax.set_title(f"Retention on day {horizon} by product line and geography")
    fig.colorbar(image, ax=ax, label=f"retained on day {horizon} (%)")
    return figure_html(
        fig,
        alt="Retention by product line and geography",
        caption="Share of members still a member on the horizon day, per cell; * marks cells "
        "with too few members to compare.",
    )


def render(result: PortfolioResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """The ranked investments with their reasons, the KPI heat-map and the cell table."""
    del truth
    p = result.params
    frame = result.to_frame()
    cells = frame[frame["level"] == "cell"]
    conf = f"{1 - float(p.get('alpha', 0.05)):.0%}"
    ranked = result.ranked().head(TOP)
    body = (
        f"<p>Cells are <b>{html.escape(str(p['line']))}</b> × "
        f"<b>{html.escape(str(p['geography']))}</b>"
        + (f", cut by <b>{html.escape(str(p['segment']))}</b>" if p.get("segment") else "")
        + ". The investment score is stated, not learned: "
        f"<code>{html.escape(str(p['score']))}</code>, i.e. the monthly fees of the members a "
        "cell would additionally keep if its high-value-action adoption reached the target "
        f"({pct(p.get('target_adoption'))}, the {p.get('target_quantile', 0.75):.0%} quantile of "
        "cells).</p>"
    )
    if len(ranked):
        items = "".join(
            f"<li><b>{html.escape(str(r.line))} · {html.escape(str(r.geography))}</b>: "
            f"{html.escape(str(r.reason))}"
            + (f" — in flight here: {html.escape(str(r.in_flight))}" if r.in_flight else "")
            + "</li>"
            for r in ranked.itertuples(index=False)
        )
        body += f"<h3>Where to invest next</h3><ol>{items}</ol>"
    else:
        body += "<p>No cell is below the target adoption: nothing to rank.</p>"
    body += _heatmap(cells, str(p["line"]), str(p["geography"]), p.get("horizon_days"))
    shown = cells.assign(
        interval=[interval_text(lo, hi) for lo, hi in zip(cells["retention_low"], cells["retention_high"], strict=True)],
    ).sort_values(["line", "geography"])  # fmt: skip
    body += "<h3>Every cell</h3>" + table_html(
        shown,
        columns={
            "line": "Product line",
            "geography": "Geography",
            "members": "Members",
            "retention": f"Retained day {p.get('horizon_days')}",
            "interval": f"{conf} interval",
            "hva_adoption": "HVA adoption",
            "monthly_fees": "Monthly fees",
            "in_flight": "Experiments in flight",
        },
        percent=["retention", "hva_adoption"],
        flag="small",
    )
    by_geo = cells.drop_duplicates("geography").sort_values("geography")
    by_geo = by_geo[by_geo["experiments"] != ""]
    if len(by_geo):
        body += f"<h3>Experiments read in each {html.escape(str(p['geography']))}</h3>"
        body += table_html(
            by_geo,
            columns={
                "geography": str(p["geography"]).capitalize(),
                "experiments": "Primary-metric effect in this market (shrunk toward the "
                "random-effects pool) and decision",
            },
        )
    if p.get("segment"):
        seg = frame[(frame["level"] == "segment") & ~frame["small"]]
        seg = seg.sort_values("members", ascending=False).head(20)
        body += f"<h3>Largest {html.escape(str(p['segment']))} segments inside cells</h3>"
        body += table_html(
            seg,
            columns={
                "line": "Product line",
                "geography": "Geography",
                "segment": str(p["segment"]).capitalize(),
                "members": "Members",
                "retention": f"Retained day {p.get('horizon_days')}",
                "hva_adoption": "HVA adoption",
            },
            percent=["retention", "hva_adoption"],
        )
    summary = "No cell ranked for investment."
    if len(ranked):
        top = ranked.iloc[0]
        summary = f"Invest next in {top['line']} · {top['geography']}: {top['reason']}."
    return [Section("Portfolio", "portfolio", body, summary=summary)]
