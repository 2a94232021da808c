"""Property: for random valid tables with random corrupted cells, ingest loses nothing.

Hypothesis writes a members CSV of random valid rows — ids and attributes with commas,
quotes, newlines and non-ASCII text, timestamps in every accepted form and offset, blank
lines between records — then corrupts random cells with values the contract forbids.
Whatever the draw: accepted + quarantined = read, the quarantine holds exactly the
corrupted rows at the physical line where each record starts, and every accepted row
equals the row that was written.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.schema import NULL_TOKENS
from tenure.store import ingest

AS_OF = datetime(2030, 1, 1, tzinfo=UTC)
HEADER = ["member_id", "signup_at", "ended_at", "fee", "note"]
TEXT = (
    st.text(alphabet=st.sampled_from(list("abcXYZ019 ,\"'\n;é漢-_.")), min_size=1, max_size=8)
    | st.sampled_from(["NA", "None", "NULL", "0042", "007"])
).filter(lambda s: s == s.strip())
CORRUPTIONS = (
    "bad_date",
    "impossible_date",
    "named_zone",
    "negative_fee",
    "text_fee",
    "infinite_fee",
    "no_id",
    "ended_before_signup",
    "extra_field",
    "duplicate_id",
)


@dataclass
class Row:
    member_id: str
    signup: datetime
    ended: datetime | None
    fee: float | None
    note: str
    form: int
    offset_min: int
    corruption: str | None = None


def _stamp(t: datetime, form: int, offset_min: int) -> str:
    """`t` written in one of the accepted text forms, at a fixed offset."""
    local = t.astimezone(timezone(timedelta(minutes=offset_min)))
    sign = "+" if offset_min >= 0 else "-"
    hh, mm = divmod(abs(offset_min), 60)
    forms = [
        local.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{sign}{hh:02d}:{mm:02d}",
        local.strftime("%Y-%m-%d %H:%M:%S") + f"{sign}{hh:02d}{mm:02d}",
        t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        t.strftime("%Y-%m-%d %H:%M:%S"),
        t.strftime("%Y-%m-%d %H:%M:%S") + " UTC",
    ]
    return forms[form]


def _precision(t: datetime, form: int) -> datetime:
    return t if form == 0 else t.replace(microsecond=0)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Row], list[int]]:
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(TEXT, min_size=n, max_size=n, unique=True))
    rows = []
    for member_id in ids:
        signup = draw(
            st.datetimes(datetime(2000, 1, 1), datetime(2024, 1, 1), timezones=st.just(UTC))
        )
        days = draw(st.none() | st.integers(0, 900))
        ended = None if days is None else signup + timedelta(days=days)
        fee = draw(st.none() | st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
        form = draw(st.integers(0, 4))
        offset = draw(st.sampled_from([0, 540, -300, 330, -570])) if form < 2 else 0
        corruption = draw(st.none() | st.sampled_from(CORRUPTIONS))
        rows.append(Row(member_id, signup, ended, fee, draw(TEXT), form, offset, corruption))
    blanks = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return rows, blanks


def _cells(row: Row, earlier_ids: list[str]) -> list[str]:
    signup = _stamp(row.signup, row.form, row.offset_min)
    ended = "" if row.ended is None else _stamp(row.ended, row.form, row.offset_min)
    fee = "" if row.fee is None else repr(row.fee)
    member_id = row.member_id
    match row.corruption:
        case "bad_date":
            signup = "yesterday"
        case "impossible_date":
            signup = "2023-02-29T00:00:00Z"
        case "named_zone":
            signup = row.signup.strftime("%Y-%m-%d %H:%M:%S") + " Europe/Paris"
        case "negative_fee":
            fee = "-0.5"
        case "text_fee":
            fee = "ten"
        case "infinite_fee":
            fee = "1e309"
        case "no_id":
            member_id = ""
        case "ended_before_signup":
            ended = _stamp(row.signup - timedelta(days=1), 2, 0)
        case "duplicate_id" if earlier_ids:
            member_id = earlier_ids[0]
    cells = [member_id, signup, ended, fee, row.note]
    return [*cells, "extra"] if row.corruption == "extra_field" else cells


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tables())
def test_accepted_plus_quarantined_is_read_and_accepted_rows_are_unchanged(
    drawn: tuple[list[Row], list[int]],
) -> None:
    rows, blanks = drawn
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    line = 2
    expected_bad: set[int] = set()
    expected_good: dict[str, Row] = {}
    written: list[str] = []
    for row, blank in zip(rows, blanks, strict=True):
        cells = _cells(row, written)
        start = buf.tell()
        writer.writerow(cells)
        record = buf.getvalue()[start:]
        member_id = cells[0]
        bad = row.corruption not in (None, "duplicate_id") or member_id in expected_good
        if row.corruption == "duplicate_id" and not written:
            bad = False  # nothing earlier to duplicate: the row is written unchanged
        if bad:
            expected_bad.add(line)
        else:
            expected_good[member_id] = row
        written.append(row.member_id)
        line += record.count("\n")
        buf.write("\n" * blank)
        line += blank
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        (folder / "members.csv").write_text(buf.getvalue(), encoding="utf-8")
        db = Path(tmp) / "t.duckdb"
        report = ingest(folder, db, as_of=AS_OF)
        (counts,) = report.tables
        assert counts.read == len(rows)
        assert counts.accepted + counts.quarantined == counts.read
        with duckdb.connect(str(db), read_only=True) as con:
            lines = {r[0] for r in con.execute("SELECT line FROM quarantine").fetchall()}
            loaded = con.execute("SELECT * FROM members").to_arrow_table().to_pylist()
    assert lines == expected_bad
    got: dict[str, dict[str, Any]] = {r["member_id"]: r for r in loaded}
    assert set(got) == set(expected_good)
    for member_id, row in expected_good.items():
        r = got[member_id]
        assert r["signup_at"] == _precision(row.signup, row.form)
        want_end = None if row.ended is None else _precision(row.ended, row.form)
        assert r["ended_at"] == want_end
        assert r["fee"] == row.fee
        # An attribute column whose every value is a number (or a missing-value spelling
        # such as NA) is read as numbers (store.numbers).
        note = r["note"]
        if note is None:
            assert row.note in NULL_TOKENS
        else:
            assert note == (row.note if isinstance(note, str) else type(note)(row.note))
