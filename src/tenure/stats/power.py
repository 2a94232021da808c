r"""Power and duration planning for a many-arm test against a shared control.

For one variant against control with traffic shares :math:`w_0` (control) and :math:`w_i`
(variant) of :math:`N` total units, an absolute effect :math:`\delta` is detected with power
:math:`1 - \beta` at level :math:`\alpha` by the normal approximation when

.. math::

    N = \frac{\bigl(z_{1-\alpha/2}\sqrt{V_0} + z_{1-\beta}\sqrt{V_1}\bigr)^2}{\delta^2},
    \qquad V = \frac{\sigma_0^2}{w_0} + \frac{\sigma_i^2}{w_i},

where :math:`V_0` uses the variance under the null and :math:`V_1` under the alternative.
For a mean metric both are :math:`\sigma^2`; for a proportion :math:`p` (Fleiss' classic
formula, no continuity correction) :math:`V_0` uses the pooled
:math:`\bar p(1 - \bar p)` and :math:`V_1` uses :math:`p_0(1-p_0)` and :math:`p_1(1-p_1)`.
With several variants the largest requirement wins (no multiplicity correction; pass a
Bonferroni ``alpha`` if wanted).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special

from tenure._types import Alternative, FloatArray
from tenure.errors import SpecError

__all__ = ["duration_days", "minimum_detectable_effect", "sample_size"]


def _weights(n_arms: int, allocation: npt.ArrayLike | None) -> FloatArray:
    if n_arms < 2:
        raise SpecError(f"n_arms must be at least 2, got {n_arms}")
    w = np.full(n_arms, 1.0) if allocation is None else np.asarray(allocation, dtype=np.float64)
    if w.shape != (n_arms,) or np.any(w <= 0):
        raise SpecError(f"allocation must be {n_arms} positive weights, got {allocation!r}")
    out: FloatArray = w / w.sum()
    return out


def _z(alpha: float, power: float, alternative: Alternative) -> tuple[float, float]:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise SpecError(f"alpha and power must lie in (0, 1), got {alpha!r}, {power!r}")
    tail = alpha / 2.0 if alternative == "two-sided" else alpha
    return float(special.ndtri(1.0 - tail)), float(special.ndtri(power))


def _variances(
    baseline_mean: npt.ArrayLike | None,
    baseline_variance: npt.ArrayLike | None,
    proportion: npt.ArrayLike | None,
    delta: FloatArray,
    w0: float,
    wi: float,
) -> tuple[FloatArray, FloatArray]:
    """(V0, V1) of the normal approximation for an absolute effect ``delta``."""
    if proportion is not None:
        p0 = np.asarray(proportion, dtype=np.float64)
        p1 = p0 + delta
        pbar = (w0 * p0 + wi * p1) / (w0 + wi)
        v0 = pbar * (1 - pbar) * (1 / w0 + 1 / wi)
        v1 = p0 * (1 - p0) / w0 + p1 * (1 - p1) / wi
        return v0, v1
    if baseline_variance is None:
        raise SpecError("give baseline_variance (mean metric) or proportion (conversion metric)")
    var = np.asarray(baseline_variance, dtype=np.float64)
    v = var * (1 / w0 + 1 / wi) + 0.0 * delta
    return v, v


def _absolute(mde: npt.ArrayLike, relative: bool, base: npt.ArrayLike | None) -> FloatArray:
    m = np.asarray(mde, dtype=np.float64)
    if not relative:
        return m
    if base is None:
        raise SpecError("a relative mde needs baseline_mean or proportion")
    return m * np.asarray(base, dtype=np.float64)


def sample_size(
    *,
    mde: npt.ArrayLike,
    baseline_mean: npt.ArrayLike | None = None,
    baseline_variance: npt.ArrayLike | None = None,
    proportion: npt.ArrayLike | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    n_arms: int = 2,
    allocation: npt.ArrayLike | None = None,
    alternative: Alternative = "two-sided",
) -> FloatArray:
    r"""Units needed per arm to detect ``mde`` (see the module formula).

    Parameters
    ----------
    mde : array_like
        Minimum detectable effect, absolute (default) or relative to the baseline.
    baseline_mean, baseline_variance : array_like, optional
        Control mean and per-unit variance of a mean metric.
    proportion : array_like, optional
        Control conversion rate of a binary metric (instead of mean and variance).
    relative : bool, default False
        ``mde`` is a fraction of the baseline (0.1 = +10 %).
    alpha, power : float
        Significance level and power.
    n_arms : int, default 2
        Arms including control (arm 0).
    allocation : array_like, optional
        Traffic weights per arm (any scale); equal when omitted.
    alternative : {"two-sided", "greater", "less"}
        One-sided tests use :math:`z_{1-\alpha}`.

    Returns
    -------
    FloatArray, shape (..., n_arms)
        Units per arm, rounded up, with the given allocation.

    Examples
    --------
    Detecting 10 % against 8 % conversion, 80 % power, α = 0.05 two-sided:

    >>> sample_size(proportion=0.08, mde=0.02).tolist()
    [3213.0, 3213.0]
    """
    w = _weights(n_arms, allocation)
    za, zb = _z(alpha, power, alternative)
    delta = _absolute(mde, relative, proportion if proportion is not None else baseline_mean)
    totals = []
    for wi in w[1:]:  # loop over arms (a handful), never over comparisons
        v0, v1 = _variances(baseline_mean, baseline_variance, proportion, delta, w[0], wi)
        totals.append((za * np.sqrt(v0) + zb * np.sqrt(v1)) ** 2 / delta**2)
    total = np.max(np.stack(totals), axis=0)
    # Round per arm, with a tolerance so exact integers are not pushed up by float noise.
    per_arm: FloatArray = np.ceil(total[..., None] * w - 1e-9)
    return per_arm


def minimum_detectable_effect(
    n_per_arm: npt.ArrayLike,
    *,
    baseline_mean: npt.ArrayLike | None = None,
    baseline_variance: npt.ArrayLike | None = None,
    proportion: npt.ArrayLike | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    n_arms: int = 2,
    allocation: npt.ArrayLike | None = None,
    alternative: Alternative = "two-sided",
) -> FloatArray:
    r"""Smallest effect detectable with ``n_per_arm`` units in the control arm.

    Inverts :func:`sample_size`. For means it is closed form,
    :math:`\delta = (z_{1-\alpha/2} + z_{1-\beta})\sqrt{V/N}`; for proportions the variance
    depends on :math:`\delta`, so the same equation is iterated to its fixed point
    (vectorised, converges in a few steps). Only the worst variant arm is reported.

    Examples
    --------
    >>> round(float(minimum_detectable_effect(3213, proportion=0.08)), 4)
    0.02
    """
    w = _weights(n_arms, allocation)
    za, zb = _z(alpha, power, alternative)
    total = np.asarray(n_per_arm, dtype=np.float64) / w[0]
    wi = float(np.min(w[1:]))
    delta = np.zeros_like(total) + 0.0
    for _ in range(100):  # fixed-point iterations, not a loop over comparisons
        v0, v1 = _variances(baseline_mean, baseline_variance, proportion, delta, w[0], wi)
        new = (za * np.sqrt(v0) + zb * np.sqrt(v1)) / np.sqrt(total)
        if np.allclose(new, delta, rtol=1e-12, atol=0):
            delta = new
            break
        delta = new
    if relative:
        base = proportion if proportion is not None else baseline_mean
        if base is None:
            raise SpecError("a relative mde needs baseline_mean or proportion")
        rel: FloatArray = delta / np.asarray(base, dtype=np.float64)
        return rel
    out: FloatArray = np.asarray(delta, dtype=np.float64)
    return out


def duration_days(
    sample_size: npt.ArrayLike, daily_traffic: npt.ArrayLike, *, traffic_fraction: float = 1.0
) -> FloatArray:
    r"""Days to enrol ``sample_size`` total units at ``daily_traffic`` eligible units a day.

    .. math::

        d = \left\lceil \frac{N}{\text{daily} \times f} \right\rceil

    Examples
    --------
    >>> float(duration_days(6426, 500))
    13.0
    """
    if not 0 < traffic_fraction <= 1:
        raise SpecError(f"traffic_fraction must be in (0, 1], got {traffic_fraction!r}")
    n = np.asarray(sample_size, dtype=np.float64)
    return np.ceil(n / (np.asarray(daily_traffic, dtype=np.float64) * traffic_fraction) - 1e-9)
