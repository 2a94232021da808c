r"""E-values: how strong unmeasured confounding would have to be to explain an effect away.

VanderWeele & Ding (2017), *Sensitivity analysis in observational research: introducing the
E-value*, Ann. Intern. Med. 167(4). For a risk ratio :math:`RR` (taken as :math:`1/RR` when
below 1),

.. math::

    E = RR + \sqrt{RR\,(RR - 1)},

the minimum strength of association, on the risk-ratio scale, that an unmeasured confounder
would need with both the treatment and the outcome to move the estimate to the null. For the
confidence limit closer to the null the same formula applies, and the E-value is 1 when the
interval already contains 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray

__all__ = ["EValue", "e_value", "e_values"]


def e_value(rr: npt.ArrayLike) -> FloatArray:
    r"""E-value of a risk ratio point estimate, :math:`RR^* + \sqrt{RR^*(RR^*-1)}`.

    :math:`RR^* = RR` if :math:`RR \ge 1` else :math:`1/RR`; NaN for a non-positive or
    NaN ratio.

    Examples
    --------
    >>> float(e_value(3.9).round(2))  # VanderWeele & Ding's example: RR 3.9 -> 7.26
    7.26
    >>> float(e_value(1 / 3.9).round(2))
    7.26
    """
    r = np.asarray(rr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(r > 0, r, np.nan)
        r = np.where(r >= 1, r, 1.0 / r)
        return r + np.sqrt(r * (r - 1.0))


@dataclass(frozen=True, slots=True)
class EValue:
    """E-values of point estimates and of the confidence limit closer to the null."""

    point: FloatArray
    ci: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per estimate."""
        return pd.DataFrame({"e_value": self.point, "e_value_ci": self.ci})


def e_values(rr: npt.ArrayLike, low: npt.ArrayLike, high: npt.ArrayLike) -> EValue:
    """E-values of risk ratios ``rr`` with interval ``[low, high]``.

    The interval's E-value uses the limit closer to 1, and is 1 when the interval covers 1.

    Examples
    --------
    >>> ev = e_values([3.9, 1.2], [1.8, 0.9], [8.7, 1.6])
    >>> ev.point.round(2).tolist(), ev.ci.round(2).tolist()
    ([7.26, 1.69], [3.0, 1.0])
    """
    r = np.asarray(rr, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    limit = np.where(r >= 1, lo, hi)
    covers = (lo <= 1.0) & (hi >= 1.0)
    ci = np.where(covers, 1.0, e_value(limit))
    ci = np.where(np.isnan(r) | np.isnan(lo) | np.isnan(hi), np.nan, ci)
    return EValue(e_value(r), ci)
