"""A CSV attribute column holding only numbers is a number, as the same column in Parquet is.

Found on a world Tenure did not write (Basketly, ``tests/worlds/basket.py``): its members are
CSV, and ``distance_km``, a continuous attribute the contract does not name, stayed text, so
HVA discovery dropped it as a category with thousands of levels and left the action it drives
unadjusted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tenure.hva import discover
from tenure.simulate import WorldConfig, simulate_world
from tenure.store import connect, ingest
from tenure.store.numbers import numeric_attributes


def _typed(values: list[str | None]) -> str | None:
    table, types = numeric_attributes(pa.table({"x": pa.array(values, pa.string())}), ["x"])
    assert (table.column("x").type == pa.string()) == ("x" not in types)
    return types.get("x")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2", None, " 6 ", "+3", "-0"], "BIGINT"),
        (["1.5", ".5", "-2.", "1e3", "7", "+4.25E-2"], "DOUBLE"),
        (["9" * 18, "1"], "BIGINT"),
        (["9" * 19, "1"], "DOUBLE"),  # more digits than an int64 is sure to hold
        (["02139", "94110"], None),  # a leading zero: an identifier, not a quantity
        (["0.5", "00.5"], None),
        (["1", "nan", "NA", "N/A", "NULL", "None"], "BIGINT"),  # the contract's missing values
        (["12.5", "n/a"], "DOUBLE"),
        (["NA", "NA", None], None),  # Namibia, not a missing number
        (["1", "inf"], None),
        (["1", "1e309"], None),
        (["1", "two"], None),
        (["1,5", "2"], None),
        ([None, None], None),
    ],
)
def test_a_column_is_a_number_only_when_every_value_is_one(
    values: list[str | None], expected: str | None
) -> None:
    assert _typed(values) == expected


def test_the_cast_values_are_the_written_numbers() -> None:
    table, _ = numeric_attributes(
        pa.table({"n": ["+3", " 12", "N/A"], "d": ["1e3", ".5", "-2."], "t": ["1", "a", "b"]}),
        ["n", "d", "t"],
    )
    assert table.column("n").to_pylist() == [3, 12, None]
    assert table.column("d").to_pylist() == [1000.0, 0.5, -2.0]
    assert table.column("t").to_pylist() == ["1", "a", "b"]


def _members_csv(folder: Path, rows: list[str], name: str = "members.csv") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    header = "member_id,signup_at,fee,household_size,distance_km,zip,note\n"
    (folder / name).write_text(header + "".join(r + "\n" for r in rows))


def test_a_csv_folder_types_its_attribute_columns_read_in_place_and_ingested(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "folder"
    _members_csv(
        folder,
        [
            "m1,2024-01-01,9.99,2,3.5,02139,a",
            "m2,2024-01-02,9.99,4,12,94110,b",
            "m3,2024-01-03,,,,,",
        ],
    )
    (folder / "events.csv").write_text("member_id,ts,action,slot\nm1,2024-01-02,shop,7\n")
    db = tmp_path / "store.duckdb"
    ingest(folder, db)
    for source in (folder, db):
        schema = connect(source).members.schema()
        assert schema["household_size"].is_integer(), source
        assert schema["distance_km"].is_floating(), source
        assert schema["zip"].is_string() and schema["note"].is_string(), source
    rows = connect(folder).members.order_by("member_id").to_pyarrow().to_pylist()
    assert [r["distance_km"] for r in rows] == [3.5, 12.0, None]
    assert connect(folder).table("events").schema()["slot"].is_string()  # a level, not a number
    assert [r["zip"] for r in rows] == ["02139", "94110", None]


def test_files_of_one_table_that_disagree_widen_to_a_number_or_fall_back_to_text(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "parts"
    _members_csv(folder / "members", ["m1,2024-01-01,1,2,3,11,x"], "part-1.csv")
    _members_csv(folder / "members", ["m2,2024-01-02,1,4,3.25,x7,y"], "part-2.csv")
    members = connect(folder).members
    schema = members.schema()
    assert schema["distance_km"].is_floating()  # 3 and 3.25: a decimal column
    assert schema["household_size"].is_integer()
    assert schema["zip"].is_string()  # 11 and x7: text
    rows = members.order_by("member_id").to_pyarrow().to_pylist()
    assert [(r["distance_km"], r["zip"]) for r in rows] == [(3.0, "11"), (3.25, "x7")]


def test_hva_on_a_csv_copy_adjusts_as_on_the_parquet_original(tmp_path: Path) -> None:
    """The same world as Parquet and as CSV: the same candidates, effects and balance rows."""
    original = tmp_path / "parquet"
    simulate_world(original, WorldConfig(n_members=4_000, seed=3))
    members = pq.read_table(original / "members.parquet")
    distance = np.round(np.random.default_rng(0).lognormal(1.5, 0.6, members.num_rows), 2)
    pq.write_table(
        members.append_column("distance_km", pa.array(distance)), original / "members.parquet"
    )
    copy = tmp_path / "csv"
    copy.mkdir()
    for name in ("members", "events"):
        pacsv.write_csv(pq.read_table(original / f"{name}.parquet"), copy / f"{name}.csv")
    shutil.copy(original / "benefits.csv", copy / "benefits.csv")
    results = [discover(connect(f), window=7, horizon=60) for f in (original, copy)]
    assert not any("distance_km" in w for r in results for w in r.warnings)
    pq_rows, csv_rows = ({e.candidate.name: e for e in r.overall()} for r in results)
    assert list(pq_rows) == list(csv_rows)
    for name, e in pq_rows.items():
        other = csv_rows[name]
        assert other.adjusted_diff == pytest.approx(e.adjusted_diff, abs=1e-9), name
        assert [b.covariate for b in other.balance] == [b.covariate for b in e.balance]
    assert "distance_km" in [b.covariate for b in next(iter(pq_rows.values())).balance]


def test_a_strangers_members_file_still_types_its_numbers(tmp_path: Path) -> None:
    """A BOM, CRLF line ends, quoted fields, columns in another order and spaces round values."""
    folder = tmp_path / "stranger"
    folder.mkdir()
    (folder / "members.csv").write_bytes(
        "\ufeffdistance_km,member_id,household_size,signup_at\r\n"
        '" 3.5","m1","2",2024-01-01T09:00:00+09:00\r\n'
        '"12","m,2", 4 ,2024-01-02\r\n'.encode()
    )
    rows = connect(folder).members.order_by("member_id").to_pyarrow()
    assert rows.schema.field("distance_km").type == pa.float64()
    assert rows.schema.field("household_size").type == pa.int64()
    got = {r["member_id"]: (r["distance_km"], r["household_size"]) for r in rows.to_pylist()}
    assert got == {"m1": (3.5, 2), "m,2": (12.0, 4)}
