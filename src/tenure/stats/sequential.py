r"""Always-valid inference: a Gaussian-mixture confidence sequence and its p-value.

A fixed-horizon test is valid only if it is looked at once. Experimenters look every day, and
each look is another chance for noise to cross the line. The asymptotic confidence sequence of
Waudby-Smith et al. (2023, arXiv:2103.06476, eq. 9 and 155; after Howard et al. 2021) is valid
simultaneously at *every* sample size, so the result may be read as often as one likes.

The mixing parameter :math:`\rho` is tuned so the sequence is tightest near a planned total
sample size :math:`N^\ast` (``tuning``; 5000 by default, as in GrowthBook's gbstats):

.. math::

    \rho = \sqrt{\frac{-2\ln\alpha + \ln(1 - 2\ln\alpha)}{N^\ast}}.

These functions take the *standard error* of an effect estimate and the total sample size
:math:`N` behind it, so the same formula serves absolute and relative effects, Welch, CUPED
and ratio metrics alike. Everything broadcasts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tenure._types import FloatArray

__all__ = [
    "DEFAULT_TUNING",
    "always_valid_p_value",
    "confidence_sequence_halfwidth",
    "sequential_rho",
]

DEFAULT_TUNING: float = 5000.0
"""Planned total sample size the sequence is tuned for (gbstats' default)."""


def sequential_rho(alpha: npt.ArrayLike, tuning: npt.ArrayLike = DEFAULT_TUNING) -> FloatArray:
    r"""Mixture scale :math:`\rho` that makes the sequence tightest near ``tuning`` units.

    .. math::

        \rho = \sqrt{\frac{-2\ln\alpha + \ln(1 - 2\ln\alpha)}{N^\ast}}

    Examples
    --------
    >>> round(float(sequential_rho(0.05, 5000)), 5)
    0.03984
    """
    a = np.asarray(alpha, dtype=np.float64)
    rho: FloatArray = np.sqrt(
        (-2.0 * np.log(a) + np.log(1.0 - 2.0 * np.log(a))) / np.asarray(tuning)
    )
    return rho


def confidence_sequence_halfwidth(
    se: npt.ArrayLike,
    n_total: npt.ArrayLike,
    *,
    alpha: npt.ArrayLike = 0.05,
    tuning: npt.ArrayLike = DEFAULT_TUNING,
) -> FloatArray:
    r"""Half-width of the two-sided always-valid :math:`1 - \alpha` confidence sequence.

    With :math:`s^2 = N\,\mathrm{SE}^2` (the per-unit variance of the estimate),

    .. math::

        w = s\,\sqrt{\frac{2(N\rho^2 + 1)}{N^2\rho^2}
            \ln\frac{\sqrt{N\rho^2 + 1}}{\alpha}}.

    Parameters
    ----------
    se : array_like
        Standard error of the effect estimate.
    n_total : array_like
        Units behind the estimate (both arms together).
    alpha : array_like, default 0.05
        Error rate, controlled uniformly over all looks.
    tuning : array_like, default 5000
        Planned total sample size :math:`N^\ast`.

    Returns
    -------
    FloatArray
        Half-width; the interval is ``estimate ± w``.

    Examples
    --------
    >>> round(float(confidence_sequence_halfwidth(0.1, 5000)), 4)
    0.3035
    """
    n = np.asarray(n_total, dtype=np.float64)
    rho2 = sequential_rho(alpha, tuning) ** 2
    s = np.asarray(se, dtype=np.float64) * np.sqrt(n)
    a = np.asarray(alpha, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inner = 2.0 * (n * rho2 + 1.0) * np.log(np.sqrt(n * rho2 + 1.0) / a) / (n * n * rho2)
    return s * np.sqrt(inner)


def always_valid_p_value(
    estimate: npt.ArrayLike,
    se: npt.ArrayLike,
    n_total: npt.ArrayLike,
    *,
    null: npt.ArrayLike = 0.0,
    alpha: npt.ArrayLike = 0.05,
    tuning: npt.ArrayLike = DEFAULT_TUNING,
) -> FloatArray:
    r"""Always-valid p-value: the reciprocal of the mixture e-value, capped at 1.

    With :math:`z^2 = (\hat\delta - \delta_0)^2 / \mathrm{SE}^2`,

    .. math::

        E = \frac{1}{\sqrt{N\rho^2 + 1}}
            \exp\!\Bigl(\frac{N\rho^2\, z^2}{2(N\rho^2 + 1)}\Bigr),
        \qquad p = \min(1, 1/E).

    ``p <= alpha`` exactly when :math:`\delta_0` lies outside the confidence sequence.
    ``alpha`` enters only through :math:`\rho`.

    Examples
    --------
    >>> float(always_valid_p_value(0.0, 1.0, 100))
    1.0
    """
    n = np.asarray(n_total, dtype=np.float64)
    rho2 = sequential_rho(alpha, tuning) ** 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z2 = (np.asarray(estimate) - np.asarray(null)) ** 2 / np.asarray(se) ** 2
        k = n * rho2 + 1.0
        # Work on the log scale: exp() of a huge z overflows long before 1/E underflows.
        log_e = (n * rho2) * z2 / (2.0 * k) - 0.5 * np.log(k)
        p = np.exp(-np.maximum(log_e, 0.0))
    return np.where(np.isnan(z2), np.nan, p)
