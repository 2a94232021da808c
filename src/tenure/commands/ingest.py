"""`tenure ingest`: validate a folder of files and load the good rows into DuckDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tenure.commands._console import (
    AS_OF_OPTION,
    JSON_OPTION,
    MAP_OPTION,
    console,
    escape,
    friendly_errors,
    print_error,
    print_json,
    progress_bar,
)


def register(app: typer.Typer) -> None:
    """Add the `ingest` command to `app`."""
    app.command("ingest")(ingest)


def ingest(
    src: Annotated[Path, typer.Argument(help="Folder with members/events/exposures files.")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB file to write.")],
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Validate every row against the data contract; bad rows go to the `quarantine` table.

    Exits 2 when no member row could be accepted (the quarantine is written all the same,
    so every rejected row can be inspected).
    """
    from tenure.store import ingest as run_ingest

    with friendly_errors(), progress_bar("ingest") as update:
        report = run_ingest(src, db, as_of=as_of, progress=update, mapping=mapping)
    if as_json:
        print_json(report.to_dict())
    else:
        title = f"Ingested into {report.db} (as_of {report.as_of:%Y-%m-%d %H:%M} UTC)"
        table = Table(title=escape(title))
        for column in ("table", "read", "accepted", "quarantined"):
            table.add_column(column, justify="left" if column == "table" else "right")
        for c in report.tables:
            table.add_row(c.table, f"{c.read:,}", f"{c.accepted:,}", f"{c.quarantined:,}")
        console.print(table)
        for (tbl, rule, rows), example in zip(report.top_reasons, report.examples, strict=False):
            console.print(
                f"  quarantined {rows:,} {tbl} row(s): {escape(rule)} (e.g. {escape(example)})",
                highlight=False,
            )
        if report.top_reasons:
            console.print("  Every quarantined row, with file and line: SELECT * FROM quarantine")
        if report.pre_signup:
            console.print(
                f"  {report.pre_signup:,} events before signup kept as pre-signup history"
            )
        for path, why in report.skipped:
            console.print(f"  skipped {escape(path)}: {escape(why)}", highlight=False)
    members = next((c for c in report.tables if c.table == "members"), None)
    if members is not None and members.accepted == 0:
        print_error(
            f"no member row was accepted ({members.read:,} read); every rejected row is in "
            f"the quarantine table of {report.db}"
        )
        raise typer.Exit(2)
