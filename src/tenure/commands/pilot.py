"""`tenure pilot plan|readout` and `tenure anomalies`: pilots and the edge cases in their data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tenure.commands._console import (
    AlphaArg,
    AsOfArg,
    DataArg,
    JsonArg,
    MapArg,
    OutArg,
    console,
    friendly_errors,
    open_dataset,
    print_json,
    write_out,
)

EXPERIMENT_OPTION = typer.Option("--experiment", help="Value of exposures.experiment.")
OUTCOME_OPTION = typer.Option("--outcome", help="Outcome action (default: every action).")


def register(app: typer.Typer) -> None:
    """Add the `pilot` group and the `anomalies` command to `app`."""
    group = typer.Typer(help="Pilots: one site against comparison sites.", no_args_is_help=True)
    group.command("plan")(plan)
    group.command("readout")(readout)
    app.add_typer(group, name="pilot")
    app.command("anomalies")(anomalies)


def plan(
    baseline: Annotated[
        float, typer.Option("--baseline", help="Rate (or mean) without the change.")
    ],
    pilot_traffic: Annotated[
        float, typer.Option("--pilot-traffic", help="Eligible units a day at the pilot site.")
    ],
    comparison_traffic: Annotated[
        float,
        typer.Option("--comparison-traffic", help="Eligible units a day at all comparison sites."),
    ],
    threshold_count: Annotated[
        float | None,
        typer.Option("--threshold-count", help="Success count, e.g. 500 (downloads a day)."),
    ] = None,
    traffic: Annotated[
        float | None,
        typer.Option("--traffic", help="The traffic the count is a share of, e.g. 5000 visitors."),
    ] = None,
    mde: Annotated[float | None, typer.Option("--mde", help="Effect to detect instead.")] = None,
    relative: Annotated[bool, typer.Option("--relative", help="--mde is relative.")] = False,
    variance: Annotated[
        float | None, typer.Option("--variance", help="Per-unit variance of a mean metric.")
    ] = None,
    sites: Annotated[
        int, typer.Option("--comparison-sites", help="Number of comparison sites.")
    ] = 1,
    icc: Annotated[float, typer.Option("--icc", help="Intra-site correlation.")] = 0.0,
    metric: Annotated[str, typer.Option("--metric", help="Name of the metric.")] = "conversion",
    alpha: AlphaArg = 0.05,
    power: Annotated[float, typer.Option("--power")] = 0.8,
    as_json: JsonArg = False,
) -> None:
    """Design a pilot: effect to detect, units and days, thresholds from traffic, read-out."""
    from tenure.experiments.pilot import plan_pilot

    with friendly_errors():
        p = plan_pilot(
            baseline=baseline,
            pilot_daily_traffic=pilot_traffic,
            comparison_daily_traffic=comparison_traffic,
            threshold_count=threshold_count,
            traffic=traffic,
            mde=mde,
            relative=relative,
            variance=variance,
            comparison_sites=sites,
            icc=icc,
            metric=metric,
            alpha=alpha,
            power=power,
        )
    if as_json:
        print_json(p.to_dict())
        return
    for line in p.lines:
        console.print(escape(line), highlight=False)
    console.print("[bold]Pre-registered read-out[/]")
    for k, v in p.readout.items():
        console.print(f"  {k}: {escape(str(v))}", highlight=False)


def anomalies(
    data: DataArg,
    experiment: Annotated[str, EXPERIMENT_OPTION],
    outcome: Annotated[list[str] | None, OUTCOME_OPTION] = None,
    max_members: Annotated[
        int, typer.Option("--max-members-per-key", help="A code used by more members is flagged.")
    ] = 5,
    burst_seconds: Annotated[float, typer.Option("--burst-seconds")] = 1.0,
    burst_events: Annotated[int, typer.Option("--burst-events")] = 20,
    spike_z: Annotated[float, typer.Option("--spike-z")] = 6.0,
    as_of: AsOfArg = None,
    mapping: MapArg = None,
    as_json: JsonArg = False,
    out: OutArg = None,
) -> None:
    """Find shared codes, bursts faster than a human, duplicate exposures and outcome spikes."""
    from tenure.experiments.anomalies import detect_anomalies

    with friendly_errors():
        dataset = open_dataset(data, as_of=as_of, mapping=mapping)
        result = detect_anomalies(
            dataset,
            experiment,
            outcome_actions=outcome or None,
            max_members_per_key=max_members,
            burst_seconds=burst_seconds,
            burst_events=burst_events,
            spike_z=spike_z,
        )
        write_out(result, out)
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"Anomalies in {experiment} ({result.exposed_members:,} exposed members)")
    for col in ("check", "count", "members", "examples"):
        table.add_column(col, justify="right" if col in ("count", "members") else "left")
    for r in result.to_frame().itertuples(index=False):
        table.add_row(str(r.check), f"{r.count:,}", f"{r.members:,}", escape(str(r.examples)))
    console.print(table)


def readout(
    data: DataArg,
    experiment: Annotated[str, EXPERIMENT_OPTION],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome action.")],
    threshold: Annotated[
        float, typer.Option("--threshold", help="Pre-registered effect (relative by default).")
    ],
    absolute: Annotated[
        bool, typer.Option("--absolute", help="The threshold is absolute.")
    ] = False,
    window: Annotated[int, typer.Option("--window", help="Outcome window (days).")] = 14,
    pilot_variant: Annotated[str, typer.Option("--pilot-variant")] = "pilot",
    exclude: Annotated[
        bool,
        typer.Option(
            "--exclude-anomalies/--keep-anomalies",
            help="Decide on the reading without flagged members and spike days (recorded).",
        ),
    ] = True,
    as_of: AsOfArg = None,
    mapping: MapArg = None,
    as_json: JsonArg = False,
    out: OutArg = None,
) -> None:
    """Read a pilot out against its threshold, with and without the anomalies."""
    from tenure.experiments.anomalies import detect_anomalies
    from tenure.experiments.pilot import readout_pilot

    with friendly_errors():
        dataset = open_dataset(data, as_of=as_of, mapping=mapping)
        found = detect_anomalies(dataset, experiment, outcome_actions=[outcome])
        result = readout_pilot(
            dataset,
            experiment=experiment,
            outcome_action=outcome,
            threshold=threshold,
            relative=not absolute,
            window_days=window,
            pilot_variant=pilot_variant,
            anomalies=found,
            exclude=exclude,
        )
        write_out(result, out)
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"Pilot {experiment}: {outcome} per member in {window} days")
    ci = f"{1 - float(result.params['alpha']):.0%} CI"
    for col in ("reading", "comparison", "pilot", "effect", ci, "p"):
        table.add_column(col, justify="left" if col == "reading" else "right")
    for r in result.table.itertuples(index=False):
        table.add_row(
            str(r.reading),
            f"{r.comparison_mean:.3f} (n {r.n_comparison:,})",
            f"{r.pilot_mean:.3f} (n {r.n_pilot:,})",
            f"{r.effect_rel:+.1%}",
            f"{r.ci_rel_low:+.1%}…{r.ci_rel_high:+.1%}",
            f"{r.p_value:.2g}",
        )
    console.print(table)
    console.print(f"[bold]{result.decision}[/]: {escape(result.reason)}", highlight=False)
    ex = result.exclusions
    if ex.get("members_excluded") is not None:
        console.print(
            f"Excluded {ex['members_excluded']:,} members ({escape(str(ex['by_check']))}), "
            f"spike days {escape(', '.join(ex['spike_days_excluded']) or 'none')}; "
            f"{ex['duplicate_exposures_ignored']:,} duplicate exposures ignored"
            + ("" if ex["applied"] else " (not applied: --keep-anomalies)"),
            highlight=False,
        )
