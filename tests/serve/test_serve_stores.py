"""The decision-log stores: one test body run on every backend (SQLite, DuckDB, PostgreSQL)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from serve_support import STORES

from tenure.serve.stores import DecisionRow, LogError, OutcomeRow, OutcomeStatus, open_log
from tenure.serve.stores.postgres_log import redact

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def row(i: int, *, member: str = "m1", variant: str | None = "home:a:b:c") -> DecisionRow:
    return DecisionRow(
        decision_id=f"d{i}",
        member_id=member,
        ts=T0 + timedelta(seconds=i),
        experiment="uniform-v1",
        variant=variant,
        placement="home",
        propensity=0.25 if variant else 1.0,
        eligible=("home:a:b:c", "home:a:b:d") if variant else (),
        benefit="video" if variant else None,
        text="Stream tonight" if variant else None,
        reason=None if variant else "cap: 3 home decisions in 1 days (max 3)",
        context={"country": "US", "plan": "monthly", "device": "ios"},
    )


@pytest.mark.parametrize("kind", STORES)
def test_rows_round_trip_exactly(kind: str, log_target: Callable[[str], str]) -> None:
    log = open_log(log_target(kind))
    rows = [row(1), row(2, variant=None), row(3, member="m2")]
    result = log.write(rows, [])
    assert [new for _, new in result.decisions] == [True, True, True]
    assert [log.get(f"d{i}") for i in (1, 2, 3)] == rows
    assert log.get("nope") is None
    assert log.count() == (3, 0)
    log.close()


@pytest.mark.parametrize("kind", STORES)
def test_a_client_id_is_stored_once_and_the_first_decision_wins(
    kind: str, log_target: Callable[[str], str]
) -> None:
    log = open_log(log_target(kind))
    first = row(1)
    retry = _replace(first, variant="home:a:b:d", member_id="m1")
    log.write([first], [])
    again = log.write([retry, _replace(first, decision_id="d9")], [])
    assert again.decisions[0] == (first, False)
    assert again.decisions[1][1] is True
    # Within one batch too: the second copy of an id gets the first one's row.
    batch = log.write([_replace(first, decision_id="d7"), _replace(retry, decision_id="d7")], [])
    assert batch.decisions[1][0].variant == first.variant
    assert log.count() == (3, 0)
    log.close()


@pytest.mark.parametrize("kind", [*STORES, "sqlite-shared"])
def test_a_server_made_id_a_client_claimed_first_is_answered_with_the_stored_row(
    kind: str, log_target: Callable[[str], str]
) -> None:
    """A fresh row is inserted without a look-up; a taken id still gets the stored row."""
    shared = kind == "sqlite-shared"
    log = open_log(log_target("sqlite" if shared else kind), shared=shared)
    claimed = row(1, member="m9")
    log.write([claimed], [])
    made = _replace(row(1), fresh=True)  # the server made "d1" too
    other = _replace(row(2), fresh=True)
    result = log.write([made, other], [])
    assert result.decisions == ((claimed, False), (other, True))
    assert log.count() == (2, 0)
    assert log.get("d1") == claimed
    log.close()


@pytest.mark.parametrize("kind", STORES)
def test_a_batch_larger_than_one_insert_statement_is_stored_whole(
    kind: str, log_target: Callable[[str], str]
) -> None:
    log = open_log(log_target(kind))
    rows = [_replace(row(i, member=f"m{i % 7}"), fresh=i % 2 == 0) for i in range(75)]
    result = log.write(rows, [])
    assert [new for _, new in result.decisions] == [True] * 75
    assert [log.get(f"d{i}") for i in range(75)] == rows
    outcomes = [OutcomeRow(f"d{i}", T0, reward=float(i)) for i in range(40)]
    later = log.write([], [*outcomes, OutcomeRow("d404", T0, reward=1.0)])
    assert later.outcomes == (*[OutcomeStatus.STORED] * 40, OutcomeStatus.UNKNOWN_DECISION)
    assert log.outcomes() == sorted(outcomes, key=lambda o: o.decision_id)  # ts ties
    assert log.count() == (75, 40)
    log.close()


@pytest.mark.parametrize("kind", STORES)
def test_outcomes_are_stored_once_per_decision_and_kind(
    kind: str, log_target: Callable[[str], str]
) -> None:
    log = open_log(log_target(kind))
    log.write([row(1)], [])
    got = log.write(
        [row(2)],
        [
            OutcomeRow("d1", T0, reward=1.5),
            OutcomeRow("d1", T0, reward=1.5),  # a retry in the same batch
            OutcomeRow("d1", T0, event="click"),
            OutcomeRow("d2", T0, event="click"),  # its decision is in this very batch
            OutcomeRow("d404", T0, event="click"),
        ],
    )
    assert got.outcomes == (
        OutcomeStatus.STORED,
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.STORED,
        OutcomeStatus.STORED,
        OutcomeStatus.UNKNOWN_DECISION,
    )
    later = log.write([], [OutcomeRow("d1", T0, reward=2.0), OutcomeRow("d1", T0, event="buy")])
    assert later.outcomes == (OutcomeStatus.DUPLICATE, OutcomeStatus.STORED)
    assert log.count() == (2, 4)
    log.close()


@pytest.mark.parametrize("kind", STORES)
def test_reopening_keeps_every_row_and_since_reads_in_time_order(
    kind: str, log_target: Callable[[str], str]
) -> None:
    target = log_target(kind)
    log = open_log(target)
    log.write([row(5), row(1), row(3)], [OutcomeRow("d1", T0, event="x")])
    log.close()
    log = open_log(target)
    assert log.count() == (3, 1)
    assert [r.decision_id for r in log.since(T0 + timedelta(seconds=2))] == ["d3", "d5"]
    log.ping()
    log.close()


@pytest.mark.parametrize("kind", STORES)
def test_an_eligible_set_is_stored_once_and_read_back_with_each_decision(
    kind: str, log_target: Callable[[str], str]
) -> None:
    target = log_target(kind)
    log = open_log(target)
    # Three decisions share a set, one has its own, a null decision has the empty set.
    shared = [row(i) for i in range(3)]
    own = _replace(row(3), eligible=("home:a:b:c", 'home:"quoted"'))
    log.write([*shared, own, row(4, variant=None)], [])
    log.close()
    # A second writer (another worker, or a restart) storing a known set adds no copy; a
    # set the same-creative cap shrank is stored as the shared set minus what it removed.
    log = open_log(target)
    capped = _replace(row(6), eligible=("home:a:b:d",), eligible_base=row(6).eligible)
    log.write([row(5), capped], [])
    got = [log.get(f"d{i}") for i in range(7)]
    assert got == [*shared, own, row(4, variant=None), row(5), capped]
    assert _sets_stored(log) == 3
    log.close()


def _sets_stored(log: Any) -> int:
    cur = log._cursor()
    cur.execute("SELECT count(*) FROM eligible_sets")
    return int(cur.fetchone()[0])


def test_a_log_of_another_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    open_log(path).close()
    sq = sqlite3.connect(path)
    sq.execute("UPDATE tenure_log_meta SET value = 'tenure-decision-log/1' WHERE key = 'format'")
    sq.commit()
    sq.close()
    with pytest.raises(LogError, match="format tenure-decision-log/1, not tenure-decision-log/2"):
        open_log(path)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    for suffix in ("sqlite", "duckdb"):
        path = tmp_path / f"notes.{suffix}"
        path.write_text("my notes, not a database\n")
        with pytest.raises(
            LogError, match=f"is not a {'SQLite' if suffix == 'sqlite' else 'DuckDB'}"
        ):
            open_log(path)
        assert path.read_text() == "my notes, not a database\n"


def test_a_database_of_something_else_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "dataset.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE members (member_id VARCHAR)")
    con.close()
    with pytest.raises(LogError, match=r"already holds tables \(members\)"):
        open_log(db)
    lite = tmp_path / "app.sqlite"
    sq = sqlite3.connect(lite)
    sq.execute("CREATE TABLE orders (id INTEGER)")
    sq.commit()
    sq.close()
    with pytest.raises(LogError, match=r"already holds tables \(orders\)"):
        open_log(lite)


def test_a_log_with_changed_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    open_log(path).close()
    sq = sqlite3.connect(path)
    sq.execute("ALTER TABLE exposures ADD COLUMN extra TEXT")
    sq.commit()
    sq.close()
    with pytest.raises(LogError, match="table exposures has columns"):
        open_log(path)


def test_a_postgres_database_of_something_else_is_refused(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(LogError, match=r"already holds tables \(invoices\)"):
        open_log(pg_url)


def test_unknown_targets_say_what_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(LogError, match=r"name a \.duckdb or \.sqlite file"):
        open_log(tmp_path / "log.txt")
    with pytest.raises(LogError, match="only postgresql://"):
        open_log("mysql://host/db")
    with pytest.raises(LogError, match="does not exist"):
        open_log(tmp_path / "missing" / "log.sqlite")


def test_a_password_never_reaches_the_location() -> None:
    assert redact("postgresql://app:hunter2@db:5432/log") == "postgresql://app:***@db:5432/log"
    assert redact("postgresql://app@db/log") == "postgresql://app@db/log"


def _replace(r: DecisionRow, **changes: Any) -> DecisionRow:
    return dataclasses.replace(r, **changes)
