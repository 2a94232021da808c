"""The `tenure` command line. Each module in `tenure.commands` registers its own commands.

Every failure ends as one line on stderr. A failure the user can fix (bad data, a bad
option, a file that cannot be read) says what and how, and exits 2; anything else is a bug
in Tenure, says so, and exits 1. ``tenure --debug …`` or ``TENURE_DEBUG=1`` shows the
traceback instead.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from contextvars import ContextVar
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

import tenure.commands

__all__ = ["app", "debug_enabled", "describe_failure"]

_DEBUG: ContextVar[bool] = ContextVar("tenure_debug", default=False)


def debug_enabled() -> bool:
    """Whether to show tracebacks: ``--debug`` on this invocation or ``TENURE_DEBUG=1``."""
    if os.environ.get("TENURE_DEBUG", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return _DEBUG.get()


def _is_cli_control(exc: BaseException) -> bool:
    """An exit, abort or usage error: the command-line library handles and prints these."""
    return isinstance(exc, typer.Exit | typer.Abort) or type(exc).__module__.split(".")[0] in (
        "click",
        "typer",
    )


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """The one line to print for `exc`, and the exit code (2: the user can fix it; 1: a bug)."""
    import yaml

    from tenure.errors import TenureError

    if isinstance(exc, TenureError):
        return str(exc), 2
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "re-save it as UTF-8",
            2,
        )
    if isinstance(exc, OSError) and exc.filename is not None:
        why = exc.strerror or type(exc).__name__
        return f"{exc.filename}: {why.lower()}; check the path and its permissions", 2
    if isinstance(exc, yaml.YAMLError):
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"invalid YAML ({first}); fix the file", 2
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller dataset or a machine with more memory", 2
    detail = " ".join(str(exc).split())[:300]
    return (
        f"internal error ({type(exc).__name__}: {detail}); this is a bug in Tenure — rerun "
        "with --debug (or TENURE_DEBUG=1) for the traceback and report it",
        1,
    )


def _flag_type(self: Any, ctx: Any) -> str | None:
    """Help type column for an option: none for a boolean flag (``--json``, not ``<bool>``)."""
    if getattr(self, "is_flag", False):
        return None
    return _display_type_rich(self, ctx)


# Typer 0.29 labels every boolean flag `<bool>` in help, as if it took a value; a flag
# takes none, so the label is dropped for flags only (every other option keeps its type).
_display_type_rich = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


class _TenureGroup(TyperGroup):
    """The root command: turns any exception from a command into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _is_cli_control(exc) or debug_enabled():
                raise
            from tenure.commands._console import print_error

            message, code = describe_failure(exc)
            print_error(message)
            raise typer.Exit(code) from exc


app = typer.Typer(
    name="tenure",
    cls=_TenureGroup,
    help="Tenure: retention analytics, high-value actions and experiments for subscription products.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from tenure import __version__

        typer.echo(f"tenure {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Tenure: retention analytics, high-value actions and experiments for subscription products."""
    _DEBUG.set(debug)


for _info in sorted(pkgutil.iter_modules(tenure.commands.__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"tenure.commands.{_info.name}").register(app)


if __name__ == "__main__":
    app()
