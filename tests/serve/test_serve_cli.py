"""`tenure serve` refuses bad options with one line and exit 2, before it listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()


def test_serve_is_registered_with_its_options() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--data", "--catalogue", "--policy", "--log", "--api-keys", "--port"):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clock", "lunar"], "--clock must be 'wall' or 'data'"),
        (["--max-batch", "0"], "--max-batch must be at least 1"),
        (["--log", "decisions.txt"], "name a .duckdb or .sqlite file"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "2", "--log", "d.duckdb"], "--workers above 1 needs a .sqlite log"),
    ],
)
def test_bad_options_are_one_line_errors(
    world: Path, keys_file: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    base = ["serve", "--data", str(world), "--api-keys", str(keys_file)]
    result = runner.invoke(app, [*base, "--log", str(tmp_path / "l.sqlite"), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_an_existing_file_is_never_overwritten(
    world: Path, keys_file: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "orders.sqlite"
    precious.write_bytes(b"not a database, but someone's file")
    result = runner.invoke(
        app, ["serve", "--data", str(world), "--api-keys", str(keys_file), "--log", str(precious)]
    )
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert precious.read_bytes() == b"not a database, but someone's file"


def test_no_keys_is_refused(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENURE_API_KEYS", raising=False)
    result = runner.invoke(
        app, ["serve", "--data", str(world), "--log", str(tmp_path / "l.sqlite")]
    )
    assert result.exit_code == 2 and "no API keys" in result.output
