"""Shared pieces of every command: opening a dataset, the common options, output, errors.

Every analysis command opens its data with :func:`open_dataset` and declares the common
options with the ``*Arg`` annotations (the ``*_OPTION`` values inside them), so ``--data``, ``--as-of``, ``--map``, ``--json`` and
``--out`` mean the same thing everywhere::

    def retention(
        data: DataArg,
        as_of: AsOfArg = None,
        mapping: MapArg = None,
        as_json: JsonArg = False,
        out: OutArg = None,
    ) -> None:
        with friendly_errors():
            ds = open_dataset(data, as_of=as_of, mapping=mapping)
            ...

Errors a user can cause print as one line (``error: …``) and exit 2; the values in them
are printed literally (a value like ``[/b]`` is not read as console markup).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tenure.errors import TenureError

if TYPE_CHECKING:
    from tenure.results import Result
    from tenure.store import Dataset

__all__ = [
    "AS_OF_OPTION",
    "DATA_OPTION",
    "JSON_OPTION",
    "MAP_OPTION",
    "OUT_OPTION",
    "AlphaArg",
    "AsOfArg",
    "DataArg",
    "JsonArg",
    "MapArg",
    "OutArg",
    "console",
    "err_console",
    "escape",
    "friendly_errors",
    "open_dataset",
    "parse_as_of",
    "print_error",
    "print_json",
    "progress_bar",
    "write_out",
]

console = Console()
err_console = Console(stderr=True)


def parse_as_of(text: str | datetime | None) -> datetime | None:
    """A UTC `datetime` from ISO 8601 text in the forms the data contract accepts.

    >>> parse_as_of("2025-01-31T09:30:00+02:00").isoformat()
    '2025-01-31T07:30:00+00:00'
    >>> parse_as_of("2025-01-31").isoformat()
    '2025-01-31T00:00:00+00:00'
    """
    if text is None or isinstance(text, datetime):
        if isinstance(text, datetime) and text.tzinfo is None:
            return text.replace(tzinfo=UTC)
        return text.astimezone(UTC) if text is not None else None
    from tenure.schema import TIMESTAMP_PATTERN, YEAR_RANGE

    m = re.match(TIMESTAMP_PATTERN, text.strip())
    bad = typer.BadParameter(
        f"{text!r} is not a UTC timestamp (expected ISO 8601, e.g. 2025-01-31 or "
        "2025-01-31T09:30:00Z)",
        param_hint="--as-of",
    )
    if m is None:
        raise bad
    date, hm, sec, offset = m.groups()
    try:
        naive = datetime.fromisoformat(f"{date}T{hm or '00:00'}:{(sec or '00')[:9]}")
    except ValueError as exc:
        raise bad from exc
    if not YEAR_RANGE[0] <= naive.year <= YEAR_RANGE[1]:
        raise bad
    minutes = 0
    if offset and offset not in ("Z", "z", "UTC"):
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) == 4 else 0)
        minutes *= -1 if offset[0] == "-" else 1
    return naive.replace(tzinfo=timezone(timedelta(minutes=minutes))).astimezone(UTC)


DATA_OPTION = typer.Option(
    "--data",
    help="Dataset: a folder of CSV/Parquet files (checked against the data contract), "
    "a .duckdb file written by `tenure ingest`, or an Ibis URL.",
    metavar="SRC",
)
AS_OF_OPTION = typer.Option(
    "--as-of",
    help="End of observation (ISO 8601; no offset means UTC). Later signups, events and "
    "exposures are left out and later endings count as still active. Default: the as_of "
    "recorded by ingest, else the latest timestamp in the data.",
    parser=parse_as_of,
    metavar="TIMESTAMP",
)
MAP_OPTION = typer.Option(
    "--map",
    help="Column mapping for files that use other names: 'user_id=member_id,…' "
    "(or 'events.user_id=member_id' for one table), or a YAML file.",
    metavar="SRC=DEST,…|FILE.yaml",
)
JSON_OPTION = typer.Option("--json", help="Print the result as JSON.")
OUT_OPTION = typer.Option(
    "--out", help="Also write the result table to FILE (.csv or .parquet).", metavar="FILE"
)

# The common options as parameter annotations: one line per option in every command.
DataArg = Annotated[str, DATA_OPTION]
AsOfArg = Annotated[datetime | None, AS_OF_OPTION]
MapArg = Annotated[str | None, MAP_OPTION]
JsonArg = Annotated[bool, JSON_OPTION]
OutArg = Annotated[Path | None, OUT_OPTION]
AlphaArg = Annotated[float, typer.Option("--alpha", help="1 - interval coverage (0.05: 95%).")]


def open_dataset(
    data: str, *, as_of: datetime | None = None, mapping: str | None = None
) -> Dataset:
    """Open `data` for an analysis command: validated, observed up to `as_of`, non-empty.

    A folder is checked with the very rules `tenure ingest` applies and refused (one line
    naming the first bad row) when any row breaks them; an ingested ``.duckdb`` file was
    checked when it was written. With `as_of`, the data are seen as they stood then (see
    `tenure.store.connect.observe_until`).

    Raises
    ------
    DataContractError
        When the source cannot be opened, breaks the contract, or has no members.
    """
    from tenure.errors import DataContractError
    from tenure.store import connect
    from tenure.store.connect import observe_until

    dataset = connect(data, mapping=mapping)
    for path, why in dataset.skipped:
        err_console.print(f"note: skipped {escape(path)}: {escape(why)}", highlight=False)
    if as_of is not None:
        dataset = observe_until(dataset, parse_as_of(as_of) or dataset.as_of)
    if not int(dataset.members.count().to_pyarrow().as_py()):
        raise DataContractError(
            f"{data} has no members"
            + (" who signed up by --as-of" if as_of is not None else "")
            + "; there is nothing to analyse"
        )
    return dataset


def write_out(result: Result, out: Path | None) -> None:
    """Write `result` to `out` (``--out``) when given, and say where."""
    if out is not None:
        path = result.export(out)
        err_console.print(f"wrote {escape(str(path))}", highlight=False)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[str, float], None]]:
    """A progress bar for one step; yields `update(detail, fraction_done)`."""
    with Progress(
        TextColumn("[bold]{task.fields[label]:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task("", total=1.0, label=label)

        def update(detail: str, fraction: float) -> None:
            progress.update(task, completed=min(max(fraction, 0.0), 1.0), description=detail)

        yield update
        progress.update(task, completed=1.0, description="done")


def print_json(payload: Any) -> None:
    """Print `payload` as JSON on stdout, with the package's one NaN policy (NaN → null)."""
    from tenure.results import json_safe

    typer.echo(json.dumps(json_safe(payload), indent=2, default=str))


def print_error(message: str) -> None:
    """Print `message` as one ``error:`` line on stderr, its text taken literally."""
    one_line = " ".join(str(message).split())
    err_console.print(f"[bold red]error:[/] {escape(one_line)}", soft_wrap=True, highlight=False)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show a Tenure error as one clear line and exit 2, instead of a traceback."""
    try:
        yield
    except TenureError as exc:
        from tenure.cli import debug_enabled

        if debug_enabled():
            raise
        print_error(str(exc))
        raise typer.Exit(2) from exc
