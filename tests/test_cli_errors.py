"""The command line's failure contract: one line, exit 2 for the user's input, 1 for a bug.

Also: ``--debug`` / ``TENURE_DEBUG=1`` show the traceback, user values are printed
literally (no console markup), ``--version``, flags shown as flags, shell completion, and
``tenure ingest`` working without the ``pytz`` module (a runtime install has none).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import tenure
import tenure.cli
from tenure.cli import app, describe_failure

runner = CliRunner()

MEMBERS = "member_id,signup_at\nm1,2024-01-01\nm2,[/b]\n"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tenure {tenure.__version__}"


def test_user_values_are_printed_literally_not_as_markup(tmp_path: Path) -> None:
    (tmp_path / "members.csv").write_text(MEMBERS)
    result = runner.invoke(app, ["retention", "--data", str(tmp_path)])
    assert result.exit_code == 2
    (line,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: ")
    assert "signup_at '[/b]' is not a UTC timestamp" in line
    result = runner.invoke(app, ["ingest", str(tmp_path), "--db", str(tmp_path / "t.duckdb")])
    assert result.exit_code == 0, result.output
    assert "[/b]" in result.stdout


# A separate app with the same root group and callback, plus a command that has a bug.
buggy = typer.Typer(cls=tenure.cli._TenureGroup)
buggy.callback()(tenure.cli._root)


@buggy.command("boom")
def _boom() -> None:
    raise RuntimeError("kaboom [/b]")


@buggy.command("fine")
def _fine() -> None:
    typer.echo("fine")


def test_a_bug_is_one_line_exit_1_and_says_how_to_see_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TENURE_DEBUG", raising=False)
    result = runner.invoke(buggy, ["boom"])
    assert result.exit_code == 1
    (line,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: internal error (RuntimeError: kaboom [/b])")
    assert "--debug" in line and "TENURE_DEBUG=1" in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "env":
        monkeypatch.setenv("TENURE_DEBUG", "1")
        result = runner.invoke(buggy, ["boom"])
    else:
        monkeypatch.delenv("TENURE_DEBUG", raising=False)
        result = runner.invoke(buggy, ["--debug", "boom"])
    assert isinstance(result.exception, RuntimeError)


def test_debug_shows_the_traceback_of_a_user_error_too(tmp_path: Path) -> None:
    from tenure.errors import DataContractError

    (tmp_path / "members.csv").write_text(MEMBERS)
    result = runner.invoke(app, ["--debug", "retention", "--data", str(tmp_path)])
    assert isinstance(result.exception, DataContractError)


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid continuation byte"), 2, "UTF-8"),
        (PermissionError(13, "Permission denied", "/x/members.csv"), 2, "/x/members.csv"),
        (MemoryError(), 2, "out of memory"),
        (KeyError("segment"), 1, "internal error (KeyError"),
    ],
)
def test_failures_are_classified(exc: BaseException, code: int, text: str) -> None:
    message, got = describe_failure(exc)
    assert got == code
    assert text in message


def test_boolean_flags_show_as_flags_in_help() -> None:
    # Typer labels flags `<bool>` unless told otherwise; the fix is global, so a sample of
    # commands (each with several flags) stands for all of them.
    for path in ([], ["ingest"], ["retention"], ["hva"], ["simulate"], ["experiment", "analyze"]):
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert "--json" in result.output or "--debug" in result.output
        assert "<bool>" not in result.output, path


def test_shell_completion_is_offered() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output
    assert "--show-completion" in result.output


def test_every_analysis_command_takes_as_of_and_map() -> None:
    for path in (["retention"], ["hva"], ["experiment", "analyze"]):
        text = runner.invoke(app, [*path, "--help"], terminal_width=200).output
        for option in ("--data", "--as-of", "--map", "--json"):
            assert option in text, (path, option)


def test_ingest_and_an_analysis_work_without_pytz(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "members.csv").write_text(
        "member_id,signup_at,ended_at\nm1,2024-01-01,\nm2,2024-01-02,2024-03-01\n"
    )
    db = tmp_path / "t.duckdb"
    runs = [["ingest", str(tmp_path / "data"), "--db", str(db)], ["retention", "--data", str(db)]]
    code = (
        # pandas < 3 (the dev install) imports pytz itself; once it is loaded, importing
        # pytz fails for everyone else (DuckDB) exactly as on a runtime install.
        "import sys, pandas; sys.modules['pytz'] = None\n"
        "from tenure.cli import app\n"
        f"for args in {runs!r}:\n"
        "    app(args, standalone_mode=False)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert db.exists()
    assert "Survival" in done.stdout


def test_a_fifo_in_a_part_folder_is_skipped_not_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "events").mkdir(parents=True)
    (data / "members.csv").write_text("member_id,signup_at\nm1,2024-01-01\n")
    (data / "events" / "part-0.csv").write_text("member_id,ts,action\nm1,2024-01-02,a\n")
    os.mkfifo(data / "events" / "part-1.csv")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenure.cli",
            "ingest",
            str(data),
            "--db",
            str(tmp_path / "t.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=120,  # a FIFO opened for reading would block forever
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "skipped events/part-1.csv: not a regular file" in " ".join(done.stdout.split())
