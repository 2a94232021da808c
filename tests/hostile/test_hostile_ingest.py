"""Every hostile case through `tenure ingest`: exit 0 or 2, values unchanged, bad rows at their line.

The truth of each case is written in `cases.py` by hand, never derived from Tenure's
output: the accepted rows must equal the values written there, and the quarantine must
hold exactly the bad rows listed, each at its physical line with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

from tenure.cli import app

from .cases import AS_OF, Case, cases

runner = CliRunner()
CASES = cases()
KEYS = {"members": "member_id", "events": "member_id", "exposures": "member_id"}
KEYS["benefits"] = "benefit"


def assert_no_traceback(result: Result) -> None:
    """The run ended as the CLI meant it to: exit 0 or 2, no Python traceback."""
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def run_ingest(case: Case, folder: Path, db: Path) -> Result:
    args = ["ingest", str(folder), "--db", str(db), "--as-of", AS_OF.isoformat(), "--json"]
    if case.mapping:
        args += ["--map", case.mapping]
    return runner.invoke(app, args)


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    return list(con.execute(sql).to_arrow_table().to_pylist())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case_through_ingest(case: Case, tmp_path: Path) -> None:
    folder = case.build(tmp_path / "data")
    db = tmp_path / "out.duckdb"
    result = run_ingest(case, folder, db)
    assert_no_traceback(result)
    if case.error is not None:
        assert result.exit_code == 2
        assert case.error in " ".join(result.output.split()), result.output
        assert not db.exists()
        assert not list(tmp_path.glob("out.duckdb*")), "a failed ingest left partial files"
        return
    assert result.exit_code == (2 if case.all_bad else 0), result.output
    report = json.loads(result.stdout)
    for t in report["tables"]:
        assert t["read"] == t["accepted"] + t["quarantined"], t
    assert set(case.skipped) <= {s["path"] for s in report["skipped"]}
    with duckdb.connect(str(db), read_only=True) as con:
        quarantine = {
            (r["tbl"], r["file"], r["line"]): r["reason"]
            for r in rows(con, "SELECT tbl, file, line, reason FROM quarantine")
        }
        expected = {(t, f, ln): why for t, bad in case.bad.items() for (f, ln), why in bad.items()}
        assert set(quarantine) == set(expected), quarantine
        for key, why in expected.items():
            assert why in quarantine[key], (key, quarantine[key])
        for table, good in case.good.items():
            loaded = rows(con, f"SELECT * FROM {table}")
            id_column = KEYS[table]
            assert {r[id_column] for r in loaded} == set(good), table
            for r in loaded:
                for column, value in good[r[id_column]].items():
                    assert r[column] == value, (table, r[id_column], column, r[column], value)


def test_failed_ingest_leaves_no_partial_files(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "unterminated_quote_is_refused_at_its_line")
    folder = case.build(tmp_path / "data")
    result = run_ingest(case, folder, tmp_path / "out.duckdb")
    assert result.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_rows_after_as_of_are_counted_per_row_not_per_value(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "rows_after_as_of_are_counted_per_row")
    result = run_ingest(case, case.build(tmp_path / "data"), tmp_path / "out.duckdb")
    report = json.loads(result.stdout)
    reasons = {(r["table"], r["reason"]): r["rows"] for r in report["top_reasons"]}
    assert reasons == {("members", "signup_at is after as_of"): 3}


def test_pre_signup_events_are_counted_in_the_summary(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "pre_signup_events_are_kept")
    folder = case.build(tmp_path / "data")
    db = tmp_path / "out.duckdb"
    assert json.loads(run_ingest(case, folder, db).stdout)["pre_signup_events"] == 1
    text = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert "1 events before signup kept as pre-signup history" in text.output


def test_db_that_is_not_a_tenure_database_is_left_untouched(tmp_path: Path) -> None:
    folder = CASES[0].build(tmp_path / "data")
    victim = folder / "members.csv"
    before = victim.read_bytes()
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(victim)])
    assert result.exit_code == 2
    assert "is not a database written by tenure ingest" in result.output
    assert victim.read_bytes() == before
    other = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE precious AS SELECT 42 AS answer")
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(other)])
    assert result.exit_code == 2
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("SELECT answer FROM precious").fetchall() == [(42,)]


def test_reingest_over_a_tenure_database_replaces_it(tmp_path: Path) -> None:
    folder = CASES[0].build(tmp_path / "data")
    db = tmp_path / "t.duckdb"
    for _ in range(2):
        result = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("where", ["dir", "missing_parent"])
def test_db_path_problems_are_one_line(tmp_path: Path, where: str) -> None:
    folder = CASES[0].build(tmp_path / "data")
    db = tmp_path if where == "dir" else tmp_path / "nope" / "t.duckdb"
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert ("is a folder" if where == "dir" else "does not exist") in result.output
    assert not (tmp_path / f"{tmp_path.name}.partial").exists()


def test_duplicate_key_in_a_mapping_file_is_refused(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "column_mapping")
    folder = case.build(tmp_path / "data")
    spec = tmp_path / "map.yaml"
    spec.write_text("user_id: member_id\nuser_id: ts\n")
    result = runner.invoke(
        app, ["ingest", str(folder), "--db", str(tmp_path / "t.duckdb"), "--map", str(spec)]
    )
    assert result.exit_code == 2
    assert "map.yaml line 2: key 'user_id' is written twice" in " ".join(result.output.split())
    spec.write_text(
        "members:\n  user_id: member_id\n  joined: signup_at\nevents:\n  user_id: member_id\n  when: ts\n"
    )
    result = runner.invoke(
        app, ["ingest", str(folder), "--db", str(tmp_path / "t.duckdb"), "--map", str(spec)]
    )
    assert result.exit_code == 0, result.output


def test_mapping_onto_an_unknown_contract_column_is_refused(tmp_path: Path) -> None:
    folder = CASES[0].build(tmp_path / "data")
    result = runner.invoke(
        app, ["ingest", str(folder), "--db", str(tmp_path / "t.duckdb"), "--map", "uid=member"]
    )
    assert result.exit_code == 2
    assert "'member' is not a contract column" in result.output
