"""`tenure ingest`: validate a folder of files and load the good rows into DuckDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tenure.commands._console import console, friendly_errors, print_json, progress_bar


def register(app: typer.Typer) -> None:
    """Add the `ingest` command to `app`."""
    app.command("ingest")(ingest)


def ingest(
    src: Annotated[Path, typer.Argument(help="Folder with members/events/exposures files.")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB file to write.")],
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="End of observation (UTC); later rows are quarantined."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print counts as JSON.")] = False,
) -> None:
    """Validate every row against the data contract; bad rows go to the `quarantine` table."""
    from datetime import UTC

    from tenure.store import ingest as run_ingest

    bound = as_of.replace(tzinfo=UTC) if as_of and as_of.tzinfo is None else as_of
    with friendly_errors(), progress_bar("ingest") as update:
        report = run_ingest(src, db, as_of=bound, progress=update)
    if as_json:
        print_json(report.to_dict())
        return
    table = Table(title=f"Ingested into {report.db} (as_of {report.as_of:%Y-%m-%d %H:%M} UTC)")
    for column in ("table", "read", "accepted", "quarantined"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for c in report.tables:
        table.add_row(c.table, f"{c.read:,}", f"{c.accepted:,}", f"{c.quarantined:,}")
    console.print(table)
    for tbl, reason, rows in report.top_reasons:
        console.print(f"  quarantined {rows:,} {tbl} row(s): {reason}")
    if report.top_reasons:
        console.print("  Every quarantined row, with file and line: SELECT * FROM quarantine")
