"""`tenure ideas`: ideas as hypotheses (PR/FAQ files) with their evidence status."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tenure.commands._console import (
    AS_OF_OPTION,
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

_STYLE = {
    "supported": "green",
    "refuted": "red",
    "inconclusive": "yellow",
    "running": "cyan",
    "untested": "dim",
}
IDEAS_OPTION = typer.Option("--ideas", help="Folder of idea files (*.md with front matter).")


def register(app: typer.Typer) -> None:
    """Add the `ideas` command group to `app`."""
    group = typer.Typer(
        help="Ideas as hypotheses: list them with their evidence status, or write a new one.",
        invoke_without_command=True,
        no_args_is_help=False,
    )
    group.callback()(ideas)
    group.command("new")(new)
    app.add_typer(group, name="ideas")


def ideas(
    ctx: typer.Context,
    folder: Annotated[Path, IDEAS_OPTION] = Path("ideas"),
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Dataset to analyse the linked experiments on; without it every idea is "
            "listed as untested.",
            metavar="SRC",
        ),
    ] = None,
    experiments: Annotated[
        Path, typer.Option("--experiments", help="Folder of experiment specs (*.yaml).")
    ] = Path("experiments"),
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
    out: Annotated[Path | None, OUT_OPTION] = None,
) -> None:
    """List ideas with their status — untested, running, supported, refuted, inconclusive."""
    if ctx.invoked_subcommand is not None:
        return
    from tenure.ideas import evaluate_ideas, load_ideas

    with friendly_errors():
        if data is None:
            result = load_ideas(folder)
        else:
            dataset = open_dataset(data, as_of=as_of, mapping=mapping)
            result = evaluate_ideas(dataset, folder, experiments)
        write_out(result, out)
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"Ideas in {folder}")
    for col in ("idea", "stage", "status", "primary metric", "threshold", "evidence"):
        table.add_column(col)
    for i in result.ideas:
        style = _STYLE[i.status]
        evidence = "; ".join(
            f"{e.experiment}{':' + e.variant if e.variant else ''} {e.status}" for e in i.evidence
        )
        table.add_row(
            escape(i.spec.name),
            i.spec.lifecycle_stage,
            f"[{style}]{i.status}[/]",
            escape(i.spec.primary_metric),
            escape(i.spec.threshold),
            escape(evidence or "no linked experiment"),
        )
    console.print(table)
    if data is None:
        console.print(
            "[dim]Statuses need verdicts: add --data SRC to analyse the linked experiments.[/]"
        )


def new(
    name: Annotated[str, typer.Argument(help="File name of the idea (lower case, _ or -).")],
    folder: Annotated[Path, IDEAS_OPTION] = Path("ideas"),
) -> None:
    """Write a PR/FAQ template for NAME (press release, customer FAQ, business FAQ)."""
    from tenure.ideas import new_idea

    with friendly_errors():
        path = new_idea(folder, name)
    err_console.print(f"wrote {escape(str(path))}", highlight=False)
