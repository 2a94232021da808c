"""The `tenure` command line. Each module in `tenure.commands` registers its own commands."""

from __future__ import annotations

import importlib
import pkgutil

import typer

import tenure.commands

app = typer.Typer(
    name="tenure",
    help="Tenure: retention analytics, high-value actions and experiments for subscription products.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _info in sorted(pkgutil.iter_modules(tenure.commands.__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"tenure.commands.{_info.name}").register(app)
