"""A Parquet column chunk's dictionary, read from the file's dictionary page alone.

A dictionary-encoded text column stores each row group's distinct values once, in a
dictionary page ahead of the data pages; the data pages hold only indices into it. The
data-contract probes need the values, never the indices, yet pyarrow's
``read_row_group(..., read_dictionary=[col])`` decodes every index to build its
``DictionaryArray``: for the 105M member ids of a 1M-member world that is most of the
folder check's time, spent on numbers that are thrown away. This module reads a column
chunk's bytes, walks its page headers (Thrift Compact Protocol structs, parsed here), and
decodes the dictionary page's PLAIN entries into a ``pa.StringArray`` with numpy; the data
pages' payloads are skipped, only their headers are read.

The dictionary is a faithful summary of a chunk only when *every* data page of the chunk
indexes it. Writers fall back to PLAIN pages when a dictionary grows too big, and those
pages hold values the dictionary lacks, so each data page's encoding is checked, not the
chunk's ``encodings`` list (which names PLAIN for the dictionary page itself). Whenever the
reader cannot be sure — an unexpected layout, codec, type or encoding, a null count the
metadata does not give, a truncated or corrupt file, text that is not UTF-8 — it answers
None ("cannot say") and the caller reads the column the slow way.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from os import PathLike
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ColumnDictionary", "column_dictionary"]

_DATA_PAGE = 0
_INDEX_PAGE = 1
_DICTIONARY_PAGE = 2
_DATA_PAGE_V2 = 3

_PLAIN = 0
_PLAIN_DICTIONARY = 2
_RLE_DICTIONARY = 8
_DICTIONARY_INDICES = frozenset({_PLAIN_DICTIONARY, _RLE_DICTIONARY})
"""Data page encodings that hold indices into the chunk's dictionary (2 is the old name)."""
_DICTIONARY_ENTRIES = frozenset({_PLAIN, _PLAIN_DICTIONARY})
"""Dictionary page encodings: both mean the entries are PLAIN (2 in format 1.0 files)."""

_CODECS: dict[str, str | None] = {
    "UNCOMPRESSED": None,
    "SNAPPY": "snappy",
    "GZIP": "gzip",
    "ZSTD": "zstd",
    "BROTLI": "brotli",
    # pyarrow names Parquet's LZ4_RAW codec "LZ4" (its arrow::Compression::LZ4, the raw
    # block format); Parquet's deprecated Hadoop-framed LZ4 maps to LZ4_HADOOP, which
    # pyarrow names "UNKNOWN" and which is therefore refused.
    "LZ4": "lz4_raw",
    "LZ4_RAW": "lz4_raw",
}

_MAX_GENERAL_PAGE = 1 << 27
"""Bytes of a dictionary page of unequal entries the general decoder takes on.

It keeps a 4-byte index per page byte (512 MB at this bound) besides its candidates;
writers cut dictionary pages far smaller (pyarrow at 1 MB by default), and a bigger page
is left to the caller's pyarrow path.
"""

_MAX_CANDIDATES = 1 << 24
"""Candidate entry starts one dictionary page may have for the general decoder.

Each candidate costs some 40 bytes of index arrays; text pages have one to four per entry,
but a page of NUL-heavy values has one per byte, and past this bound (some 700 MB) the
caller's pyarrow path is the better use of memory.
"""

_MAX_DEPTH = 16
"""Nesting a page header never needs (PageHeader > DataPageHeader > Statistics is 3)."""


class _Corrupt(ValueError):
    """The bytes are not what the metadata says they are."""


_Value: TypeAlias = "int | dict[int, _Value] | None"
"""A decoded Thrift value: integers (and booleans, as 0/1) and structs; the rest skipped."""


class _Compact:
    """A Thrift Compact Protocol reader over ``buf`` from ``pos`` that can skip any value.

    Only integers and structs are kept; binaries, doubles, UUIDs, lists, sets and maps are
    walked over (their lengths checked against the buffer) since no page header field
    this module needs has those types. A read past the buffer raises IndexError, which
    `_page_header` turns into `_Corrupt`; skips are checked explicitly.
    """

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos

    def skip(self, count: int) -> None:
        if count < 0 or self.pos + count > len(self.buf):
            raise _Corrupt("Thrift value runs past its column chunk")
        self.pos += count

    def varint(self) -> int:
        buf, pos = self.buf, self.pos
        byte = buf[pos]
        pos += 1
        value, shift = byte & 0x7F, 7
        while byte & 0x80:
            if shift > 63:
                raise _Corrupt("varint longer than 10 bytes")
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
        self.pos = pos
        return value

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def struct(self, depth: int = 0) -> dict[int, _Value]:
        """The fields of the struct at `pos` (to its stop byte), by field id."""
        if depth > _MAX_DEPTH:
            raise _Corrupt("Thrift structs nested too deep")
        buf = self.buf
        fields: dict[int, _Value] = {}
        field_id = 0
        while True:
            head = buf[self.pos]
            self.pos += 1
            if head == 0:
                return fields
            kind, delta = head & 0x0F, head >> 4
            field_id = field_id + delta if delta else self.zigzag()
            if not -(1 << 15) <= field_id < 1 << 15:
                raise _Corrupt("Thrift field id out of the i16 range")
            if kind == 1 or kind == 2:  # a field's boolean lives in its type nibble
                fields[field_id] = int(kind == 1)
            elif 4 <= kind <= 6:
                fields[field_id] = self.zigzag()
            else:
                fields[field_id] = self.value(kind, depth)

    def value(self, kind: int, depth: int) -> _Value:
        """One value of Thrift compact type `kind` (in a list, bools take a byte)."""
        if kind in (1, 2, 3):
            byte = self.buf[self.pos]
            self.pos += 1
            return byte if kind == 3 else int(byte == 1)
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            self.skip(8)
        elif kind == 8:
            self.skip(self.varint())
        elif kind == 13:
            self.skip(16)
        elif kind in (9, 10):
            head = self.buf[self.pos]
            self.pos += 1
            size, element = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            self._elements(size, (element,), depth)
        elif kind == 11:
            size = self.varint()
            if size:
                types = self.buf[self.pos]
                self.pos += 1
                self._elements(size, (types >> 4, types & 0x0F), depth)
        elif kind == 12:
            return self.struct(depth + 1)
        else:
            raise _Corrupt(f"unknown Thrift type {kind}")
        return None

    def _elements(self, size: int, kinds: tuple[int, ...], depth: int) -> None:
        if depth >= _MAX_DEPTH:
            raise _Corrupt("Thrift containers nested too deep")
        if size * len(kinds) > len(self.buf) - self.pos:  # each element takes a byte or more
            raise _Corrupt("Thrift container larger than its column chunk")
        for _ in range(size):
            for kind in kinds:
                self.value(kind, depth + 1)


def _page_header(data: bytes, pos: int) -> tuple[dict[int, _Value], int]:
    """The page header struct at `pos` of a column chunk's bytes, and where it ends."""
    reader = _Compact(data, pos)
    try:
        header = reader.struct()
    except IndexError:
        raise _Corrupt("page header runs past its column chunk") from None
    return header, reader.pos


def _int(fields: dict[int, _Value], field_id: int) -> int:
    value = fields.get(field_id)
    if not isinstance(value, int):
        raise _Corrupt(f"page header field {field_id} missing or not an integer")
    return value


def _struct(fields: dict[int, _Value], field_id: int) -> dict[int, _Value]:
    value = fields.get(field_id)
    if not isinstance(value, dict):
        raise _Corrupt(f"page header field {field_id} missing or not a struct")
    return value


@dataclass(frozen=True)
class ColumnDictionary:
    """The dictionary entries of a column's chunks, and whether any of its rows is null.

    ``values`` has one chunk per row group (type ``string``): together a superset of the
    column's distinct non-null values, since a dictionary may list a value no row uses
    and different row groups repeat values.
    """

    values: pa.ChunkedArray
    nulls: bool


def column_dictionary(path: str | PathLike[str], column: str) -> ColumnDictionary | None:
    """The dictionary entries of text `column` in the Parquet file at `path`, or None.

    Reads only the column's chunks (their bytes once each) and decodes only their
    dictionary pages. None when the answer would not be certain: the column is missing,
    nested or repeated (its values are not one per row), not BYTE_ARRAY text, stored in
    another file, compressed with a codec whose framing cannot be told for sure, without a
    null count in some chunk's statistics, or with a data page that is not
    dictionary-encoded (a writer's PLAIN fallback: values outside the dictionary), and
    whenever the bytes contradict the metadata (a truncated or corrupt file).
    """
    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
        index = _column_index(parquet.schema, column)
        if index is None:
            return None
        footer = metadata.serialized_size + 8  # the footer's length and the closing magic
        parts: list[pa.Array] = []
        nulls = False
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            readable = handle.tell() - footer
            for group in range(metadata.num_row_groups):
                chunk = metadata.row_group(group).column(index)
                stats = chunk.statistics
                if stats is None or not stats.has_null_count or chunk.file_path:
                    return None
                nulls = nulls or stats.null_count > 0
                codec = chunk.compression
                if codec not in _CODECS:
                    return None
                start, length = _chunk_span(chunk)
                if start < 4 or length <= 0 or start + length > readable:
                    return None
                handle.seek(start)
                data = handle.read(length)
                if len(data) != length:
                    return None
                entries = _chunk_dictionary(data, _CODECS[codec], chunk.num_values)
                if entries is None:
                    return None
                parts.append(entries)
    except (pa.ArrowException, OSError, ValueError):
        return None
    return ColumnDictionary(pa.chunked_array(parts, pa.string()), nulls)


def _column_index(schema: pq.ParquetSchema, column: str) -> int | None:
    """The leaf index of top-level, unrepeated text column `column`, or None."""
    found = [i for i in range(len(schema)) if schema.column(i).path == column]
    if len(found) != 1 or "." in column:
        return None
    leaf = schema.column(found[0])
    if leaf.max_repetition_level != 0 or leaf.max_definition_level > 1:
        return None
    if leaf.physical_type != "BYTE_ARRAY":
        return None
    if leaf.logical_type.type != "STRING" and leaf.converted_type != "UTF8":
        return None
    return found[0]


def _chunk_span(chunk: pq.ColumnChunkMetaData) -> tuple[int, int]:
    """Where the chunk's pages start in the file, and their total length.

    Some writers leave ``dictionary_page_offset`` unset (or 0, the file's magic) and put
    the dictionary page at ``data_page_offset``: the first page's type tells, later.
    """
    data = int(chunk.data_page_offset)
    dictionary = chunk.dictionary_page_offset
    start = data if dictionary is None or dictionary <= 0 else int(dictionary)
    if start > data:
        raise _Corrupt("dictionary page after the first data page")
    return start, int(chunk.total_compressed_size)


def _chunk_dictionary(data: bytes, codec: str | None, values: int) -> pa.Array | None:
    """The entries of the dictionary page leading `data`, if every data page indexes it.

    Every page header of the chunk is read, up to its exact end, and the data pages'
    value counts must add up to the chunk's: a header that does not parse or a payload
    that overruns the chunk is corruption, not something to guess around.
    """
    pos, end = 0, len(data)
    dictionary: pa.Array | None = None
    counted = 0
    while pos < end:
        header, payload = _page_header(data, pos)
        kind = _int(header, 1)
        uncompressed, compressed = _int(header, 2), _int(header, 3)
        if uncompressed < 0 or compressed < 0 or payload + compressed > end:
            return None
        if dictionary is None:
            if kind != _DICTIONARY_PAGE:
                return None  # no dictionary at all: plain pages
            page = _struct(header, 7)
            if _int(page, 2) not in _DICTIONARY_ENTRIES:
                return None
            stored = data[payload : payload + compressed]
            crc = header.get(4)
            if isinstance(crc, int) and zlib.crc32(stored) != crc & 0xFFFFFFFF:
                return None  # a checksum, when the writer left one, catches a damaged page
            body = _decompress(stored, uncompressed, codec)
            dictionary = _plain_strings(body, _int(page, 1))
            if dictionary is None:
                return None
        elif kind == _DATA_PAGE:
            page = _struct(header, 5)
            if _int(page, 2) not in _DICTIONARY_INDICES:
                return None
            counted += _int(page, 1)
        elif kind == _DATA_PAGE_V2:
            page = _struct(header, 8)
            if _int(page, 4) not in _DICTIONARY_INDICES:
                return None
            counted += _int(page, 1)
        elif kind != _INDEX_PAGE:
            return None  # a second dictionary page, or a page type this reader never saw
        pos = payload + compressed
    if dictionary is None or counted != values:
        return None
    return dictionary


def _decompress(page: bytes, size: int, codec: str | None) -> bytes | pa.Buffer:
    """The dictionary page's payload, decompressed to exactly the `size` its header says.

    pyarrow's ``Codec.decompress`` fills a buffer of the size asked for but does not say
    how many bytes the stream produced: a damaged stream that ends early would leave the
    buffer's tail unwritten (whatever the allocator left there). Snappy states its length
    up front, so that is compared; for the other codecs the stream must also fail to fit
    in one byte less, which it does exactly when it is at least `size` bytes long.
    """
    if codec is None:
        if len(page) != size:
            raise _Corrupt("uncompressed page whose two sizes differ")
        return page
    if codec == "snappy":
        reader = _Compact(page, 0)
        try:
            stated = reader.varint()
        except IndexError:
            raise _Corrupt("empty snappy page") from None
        if stated != size:
            raise _Corrupt("snappy page of another size than its header's")
        return _decompressed(page, size, codec)
    if codec == "lz4_raw" and len(page) >= 8:
        # A Hadoop-framed LZ4 page opens with its big-endian decompressed and compressed
        # sizes; if the bytes look like that the codec is ambiguous, so refuse.
        whole, block = int.from_bytes(page[:4], "big"), int.from_bytes(page[4:8], "big")
        if whole == size and block == len(page) - 8:
            raise _Corrupt("LZ4 page with a Hadoop frame")
    body = _decompressed(page, size, codec)
    if size > 0:
        try:
            _codec(codec).decompress(page, decompressed_size=size - 1)
        except (pa.ArrowException, OSError, ValueError):
            return body
        raise _Corrupt("page decompressed to fewer bytes than its header says")
    return body


def _decompressed(page: bytes, size: int, codec: str) -> pa.Buffer:
    try:
        return _codec(codec).decompress(page, decompressed_size=size)
    except (pa.ArrowException, OSError) as exc:  # pyarrow says corrupt data with OSError
        raise _Corrupt(f"{codec} page does not decompress: {exc}") from exc


_THREAD = threading.local()


def _codec(name: str) -> pa.Codec:
    """One codec object per name and thread: made once, not per page.

    Making one costs a fifth of a snappy dictionary page's decompression; kept per thread
    because a codec may hold stream state (Arrow's gzip codec keeps its z_stream).
    """
    codecs: dict[str, pa.Codec] | None = getattr(_THREAD, "codecs", None)
    if codecs is None:
        codecs = _THREAD.codecs = {}
    if name not in codecs:
        codecs[name] = pa.Codec(name)
    return codecs[name]


def _plain_strings(page: bytes | pa.Buffer, count: int) -> pa.Array | None:
    """`count` PLAIN BYTE_ARRAY entries (4-byte little-endian length, then the bytes).

    Decoded with numpy, never a Python step per entry: the entries must tile `page`
    exactly, and the result must be valid UTF-8 (as DuckDB checks the text it reads).
    Entries of one length (ids like ``px0000ce70``) are checked and cut in strides:
    0.55 ms for a 50,000-entry page; a mix of lengths needs `_entry_starts` (about 3 ms for
    50,000 ids of 2-10 characters, 10 ms when it has to fall back to pointer doubling).
    """
    raw = np.frombuffer(page, dtype=np.uint8)
    size = raw.size
    if count < 0 or size < 4 * count or size >= 1 << 31:
        return None
    if count == 0:
        return pa.array([], pa.string()) if size == 0 else None
    width = int(raw[:4].view("<u4")[0])
    if (4 + width) * count == size:  # maybe all entries are as long as the first
        rows = raw.reshape(count, 4 + width)
        lengths = np.ndarray((count,), dtype="<u4", buffer=raw, strides=(4 + width,))
        if (lengths == width).all():
            offsets = np.arange(count + 1, dtype=np.int32) * np.int32(width)
            return _strings(count, offsets, np.ascontiguousarray(rows[:, 4:]))
    starts = _entry_starts(raw, count)
    if starts is None:
        return None
    ends = np.append(starts[1:], size)
    lengths = ends - starts - 4
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    keep = np.ones(size, dtype=bool)
    for k in range(4):  # the length bytes (four scatters: half the time of one index of all)
        keep[starts + k] = False
    return _strings(count, offsets, raw[keep])


def _strings(
    count: int, offsets: npt.NDArray[np.int32], data: npt.NDArray[np.uint8]
) -> pa.Array | None:
    array = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return array


def _entry_starts(raw: npt.NDArray[np.uint8], count: int) -> npt.NDArray[np.int64] | None:
    """Where each of the `count` entries of `raw` starts, or None if they do not tile it.

    Each entry's start follows from the previous one's length, a chain that a Python loop
    would walk entry by entry. Instead every byte position is a candidate start whose
    successor is ``position + 4 + length read there``; positions whose 4 bytes could not
    be a length within the page are dropped (for text almost all but the true starts),
    and the chain from 0 is found by pointer doubling: after k rounds the first 2**k
    starts are known and each candidate's 2**k-th successor is one gather away.
    """
    size = raw.size
    if size > _MAX_GENERAL_PAGE:
        return None
    last = size - 4  # the last position with room for a length
    # The little-endian u32 at every byte position (an unaligned view, no copy).
    word = np.ndarray((last + 1,), dtype="<u4", buffer=raw, strides=(1,))
    # Entries shorter than 256 bytes (ids, names, actions) have lengths whose three high
    # bytes are zero, which text without NUL bytes has nowhere else: such positions are then
    # the starts exactly, and one vectorised check of the chain proves it (no doubling).
    short = np.flatnonzero(word < 256)
    if short.size == count and short[0] == 0:
        ends = short + 4 + word[short].astype(np.int64)
        if ends[-1] == size and (ends[:-1] == short[1:]).all():
            proven: npt.NDArray[np.int64] = short.astype(np.int64)
            return proven
    where = np.flatnonzero(word <= last)
    if where.size > _MAX_CANDIDATES:
        return None
    successor = where + 4 + word[where].astype(np.int64)
    fits = successor <= size
    where, successor = where[fits], successor[fits]
    if where.size == 0 or where[0] != 0:
        return None
    terminal, dead = where.size, where.size + 1  # the page's end, and "no entry starts here"
    node = np.full(size + 1, dead, dtype=np.int32)  # the candidate index of each position
    node[where] = np.arange(where.size, dtype=np.int32)
    node[size] = terminal
    jump = np.append(node[successor], np.array([terminal, dead], dtype=np.int32))
    chain = np.zeros(1, dtype=np.int32)
    while True:
        chain = np.concatenate([chain, jump[chain]])
        if chain.size >= count + 1:
            break
        jump = jump[jump]
    chain = chain[: count + 1]
    if chain[count] != terminal or (chain[:count] >= terminal).any():
        return None
    starts: npt.NDArray[np.int64] = where[chain[:count]]
    return starts
