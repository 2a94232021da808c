"""`tenure retention`: survival with intervals at chosen time points, cohorts, churn by channel."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tenure.commands._console import (
    AS_OF_OPTION,
    DATA_OPTION,
    MAP_OPTION,
    console,
    friendly_errors,
    open_dataset,
    print_json,
)

if TYPE_CHECKING:
    from tenure.retention import RetentionResult

MAX_COHORT_PERIODS = 13
"""Cohort table columns shown in the terminal (period 0 to 12); --json and --out have all."""


def register(app: typer.Typer) -> None:
    """Add the `retention` command to `app`."""
    app.command("retention")(retention)


def _parse_points(text: str | None) -> tuple[int, ...] | None:
    from tenure.errors import SpecError

    if text is None:
        return None
    try:
        points = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise SpecError(f"--at: give whole numbers separated by commas, got {text!r}") from None
    if not points or min(points) < 0:
        raise SpecError(f"--at: give non-negative whole numbers, got {text!r}")
    return points


def retention(
    data: Annotated[str, DATA_OPTION],
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Member attribute to split curves by.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Time points, comma-separated, in --unit (e.g. 1,3,6,12)."),
    ] = None,
    unit: Annotated[
        str, typer.Option("--unit", help="Unit of --at: days, weeks (7 d) or months (30 d).")
    ] = "days",
    cohort: Annotated[
        str, typer.Option("--cohort", help="Signup cohorts by 'month' or 'week'.")
    ] = "month",
    alpha: Annotated[
        float, typer.Option("--alpha", help="Intervals cover 1 - alpha (0.05: 95%).")
    ] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the survival rows to FILE (.csv or .parquet)."),
    ] = None,
) -> None:
    """Kaplan–Meier retention with intervals at chosen time points, cohort retention, churn.

    Retained at day d means still a member d whole days after signup; the table, --json and
    the report all use that convention. Points past the end of follow-up are shown as
    missing, never extrapolated.
    """
    from tenure.errors import SpecError
    from tenure.retention import analyse_retention
    from tenure.settings import Inference

    with friendly_errors():
        if cohort not in ("month", "week"):
            raise SpecError(f"--cohort must be 'month' or 'week', got {cohort!r}")
        if unit not in ("days", "weeks", "months"):
            raise SpecError(f"--unit must be days, weeks or months, got {unit!r}")
        try:
            inference = Inference(alpha=alpha)
        except SpecError as exc:
            raise SpecError(f"--{exc}") from None
        result = analyse_retention(
            open_dataset(data, as_of=as_of, mapping=mapping),
            by=by,
            cohort_unit=cohort,  # type: ignore[arg-type]
            points=_parse_points(at),
            unit=unit,  # type: ignore[arg-type]
            inference=inference,
        )
        if out is not None:
            result.export(out)
    if as_json:
        print_json(result.to_dict())
        return
    print_retention(result)


def _pct(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.1%}"


def print_retention(result: RetentionResult) -> None:
    """The survival table with intervals, the cohort table and churn by channel × period."""
    from rich.table import Table

    level = f"{100 * (1 - float(result.params['alpha'])):.4g}%"
    unit = str(result.params["unit"])
    times = [int(t) for t in result.params["points"]]
    label = {"days": "day", "weeks": "week", "months": "month"}[unit]
    table = Table(
        title=f"Survival (as of {result.as_of:%Y-%m-%d}): share still a member after each "
        f"{label}, {level} intervals"
    )
    table.add_column("segment")
    table.add_column("members", justify="right")
    table.add_column("median tenure (days)", justify="right")
    for t in times:
        table.add_column(f"{label} {t}", justify="right")
    by_segment: dict[str | None, list[str]] = {}
    notes: set[str] = set()
    for p in result.points:
        if p.note:
            by_segment.setdefault(p.segment, []).append("–")
            notes.add(f"{p.segment or 'all'}: {p.note}")
        else:
            by_segment.setdefault(p.segment, []).append(
                f"{_pct(p.retained)} [{_pct(p.ci_low)}, {_pct(p.ci_high)}]"
            )
    for segment, curve in result.curves.items():
        members = int(curve.at_risk[0]) if curve.at_risk.size else 0
        median = "not reached" if math.isinf(curve.median) else f"{curve.median:.0f}"
        table.add_row(segment or "all", f"{members:,}", median, *by_segment.get(segment, []))
    console.print(table)
    if notes:
        console.print("[dim]– not extrapolated; " + "; ".join(sorted(notes)) + "[/]")

    cohorts = result.cohorts
    if not cohorts.empty:
        days = 30 if result.cohort_unit == "month" else 7
        shown = cohorts[cohorts["period"] < MAX_COHORT_PERIODS]
        rate = shown.pivot(index="cohort", columns="period", values="rate")
        size = cohorts[cohorts["period"] == 0].set_index("cohort")["members"]
        t2 = Table(
            title=f"Cohort retention: share of each signup {result.cohort_unit} still a member "
            f"after k periods of {days} days (blank: not yet observable)"
        )
        t2.add_column("cohort")
        t2.add_column("members", justify="right")
        for k in rate.columns:
            t2.add_column(str(k), justify="right")
        for name, row in rate.iterrows():
            n = int(size.get(name, 0))
            t2.add_row(str(name), f"{n:,}", *(_pct(float(v)) for v in row))
        console.print(t2)
        if cohorts["period"].max() >= MAX_COHORT_PERIODS:
            console.print(f"[dim]Periods 0–{MAX_COHORT_PERIODS - 1} shown; --json has all.[/]")

    churn = result.churn_by_channel
    if not churn.empty:
        pivot = churn.pivot(index="segment", columns="period", values="churn")
        pivot = pivot[list(dict.fromkeys(churn["period"]))]
        t3 = Table(title="Churn by channel × tenure period (KM conditional probability)")
        t3.add_column("channel")
        for col in pivot.columns:
            t3.add_column(str(col), justify="right")
        for channel, row in pivot.iterrows():
            t3.add_row(str(channel), *(_pct(float(v)) for v in row))
        console.print(t3)
