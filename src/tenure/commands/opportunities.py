"""`tenure opportunities`: workarounds members build around the product, and their size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tenure.commands._console import (
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


def register(app: typer.Typer) -> None:
    """Add the `opportunities` command to `app`."""
    app.command("opportunities")(opportunities)


def opportunities(
    data: DataArg,
    roles: Annotated[
        Path | None,
        typer.Option(
            "--roles",
            help="YAML/JSON mapping of action names to roles (export, bring_back, exit, "
            "return, ignore; tokens: false to turn the name rules off).",
        ),
    ] = None,
    min_support: Annotated[
        float, typer.Option("--min-support", help="Minimum share of members doing a pattern.")
    ] = 0.005,
    max_len: Annotated[int, typer.Option("--max-len", help="Longest pattern (steps).")] = 5,
    max_gap: Annotated[
        float, typer.Option("--max-gap", help="Seconds allowed between consecutive steps.")
    ] = 3600.0,
    max_span: Annotated[
        float, typer.Option("--max-span", help="Seconds allowed from first to last step.")
    ] = 7200.0,
    exit_gap: Annotated[
        float, typer.Option("--exit-gap", help="A gap this long (s) inside a session is an exit.")
    ] = 120.0,
    session_gap: Annotated[
        float,
        typer.Option(
            "--session-gap", help="Without session_id, a gap this long (s) ends a session."
        ),
    ] = 1800.0,
    one_step: Annotated[
        float,
        typer.Option("--one-step", help="Seconds the flow would take as one native step."),
    ] = 30.0,
    top: Annotated[int, typer.Option("--top", help="Patterns to report.")] = 20,
    window: Annotated[
        int,
        typer.Option(
            "--window", help="Days after signup in which doing a workaround counts (landmark)."
        ),
    ] = 28,
    horizon: Annotated[
        int, typer.Option("--horizon", help="Retention is compared at this day.")
    ] = 90,
    publish_action: Annotated[
        str | None,
        typer.Option(
            "--publish-action",
            help="Action counted as a publish (default: each workaround's bring-back step).",
        ),
    ] = None,
    follow_up: Annotated[
        int,
        typer.Option(
            "--follow-up",
            help="Days after the window over which publishes per member-week are compared.",
        ),
    ] = 28,
    as_of: AsOfArg = None,
    mapping: MapArg = None,
    as_json: JsonArg = False,
    out: OutArg = None,
) -> None:
    """Mine multi-step patterns (PrefixSpan with time limits), merge variants, size and rank.

    A workaround is an export-like step, an exit (session change, background/foreground or
    a long gap), then a step that brings something back; ranked by the stated score so
    frequent in-app flows do not pass for workarounds.
    """
    from tenure.opportunities import StepRoles, find_workarounds

    with friendly_errors():
        dataset = open_dataset(data, as_of=as_of, mapping=mapping)
        result = find_workarounds(
            dataset,
            roles=StepRoles.load(roles) if roles is not None else None,
            min_support=min_support,
            max_len=max_len,
            max_gap=max_gap,
            max_span=max_span,
            exit_gap=exit_gap,
            session_gap=session_gap,
            one_step_seconds=one_step,
            top=top,
            window=window,
            horizon=horizon,
            publish_action=publish_action,
            follow_up=follow_up,
        )
        write_out(result, out)
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"Opportunities over {result.weeks:.1f} weeks (best score first)")
    table.add_column("steps")
    table.add_column("shape")
    for col in ("members", "per week", "median", "h/week", "h saved/week (CI)", "score"):
        table.add_column(col, justify="right")
    for o in result.opportunities:
        lo, hi = o.hours_saved_ci
        table.add_row(
            escape(" → ".join(o.steps)),
            o.shape,
            f"{o.members:,}",
            f"{o.occurrences_per_week:,.1f}",
            f"{o.median_seconds / 60:.1f} min",
            f"{o.hours_per_week:,.1f}",
            f"{o.hours_saved_per_week:,.1f} ({lo:,.1f}–{hi:,.1f})",
            f"{o.score:,.1f}",
        )
    console.print(table)
    for o in result.workarounds()[:3]:
        parts = [
            f"{kind}: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
            for kind, shares in o.variants.items()
            if shares
        ]
        line = f"[bold]{escape(' → '.join(o.steps))}[/] variants — {escape('; '.join(parts))}"
        ret = o.retention
        if ret and ret.get("effect") is not None:
            lo_r, hi_r = ret["ci"]
            line += (
                f"; retention at {ret['horizon_days']}d {ret['effect']:+.3f} "
                f"[{lo_r:+.3f}, {hi_r:+.3f}] (adjusted association)"
            )
        pub = o.publish_rate
        if pub and pub.get("effect") is not None:
            lo_p, hi_p = pub["ci"]
            d0, d1 = pub["follow_up_days"]
            line += (
                f"; {escape(str(pub['publish_action']))} per member-week on days {d0}–{d1} "
                f"{pub['effect']:+.3f} [{lo_p:+.3f}, {hi_p:+.3f}] (adjusted; naive "
                f"{pub['naive_effect']:+.3f})"
            )
        console.print(line, highlight=False)
        warnings = [
            *(o.retention or {}).get("warnings", []),
            *(o.publish_rate or {}).get("warnings", []),
        ]
        for warning in dict.fromkeys(warnings):
            console.print(f"  [yellow]warning: {escape(str(warning))}[/]", highlight=False)
    if "note" in result.params:
        console.print(f"[yellow]{escape(str(result.params['note']))}[/]")
    console.print(f"[dim]{escape(str(result.params['score_formula']))}[/]", highlight=False)
    console.print(
        "[dim]Roles: export-like / bring-back / exit / return by name tokens "
        "(see --roles to set them); exits also from session changes and gaps; the value "
        "column is not used.[/]"
    )
