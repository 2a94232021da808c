"""`tenure demo`: the whole pipeline on a simulated world, ending in an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tenure.commands._console import console, friendly_errors, progress_bar


def register(app: typer.Typer) -> None:
    """Add the `demo` command to `app`."""
    app.command("demo")(demo)


def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the world, database and report.")
    ] = Path("tenure-demo"),
    members: Annotated[
        int, typer.Option("--members", min=1000, help="Members to simulate.")
    ] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the world.")] = 7,
) -> None:
    """Simulate a world, load it into DuckDB, run every analysis and write the report."""
    from tenure.demo import run_demo

    with friendly_errors():
        result = run_demo(out, members=members, seed=seed, progress=progress_bar)
    console.rule("Tenure demo")
    for line in result.summary:
        console.print(f"• {line}", highlight=False, markup=False)
    total = sum(result.seconds.values())
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    console.print(f"\nTime: {steps}", highlight=False, markup=False)
    console.print(f"Report: [bold]{result.report.resolve()}[/]  ({total:.1f} s in all)")
    console.print(f"Memo:   {result.memo.resolve()}", highlight=False)
