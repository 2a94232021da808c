"""Member attribute columns of a CSV file that hold only numbers are read as numbers.

A CSV file has no types: :mod:`tenure.store.csvfile` reads every column as text, and the
contract's own columns are typed by its rules (:mod:`tenure.store.checks`). A column the
contract does not name ("any attribute": household size, distance to a depot, prior
tenure) would stay text, so the same data would be a number read from Parquet and a
category read from CSV, and an analysis that adjusts for continuous attributes as numbers
would silently drop it as a text column with too many values. So such a column becomes
``BIGINT`` when every value written is a whole number of at most 18 digits, ``DOUBLE`` when
every value is a decimal number, and stays text otherwise.

The contract's spellings of a missing value (``NA``, ``N/A``, ``NULL``, ``NaN``, ``None``…)
are missing in such a column, as in the contract's own number columns: exporters write them
for a missing age. A column of nothing else stays text (``NA`` may be Namibia). A value with
a leading zero (``007``, a ZIP code ``02139``) is text: a number would lose its zeros, so the
column is an identifier, not a quantity. ``inf`` and a value past a double's range
(``1e309``) are text too, and so is an empty column (nothing to type).

Only the members table's attributes are typed: the extra columns of events and the context
columns of exposures are levels (a placement, a slot), matched as text by the messaging
policies and the decision service, which receives them as text.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tenure.schema import NULL_TOKENS

__all__ = ["numeric_attributes"]

_INTEGER = r"^[+-]?(0|[1-9][0-9]{0,17})$"
_DECIMAL = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def numeric_attributes(
    table: pa.Table, attributes: Iterable[str]
) -> tuple[pa.Table, dict[str, str]]:
    """``table`` with each of the text ``attributes`` holding only numbers cast to a number.

    Returns the table and the DuckDB type of every column that was cast.
    """
    types: dict[str, str] = {}
    for name in attributes:
        typed = _as_number(pc.utf8_trim_whitespace(table.column(name)))
        if typed is not None:
            table = table.set_column(table.column_names.index(name), name, typed[0])
            types[name] = typed[1]
    return table, types


def _as_number(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, str] | None:
    """The values as ``BIGINT`` or ``DOUBLE`` numbers, or None when one of them is not one."""
    missing = pc.is_in(text, value_set=pa.array(NULL_TOKENS))
    text = pc.if_else(missing, pa.scalar(None, pa.string()), text)
    if text.null_count == len(text):
        return None

    def every(pattern: str) -> bool:
        return bool(pc.all(pc.match_substring_regex(text, pattern), skip_nulls=True).as_py())

    unsigned = pc.replace_substring_regex(text, r"^\+", "")
    if every(_INTEGER):
        return pc.cast(unsigned, pa.int64()), "BIGINT"
    if not every(_DECIMAL):
        return None
    number = pc.cast(unsigned, pa.float64())
    return (number, "DOUBLE") if pc.all(pc.is_finite(number), skip_nulls=True).as_py() else None
