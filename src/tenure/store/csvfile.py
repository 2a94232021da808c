"""Read a CSV file as text columns, with the physical line where each record starts.

A quarantined row must point at the line a user sees in an editor. Arrow's CSV reader is
fast but does not say where a row came from, and a quoted value holding newlines or a
blank line would shift a simple count. So the record layout — where each record starts
and how many fields it has — is found separately: by a vectorised numpy scan of the bytes
when the file has no quote character (the common, machine-written case), and by Python's
``csv`` module otherwise. The two readers must agree on the number of records; if they do
not, the file is refused rather than numbered wrongly.

An unterminated quote would swallow the rest of the file into one value; it is refused,
naming the line where the quote opens.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from tenure.errors import DataContractError

__all__ = [
    "CsvLayout",
    "CsvRead",
    "csv_layout",
    "malformed_records",
    "read_csv_records",
    "read_csv_text",
]

IntArray = npt.NDArray[np.int64]
_CHUNK = 1 << 24


@dataclass(frozen=True)
class CsvRead:
    """The rows of a CSV as text, each row's physical start line, and the malformed records."""

    table: pa.Table
    lines: IntArray
    malformed: list[tuple[int, str, str]]


def _open(path: Path) -> IO[bytes]:
    lower = path.name.lower()
    if lower.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if lower.endswith(".bz2"):
        return bz2.open(path, "rb")
    return path.open("rb")


def _chunks(path: Path) -> Iterator[bytes]:
    with _open(path) as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _header(path: Path, name: str) -> list[str]:
    """The column names of the first record, BOM removed, as Arrow will see them."""
    try:
        with _open(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                if row:
                    return row
    except UnicodeDecodeError as exc:
        raise DataContractError(
            "is not UTF-8 text; re-save it as UTF-8 (most tools: 'CSV UTF-8')", file=name
        ) from exc
    except (OSError, EOFError, csv.Error) as exc:
        raise DataContractError(f"cannot be read as CSV ({exc})", file=name) from exc
    raise DataContractError("is empty (expected a header line naming the columns)", file=name)


def _layout_fast(path: Path) -> tuple[IntArray, IntArray, IntArray] | None:
    """(start line, field count, start byte) of every non-blank line.

    None if the file has quotes or bare CRs. Bytes count the decompressed text.
    """
    empty_parts: list[npt.NDArray[np.bool_]] = []
    comma_parts: list[IntArray] = []
    byte_parts: list[IntArray] = []
    lines_before = 0
    prev_nl = -1  # global position of the last newline seen
    prev_byte = 10
    offset = 0
    carried = np.zeros(1, dtype=np.int64)  # commas of the line spanning the chunk boundary
    for chunk in _chunks(path):
        buf = np.frombuffer(chunk, dtype=np.uint8)
        if np.any(buf == 34):  # a quote: let the csv module decide what is quoted
            return None
        nl = np.flatnonzero(buf == 10)
        cr = np.flatnonzero(buf == 13)
        if cr.size and (cr[-1] == buf.size - 1 or not np.all(buf[cr + 1] == 10)):
            return None  # a bare CR line end (or one split by the chunk): the csv module
        starts = np.concatenate(([prev_nl - offset], nl[:-1])) + 1
        byte_parts.append(starts + offset)
        length = nl - starts
        before = np.where(nl > 0, buf[np.maximum(nl - 1, 0)], prev_byte)
        empty_parts.append((length == 0) | ((length == 1) & (before == 13)))
        commas = np.flatnonzero(buf == 44)
        line_of = np.searchsorted(nl, commas)
        counts = np.bincount(line_of, minlength=nl.size + 1).astype(np.int64)
        counts[0] += carried[0]
        comma_parts.append(counts[:-1])
        carried = counts[-1:]
        if nl.size:
            prev_nl = offset + int(nl[-1])
        lines_before += nl.size
        prev_byte = int(buf[-1])
        offset += buf.size
    tail = offset - prev_nl - 1  # bytes after the last newline
    if tail > 0 and not (tail == 1 and prev_byte == 13):
        empty_parts.append(np.zeros(1, dtype=bool))
        comma_parts.append(carried)
        byte_parts.append(np.array([prev_nl + 1], dtype=np.int64))
    if not empty_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    empty = np.concatenate(empty_parts)
    fields = np.concatenate(comma_parts) + 1
    keep = np.flatnonzero(~empty)
    return (keep + 1).astype(np.int64), fields[keep], np.concatenate(byte_parts)[keep]


def _layout_csv(path: Path, name: str) -> tuple[IntArray, IntArray]:
    """(start line, field count) of every record, by Python's csv module (quoted files)."""
    starts: list[int] = []
    fields: list[int] = []
    try:
        with _open(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            prev = 0
            for row in reader:
                if row:
                    starts.append(prev + 1)
                    fields.append(len(row))
                prev = reader.line_num
    except UnicodeDecodeError as exc:
        raise DataContractError(
            "is not UTF-8 text; re-save it as UTF-8 (most tools: 'CSV UTF-8')", file=name
        ) from exc
    except csv.Error as exc:
        raise DataContractError(f"cannot be read as CSV ({exc})", file=name) from exc
    if starts and prev > starts[-1]:
        _refuse_unterminated(path, name, starts[-1])
    return np.asarray(starts, dtype=np.int64), np.asarray(fields, dtype=np.int64)


def _refuse_unterminated(path: Path, name: str, start: int) -> None:
    """Raise when the record starting at line `start` is a quote never closed before EOF."""
    with _open(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        for _ in range(start - 1):
            fh.readline()
        try:
            for _row in csv.reader(fh, strict=True):
                pass
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise DataContractError(
                    "a quoted value opened on this line is never closed, so the rest of the "
                    "file would be read as one value; close the quote (a quote inside a "
                    'value is written "")',
                    file=name,
                    line=start,
                ) from exc


@dataclass(frozen=True)
class CsvLayout:
    """Where a CSV file's records are: its header, and each record's line and field count.

    ``offsets`` are the byte where each record starts, then the file's size, for a plain
    (uncompressed) file without quotes: any run of its records can then be read alone
    (:func:`read_csv_records` with a ``span``), so a large file need not be in memory at
    once. None for other files, which are read whole. ``quoted``: the csv module laid the
    file out (it has quotes or bare CR line ends), so a value may hold a newline.
    """

    header: list[str]
    starts: IntArray
    fields: IntArray
    offsets: IntArray | None
    quoted: bool

    @property
    def records(self) -> int:
        """Records after the header, malformed ones included."""
        return int(self.starts.size)

    @property
    def good(self) -> npt.NDArray[np.bool_]:
        """Which records have as many fields as the header."""
        return np.asarray(self.fields == len(self.header))


def csv_layout(path: Path, name: str) -> CsvLayout:
    """Check `path`'s header and find its records (one scan of the bytes, no parsing)."""
    header = _header(path, name)
    clean = [h.strip() for h in header]
    if any(not h for h in clean):
        k = next(i for i, h in enumerate(clean) if not h) + 1
        raise DataContractError(f"column {k} of the header has no name; name it", file=name)
    twice = sorted({h for h in clean if clean.count(h) > 1})
    if twice:
        raise DataContractError(
            f"the header names column(s) {', '.join(twice)} more than once; "
            "rename or drop the copies",
            file=name,
        )
    fast = _layout_fast(path)
    if fast is None:
        starts, fields = _layout_csv(path, name)
        return CsvLayout(header, starts[1:], fields[1:], None, quoted=True)
    starts, fields, at = fast
    plain = path.name.lower().endswith(".csv")
    offsets = np.append(at[1:], path.stat().st_size) if plain and at.size else None
    return CsvLayout(header, starts[1:], fields[1:], offsets, quoted=False)


def malformed_records(path: Path, layout: CsvLayout) -> list[tuple[int, str, str]]:
    """(line, reason, raw text) of each record whose field count is not the header's.

    Read from the records' own bytes (a file with ``offsets`` is quote-free, so a record is
    one line), as :func:`read_csv_records` finds them while parsing.
    """
    assert layout.offsets is not None
    bad = np.flatnonzero(~layout.good)
    out = []
    with path.open("rb") as fh:
        for i in bad:
            fh.seek(int(layout.offsets[i]))
            text = fh.readline().decode("utf-8", errors="replace").rstrip("\r\n")
            why = f"expected {len(layout.header)} fields, found {int(layout.fields[i])}"
            out.append((int(layout.starts[i]), why, text))
    return out


def read_csv_text(path: Path, name: str) -> CsvRead:
    """Read `path` with every column as text (empty is null) and number its records.

    Parameters
    ----------
    path
        The CSV file (``.csv``, ``.csv.gz`` or ``.csv.bz2``).
    name
        How to name the file in errors and in the quarantine.
    """
    return read_csv_records(path, name, csv_layout(path, name))


def read_csv_records(
    path: Path, name: str, layout: CsvLayout, span: tuple[int, int] | None = None
) -> CsvRead:
    """The records ``span`` (``[start, stop)``, all by default) of a file laid out as `layout`.

    A span needs ``layout.offsets``: the header's bytes and the span's are parsed, nothing
    else of the file is read.
    """
    header = layout.header
    clean = [h.strip() for h in header]
    lo, hi = span if span is not None else (0, layout.records)
    starts, fields, good = layout.starts[lo:hi], layout.fields[lo:hi], layout.good[lo:hi]
    source: Path | io.BytesIO = path
    if span is not None:
        assert layout.offsets is not None
        first = int(layout.offsets[0]) if layout.records else path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(first)
            fh.seek(int(layout.offsets[lo]))
            source = io.BytesIO(head + fh.read(int(layout.offsets[hi]) - int(layout.offsets[lo])))
    texts: list[str] = []

    def on_invalid(row: Any) -> str:
        texts.append(str(row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(use_threads=bool(good.all()), block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=layout.quoted, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise DataContractError(
                "is not UTF-8 text; re-save it as UTF-8 (most tools: 'CSV UTF-8')", file=name
            ) from exc
        raise DataContractError(f"cannot be read as CSV ({exc})", file=name) from exc
    except (OSError, EOFError) as exc:
        raise DataContractError(f"cannot be read ({exc})", file=name) from exc
    if table.num_rows != int(good.sum()) or len(texts) != int((~good).sum()):
        raise DataContractError(
            f"cannot be split into rows consistently ({table.num_rows} rows by one reader, "
            f"{int(good.sum())} by another); check its quoting and line ends",
            file=name,
        )
    table = table.rename_columns(clean)
    bad_at = starts[~good]
    bad_n = fields[~good]
    malformed = [
        (int(line), f"expected {len(header)} fields, found {int(n)}", text)
        for line, n, text in zip(bad_at, bad_n, texts, strict=True)
    ]
    return CsvRead(table, starts[good], malformed)
