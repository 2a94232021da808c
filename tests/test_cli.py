"""The command line end to end: simulate → ingest → demo on a small world."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from shared import DemoRun
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


def test_simulate_variant_and_product_bets_flags(tmp_path: Path) -> None:
    """`--variant` picks a convention preset; `--product-bets` plants the pilot and workaround."""
    out = tmp_path / "bets"
    args = ["simulate", "--members", "500", "--seed", "3", "--out", str(out)]
    result = runner.invoke(app, [*args, "--variant", "frailty", "--product-bets"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text())
    assert truth["conventions"]["frailty_sd"] > 0
    assert (out / "truth_abuse.json").is_file() and (out / "truth_workarounds.json").is_file()
    bad = runner.invoke(app, [*args, "--variant", "nonsense"])
    assert bad.exit_code == 2 and "unknown world variant 'nonsense'" in bad.output


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


def test_demo_writes_a_report(demo_run: DemoRun) -> None:
    assert demo_run.exit_code == 0, demo_run.output
    out = demo_run.out
    page = (out / "index.html").read_text()
    assert "Tenure retention report" in page
    assert "<h2>Memo</h2>" in page and "Loaded 4,000 members" in page
    for anchor in ("data", "lifecycle", "portfolio", "survival", "experiments"):
        assert f'id="{anchor}"' in page, anchor
    assert (out / "memo.md").read_text().startswith("# ")
    assert "Report:" in demo_run.output and "Memo:" in demo_run.output


def test_report_on_your_own_folder_says_what_it_could_not_run(world: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", "--data", str(world), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert 'id="lifecycle"' in page and 'id="hva"' in page
    # No --specs and no experiments/ folder beside the data: said, not silently skipped.
    assert 'id="skipped"' in page and "no experiment specs given" in page
    assert "Skipped experiments" in result.output


def test_memo_prints_markdown_and_json(world: Path, tmp_path: Path) -> None:
    specs = Path(__file__).resolve().parents[1] / "experiments"
    md = tmp_path / "memo.md"
    result = runner.invoke(
        app, ["memo", "--data", str(world), "--specs", str(specs), "--out", str(md), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(doc) == {"title", "context", "learned", "decisions", "risks", "questions"}
    assert any("value_messaging" in d for d in doc["decisions"] + doc["risks"] + doc["questions"])
    assert md.read_text().startswith("# What the data says")


def test_report_refuses_a_missing_specs_folder(world: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--data", str(world), "--specs", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "--specs" in result.output and "not a folder" in result.output
