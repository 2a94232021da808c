r"""Sample-ratio mismatch: is the observed split of units across arms the one designed?

A mismatch means assignment or logging is broken, and no effect estimate can be trusted.

.. math::

    X^2 = \sum_{i: w_i > 0} \frac{(o_i - e_i)^2}{e_i}, \qquad
    e_i = \frac{w_i}{\sum_j w_j} \sum_j o_j, \qquad
    p = P(\chi^2_{k-1} \ge X^2),

with :math:`k` the number of arms (gbstats' ``check_srm``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special

from tenure._types import FloatArray

__all__ = ["srm_test"]


def srm_test(
    observed_counts: npt.ArrayLike, expected_weights: npt.ArrayLike | None = None
) -> FloatArray:
    """Chi-square SRM p-value per experiment; arms lie along the last axis.

    Parameters
    ----------
    observed_counts : array_like, shape (..., k)
        Units per arm. NaN marks an arm that does not exist in that experiment (for
        ragged batches): it is left out and the degrees of freedom shrink.
    expected_weights : array_like, shape (k,) or (..., k), optional
        Designed traffic split (any positive scale); equal when omitted. Arms with weight
        ``<= 0`` are skipped, as in gbstats.

    Returns
    -------
    FloatArray, shape (...)
        p-values; 1 where no unit was observed.

    Examples
    --------
    >>> round(float(srm_test([5000, 5300])), 4)
    0.0031
    >>> srm_test([[100, 100, 100], [100, 130, 100]], [1, 1, 1]).round(3).tolist()
    [1.0, 0.065]
    """
    obs = np.asarray(observed_counts, dtype=np.float64)
    w = np.ones_like(obs) if expected_weights is None else np.asarray(expected_weights, float)
    w = np.broadcast_to(w, obs.shape)
    present = ~np.isnan(obs)
    use = present & (w > 0)
    o = np.where(present, obs, 0.0)
    total = o.sum(axis=-1, keepdims=True)
    wsum = np.where(use, w, 0.0).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = w / wsum * total
        x2 = np.where(use, (o - e) ** 2 / e, 0.0).sum(axis=-1)
    dof = present.sum(axis=-1) - 1.0
    p = special.chdtrc(dof, x2)
    return np.where((total[..., 0] > 0) & (dof > 0), p, 1.0)
