"""Report section for the lifecycle funnel: stages with intervals, by market, segment and cohort."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tenure.lifecycle import STAGES, LifecycleResult
from tenure.report.figures import figure_html, interval_text, new_figure, pct, table_html
from tenure.report.page import Section

__all__ = ["render"]

_MONEY = {"monthly fees of members", "monthly fees retained", "monthly fees saved"}


def _metric_text(name: str, value: float) -> str:
    if not np.isfinite(value):
        return ""
    if name in _MONEY:
        return f"{name}: {value:,.0f}"
    if name.endswith("rate") or name.endswith("adoption"):
        return f"{name}: {pct(value)}"
    return f"{name}: {value:.1f}"


def _funnel_figure(overall: pd.DataFrame, conf: str) -> str:
    fig = new_figure(7.5, 3.4)
    ax = fig.add_subplot()
    y = np.arange(len(overall))[::-1]
    rate = overall["rate"].to_numpy(float) * 100
    lo = overall["ci_low"].to_numpy(float) * 100
    hi = overall["ci_high"].to_numpy(float) * 100
    ax.barh(y, rate, color="#0969da", alpha=0.8)
    err = np.clip(np.nan_to_num([rate - lo, hi - rate]), 0, None)  # float noise at 0 % / 100 %
    ax.errorbar(rate, y, xerr=err, fmt="none", ecolor="black", capsize=3)
    for yi, r, lo_r, h in zip(y, rate, lo, hi, strict=True):
        if not np.isfinite(r):
            continue
        if r > 80:  # inside the bar, clear of the interval's whisker
            ax.text(lo_r - 1, yi, f"{r:.1f}%", va="center", ha="right", fontsize=8, color="white")
        else:
            ax.text(h + 1.5, yi, f"{r:.1f}%", va="center", fontsize=8)
    ax.set_yticks(y, overall["stage"])
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"members reaching the stage (% of those observable; {conf} Wilson interval)")
    ax.set_ylabel("lifecycle stage")
    ax.set_title("Lifecycle funnel, all members")
    ax.grid(axis="x", alpha=0.3)
    return figure_html(
        fig,
        alt="Lifecycle funnel",
        caption="Each bar is the share of members for whom the stage is observable who reached "
        "it; cancel attempt is among all members, saved among those who attempted.",
    )


def _grid(frame: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Stages as columns, groups as rows: 'rate [low, high]' text, small groups marked."""
    part = frame[frame["dimension"] == dimension]
    rows = []
    for group, g in part.groupby("group", sort=True):
        row: dict[str, Any] = {"group": group, "members": int(g["eligible"].iloc[0])}
        small = False
        for stage, n, rate, few in zip(
            g["stage"], g["eligible"], g["rate"], g["small"], strict=True
        ):
            if stage == "acquired":
                continue
            if few:
                row[str(stage)] = f"n={int(n)} (too few)"
                small = small or stage in ("activated", "retained")
            else:
                row[str(stage)] = pct(float(rate))
        row["_small"] = small
        rows.append(row)
    return pd.DataFrame(rows)


def render(result: LifecycleResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """The funnel overall (figure and table), then per market, segment and signup cohort."""
    del truth  # the simulator's truth has no lifecycle figures to compare with
    p = result.params
    conf = f"{1 - float(p.get('alpha', 0.05)):.0%}"
    frame = result.to_frame()
    overall = result.overall()
    overall = overall.set_index("stage").loc[list(STAGES)].reset_index()
    act = p.get("activation")
    act_text = ", ".join(act) if isinstance(act, list) else str(act)
    cancel = ", ".join(p.get("cancel_actions", []))
    places = ", ".join(p.get("cancel_placements", []))
    body = (
        "<p>How the stages are read from the data: <b>activated</b> = used one of "
        f"<code>{html.escape(act_text)}</code> (the high-value actions) in the first "
        f"{p.get('window_days')} days; <b>engaged</b> = active on at least "
        f"{p.get('engaged_min_days')} distinct days between day {p.get('window_days')} and day "
        f"{p.get('engaged_until_days')}; <b>retained</b> = still a member on day "
        f"{p.get('horizon_days')}; <b>cancel attempt</b> = an event named "
        f"<code>{html.escape(cancel)}</code> or an exposure at placement "
        f"<code>{html.escape(places)}</code>; <b>saved</b> = still a member "
        f"{p.get('save_days')} days after the first attempt. Each rate is among the members "
        "for whom the stage can already be observed, so recent signups are not counted as "
        "lost.</p>"
    )
    body += _funnel_figure(overall, conf)
    shown = overall.assign(
        interval=[interval_text(lo, hi) for lo, hi in zip(overall["ci_low"], overall["ci_high"], strict=True)],
        metric_text=[_metric_text(m, v) for m, v in zip(overall["metric"], overall["metric_value"], strict=True)],
    )  # fmt: skip
    body += table_html(
        shown,
        columns={
            "stage": "Stage",
            "eligible": "Members observable",
            "reached": "Reached",
            "rate": "Rate",
            "interval": f"{conf} interval",
            "metric_text": "Stage metric",
        },
        percent=["rate"],
    )
    titles = {"market": "By market", "segment": "By segment", "cohort": "By signup month"}
    names = {"market": p.get("market"), "segment": p.get("segment"), "cohort": "signup month"}
    notes = {"market": f" ({p.get('market')})", "segment": f" ({p.get('segment')})", "cohort": ""}
    for dim in ("market", "segment", "cohort"):
        grid = _grid(frame, dim)
        if grid.empty:
            continue
        cols = {"group": str(names[dim] or dim).capitalize(), "members": "Members"}
        cols.update({s: s.capitalize() for s in STAGES[1:] if s in grid.columns})
        body += f"<h3>{titles[dim]}{html.escape(notes[dim])}</h3>"
        body += table_html(grid, columns=cols, flag="_small")
    body += (
        f'<p class="note">Groups with fewer than {p.get("min_n")} observable members show their '
        "count instead of a rate (greyed rows).</p>"
    )
    a = result.stage_rate("activated")
    s = result.stage_rate("saved")
    summary = f"{pct(a[0])} of new members activate (an HVA in week one)"
    summary += f"; {pct(s[0])} of cancel attempts are saved." if np.isfinite(s[0]) else "."
    return [Section("Lifecycle funnel", "lifecycle", body, summary=summary)]
