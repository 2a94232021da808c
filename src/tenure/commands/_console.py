"""Shared console helpers: progress bars, JSON output and turning Tenure errors into exits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tenure.errors import TenureError

console = Console()
err_console = Console(stderr=True)


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
    """Print `payload` as JSON on stdout (NaN becomes null, as JSON requires)."""
    typer.echo(json.dumps(_clean(payload), indent=2, default=str))


def _clean(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show a Tenure error as one clear line and exit 2, instead of a traceback."""
    try:
        yield
    except TenureError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from exc
