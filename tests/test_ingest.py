"""The data contract at ingest: every bad row is quarantined with its file, line and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.errors import DataContractError
from tenure.store import connect, ingest

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)

MEMBERS = """member_id,signup_at,ended_at,channel,fee,favourite_color
m1,2024-01-01T00:00:00Z,,organic,9.99,red
m2,2024-13-01,,paid_search,9.99,blue
m3,2024-01-03,2024-01-02,organic,9.99,red
m1,2024-01-05,,organic,9.99,green
m4,2024-01-05,,organic,abc,red
m5,2024-01-05,,organic,1,red,extra
,2024-01-05,,organic,1,red
m6,2031-01-05,,organic,1,red
m7,2024-02-05 10:00:00,2024-06-01T00:00:00+02:00,social,4.5,blue
"""

EVENTS = """member_id,ts,action,value
m1,2024-01-02T10:00:00Z,video.stream,
m9,2024-01-02T10:00:00Z,video.stream,
m7,2024-01-02T10:00:00Z,video.stream,
m7,2024-03-02T10:00:00Z,shipping.order,5.5
m1,2024-01-02T10:00:00Z,,
m7,2024-03-03T10:00:00Z,shipping.order,lots
"""

EXPECTED_MEMBER_REASONS = {
    3: "signup_at '2024-13-01' is not a UTC timestamp (expected ISO 8601, e.g. 2024-01-31T09:30:00Z)",
    4: "ended_at is before signup_at",
    5: "member_id 'm1' is a duplicate of members.csv line 2",
    6: "fee 'abc' is not a number",
    7: "expected 6 fields, found 7",
    8: "member_id is missing",
    9: "signup_at 2031-01-05 is after as_of 2025-01-01T00:00:00Z",
}
EXPECTED_EVENT_REASONS = {
    3: "member_id 'm9' is not a known member",
    6: "action is missing",
    7: "value 'lots' is not a number",
}


@pytest.fixture
def dirty(tmp_path: Path) -> Path:
    folder = tmp_path / "dirty"
    folder.mkdir()
    (folder / "members.csv").write_text(MEMBERS)
    (folder / "events.csv").write_text(EVENTS)
    return folder


def quarantined(db: Path, table: str) -> dict[int, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT line, reason FROM quarantine WHERE tbl = ?", [table]).fetchall()
    return dict(rows)


def test_each_kind_of_bad_row_is_quarantined_with_its_line_and_reason(
    dirty: Path, tmp_path: Path
) -> None:
    db = tmp_path / "t.duckdb"
    ingest(dirty, db, as_of=AS_OF)
    assert quarantined(db, "members") == EXPECTED_MEMBER_REASONS
    assert quarantined(db, "events") == EXPECTED_EVENT_REASONS


def test_counts_add_up_and_good_rows_load_typed(dirty: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    report = ingest(dirty, db, as_of=AS_OF)
    counts = {c.table: c for c in report.tables}
    assert (counts["members"].read, counts["members"].accepted) == (9, 2)
    # m7's event of 2024-01-02 precedes its signup: kept as pre-signup history, and counted.
    assert (counts["events"].read, counts["events"].accepted) == (6, 3)
    assert report.pre_signup == 1
    for c in report.tables:
        assert c.accepted + c.quarantined == c.read
    ds = connect(db)
    members = ds.members.order_by("member_id").to_pyarrow().to_pylist()
    assert [m["member_id"] for m in members] == ["m1", "m7"]
    # An offset is converted to UTC; a naive timestamp is read as UTC; extra columns are kept.
    assert members[1]["ended_at"] == datetime(2024, 5, 31, 22, tzinfo=UTC)
    assert members[1]["signup_at"] == datetime(2024, 2, 5, 10, tzinfo=UTC)
    assert members[1]["favourite_color"] == "blue"
    assert ds.members.schema()["fee"].is_floating()
    assert ds.as_of == AS_OF


def test_quarantine_keeps_the_raw_record(dirty: Path, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    ingest(dirty, db, as_of=AS_OF)
    with duckdb.connect(str(db), read_only=True) as con:
        record = con.execute(
            "SELECT record FROM quarantine WHERE tbl = 'members' AND line = 6"
        ).fetchall()[0][0]
        raw = con.execute(
            "SELECT record FROM quarantine WHERE tbl = 'members' AND line = 7"
        ).fetchall()[0][0]
    assert '"fee":"abc"' in record
    assert raw == "m5,2024-01-05,,organic,1,red,extra"


def test_as_of_defaults_to_latest_accepted_timestamp(dirty: Path, tmp_path: Path) -> None:
    report = ingest(dirty, tmp_path / "t.duckdb")
    # m6's 2031 signup is in the future of now, so it is quarantined and not the as_of.
    assert report.as_of == datetime(2024, 5, 31, 22, tzinfo=UTC)


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    ts = pa.array(
        [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)], pa.timestamp("us", tz="UTC")
    )
    pq.write_table(
        pa.table({"member_id": ["a", "b", "a"], "signup_at": ts}), folder / "members.parquet"
    )
    db = tmp_path / "t.duckdb"
    report = ingest(folder, db, as_of=AS_OF)
    assert report.tables[0].accepted == 2
    assert quarantined(db, "members") == {
        3: "member_id 'a' is a duplicate of members.parquet line 1"
    }


def test_missing_required_column_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "members.csv").write_text("member_id,joined\nm1,2024-01-01\n")
    with pytest.raises(
        DataContractError, match=r"members.csv.*missing required column\(s\) signup_at"
    ):
        ingest(folder, tmp_path / "t.duckdb")
    assert not (tmp_path / "t.duckdb").exists()


def test_unreadable_file_gives_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "members.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataContractError, match=r"members.parquet.*cannot be read as Parquet"):
        ingest(folder, tmp_path / "t.duckdb")


def test_folder_without_members_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match="no members table"):
        ingest(tmp_path, tmp_path / "t.duckdb")


def test_a_folder_read_in_place_is_checked_on_every_backend(dirty: Path) -> None:
    for backend in ("duckdb", "polars"):
        with pytest.raises(DataContractError, match=r"members row\(s\) break the data contract"):
            connect(dirty, backend=backend)


def test_a_clean_folder_reads_the_same_on_every_backend(tmp_path: Path) -> None:
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "members.csv").write_text(
        "member_id,signup_at,fee\n 0042 ,2024-01-01T09:00:00+09:00,NaN\n7,2024-01-02,1.5\n"
    )
    seen = []
    for backend in ("duckdb", "polars"):
        ds = connect(folder, backend=backend)
        seen.append(ds.members.order_by("member_id").to_pyarrow().to_pylist())
    assert seen[0] == seen[1]
    assert [m["member_id"] for m in seen[0]] == ["0042", "7"]
    assert seen[0][0]["signup_at"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert seen[0][0]["fee"] is None


def test_a_duckdb_file_ingest_did_not_write_is_checked(tmp_path: Path) -> None:
    db = tmp_path / "theirs.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE members AS SELECT * FROM (VALUES ('a', TIMESTAMP '2024-01-01'), "
            "('a', TIMESTAMP '2024-01-02')) t(member_id, signup_at)"
        )
    for source in (str(db), f"duckdb://{db}"):
        with pytest.raises(
            DataContractError, match=r"member_id 'a' is a duplicate of members line 1"
        ):
            connect(source)
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM members WHERE signup_at > '2024-01-01'")
    assert connect(db).members.count().to_pyarrow().as_py() == 1


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text("member_id,signup_at\nm1,2024-01-01\n")
    with pytest.raises(DataContractError, match="is a file but not a DuckDB database"):
        connect(path)


def _chunked_world(folder: Path) -> Path:
    """Members, and events in a part folder: a 6-row-group Parquet part, a CSV part, and a
    Parquet part without the optional ``value`` column; bad rows in several row groups."""
    folder.mkdir()
    n = 40
    ids = [f"m{i:03d}" for i in range(n)]
    signup = [datetime(2024, 1, 1 + i % 28, tzinfo=UTC) for i in range(n)]
    pq.write_table(pa.table({"member_id": ids, "signup_at": signup}), folder / "members.parquet")
    parts = folder / "events"
    parts.mkdir()
    k = 600
    member = [ids[i % n] for i in range(k)]
    ts = [datetime(2024, 2, 1 + i % 27, tzinfo=UTC) for i in range(k)]
    value = [float(i % 7) for i in range(k)]
    member[5], member[250], member[599] = "nobody", "m999", "ghost"  # unknown members
    value[130], value[470] = -1.0, -2.0  # negative money
    ts[333] = datetime(2031, 1, 1, tzinfo=UTC)  # after as_of
    ts[10] = datetime(2023, 12, 1, tzinfo=UTC)  # kept, dated before its member's signup
    events = pa.table(
        {"member_id": member, "ts": ts, "action": ["video.stream"] * k, "value": value}
    )
    pq.write_table(events, parts / "part-0.parquet", row_group_size=100)
    (parts / "part-1.csv").write_text(
        "member_id,ts,action,value\nm001,2024-03-01T00:00:00Z,music.play,1\n"
        "m002,2024-03-01T00:00:00Z,,1\nm003,2024-03-01,music.play,1,extra\n"
    )
    pq.write_table(events.slice(0, 50).drop(["value"]), parts / "part-2.parquet")
    return folder


def _everything(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], object]:
    with duckdb.connect(str(db), read_only=True) as con:
        events = con.execute("SELECT * FROM events ORDER BY ALL").fetchall()
        quarantine = con.execute("SELECT * FROM quarantine").fetchall()  # in insertion order
        columns = con.execute("DESCRIBE events").fetchall()
    return events, quarantine, columns


def test_events_in_chunks_load_what_one_statement_loads(tmp_path: Path) -> None:
    world = _chunked_world(tmp_path / "w")
    whole = ingest(world, tmp_path / "whole.duckdb", as_of=AS_OF)
    parts = ingest(world, tmp_path / "parts.duckdb", as_of=AS_OF, chunk_rows=150)
    events = {c.table: c for c in whole.tables}["events"]
    assert (events.read, events.quarantined) == (600 + 3 + 50, 6 + 2 + 1)  # planted above
    assert parts.tables == whole.tables
    assert parts.pre_signup == whole.pre_signup == 2  # row 10, and its copy in part-2
    got, ref = _everything(tmp_path / "parts.duckdb"), _everything(tmp_path / "whole.duckdb")
    assert got == ref
    # The malformed CSV record comes first (found when the file is read), then file order.
    assert got[1][0][3] == "wrong number of fields"
    lines = [(f, line) for _, f, line, *_ in got[1][1:]]
    assert lines == sorted(lines, key=lambda x: (str(x[0]).split("part-")[1], x[1]))
    assert ("events/part-0.parquet", 600) in lines  # the last row group's bad row


def test_a_csv_events_file_read_in_runs_loads_what_one_read_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An events CSV is read a run of records at a time (bounded memory); nothing changes.

    Blocks of 4 records and chunks of at most 9 rows cut a 60-record file with a BOM, CRLF
    line ends, a blank line, short and long records and bad values into eight runs.
    """
    from tenure.store import stage

    folder = tmp_path / "w"
    folder.mkdir()
    ids = [f"m{i:02d}" for i in range(12)]
    (folder / "members.csv").write_text(
        "member_id,signup_at\n" + "".join(f"{m},2024-01-01\n" for m in ids)
    )
    rows = [
        f"{ids[i % 12]},2024-02-{1 + i % 27:02d}T10:00:00Z,video.stream,{i % 5}" for i in range(60)
    ]
    rows[7] = "m01,2024-02-02,video.stream"  # a field short
    rows[23] = "m02,2024-02-02,video.stream,1,extra"  # a field too many
    rows[31] = "m03,yesterday,video.stream,1"  # a bad timestamp
    rows[44] = "ghost,2024-02-02,video.stream,1"  # an unknown member
    rows[52] = "m04,2024-02-02,video.stream,-3"  # negative money
    body = "\r\n".join(rows[:30]) + "\r\n\r\n" + "\r\n".join(rows[30:]) + "\r\n"
    (folder / "events.csv").write_bytes(("\ufeffmember_id,ts,action,value\r\n" + body).encode())
    whole = ingest(folder, tmp_path / "whole.duckdb", as_of=AS_OF)
    monkeypatch.setattr(stage, "CSV_BLOCK", 4)
    parts = ingest(folder, tmp_path / "parts.duckdb", as_of=AS_OF, chunk_rows=9)
    assert parts.tables == whole.tables
    events = {c.table: c for c in whole.tables}["events"]
    assert (events.read, events.accepted, events.quarantined) == (60, 55, 5)
    got, ref = _everything(tmp_path / "parts.duckdb"), _everything(tmp_path / "whole.duckdb")
    assert got == ref
    quarantined = {(q[2], q[3]) for q in got[1]}
    assert {line for line, _ in quarantined} == {9, 25, 34, 47, 55}  # header = line 1, a blank 32
    assert got[1][0][3] == got[1][1][3] == "wrong number of fields"
    assert got[1][0][5] == "m01,2024-02-02,video.stream"
    from tenure.schema import CONTRACTS
    from tenure.store.sources import find_sources

    with duckdb.connect() as con:
        (events_csv,) = find_sources(folder).tables["events"]
        cut = stage.chunks([stage.open_file(con, events_csv, CONTRACTS["events"], {})], 9)
    assert [f.span for c in cut for f in c] == [(k, min(k + 8, 60)) for k in range(0, 60, 8)]


def test_a_csv_run_that_is_not_utf8_stops_the_ingest_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in runs, a CSV's bad bytes are met late, after other runs loaded: still refused."""
    from tenure.store import stage

    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "members.csv").write_text("member_id,signup_at\nm1,2024-01-01\n")
    rows = [b"m1,2024-02-01,video.stream"] * 20
    rows[17] = b"m1,2024-02-01,video.str\xffeam"
    (folder / "events.csv").write_bytes(b"member_id,ts,action\n" + b"\n".join(rows) + b"\n")
    monkeypatch.setattr(stage, "CSV_BLOCK", 4)
    db = tmp_path / "t.duckdb"
    with pytest.raises(DataContractError, match=r"events.csv.*not UTF-8"):
        ingest(folder, db, as_of=AS_OF, chunk_rows=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]  # no database, no partial file


def test_chunks_cut_a_big_parquet_file_at_row_groups(tmp_path: Path) -> None:
    from tenure.schema import CONTRACTS
    from tenure.store.sources import find_sources
    from tenure.store.stage import chunks, open_file

    world = _chunked_world(tmp_path / "w")
    with duckdb.connect() as con:
        files = [
            open_file(con, f, CONTRACTS["events"], {}) for f in find_sources(world).tables["events"]
        ]
        cut = chunks(files, 250)
    spans = [[(f.source.name.rsplit("/", 1)[-1], f.span, f.rows) for f in c] for c in cut]
    assert spans == [
        [("part-0.parquet", (0, 200), 200)],
        [("part-0.parquet", (200, 400), 200)],
        [("part-0.parquet", (400, 600), 200)],
        [("part-1.csv", None, 3), ("part-2.parquet", None, 50)],
    ]


def test_a_memory_limit_that_is_not_a_size_is_refused(tmp_path: Path) -> None:
    world = _chunked_world(tmp_path / "w")
    with pytest.raises(DataContractError, match="memory_limit 'lots'"):
        ingest(world, tmp_path / "t.duckdb", as_of=AS_OF, memory_limit="lots")


def _parquet_world(folder: Path, member_ids: list[str], fee: list[float]) -> Path:
    folder.mkdir(exist_ok=True)
    n = len(member_ids)
    signup = pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC"))
    pq.write_table(
        pa.table({"member_id": member_ids, "signup_at": signup, "fee": fee}),
        folder / "members.parquet",
    )
    ts = pa.array([datetime(2024, 1, 2, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC"))
    events = {"member_id": member_ids, "ts": ts, "action": ["app.open"] * n}
    pq.write_table(pa.table(events), folder / "events.parquet")
    return folder


def test_parquet_values_that_need_cleaning_are_cleaned_where_clean_ones_are_read_as_stored(
    tmp_path: Path,
) -> None:
    """A check finds no cleaning needed in one column and some in another: both read right."""
    folder = _parquet_world(tmp_path / "w", [" m1", "m2 ", "m3"], [float("nan"), 2.0, 3.0])
    ds = connect(folder)
    members = ds.members.order_by("member_id").to_pyarrow().to_pylist()
    assert [m["member_id"] for m in members] == ["m1", "m2", "m3"]
    assert [m["fee"] for m in members] == [None, 2.0, 3.0]
    events = ds.events.order_by("member_id").to_pyarrow().to_pylist()
    assert [e["member_id"] for e in events] == ["m1", "m2", "m3"]
    assert {e["action"] for e in events} == {"app.open"}
    clean = connect(_parquet_world(tmp_path / "c", ["m1", "m2", "m3"], [1.0, 2.0, 3.0]))
    assert clean.members.fee.sum().to_pyarrow().as_py() == 6.0
    broken = _parquet_world(tmp_path / "b", ["m1", "m1", "\tm3"], [1.0, 2.0, -3.0])
    with pytest.raises(DataContractError, match=r"2 of 3 members row\(s\)"):
        connect(broken)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own, with files made a moment ago counted as settled."""
    from tenure.store import verified

    monkeypatch.setenv("TENURE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(verified, "RACY_SECONDS", 0.0)
    return tmp_path / "cache" / "verified"


def _checks_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import importlib

    ingest_module = importlib.import_module("tenure.store.ingest")  # the package's
    seen: list[str] = []  # `ingest` attribute is the function of that name
    check = ingest_module._check_table

    def counted(con: object, name: str, *args: object) -> frozenset[str]:
        seen.append(name)
        return check(con, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module, "_check_table", counted)
    return seen


def test_an_unchanged_folder_is_not_checked_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _parquet_world(tmp_path / "w", [" m1", "m2"], [1.0, 2.0])
    seen = _checks_run(monkeypatch)
    first = connect(folder).members.to_pyarrow().to_pylist()
    assert seen == ["members", "events"]
    assert len(list(cache.glob("*.json"))) == 1
    again = connect(folder).members.to_pyarrow().to_pylist()
    assert seen == ["members", "events"], "the unchanged folder was checked again"
    assert again == first  # the record keeps which columns need cleaning (" m1" -> "m1")
    assert sorted(m["member_id"] for m in again) == ["m1", "m2"]


def test_a_changed_file_is_checked_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rewritten with a bad row, same size, its mtime put back: still checked, and refused."""
    import os

    folder = _parquet_world(tmp_path / "w", ["m1", "m2"], [1.0, 2.0])
    seen = _checks_run(monkeypatch)
    connect(folder)
    path = folder / "members.parquet"
    before = path.stat()
    _parquet_world(tmp_path / "w", ["m1", "m2"], [1.0, -2.0])  # a negative fee
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(DataContractError, match="fee"):
        connect(folder)
    assert seen == ["members", "events", "members"]


def test_a_new_file_or_an_earlier_as_of_is_checked_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenure.store.ingest import validate_in_place
    from tenure.store.mapping import ColumnMap
    from tenure.store.sources import find_sources

    folder = _parquet_world(tmp_path / "w", ["m1", "m2"], [1.0, 2.0])
    seen = _checks_run(monkeypatch)

    def check(bound: datetime) -> None:
        validate_in_place(duckdb.connect(), find_sources(folder), ColumnMap(), bound)

    check(datetime(2025, 1, 1, tzinfo=UTC))
    check(datetime(2026, 1, 1, tzinfo=UTC))  # a later bound: the record holds
    assert seen == ["members", "events"]
    check(datetime(2024, 6, 1, tzinfo=UTC))  # earlier: "nothing after as_of" must be re-proven
    assert seen == ["members", "events"] * 2
    (folder / "exposures.csv").write_text(
        "member_id,ts,experiment,variant\nm9,2024-01-03T00:00:00Z,e,a\n"
    )
    with pytest.raises(DataContractError, match="not a known member"):
        check(datetime(2026, 1, 1, tzinfo=UTC))


def test_the_check_cache_can_be_turned_off(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENURE_CHECK_CACHE", "0")
    folder = _parquet_world(tmp_path / "w", ["m1", "m2"], [1.0, 2.0])
    seen = _checks_run(monkeypatch)
    connect(folder)
    connect(folder)
    assert seen == ["members", "events"] * 2
    assert not cache.exists()
