"""`tenure hva`: which early actions keep members (landmark design, adjusted effects)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tenure.commands._console import (
    AS_OF_OPTION,
    DATA_OPTION,
    JSON_OPTION,
    MAP_OPTION,
    OUT_OPTION,
    console,
    err_console,
    friendly_errors,
    open_dataset,
    print_json,
    write_out,
)

if TYPE_CHECKING:
    from tenure.hva import HvaEstimate, HvaResult


def register(app: typer.Typer) -> None:
    """Add the `hva` command to `app`."""
    app.command("hva")(hva)


def _pct(x: float) -> str:
    return "" if x != x else f"{x:+.1%}"


def _table(rows: tuple[HvaEstimate, ...], title: str, conf: str) -> Table:
    table = Table(title=title)
    table.add_column("candidate")
    table.add_column("compared")
    for col in ("support", "naive Δ", "adjusted Δ", f"{conf} CI", "q (BH)", "max |SMD|", "status"):
        table.add_column(col, justify="right")
    for e in rows:
        state: str = "HVA" if e.is_hva else e.status if e.status != "ok" else ""
        if e.status == "ok" and not e.balanced:
            state = "imbalanced"
        elif e.status == "ok" and not e.overlap:
            state = "thin overlap"
        table.add_row(
            escape(e.candidate.name),
            escape(e.candidate.contrast),
            f"{e.support:.1%}",
            _pct(e.naive_diff),
            _pct(e.adjusted_diff),
            f"{_pct(e.adjusted_low)}…{_pct(e.adjusted_high)}",
            "" if e.q_value != e.q_value else f"{e.q_value:.2g}",
            f"{e.max_smd_after:.2f}",
            state,
        )
    return table


def _print(result: HvaResult, top: int) -> None:
    p = result.params
    conf = f"{1 - result.alpha:.0%}"
    head = f"window {p['window_days']}d, retention at day {p['horizon_days']}"
    short = result.shortlist(5)
    console.print(_table(short, f"High-value actions to act on ({head})", conf))
    console.print(
        f"[dim]{len(result.hvas())} of {len(result.overall())} candidates pass (interval above 0, "
        f"q < {result.alpha:g}, enough events, balanced, overlapping, positive score); listed: the "
        "best per action.[/]"
    )
    console.print(
        _table(result.overall()[:top], f"All candidates, best score first ({head})", conf)
    )
    seg_values = sorted({e.segment.value for e in result.estimates if e.segment is not None})
    for value in seg_values:
        rows = result.segment(value)[:top]
        console.print(_table(rows, f"{p['by']} = {value}", conf))
    adjusted = ", ".join(p["adjust_for"])
    how = "as given (--adjust-for)" if p["adjustment_explicit"] else "default: every member column"
    console.print(f"adjusted for: {escape(adjusted)} [dim]({how})[/]")
    inside = sorted({k.split("^")[0] for k, v in p.get("within_stratum", {}).items() if v})
    if inside:
        moved = max((abs(e.within_stratum) for e in result.overall()), default=0.0)
        console.print(
            f"[dim]within strata: a member-level index of {escape(', '.join(inside))} "
            f"(it moved an effect by at most {moved:.4f})[/]"
        )
    for w in result.warnings:
        err_console.print(f"[bold yellow]warning:[/] {escape(w)}", highlight=False)
    flagged = [e for e in result.overall()[:top] if not (e.balanced and e.overlap)]
    for e in flagged:
        err_console.print(
            f"[bold yellow]warning:[/] {escape(e.candidate.name)}: {escape('; '.join(e.warnings))}",
            highlight=False,
        )


def hva(
    data: Annotated[str, DATA_OPTION],
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    window: Annotated[int, typer.Option("--window", help="Action window (days).")] = 7,
    horizon: Annotated[int, typer.Option("--horizon", help="Retention horizon (days).")] = 90,
    by: Annotated[
        str | None, typer.Option("--by", help="Member attribute for per-segment results.")
    ] = None,
    adjust_for: Annotated[
        str | None,
        typer.Option(
            "--adjust-for",
            help="Member attributes to adjust for, comma-separated (default: every member "
            "column; early activity and pre-signup history are always added).",
        ),
    ] = None,
    pair_days: Annotated[
        int | None,
        typer.Option(
            "--pair-days",
            help="Pairs: both actions first used within these days "
            "(default: the window; 0 drops pairs).",
        ),
    ] = None,
    timing: Annotated[
        bool,
        typer.Option(
            "--timing",
            help="Also estimate 'first used on day k vs not in the window' for each action "
            "and day of the window (as soon as possible?).",
        ),
    ] = False,
    min_support: Annotated[
        float, typer.Option("--min-support", help="Minimum share of members doing a candidate.")
    ] = 0.005,
    alpha: Annotated[
        float, typer.Option("--alpha", help="1 - interval coverage; also the q-value cut.")
    ] = 0.05,
    top: Annotated[int, typer.Option("--top", help="Rows per table.")] = 15,
    as_json: Annotated[bool, JSON_OPTION] = False,
    out: Annotated[Path | None, OUT_OPTION] = None,
) -> None:
    """Rank early actions by naive and covariate-adjusted retention effect, with diagnostics."""
    from tenure.hva import discover

    with friendly_errors():
        dataset = open_dataset(data, as_of=as_of, mapping=mapping)
        cols = [c.strip() for c in adjust_for.split(",") if c.strip()] if adjust_for else None
        result = discover(
            dataset,
            window=window,
            horizon=horizon,
            by=by,
            min_support=min_support,
            adjust_for=cols,
            pair_days=window if pair_days is None else pair_days,
            alpha=alpha,
            timing=timing,
        )
        write_out(result, out)
    if as_json:
        print_json(result.to_dict())
        return
    _print(result, top)
