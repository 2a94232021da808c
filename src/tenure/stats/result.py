"""The value every two-arm comparison returns: a frozen dataclass of arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray

__all__ = ["STATUS_CODES", "ComparisonResult"]

STATUS_CODES: dict[str, str] = {
    "ok": "estimate, interval and p-value computed",
    "too_few": "an arm has fewer than 2 units; nothing estimated",
    "zero_variance": "an arm's variance is zero or negative; nothing estimated (gbstats' rule)",
    "zero_baseline": "control mean is zero; the relative effect is undefined (absolute is given)",
    "zero_denominator": "a ratio metric's denominator mean is zero in an arm; nothing estimated",
}
"""Short status codes a degenerate cell reports instead of raising inside a batch."""


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    """Variant-versus-control results for many cells at once; every field has the same shape.

    ``effect_abs`` is ``variant − control`` (CUPED-adjusted where CUPED was used) and
    ``effect_rel`` is that difference divided by the *unadjusted* control mean. ``p_value``
    tests the absolute effect, ``p_value_rel`` the relative one (the two differ because the
    relative effect also carries the control mean's noise). ``df`` is the Welch–Satterthwaite
    degrees of freedom (``inf`` for sequential intervals, which are asymptotic).
    ``status`` holds one code of :data:`STATUS_CODES` per cell.
    """

    baseline_mean: FloatArray
    variant_mean: FloatArray
    effect_abs: FloatArray
    ci_abs_low: FloatArray
    ci_abs_high: FloatArray
    se_abs: FloatArray
    effect_rel: FloatArray
    ci_rel_low: FloatArray
    ci_rel_high: FloatArray
    se_rel: FloatArray
    p_value: FloatArray
    p_value_rel: FloatArray
    df: FloatArray
    n_total: FloatArray
    status: npt.NDArray[np.str_]

    def to_frame(self) -> pd.DataFrame:
        """One row per cell (fields raveled in C order)."""
        return pd.DataFrame({f.name: np.ravel(getattr(self, f.name)) for f in fields(self)})

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready dicts, one per cell, with intervals as two-element lists.

        Numbers are Python floats (NaN kept: :func:`tenure.results.json_safe` turns it into
        ``null`` at the JSON boundary, the package's one NaN policy).
        """
        cols = {f.name: np.ravel(getattr(self, f.name)) for f in fields(self)}
        out: list[dict[str, Any]] = []
        for i in range(len(cols["status"])):
            rec: dict[str, Any] = {}
            for name in _RECORD_ORDER:
                if name == "ci_abs":
                    rec[name] = [float(cols["ci_abs_low"][i]), float(cols["ci_abs_high"][i])]
                elif name == "ci_rel":
                    rec[name] = [float(cols["ci_rel_low"][i]), float(cols["ci_rel_high"][i])]
                elif name == "status":
                    rec[name] = str(cols[name][i])
                else:
                    rec[name] = float(cols[name][i])
            out.append(rec)
        return out


_RECORD_ORDER = (
    "baseline_mean",
    "variant_mean",
    "effect_abs",
    "ci_abs",
    "se_abs",
    "effect_rel",
    "ci_rel",
    "se_rel",
    "p_value",
    "p_value_rel",
    "df",
    "n_total",
    "status",
)
