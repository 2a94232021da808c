"""`tenure hva`: which early actions keep members (landmark design, adjusted effects)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from tenure.commands._console import (
    AS_OF_OPTION,
    DATA_OPTION,
    MAP_OPTION,
    console,
    friendly_errors,
    open_dataset,
    print_json,
)


def register(app: typer.Typer) -> None:
    """Add the `hva` command to `app`."""
    app.command("hva")(hva)


def hva(
    data: Annotated[str, DATA_OPTION],
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    window: Annotated[int, typer.Option("--window", help="Action window (days).")] = 7,
    horizon: Annotated[int, typer.Option("--horizon", help="Retention horizon (days).")] = 90,
    by: Annotated[
        str | None, typer.Option("--by", help="Member attribute for per-segment results.")
    ] = None,
    min_support: Annotated[
        float, typer.Option("--min-support", help="Minimum share of members doing a candidate.")
    ] = 0.005,
    top: Annotated[int, typer.Option("--top", help="Rows per segment in the table.")] = 15,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rank candidate actions by naive and covariate-adjusted retention effect and by score."""
    from tenure.hva import discover

    with friendly_errors():
        result = discover(
            open_dataset(data, as_of=as_of, mapping=mapping),
            window=window,
            horizon=horizon,
            by=by,
            min_support=min_support,
        )
    if as_json:
        print_json(result.to_dict())
        return
    frame = result.to_frame()
    segments = [None, *sorted(v for v in frame["segment"].dropna().unique())]
    for segment in segments:
        rows = (
            frame[frame["segment"].isna()]
            if segment is None
            else frame[frame["segment"] == segment]
        )
        title = f"High-value actions (window {window}d, retention at {horizon}d)"
        table = Table(title=title if segment is None else f"{title}: {by} = {segment}")
        table.add_column("candidate")
        for col in ("support", "naive Δ", "adjusted Δ", "95% CI", "q", "E", "score", "HVA"):
            table.add_column(col, justify="right")
        for r in rows.head(top).itertuples(index=False):
            table.add_row(
                r.candidate,
                f"{r.support:.1%}",
                f"{r.naive_diff:+.3f}",
                f"{r.adjusted_diff:+.3f}",
                f"{r.adjusted_low:+.3f}…{r.adjusted_high:+.3f}",
                f"{r.q_value:.2g}",
                f"{r.e_value:.2f}",
                f"{r.score:,.0f}",
                "yes" if r.is_hva else "",
            )
        console.print(table)
    console.print(f"[dim]{result.formula}[/]")
