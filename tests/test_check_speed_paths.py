"""The quick check of a folder read in place gives the verdict of the row-by-row pass.

`quick_check_sql` decides rules from column summaries (min, max, counts, distinct values)
instead of testing every row; these tests build Parquet tables with typed columns (the
files that take that path) holding every kind of value the contract refuses or cleans,
and compare the quick verdict with the row-by-row first pass (`checked_sql` with all
`cleanable` columns read as stored and ``flag_dirty``): the same columns need cleaning,
and, when none does, a row is refused by one exactly when by the other. `connect` then
gives the same result as before: the same refusal message, or the same typed tables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure import connect
from tenure.errors import DataContractError
from tenure.schema import CONTRACTS
from tenure.store.checks import checked_sql, cleanable, quick_check_sql, quote, typed_sql
from tenure.store.ingest import _answer, _open
from tenure.store.mapping import ColumnMap
from tenure.store.sources import find_sources
from tenure.store.stage import stage_table

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
UTC_US = pa.timestamp("us", tz="UTC")
NAN, INF = float("nan"), float("inf")


def _verdicts(
    folder: Path, bound: datetime = AS_OF
) -> dict[str, tuple[tuple[bool, frozenset[str]], tuple[bool, frozenset[str]]]]:
    """Per table: (quick verdict, row-by-row verdict), each (any row refused, dirty columns)."""
    out = {}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        sources = find_sources(folder)
        for name in (n for n in CONTRACTS if n in sources.tables):
            contract = CONTRACTS[name]
            files = _open(con, contract, sources, ColumnMap())
            table = stage_table(con, contract, files)
            members = "members" if contract.references_members else None
            shortcut = cleanable(contract, table.columns)
            n = table.names
            sql = checked_sql(
                contract, table.columns, n, table.view, bound, members=members,
                clean=frozenset(shortcut), flag_dirty=True,
            )  # fmt: skip
            flags = "".join(
                f", count_if({quote(n.prefix + f'dirty{k}')})" for k in range(len(shortcut))
            )
            bad, *counts = con.execute(
                f"SELECT count_if({quote(n.reason)} IS NOT NULL){flags} FROM ({sql})"
            ).fetchone() or (0,)
            slow = (bool(bad), frozenset(c for c, k in zip(shortcut, counts, strict=True) if k))
            breaks, dirty = False, set[str]()
            for probe in quick_check_sql(
                contract, table.columns, n, table.view, bound, members=members
            ):
                first, *found = _answer(con, contract, table, probe, members, files)
                breaks = breaks or bool(first)
                dirty.update(c for c, f in zip(probe.dirty, found, strict=True) if f)
            out[name] = ((breaks, frozenset(dirty)), slow)
            clean = frozenset(shortcut) - slow[1]
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"{typed_sql(contract, table.columns, n, table.view, clean)}"
            )
    return out


def _agree(folder: Path) -> None:
    for name, (quick, slow) in _verdicts(folder).items():
        assert quick[1] == slow[1], f"{name}: dirty columns differ"
        if not slow[1]:
            assert quick[0] == slow[0], f"{name}: quick says refused={quick[0]}"


def _world(
    folder: Path,
    members: dict[str, Any] | None = None,
    events: dict[str, Any] | None = None,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    m: dict[str, Any] = {
        "member_id": ["m1", "m2", "m3"],
        "signup_at": pa.array([datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)], UTC_US),
        "ended_at": pa.array([None, datetime(2024, 6, 1, tzinfo=UTC), None], UTC_US),
        "country": ["US", "GB", "US"],
        "fee": [9.99, 0.0, 5.0],
    }
    e: dict[str, Any] = {
        "member_id": ["m1", "m2", "m3", "m1"],
        "ts": pa.array([datetime(2024, 2, d, tzinfo=UTC) for d in (1, 2, 3, 4)], UTC_US),
        "action": ["open", "play", "open", "play"],
        "value": [1.0, None, 0.0, 2.5],
    }
    m.update(members or {})
    e.update(events or {})
    pq.write_table(pa.table(m), folder / "members.parquet")
    pq.write_table(pa.table(e), folder / "events.parquet")
    return folder


def _stamps(*values: datetime | None) -> pa.Array:
    return pa.array(list(values), UTC_US)


TWISTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "clean": ({}, {}),
    "fee NaN": ({"fee": [NAN, 1.0, 2.0]}, {}),
    "fee NaN last": ({"fee": [1.0, 2.0, NAN]}, {}),
    "fee all NaN": ({"fee": [NAN, NAN, NAN]}, {}),
    "fee inf": ({"fee": [1.0, INF, 2.0]}, {}),
    "fee -inf": ({"fee": [-INF, 1.0, 2.0]}, {}),
    "fee negative": ({"fee": [1.0, -0.01, 2.0]}, {}),
    "fee all null": ({"fee": pa.array([None, None, None], pa.float64())}, {}),
    "fee as integers": ({"fee": pa.array([1, -2, 3], pa.int64())}, {}),
    "fee as decimal": ({"fee": pa.array([1, -2, 3], pa.int32()).cast(pa.decimal128(12, 2))}, {}),
    "id padded": ({"member_id": [" m1", "m2", "m3"]}, {"member_id": ["m1", "m2", "m3", "m1"]}),
    "id padded in events": ({}, {"member_id": ["m1 ", "m2", "m3", "m1"]}),
    "id tab": ({"member_id": ["m1", "m2\t", "m3"]}, {}),
    "id control": ({"member_id": ["\x01m1", "m2", "m3"]}, {}),
    "id empty": ({"member_id": ["", "m2", "m3"]}, {}),
    "id null": ({"member_id": [None, "m2", "m3"]}, {}),
    "id NUL": ({"member_id": ["m\x001", "m2", "m3"]}, {}),
    "id NUL in events": ({}, {"member_id": ["m1", "m2", "m\x003", "m1"]}),
    "id duplicate": ({"member_id": ["m1", "m1", "m3"]}, {}),
    "id duplicate of a bad row": ({"member_id": ["m1", "m1", "m3"], "fee": [-1.0, 1.0, 1.0]}, {}),
    "id as integers": ({"member_id": pa.array([1, 2, 3])}, {"member_id": pa.array([1, 2, 3, 1])}),
    "orphan": ({}, {"member_id": ["m1", "m2", "m9", "m1"]}),
    "orphan null": ({}, {"member_id": ["m1", None, "m3", "m1"]}),
    "orphan of a bad member": ({"fee": [1.0, -1.0, 1.0]}, {}),
    "action null": ({}, {"action": ["open", None, "open", "play"]}),
    "action padded": ({}, {"action": ["open", " play", "open", "play"]}),
    "action NUL": ({}, {"action": ["open", "pl\x00ay", "open", "play"]}),
    "country empty": ({"country": ["US", "", "US"]}, {}),
    "value NaN": ({}, {"value": [1.0, NAN, 0.0, 2.5]}),
    "value negative": ({}, {"value": [1.0, -3.0, 0.0, 2.5]}),
    "value inf": ({}, {"value": [1.0, INF, 0.0, 2.5]}),
    "signup 1899": ({"signup_at": _stamps(datetime(1899, 12, 31, tzinfo=UTC), *[AS_OF] * 2)}, {}),
    "signup 2200": (
        {"signup_at": _stamps(datetime(2200, 1, 1, tzinfo=UTC), *[datetime(2024, 1, 1, tzinfo=UTC)] * 2)},
        {},
    ),
    "signup at as_of": ({"signup_at": _stamps(AS_OF, AS_OF, AS_OF)}, {}),
    "signup after as_of": ({"signup_at": _stamps(datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC), AS_OF, AS_OF)}, {}),
    "signup null": ({"signup_at": _stamps(None, AS_OF, AS_OF)}, {}),
    "signup as dates": ({"signup_at": pa.array([date(2024, 1, 1)] * 3)}, {}),
    "signup naive": ({"signup_at": pa.array([datetime(2024, 1, 1)] * 3, pa.timestamp("ms"))}, {}),
    "ended before signup": ({"ended_at": _stamps(None, datetime(2023, 1, 1, tzinfo=UTC), None)}, {}),
    "event after as_of": ({}, {"ts": _stamps(*[datetime(2024, 2, 1, tzinfo=UTC)] * 3, datetime(2026, 1, 1, tzinfo=UTC))}),
    "event null ts": ({}, {"ts": _stamps(None, *[datetime(2024, 2, 1, tzinfo=UTC)] * 3)}),
    "events as text": ({}, {"ts": ["2024-02-01", "2024-02-02T00:00:00+09:00", "bad", "2024-02-04"]}),
}  # fmt: skip


@pytest.mark.parametrize("twist", list(TWISTS))
def test_the_quick_check_agrees_with_the_row_by_row_pass(tmp_path: Path, twist: str) -> None:
    members, events = TWISTS[twist]
    _agree(_world(tmp_path / "w", members, events))


@pytest.mark.parametrize("twist", list(TWISTS))
def test_connect_refuses_or_accepts_as_the_row_by_row_pass_says(
    tmp_path: Path, twist: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused with the count and first row the full check names, or opened with its views."""
    monkeypatch.setenv("TENURE_CHECK_CACHE", "0")
    members, events = TWISTS[twist]
    folder = _world(tmp_path / "w", members, events)
    verdicts = _verdicts(folder, datetime.now(UTC))  # connect checks against now
    refused = any(slow[0] for _, slow in verdicts.values())
    if refused and not any(slow[1] for _, slow in verdicts.values()):
        with pytest.raises(DataContractError, match=r"row\(s\) break the data contract"):
            connect(folder, as_of=AS_OF)
        return
    try:
        ds = connect(folder, as_of=AS_OF)
    except DataContractError:
        return  # refused after cleaning: the second pass (unchanged) decided
    assert ds.members.count().to_pyarrow().as_py() == 3


def test_a_refusal_names_the_same_row_as_before(tmp_path: Path) -> None:
    folder = _world(tmp_path / "w", {}, {"member_id": ["m1", "m2", "m9", "m8"]})
    with pytest.raises(DataContractError) as caught:
        connect(folder)
    assert "2 of 4 events row(s)" in str(caught.value)
    assert "events.parquet line 3: member_id 'm9' is not a known member" in str(caught.value)


def test_many_row_groups_and_files_are_summarised_whole(tmp_path: Path) -> None:
    """A bad value in the last row group of the second file is found (footers merged)."""
    folder = tmp_path / "w"
    _world(folder)
    (folder / "events.parquet").unlink()
    (folder / "events").mkdir()
    n = 1000
    for k in range(2):
        values = [float(i % 7) for i in range(n)]
        if k == 1:
            values[-1] = -1.0
        ts = [datetime(2024, 2, 1, tzinfo=UTC)] * n
        table = pa.table(
            {
                "member_id": ["m1"] * n,
                "ts": pa.array(ts, UTC_US),
                "value": values,
                "action": ["a"] * n,
            }
        )
        pq.write_table(table, folder / "events" / f"part-{k}.parquet", row_group_size=100)
    _agree(folder)
    with pytest.raises(
        DataContractError, match=r"part-1.parquet line 1000: value '-1.0' is negative"
    ):
        connect(folder, as_of=AS_OF)


VALUES = st.sampled_from([0.0, 1.5, -1.0, NAN, INF, -INF, None])
IDS = st.sampled_from(["m1", "m2", "m3", " m1", "m1\n", "", "m\x002", "m9", None])
STAMPS = st.sampled_from(
    [
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(1850, 1, 1, tzinfo=UTC),
        datetime(2030, 1, 1, tzinfo=UTC),
        None,
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ids=st.lists(IDS, min_size=1, max_size=5),
    fees=st.lists(VALUES, min_size=5, max_size=5),
    event_ids=st.lists(IDS, min_size=1, max_size=6),
    stamps=st.lists(STAMPS, min_size=6, max_size=6),
)
def test_random_typed_tables_get_the_same_verdict(
    tmp_path_factory: pytest.TempPathFactory,
    ids: list[str | None],
    fees: list[float | None],
    event_ids: list[str | None],
    stamps: list[datetime | None],
) -> None:
    folder = tmp_path_factory.mktemp("w")
    k, j = len(ids), len(event_ids)
    members = {
        "member_id": ids,
        "signup_at": _stamps(*[datetime(2024, 1, 1, tzinfo=UTC)] * k),
        "ended_at": _stamps(*[None] * k),
        "country": ["US"] * k,
        "fee": pa.array(fees[:k], pa.float64()),
    }
    events = {
        "member_id": event_ids,
        "ts": _stamps(*stamps[:j]),
        "action": ["open"] * j,
        "value": pa.array(fees[:j] + [0.0] * (j - min(j, 5)), pa.float64()),
    }
    _agree(_world(folder, members, events))


def _members_and_events(folder: Path, events: pa.Table) -> Path:
    _world(folder)
    pq.write_table(events, folder / "events.parquet")
    return folder


def _events_with(member_id: pa.Array) -> pa.Table:
    n = len(member_id)
    return pa.table(
        {
            "member_id": member_id,
            "ts": _stamps(*[datetime(2024, 2, 1, tzinfo=UTC)] * n),
            "action": ["open"] * n,
        }
    )


def test_the_dictionaries_of_dictionary_encoded_ids_answer_the_probe(tmp_path: Path) -> None:
    from tenure.store.ingest import _dictionary_values

    ids = pa.array(["m1", "m2", "m3", "m1"] * 50).dictionary_encode()
    folder = _members_and_events(tmp_path / "w", _events_with(ids))
    with duckdb.connect() as con:
        files = _open(con, CONTRACTS["events"], find_sources(folder), ColumnMap())
    values = _dictionary_values(files, "member_id")
    assert values is not None
    assert sorted(values.to_pylist()) == ["m1", "m2", "m3"]  # 3 entries for 200 rows
    _agree(folder)
    assert connect(folder).table("events").count().to_pyarrow().as_py() == 200


@pytest.mark.parametrize("unused", ["m9", " m1", "m\x001", ""])
def test_a_dictionary_value_no_row_has_refuses_nothing(tmp_path: Path, unused: str) -> None:
    """Dictionaries may list a value no row uses: it sends the probe to the rows, no more."""
    from tenure.store.ingest import _dictionary_values

    ids = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 2, 0], pa.int32()), pa.array(["m1", "m2", "m3", unused])
    )
    folder = _members_and_events(tmp_path / "w", _events_with(ids))
    with duckdb.connect() as con:
        files = _open(con, CONTRACTS["events"], find_sources(folder), ColumnMap())
    values = _dictionary_values(files, "member_id")
    if values is not None:  # the writer kept the unused entry: the case under test
        assert unused in values.to_pylist()
    _agree(folder)
    events = connect(folder).table("events").to_pyarrow()
    assert sorted(events["member_id"].to_pylist()) == ["m1", "m1", "m2", "m3"]


def test_a_null_id_is_seen_through_the_dictionaries(tmp_path: Path) -> None:
    ids = pa.array(["m1", None, "m3", "m1"]).dictionary_encode()
    folder = _members_and_events(tmp_path / "w", _events_with(ids))
    _agree(folder)
    with pytest.raises(DataContractError, match="line 2: member_id is missing"):
        connect(folder)


def test_plain_encoded_and_mixed_csv_parts_take_the_row_probe(tmp_path: Path) -> None:
    from tenure.store.ingest import _dictionary_values

    folder = tmp_path / "w"
    _world(folder)
    (folder / "events.parquet").unlink()
    (folder / "events").mkdir()
    table = _events_with(pa.array(["m1", "m2"]))
    pq.write_table(table, folder / "events" / "part-0.parquet", use_dictionary=False)
    (folder / "events" / "part-1.csv").write_text(
        "member_id,ts,action\nm9,2024-02-01T00:00:00Z,open\n"
    )
    with duckdb.connect() as con:
        files = _open(con, CONTRACTS["events"], find_sources(folder), ColumnMap())
    assert _dictionary_values(files, "member_id") is None  # a CSV part: no dictionaries
    assert _dictionary_values(files[:1], "member_id") is not None  # plain pages: read whole
    _agree(folder)
    with pytest.raises(DataContractError, match="member_id 'm9' is not a known member"):
        connect(folder)
