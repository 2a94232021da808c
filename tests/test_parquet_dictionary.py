"""The dictionary-page reader against pyarrow's own reading of the same files.

pyarrow's ``read_row_group(..., read_dictionary=[col])`` is the independent reference: for
a chunk whose data pages all index the dictionary it returns that dictionary, entry for
entry, so the reader must give the same entries in the same order per row group, and the
same null flag. Everything the reader cannot vouch for must come back None, never a wrong
answer and never an exception.
"""

from __future__ import annotations

import struct
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.store.parquet_dictionary import (
    _decompress,
    _int,
    _page_header,
    _plain_strings,
    column_dictionary,
)

CODECS = ["none", "snappy", "gzip", "zstd", "lz4", "brotli"]
WORDS = ["", "é", "日本語", "naïve café", "a\x00b", "x" * 300, "🙂", " m1", "m1"]


def _reference(path: Path, column: str) -> tuple[list[list[str]], bool]:
    """pyarrow's dictionary per row group (one chunk each here) and whether a row is null."""
    parquet = pq.ParquetFile(path, read_dictionary=[column])
    dictionaries, nulls = [], False
    for i in range(parquet.num_row_groups):
        read = parquet.read_row_group(i, columns=[column]).column(0)
        nulls = nulls or read.null_count > 0
        assert read.num_chunks == 1
        chunk = read.chunk(0)
        assert isinstance(chunk, pa.DictionaryArray)
        dictionaries.append(chunk.dictionary.to_pylist())
    return dictionaries, nulls


def _assert_matches(path: Path, column: str) -> None:
    found = column_dictionary(path, column)
    assert found is not None
    dictionaries, nulls = _reference(path, column)
    assert [chunk.to_pylist() for chunk in found.values.chunks] == dictionaries
    assert found.nulls is nulls
    assert found.values.type == pa.string()


def _texts(n: int, *, nulls: bool, seed: int = 0) -> pa.Array:
    rng = np.random.default_rng(seed)
    pool = WORDS + [f"member-{i}" for i in range(2000)]
    values: list[str | None] = [pool[i] for i in rng.integers(0, len(pool), n)]
    if nulls:
        values = [None if i % 37 == 5 else v for i, v in enumerate(values)]
    return pa.array(values, pa.string())


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("nulls", [False, True])
def test_every_codec_and_page_version_gives_pyarrows_dictionaries(
    tmp_path: Path, codec: str, version: str, nulls: bool
) -> None:
    path = tmp_path / "t.parquet"
    table = pa.table({"n": pa.array(range(12_000)), "a": _texts(12_000, nulls=nulls)})
    pq.write_table(
        table, path, compression=codec, row_group_size=4_000, data_page_size=256,
        data_page_version=version,
    )  # fmt: skip
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 3
    chunk = metadata.row_group(0).column(1)
    # Many data pages per chunk: far more bytes than one 256-byte page after the dictionary.
    assert (
        chunk.total_compressed_size - (chunk.data_page_offset - chunk.dictionary_page_offset)
        > 2_000
    )
    _assert_matches(path, "a")


def test_fixed_width_ids_take_the_equal_length_path_and_agree(tmp_path: Path) -> None:
    path = tmp_path / "ids.parquet"
    rng = np.random.default_rng(1)
    ids = pa.array([f"px{i:08x}" for i in rng.integers(0, 50_000, 200_000)])
    pq.write_table(pa.table({"member_id": ids}), path, row_group_size=50_000)
    _assert_matches(path, "member_id")


def test_entries_that_only_look_equal_in_length_are_decoded_one_by_one() -> None:
    """4 entries of 6 bytes on average: the equal-length guess fits the size, not the data."""
    entries = ["ab", "cd", "e", "fgh"]
    page = _plain(entries)
    assert len(page) == 4 * (4 + 2)
    found = _plain_strings(page, 4)
    assert found is not None
    assert found.to_pylist() == entries


def _plain(entries: list[str] | list[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        raw = entry.encode() if isinstance(entry, str) else entry
        out += struct.pack("<I", len(raw)) + raw
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=60))
def test_plain_entries_round_trip(entries: list[str]) -> None:
    found = _plain_strings(_plain(entries), len(entries))
    assert found is not None
    assert found.to_pylist() == entries


@pytest.mark.parametrize("length", [255, 256, 70_000])
def test_long_entries_and_zero_bytes_in_text_round_trip(length: int) -> None:
    """Pages past 2**8 and 2**16 bytes, whose lengths have nonzero second and third bytes."""
    entries = ["\x00" * 5, "a" * length, "", "\x00\x00\x00\x00z", "é" * 3, "b" * (length // 3)]
    found = _plain_strings(_plain(entries), len(entries))
    assert found is not None
    assert found.to_pylist() == entries


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=12), min_size=1, max_size=30),
    st.integers(min_value=0),
    st.integers(min_value=1, max_value=255),
    st.integers(min_value=-2, max_value=2),
)
def test_damaged_plain_pages_decode_to_their_bytes_or_to_none(
    entries: list[str], where: int, flip: int, miscount: int
) -> None:
    """Whatever the damage, an answer is an exact parse of the bytes given, never garbage."""
    page = bytearray(_plain(entries))
    page[where % len(page)] ^= flip
    count = max(0, len(entries) + miscount)
    found = _plain_strings(bytes(page), count)
    if found is not None:
        assert len(found) == count
        assert _plain(found.to_pylist()) == bytes(page)


def test_a_dictionary_that_overflowed_into_plain_pages_is_refused(tmp_path: Path) -> None:
    for version in ("1.0", "2.0"):
        path = tmp_path / f"fallback-{version}.parquet"
        values = pa.array([f"v{i}" for i in range(20_000)])
        pq.write_table(
            pa.table({"a": values}), path, dictionary_pagesize_limit=2_000,
            data_page_size=1_000, data_page_version=version,
        )  # fmt: skip
        chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)
        # A dictionary page exists (so only the page walk can refuse), and 2,000 bytes of
        # dictionary cannot hold 20,000 distinct values: later pages are PLAIN.
        assert chunk.has_dictionary_page
        assert column_dictionary(path, "a") is None


def test_plain_columns_non_text_and_nested_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    n = 1_000
    table = pa.table(
        {
            "plain": pa.array([f"p{i % 10}" for i in range(n)]),
            "number": pa.array([i % 10 for i in range(n)]),
            "blob": pa.array([b"b%d" % (i % 10) for i in range(n)], pa.binary()),
            "listed": pa.array([[f"l{i % 10}"] for i in range(n)]),
            "nested": pa.array([{"inner": f"s{i % 10}"} for i in range(n)]),
            "text": pa.array([f"t{i % 10}" for i in range(n)]),
        }
    )
    pq.write_table(table, path, use_dictionary=["number", "blob", "listed", "nested", "text"])
    for column in ("plain", "number", "blob", "listed", "listed.list.element", "nested"):
        assert column_dictionary(path, column) is None, column
    assert column_dictionary(path, "nested.inner") is None
    assert column_dictionary(path, "missing") is None
    _assert_matches(path, "text")


def test_a_chunk_without_a_null_count_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": ["x", None, "y"] * 10}), path, write_statistics=False)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).statistics is None
    assert column_dictionary(path, "a") is None


def test_an_empty_string_dictionary_and_all_null_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": pa.array([None, None], pa.string())}), path)
    found = column_dictionary(path, "a")
    if found is not None:
        assert found.nulls
        assert found.values.to_pylist() == []
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"a": ["", "", ""]}), path)
    _assert_matches(path, "a")


def test_invalid_utf8_in_a_dictionary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    raw = pa.array([b"ok", b"\xff\xfe", b"ok"] * 10, pa.binary())
    pq.write_table(pa.table({"a": raw.view(pa.string())}), path)  # declared text, unchecked
    assert pq.ParquetFile(path).schema.column(0).logical_type.type == "STRING"
    with pytest.raises(pa.ArrowInvalid):
        pq.read_table(path).column(0).validate(full=True)
    assert column_dictionary(path, "a") is None
    assert _plain_strings(_plain([b"fine", b"\xc3"]), 2) is None  # a cut two-byte sequence


def test_duckdbs_files_give_their_values_or_none(tmp_path: Path) -> None:
    path = tmp_path / "duck.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT CASE WHEN i % 13 = 0 THEN NULL
                             ELSE 'm' || (i % 5000)::VARCHAR || 'é' END AS a,
                             i AS n
                      FROM range(300000) t(i))
                TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 100000)"""
        )
        wide = tmp_path / "wide.parquet"  # every value distinct: DuckDB writes PLAIN
        con.execute(
            f"COPY (SELECT md5(i::VARCHAR) AS a FROM range(300000) t(i)) TO '{wide}' (FORMAT parquet)"
        )
    found = column_dictionary(path, "a")
    truth = set(pq.read_table(path).column("a").to_pylist())
    if found is not None:
        assert set(found.values.to_pylist()) == truth - {None}
        assert found.nulls
        _assert_matches(path, "a")
    wide_found = column_dictionary(wide, "a")
    if wide_found is not None:
        assert set(wide_found.values.to_pylist()) == set(
            pq.read_table(wide).column("a").to_pylist()
        )


def _small_file(path: Path, codec: str = "none") -> None:
    values = pa.array([f"id-{i % 40}" for i in range(2_000)])
    pq.write_table(pa.table({"a": values}), path, compression=codec, data_page_size=300)


@pytest.mark.parametrize("codec", ["none", "snappy"])
def test_truncated_copies_are_refused_without_raising(tmp_path: Path, codec: str) -> None:
    whole = tmp_path / "whole.parquet"
    _small_file(whole, codec)
    data = whole.read_bytes()
    cut = tmp_path / "cut.parquet"
    for size in (0, 3, 4, 40, len(data) // 2, len(data) - 9, len(data) - 1):
        cut.write_bytes(data[:size])
        assert column_dictionary(cut, "a") is None, size
    # The footer intact but the pages short: bytes cut from the middle of the chunk.
    chunk = pq.ParquetFile(whole).metadata.row_group(0).column(0)
    middle = chunk.data_page_offset + 10
    cut.write_bytes(data[:middle] + data[middle + 25 :])
    assert column_dictionary(cut, "a") is None


@pytest.mark.parametrize("codec", ["none", "snappy"])
def test_flipped_bytes_in_page_headers_give_none_or_the_right_answer(
    tmp_path: Path, codec: str
) -> None:
    whole = tmp_path / "whole.parquet"
    _small_file(whole, codec)
    expected = column_dictionary(whole, "a")
    assert expected is not None
    chunk = pq.ParquetFile(whole).metadata.row_group(0).column(0)
    data = bytearray(whole.read_bytes())
    damaged = tmp_path / "damaged.parquet"
    spots: list[int] = []  # every byte of the headers of the first three pages
    start = chunk.dictionary_page_offset
    chunk_bytes = bytes(data[start : start + chunk.total_compressed_size])
    pos = 0
    for _ in range(3):
        header, payload = _page_header(chunk_bytes, pos)
        spots += range(start + pos, start + payload)
        pos = payload + _int(header, 3)
    refused = 0
    for spot in spots:
        for flip in (0x01, 0x80, 0xFF):
            copy = bytearray(data)
            copy[spot] ^= flip
            damaged.write_bytes(bytes(copy))
            found = column_dictionary(damaged, "a")
            if found is None:
                refused += 1
            else:  # a flip in a byte the answer does not depend on (a CRC, a min value)
                assert found.values.equals(expected.values), (spot, flip)
    assert refused > len(spots)  # most damage is seen


def test_the_folder_check_reads_dictionary_pages_not_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest's `_dictionary_values` takes the new reader; plain files keep the old path."""
    from tenure.schema import CONTRACTS
    from tenure.store.ingest import _dictionary_values, _open
    from tenure.store.mapping import ColumnMap
    from tenure.store.sources import find_sources

    folder = tmp_path / "w"
    folder.mkdir()
    utc = pa.timestamp("us", tz="UTC")
    members = {"member_id": ["m1", "m2"], "signup_at": pa.array([0, 0], utc)}
    pq.write_table(pa.table(members), folder / "members.parquet")
    events = pa.table(
        {
            "member_id": pa.array(["m1", "m2", None, "m1"] * 50),
            "ts": pa.array([0] * 200, utc),
            "action": ["open"] * 200,
        }
    )
    pq.write_table(events, folder / "events.parquet", row_group_size=60)
    with duckdb.connect() as con:
        files = _open(con, CONTRACTS["events"], find_sources(folder), ColumnMap())

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read_row_group called")

    with monkeypatch.context() as patch:
        patch.setattr(pq.ParquetFile, "read_row_group", refuse)
        values = _dictionary_values(files, "member_id")
    assert values is not None
    assert set(values.to_pylist()) == {"m1", "m2", None}
    assert values.num_chunks == 4 + 1  # a dictionary per row group, and the null

    pq.write_table(events, folder / "events.parquet", use_dictionary=False)
    with duckdb.connect() as con:
        files = _open(con, CONTRACTS["events"], find_sources(folder), ColumnMap())
    assert column_dictionary(folder / "events.parquet", "member_id") is None
    values = _dictionary_values(files, "member_id")  # pyarrow's path: plain pages read whole
    assert values is not None
    assert set(values.to_pylist()) == {"m1", "m2", None}


def test_a_page_checksum_catches_a_damaged_dictionary_payload(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    values = pa.array([f"id-{i % 40}" for i in range(2_000)])
    pq.write_table(pa.table({"a": values}), whole, compression="none", write_page_checksum=True)
    _assert_matches(whole, "a")
    chunk = pq.ParquetFile(whole).metadata.row_group(0).column(0)
    data = bytearray(whole.read_bytes())
    data[chunk.data_page_offset - 3] ^= 0x01  # a byte of the last dictionary entry
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(data))
    assert column_dictionary(damaged, "a") is None


@pytest.mark.parametrize("codec", ["snappy", "gzip", "zstd", "brotli", "lz4_raw"])
def test_a_stream_shorter_or_longer_than_its_header_says_is_refused(codec: str) -> None:
    """pyarrow's decompress fills the size asked for whatever the stream held: check it."""
    body = b"".join(b"entry-%d" % i for i in range(500))
    packed = pa.Codec(codec).compress(body, asbytes=True)
    assert bytes(_decompress(packed, len(body), codec)) == body
    for claimed in (len(body) + 1, len(body) + 100, len(body) - 1):
        with pytest.raises(ValueError):
            _decompress(packed, claimed, codec)
