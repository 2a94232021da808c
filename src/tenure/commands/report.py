"""`tenure report`: every analysis on your own data, into one HTML report (and its memo)."""

from __future__ import annotations

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
    progress_bar,
)

if TYPE_CHECKING:
    from tenure.experiments.spec import ExperimentSpec

SPECS_OPTION = typer.Option(
    "--specs",
    help="Folder of experiment specs (*.yaml) to read out; default: DATA/experiments/ if it "
    "exists, else no experiments.",
    metavar="DIR",
)


def register(app: typer.Typer) -> None:
    """Add the `report` command to `app`."""
    app.command("report")(report)


def specs_for(data: str, specs: Path | None) -> list[ExperimentSpec]:
    """The experiment specs to read out: ``--specs DIR``, else ``DATA/experiments/`` if present."""
    from tenure.errors import SpecError
    from tenure.experiments.spec import load_specs

    if specs is not None:
        if not specs.is_dir():
            raise SpecError(f"--specs {specs}: not a folder of experiment specs (*.yaml)")
        return load_specs(specs)
    beside = Path(data) / "experiments"
    return load_specs(beside) if "://" not in data and beside.is_dir() else []


def report(
    data: Annotated[str, DATA_OPTION],
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write index.html and memo.md to.")
    ] = Path("tenure-report"),
    specs: Annotated[Path | None, SPECS_OPTION] = None,
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    title: Annotated[str, typer.Option("--title", help="The report's title.")] = "Retention report",
) -> None:
    """Run every analysis on your data and write an HTML report with its memo on top.

    What the data cannot support (no events, no exposures, a horizon not yet observed) is
    listed in the report and here with the reason.
    """
    from tenure.pipeline import run_analyses, write_html

    with friendly_errors():
        dataset = open_dataset(data, as_of=as_of, mapping=mapping)
        analyses = run_analyses(dataset, specs=specs_for(data, specs), progress=progress_bar)
        files = write_html(
            analyses, out, title=title, subtitle=f"{data}, as of {dataset.as_of:%Y-%m-%d}."
        )
    console.rule("Tenure report")
    for line in files.summary:
        console.print(f"• {line}", highlight=False, markup=False)
    console.print(f"\nReport: [bold]{files.index.resolve()}[/]")
    console.print(f"Memo:   {files.memo.resolve()}", highlight=False)
