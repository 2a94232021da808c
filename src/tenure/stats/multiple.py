"""Multiple-testing corrections: Holm (family-wise error) and Benjamini–Hochberg (FDR).

Both take p-values of any shape and adjust along ``axis`` (the last by default), so a batch of
independent families (one row per experiment, say) is corrected in one call. NaN entries are
ignored: they come back NaN and the others are adjusted among the non-NaN values only, so a
degenerate comparison never changes the correction of the healthy ones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tenure._types import FloatArray

__all__ = ["benjamini_hochberg", "holm"]


def _prepare(
    p: npt.ArrayLike, axis: int
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp], FloatArray]:
    """Move ``axis`` last, sort (NaN last) and return sorted values, ranks, order and m."""
    arr = np.moveaxis(np.asarray(p, dtype=np.float64), axis, -1)
    order = np.argsort(arr, axis=-1, kind="stable")  # NaN sorts to the end
    sorted_p = np.take_along_axis(arr, order, axis=-1)
    m = np.sum(~np.isnan(arr), axis=-1, keepdims=True).astype(np.float64)
    rank = np.arange(1, arr.shape[-1] + 1, dtype=np.float64)  # 1-based rank in sorted order
    return sorted_p, rank, order, m


def _unsort(adjusted_sorted: FloatArray, order: npt.NDArray[np.intp], axis: int) -> FloatArray:
    """Put sorted adjusted values back in the caller's order and axis."""
    out = np.empty_like(adjusted_sorted)
    np.put_along_axis(out, order, adjusted_sorted, axis=-1)
    return np.moveaxis(out, -1, axis)


def holm(p: npt.ArrayLike, *, axis: int = -1) -> FloatArray:
    r"""Holm's step-down adjusted p-values (controls the family-wise error rate).

    With the :math:`m` non-NaN p-values sorted :math:`p_{(1)} \le \dots \le p_{(m)}`,

    .. math::

        \tilde p_{(i)} = \min\Bigl(1, \max_{j \le i} (m - j + 1)\, p_{(j)}\Bigr).

    Parameters
    ----------
    p : array_like
        P-values in [0, 1]; NaN marks a comparison to leave out.
    axis : int, default -1
        Axis along which the family lies; other axes are independent families.

    Returns
    -------
    FloatArray
        Adjusted p-values, same shape as ``p``; NaN where ``p`` is NaN.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    sorted_p, rank, order, m = _prepare(p, axis)
    scaled = np.minimum((m - rank + 1.0) * sorted_p, 1.0)
    # NaN would poison the running max; it sits at the end so treat it as -inf, restore after.
    adjusted = np.maximum.accumulate(np.where(np.isnan(scaled), -np.inf, scaled), axis=-1)
    adjusted = np.where(np.isnan(sorted_p), np.nan, adjusted)
    return _unsort(adjusted, order, axis)


def benjamini_hochberg(p: npt.ArrayLike, *, axis: int = -1) -> FloatArray:
    r"""Benjamini–Hochberg q-values (controls the false discovery rate).

    With the :math:`m` non-NaN p-values sorted ascending,

    .. math::

        q_{(i)} = \min\Bigl(1, \min_{j \ge i} \frac{m}{j}\, p_{(j)}\Bigr).

    Parameters
    ----------
    p : array_like
        P-values in [0, 1]; NaN marks a comparison to leave out.
    axis : int, default -1
        Axis along which the family lies; other axes are independent families.

    Returns
    -------
    FloatArray
        q-values, same shape as ``p``, monotone in ``p`` within a family; NaN where ``p`` is NaN.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    sorted_p, rank, order, m = _prepare(p, axis)
    scaled = np.minimum(m / rank * sorted_p, 1.0)
    # Running minimum from the largest p downwards; NaN (at the end) is +inf so it never wins.
    flipped = np.flip(np.where(np.isnan(scaled), np.inf, scaled), axis=-1)
    adjusted = np.flip(np.minimum.accumulate(flipped, axis=-1), axis=-1)
    adjusted = np.where(np.isnan(sorted_p), np.nan, adjusted)
    return _unsort(adjusted, order, axis)
