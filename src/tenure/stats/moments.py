"""Sufficient statistics: counts, sums and sums of squares (and cross-products), as arrays.

A warehouse returns one row per (experiment, metric, variant, segment) with ``n``, ``sum`` and
``sum_squares``; every test in :mod:`tenure.stats` runs on these, never on raw rows. The fields
are float arrays of any (broadcastable) shape, so one object holds thousands of cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tenure._types import FloatArray

__all__ = ["CrossMoments", "Moments"]


def _f(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True, slots=True, init=False)
class Moments:
    r"""Count, sum and sum of squares of a metric, per cell.

    .. math::

        \bar y = \frac{S}{n}, \qquad s^2 = \frac{Q - S^2 / n}{n - 1}

    where :math:`S = \sum y` and :math:`Q = \sum y^2`.

    Parameters
    ----------
    n, sum, sum_squares : array_like
        Broadcastable arrays; converted to float64.

    Examples
    --------
    >>> m = Moments.from_values([1.0, 2.0, 3.0]) + Moments.from_values([4.0])
    >>> float(m.mean), float(m.variance)
    (2.5, 1.6666666666666667)
    """

    n: FloatArray
    sum: FloatArray
    sum_squares: FloatArray

    def __init__(self, n: npt.ArrayLike, sum: npt.ArrayLike, sum_squares: npt.ArrayLike) -> None:
        # Frozen + slots: coerce through object.__setattr__ so callers may pass lists/ints.
        object.__setattr__(self, "n", _f(n))
        object.__setattr__(self, "sum", _f(sum))
        object.__setattr__(self, "sum_squares", _f(sum_squares))

    @classmethod
    def from_values(cls, values: npt.ArrayLike, *, axis: int = -1) -> Moments:
        """Moments of raw values along ``axis`` (NaN-free input expected)."""
        x = _f(values)
        return cls(
            np.asarray(x.shape[axis], dtype=np.float64) + np.zeros(np.sum(x, axis=axis).shape),
            np.sum(x, axis=axis),
            np.sum(x * x, axis=axis),
        )

    @property
    def mean(self) -> FloatArray:
        """Sample mean; NaN where ``n == 0``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.n > 0, self.sum / self.n, np.nan)

    @property
    def variance(self) -> FloatArray:
        """Unbiased sample variance (``n - 1`` denominator); NaN where ``n < 2``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            centred = self.sum_squares - self.sum * self.sum / self.n
            return np.where(self.n > 1, centred / (self.n - 1.0), np.nan)

    def __add__(self, other: Moments) -> Moments:
        """Merge two sets of cells (days, segments) without touching raw rows."""
        return Moments(self.n + other.n, self.sum + other.sum, self.sum_squares + other.sum_squares)


@dataclass(frozen=True, slots=True, init=False)
class CrossMoments:
    r"""A metric's moments together with a second variable's and their cross-product.

    ``other`` is the pre-exposure covariate for CUPED or the denominator of a ratio metric.

    .. math::

        \widehat{\operatorname{cov}}(y, x) = \frac{P - S_y S_x / n}{n - 1},
        \qquad P = \sum y x.

    Examples
    --------
    >>> c = CrossMoments.from_values([1.0, 2.0, 4.0], [1.0, 1.0, 2.0])
    >>> round(float(c.covariance), 6)
    0.833333
    """

    main: Moments
    other: Moments
    sum_product: FloatArray

    def __init__(self, main: Moments, other: Moments, sum_product: npt.ArrayLike) -> None:
        object.__setattr__(self, "main", main)
        object.__setattr__(self, "other", other)
        object.__setattr__(self, "sum_product", _f(sum_product))

    @classmethod
    def from_values(
        cls, main: npt.ArrayLike, other: npt.ArrayLike, *, axis: int = -1
    ) -> CrossMoments:
        """Cross moments of paired raw values along ``axis``."""
        y, x = _f(main), _f(other)
        return cls(
            Moments.from_values(y, axis=axis),
            Moments.from_values(x, axis=axis),
            np.sum(y * x, axis=axis),
        )

    @property
    def n(self) -> FloatArray:
        """Number of units (shared by both variables)."""
        return self.main.n

    @property
    def covariance(self) -> FloatArray:
        """Unbiased sample covariance of main and other; NaN where ``n < 2``."""
        n = self.main.n
        with np.errstate(divide="ignore", invalid="ignore"):
            centred = self.sum_product - self.main.sum * self.other.sum / n
            return np.where(n > 1, centred / (n - 1.0), np.nan)

    def __add__(self, other: CrossMoments) -> CrossMoments:
        """Merge two sets of cells."""
        return CrossMoments(
            self.main + other.main, self.other + other.other, self.sum_product + other.sum_product
        )
