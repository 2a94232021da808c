"""`tenure retention`: survival curves, median tenure, cohorts and churn by channel."""

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
    """Add the `retention` command to `app`."""
    app.command("retention")(retention)


def retention(
    data: Annotated[str, DATA_OPTION],
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Member attribute to split curves by.")
    ] = None,
    cohort: Annotated[
        str, typer.Option("--cohort", help="Signup cohorts by 'month' or 'week'.")
    ] = "month",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Kaplan–Meier survival with 95% intervals, cohort retention and churn by channel × tenure."""
    from tenure.errors import SpecError
    from tenure.retention import analyse_retention

    with friendly_errors():
        if cohort not in ("month", "week"):
            raise SpecError(f"--cohort must be 'month' or 'week', got {cohort!r}")
        ds = open_dataset(data, as_of=as_of, mapping=mapping)
        result = analyse_retention(ds, by=by, cohort_unit=cohort)  # type: ignore[arg-type]
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"Survival (as of {result.as_of:%Y-%m-%d})")
    for col in ("segment", "members", "median tenure (days)", "S(30)", "S(90)", "S(180)", "S(365)"):
        table.add_column(col, justify="left" if col == "segment" else "right")
    for segment, curve in result.curves.items():
        members = int(curve.at_risk[0]) if curve.at_risk.size else 0
        s = curve.at([29, 89, 179, 364])
        median = "not reached" if curve.median == float("inf") else f"{curve.median:.0f}"
        table.add_row(segment or "all", f"{members:,}", median, *(f"{v:.1%}" for v in s))
    console.print(table)
    churn = result.churn_by_channel
    if not churn.empty:
        pivot = churn.pivot(index="segment", columns="period", values="churn")
        pivot = pivot[list(dict.fromkeys(churn["period"]))]
        t2 = Table(title="Churn by channel × tenure period (KM conditional probability)")
        t2.add_column("channel")
        for col in pivot.columns:
            t2.add_column(str(col), justify="right")
        for channel, row in pivot.iterrows():
            t2.add_row(str(channel), *("" if v != v else f"{v:.1%}" for v in row))
        console.print(t2)
