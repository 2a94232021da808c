"""`tenure memo`: the one-page memo (what we learned, the decision, risks, questions) as Markdown."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tenure.commands._console import (
    AS_OF_OPTION,
    DATA_OPTION,
    JSON_OPTION,
    MAP_OPTION,
    friendly_errors,
    open_dataset,
    print_json,
)
from tenure.commands.report import SPECS_OPTION


def register(app: typer.Typer) -> None:
    """Add the `memo` command to `app`."""
    app.command("memo")(memo)


def memo(
    data: Annotated[str, DATA_OPTION],
    specs: Annotated[Path | None, SPECS_OPTION] = None,
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the Markdown to FILE.", metavar="FILE")
    ] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Run every analysis on your data and print the one-page memo as Markdown."""
    from tenure.commands.report import specs_for
    from tenure.pipeline import run_analyses

    with friendly_errors():
        dataset = open_dataset(data, as_of=as_of, mapping=mapping)
        analyses = run_analyses(dataset, specs=specs_for(data, specs), source=data)
        result = analyses.memo()
    text = result.to_markdown()
    if out is not None:
        out.write_text(text, encoding="utf-8")
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(text)
