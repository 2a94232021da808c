"""The command line end to end: simulate → ingest → demo on a small world."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tenure.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "world"
    result = runner.invoke(
        app, ["simulate", "--members", "3000", "--seed", "11", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_simulate_writes_the_contract_tables_and_truth(world: Path) -> None:
    for name in (
        "members.parquet",
        "events.parquet",
        "exposures.parquet",
        "benefits.csv",
        "truth.json",
    ):
        assert (world / name).is_file(), name
    truth = json.loads((world / "truth.json").read_text())
    assert truth["n_members"] == 3000


def test_ingest_accepts_a_clean_world_and_reports_counts(world: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["ingest", str(world), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["members"] == {
        "table": "members",
        "read": 3000,
        "accepted": 3000,
        "quarantined": 0,
    }
    assert by_table["events"]["accepted"] == by_table["events"]["read"] > 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_ingest_of_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", str(tmp_path / "nope"), "--db", str(tmp_path / "x.duckdb")]
    )
    assert result.exit_code == 2
    assert "is not a folder" in result.output


def test_demo_writes_a_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--members", "4000", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "Tenure retention report" in page
    assert "Memo" in page and "Loaded 4,000 members" in page
    assert "Report:" in result.output
