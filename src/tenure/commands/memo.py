"""`tenure memo`: the one-page memo (what we learned, the decision, risks, questions) as Markdown."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tenure.commands._console import friendly_errors, print_json


def register(app: typer.Typer) -> None:
    """Add the `memo` command to `app`."""
    app.command("memo")(memo)


def memo(
    data: Annotated[str, typer.Option("--data", help="Folder, DuckDB file or Ibis URL.")],
    specs: Annotated[
        Path | None,
        typer.Option("--specs", help="Folder of experiment specs (default: DATA/experiments/)."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="End of observation (UTC); default: the data's latest."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the Markdown to this file too.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the memo as JSON.")] = False,
) -> None:
    """Run every analysis on your data and print the one-page memo as Markdown."""
    from tenure.commands.report import open_data, specs_for
    from tenure.pipeline import run_analyses

    with friendly_errors():
        dataset = open_data(data, as_of)
        analyses = run_analyses(dataset, specs=specs_for(data, specs), source=data)
        result = analyses.memo()
    text = result.to_markdown()
    if out is not None:
        out.write_text(text, encoding="utf-8")
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(text)
