"""The one shape every analysis result follows, and the one NaN policy of its JSON.

A result is a frozen dataclass holding arrays or typed records, plus ``params``: the
settings it was computed with (alpha, window, horizon, adjustment set…), so a number is
never separated from what it means. Subclasses implement :meth:`Result.to_frame` (the
tidy table) and, when the JSON document is not simply that table's records, override
:meth:`Result.to_dict`. Everything else — ``_repr_html_`` for notebooks, a readable
``__repr__``, export to CSV or Parquet — comes from the base, so the CLI (``--json``,
``--out``), the report and a notebook all read the same object.

The NaN policy, once for the whole package: in :func:`json_safe`, NaN and ±inf become
``None`` (JSON ``null``), numpy scalars become Python numbers, arrays become lists,
timestamps become ISO 8601 strings, enums their value, nested dataclasses dicts.

::

    >>> import numpy as np
    >>> json_safe({"effect": np.float64("nan"), "n": np.int64(3), "ci": np.array([0.1, np.inf])})
    {'effect': None, 'n': 3, 'ci': [0.1, None]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = ["Result", "export_frame", "json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types, with NaN and ±inf as ``None`` (the package's one policy)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Result):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict("records")]
    if isinstance(value, np.ndarray | pd.Series | list | tuple | set | frozenset):
        return [json_safe(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def export_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet, chosen by the suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in {".parquet", ".pq"}:
        frame.to_parquet(path, index=False)
    else:
        from tenure.errors import SpecError

        raise SpecError(f"--out {path}: use a .csv or .parquet file name")
    return path


class Result:
    """Base of every analysis result: mix into ``@dataclass(frozen=True, repr=False)``.

    The subclass declares a ``params`` field (its settings) and implements ``to_frame``;
    ``repr=False`` keeps this class's short ``__repr__`` instead of a dump of every array.
    ``kind`` names the result in its JSON document and its ``__repr__``.
    """

    kind: ClassVar[str] = "result"
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The result as one tidy table: one row per estimate, human-readable columns."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: ``params`` and the table's records, JSON-safe."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "rows": json_safe(self.to_frame()),
        }

    def export(self, path: str | Path) -> Path:
        """Write :meth:`to_frame` to ``path`` (``.csv`` or ``.parquet``)."""
        return export_frame(self.to_frame(), Path(path))

    def _repr_html_(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        table = self.to_frame().head(50).to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return f"<p><b>{self.kind}</b> ({settings})</p>{table}"

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        rows = len(self.to_frame())
        return f"<{type(self).__name__} {self.kind}: {rows} rows; {settings}>"
