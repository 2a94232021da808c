"""`tenure simulate`: write a truth-known subscription world to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenure.commands._console import console, friendly_errors, print_json, progress_bar


def register(app: typer.Typer) -> None:
    """Add the `simulate` command to `app`."""
    app.command("simulate")(simulate)


def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the world to.")],
    members: Annotated[
        int, typer.Option("--members", min=100, help="Members to simulate.")
    ] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same files.")] = 7,
    variant: Annotated[
        str,
        typer.Option(
            "--variant",
            help="World conventions: default, all_benefits, no_benefit_column, "
            "small_first_sessions, large_first_sessions, renewals, heavy_tail, frailty, "
            "cohort_trend.",
        ),
    ] = "default",
    product_bets: Annotated[
        bool,
        typer.Option(
            "--product-bets",
            help="Also plant a workaround and a pilot experiment with abuse (truth in "
            "truth_workarounds.json and truth_abuse.json).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Simulate members, events and experiments whose causal truth is known (truth.json)."""
    from tenure.simulate import WorldConfig, simulate_world

    with friendly_errors(), progress_bar("simulate") as update:
        config = WorldConfig.variant(
            variant, n_members=members, seed=seed, product_bets=product_bets
        )
        summary = simulate_world(out, config, progress=update)
    if as_json:
        print_json(summary.to_dict())
    else:
        console.print(
            f"Wrote a world of {members:,} members to [bold]{out}[/] (truth in truth.json)."
        )
