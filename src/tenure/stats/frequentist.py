r"""Frequentist two-arm comparisons on sufficient statistics: Welch, delta-method ratio, CUPED.

All three reduce to the same final step: each arm has a mean :math:`m`, a per-unit variance
:math:`v` and a count :math:`n`; the effect is :math:`m_B - m_A` with standard error
:math:`\sqrt{v_A/n_A + v_B/n_B}`, referred to a Student *t* with Welch–Satterthwaite degrees of
freedom (or, with ``method="sequential"``, to the always-valid confidence sequence of
:mod:`tenure.stats.sequential`). They differ only in what :math:`m` and :math:`v` are.

The relative effect divides by the *unadjusted* control mean :math:`\bar y_A` and uses the delta
method, as GrowthBook's gbstats does:

.. math::

    \widehat{\Delta}_{rel} = \frac{m_B - m_A}{\bar y_A}, \qquad
    \operatorname{Var}(\widehat{\Delta}_{rel}) \approx
    \frac{v_B}{\bar y_A^2 n_B} + \frac{\bar y_B^2\, v_A}{\bar y_A^4 n_A}.

For Welch this is the exact first-order delta method of :math:`\bar y_B/\bar y_A - 1`; for
CUPED it is gbstats' approximation (adjusted variances, unadjusted means).

Inside a batch nothing raises for bad data: a degenerate cell gets NaNs and a ``status`` code
(see :data:`tenure.stats.result.STATUS_CODES`). Bad *options* raise :class:`SpecError`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from tenure._types import Alternative, BoolArray, FloatArray
from tenure.errors import SpecError
from tenure.stats.moments import CrossMoments, Moments
from tenure.stats.result import ComparisonResult
from tenure.stats.sequential import (
    DEFAULT_TUNING,
    always_valid_p_value,
    confidence_sequence_halfwidth,
)

__all__ = ["Method", "compare_arms", "cuped_test", "cuped_theta", "ratio_test", "welch_test"]

Method = Literal["fixed", "sequential"]
ThetaMethod = Literal["pooled", "within"]


def _check_options(alpha: float, alternative: str, method: str) -> None:
    if not 0.0 < alpha < 1.0:
        raise SpecError(f"alpha must be in (0, 1), got {alpha!r}")
    if alternative not in ("two-sided", "greater", "less"):
        raise SpecError(
            f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}"
        )
    if method not in ("fixed", "sequential"):
        raise SpecError(f"method must be 'fixed' or 'sequential', got {method!r}")
    if method == "sequential" and alternative != "two-sided":
        raise SpecError("method='sequential' supports only alternative='two-sided'")


def _interval(
    est: FloatArray,
    se: FloatArray,
    df: FloatArray,
    n_total: FloatArray,
    alpha: float,
    alternative: Alternative,
    method: Method,
    tuning: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(low, high, p-value) of one estimate under the chosen inference."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "sequential":
            w = confidence_sequence_halfwidth(se, n_total, alpha=alpha, tuning=tuning)
            p = always_valid_p_value(est, se, n_total, alpha=alpha, tuning=tuning)
            return est - w, est + w, p
        t = est / se
        if alternative == "two-sided":
            q = special.stdtrit(df, 1.0 - alpha / 2.0)
            return est - q * se, est + q * se, 2.0 * special.stdtr(df, -np.abs(t))
        q = special.stdtrit(df, 1.0 - alpha)
        inf = np.full_like(est, np.inf)
        if alternative == "greater":
            return est - q * se, inf, special.stdtr(df, -t)
        return -inf, est + q * se, special.stdtr(df, t)


def compare_arms(
    mean_a: npt.ArrayLike,
    var_a: npt.ArrayLike,
    n_a: npt.ArrayLike,
    mean_b: npt.ArrayLike,
    var_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
    *,
    unadjusted_a: npt.ArrayLike | None = None,
    unadjusted_b: npt.ArrayLike | None = None,
    invalid: npt.ArrayLike | None = None,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "fixed",
    tuning: float = DEFAULT_TUNING,
) -> ComparisonResult:
    r"""Compare arm B with arm A given each arm's mean, per-unit variance and count.

    The shared last step of every test here; use it directly for an estimator whose
    per-arm mean and variance come from elsewhere.

    .. math::

        \mathrm{SE} = \sqrt{\frac{v_A}{n_A} + \frac{v_B}{n_B}}, \qquad
        \nu = \frac{\mathrm{SE}^4}{\frac{v_A^2}{n_A^2 (n_A - 1)} + \frac{v_B^2}{n_B^2 (n_B - 1)}}

    Parameters
    ----------
    mean_a, var_a, n_a, mean_b, var_b, n_b : array_like
        Per-arm (possibly adjusted) mean, per-unit variance and count; broadcastable.
    unadjusted_a, unadjusted_b : array_like, optional
        Unadjusted means used for the relative effect and reported as the arm means
        (default: the means themselves).
    invalid : array_like of str, optional
        Status already known to be bad (e.g. ``"zero_denominator"``); ``""`` for none.
    alpha : float, default 0.05
        One minus the interval's coverage.
    alternative : {"two-sided", "greater", "less"}
        "greater" tests :math:`m_B > m_A`.
    method : {"fixed", "sequential"}
        Fixed-horizon Welch *t*, or always-valid confidence sequence.
    tuning : float, default 5000
        Planned total sample size of the confidence sequence.

    Returns
    -------
    ComparisonResult
    """
    _check_options(alpha, alternative, method)
    ma, va, na, mb, vb, nb = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (mean_a, var_a, n_a, mean_b, var_b, n_b))
    )
    ua = ma if unadjusted_a is None else np.broadcast_to(np.asarray(unadjusted_a, float), ma.shape)
    ub = mb if unadjusted_b is None else np.broadcast_to(np.asarray(unadjusted_b, float), mb.shape)

    status = np.full(ma.shape, "ok", dtype="<U16")
    status[ua == 0] = "zero_baseline"
    status[~((va > 0) & (vb > 0))] = "zero_variance"  # NaN variance lands here too
    if invalid is not None:
        inv = np.broadcast_to(np.asarray(invalid, dtype="<U16"), ma.shape)
        status = np.where(inv != "", inv, status)
    status[~((na >= 2) & (nb >= 2))] = "too_few"
    bad = (status != "ok") & (status != "zero_baseline")

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sa, sb = va / na, vb / nb
        se_abs = np.sqrt(sa + sb)
        df = (sa + sb) ** 2 / (sa * sa / (na - 1.0) + sb * sb / (nb - 1.0))
        effect_abs = mb - ma
        effect_rel = effect_abs / ua
        # Same as vB/(ȳA² nB) + vA ȳB²/(ȳA⁴ nA), arranged so a tiny ȳA cannot underflow ȳA⁴.
        se_rel = np.sqrt(sb + sa * (ub / ua) ** 2) / np.abs(ua)
    # A baseline so close to zero that the relative effect overflows counts as zero.
    rel_broken = ~(np.isfinite(effect_rel) & np.isfinite(se_rel)) & (status == "ok")
    status[rel_broken & (na >= 2) & (nb >= 2)] = "zero_baseline"
    n_total = na + nb
    if method == "sequential":
        df = np.full_like(df, np.inf)
    lo, hi, p = _interval(effect_abs, se_abs, df, n_total, alpha, alternative, method, tuning)
    rlo, rhi, rp = _interval(effect_rel, se_rel, df, n_total, alpha, alternative, method, tuning)

    nan = np.nan
    no_rel = bad | (status == "zero_baseline")

    def mask(x: FloatArray, m: npt.NDArray[np.bool_]) -> FloatArray:
        return np.where(m, nan, x)

    return ComparisonResult(
        baseline_mean=ua.copy(),
        variant_mean=ub.copy(),
        effect_abs=mask(effect_abs, bad),
        ci_abs_low=mask(lo, bad),
        ci_abs_high=mask(hi, bad),
        se_abs=mask(se_abs, bad),
        effect_rel=mask(effect_rel, no_rel),
        ci_rel_low=mask(rlo, no_rel),
        ci_rel_high=mask(rhi, no_rel),
        se_rel=mask(se_rel, no_rel),
        p_value=mask(np.clip(p, 0.0, 1.0), bad),
        p_value_rel=mask(np.clip(rp, 0.0, 1.0), no_rel),
        df=mask(df, bad),
        n_total=n_total,
        status=status,
    )


def welch_test(
    control: Moments,
    variant: Moments,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "fixed",
    tuning: float = DEFAULT_TUNING,
) -> ComparisonResult:
    r"""Welch's unequal-variance *t*-test of variant against control, on moments.

    .. math::

        t = \frac{\bar y_B - \bar y_A}{\sqrt{s_A^2/n_A + s_B^2/n_B}}

    Equals ``scipy.stats.ttest_ind(b, a, equal_var=False)`` on the raw rows.

    Examples
    --------
    >>> r = welch_test(Moments.from_values([1.0, 2, 3, 4]), Moments.from_values([2.0, 3, 4, 6]))
    >>> round(float(r.effect_abs), 2), round(float(r.p_value), 4), str(r.status)
    (1.25, 0.2903, 'ok')
    """
    return compare_arms(
        control.mean,
        control.variance,
        control.n,
        variant.mean,
        variant.variance,
        variant.n,
        alpha=alpha,
        alternative=alternative,
        method=method,
        tuning=tuning,
    )


def _ratio_arm(c: CrossMoments) -> tuple[FloatArray, FloatArray, BoolArray]:
    """(ratio, per-unit delta-method variance, zero-denominator flag) of one arm."""
    mm, md = c.main.mean, c.other.mean
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = mm / md
        var = (
            c.main.variance / md**2
            - 2.0 * c.covariance * mm / md**3
            + mm**2 * c.other.variance / md**4
        )
    return ratio, var, np.asarray(md == 0, dtype=np.bool_)


def ratio_test(
    control: CrossMoments,
    variant: CrossMoments,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "fixed",
    tuning: float = DEFAULT_TUNING,
) -> ComparisonResult:
    r"""Compare ratio-of-means metrics (e.g. revenue per session) by the delta method.

    ``main`` holds the numerator and ``other`` the denominator, both per unit of
    randomisation. Per arm, with :math:`\mu_m, \mu_d` the means,

    .. math::

        R = \frac{\mu_m}{\mu_d}, \qquad
        n\operatorname{Var}(\hat R) \approx \frac{\sigma_m^2}{\mu_d^2}
            - \frac{2\mu_m \sigma_{md}}{\mu_d^3} + \frac{\mu_m^2 \sigma_d^2}{\mu_d^4}.

    A zero denominator mean in either arm gives status ``"zero_denominator"``.

    Examples
    --------
    >>> a = CrossMoments.from_values([1.0, 2, 0, 3], [2.0, 2, 1, 3])
    >>> b = CrossMoments.from_values([2.0, 2, 1, 4], [2.0, 3, 1, 3])
    >>> round(float(ratio_test(a, b).effect_abs), 4)
    0.25
    """
    ra, va, za = _ratio_arm(control)
    rb, vb, zb = _ratio_arm(variant)
    invalid = np.where(za | zb, "zero_denominator", "")
    return compare_arms(
        ra,
        va,
        control.n,
        rb,
        vb,
        variant.n,
        invalid=invalid,
        alpha=alpha,
        alternative=alternative,
        method=method,
        tuning=tuning,
    )


def cuped_theta(
    control: CrossMoments, variant: CrossMoments, *, theta_method: ThetaMethod = "pooled"
) -> FloatArray:
    r"""CUPED coefficient :math:`\theta` estimated on the two arms being compared.

    ``"pooled"`` (default, gbstats' choice) treats both arms as one sample:

    .. math::

        \theta = \frac{\widehat{\operatorname{cov}}(y, x)}{\widehat{\operatorname{var}}(x)}
        \quad\text{on } A \cup B.

    ``"within"`` centres each arm at its own means first, which is exactly the OLS slope of
    ``y ~ treatment + x``. Under randomisation the two agree up to noise. :math:`\theta = 0`
    (plain Welch) where either pooled variance is zero, as in gbstats.
    """
    if theta_method == "pooled":
        joint = control + variant
        vx, vy, cov = joint.other.variance, joint.main.variance, joint.covariance
    elif theta_method == "within":
        # Within-arm sums of squares and products: each arm's (n - 1) × (co)variance.
        def ss(c: CrossMoments) -> tuple[FloatArray, FloatArray, FloatArray]:
            k = c.n - 1.0
            return k * c.other.variance, k * c.main.variance, k * c.covariance

        xa, ya, ca = ss(control)
        xb, yb, cb = ss(variant)
        vx, vy, cov = xa + xb, ya + yb, ca + cb
    else:
        raise SpecError(f"theta_method must be 'pooled' or 'within', got {theta_method!r}")
    ok = (vx > 0) & (vy > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(ok, cov / vx, 0.0)


def cuped_test(
    control: CrossMoments,
    variant: CrossMoments,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    method: Method = "fixed",
    tuning: float = DEFAULT_TUNING,
    theta_method: ThetaMethod = "pooled",
) -> ComparisonResult:
    r"""CUPED: variance reduction with a pre-exposure covariate (``other``).

    Each arm's metric is replaced by :math:`y - \theta x`:

    .. math::

        m = \bar y - \theta \bar x, \qquad
        v = s_y^2 + \theta^2 s_x^2 - 2\theta\, s_{xy},

    with :math:`\theta` from :func:`cuped_theta`. Since :math:`\theta` multiplies
    :math:`\bar x_B - \bar x_A`, whose expectation is zero under randomisation, the effect
    stays unbiased and its variance shrinks by about :math:`1 - \rho_{xy}^2`. The relative
    effect divides by the unadjusted control mean.

    Examples
    --------
    >>> a = CrossMoments.from_values([1.0, 2, 3, 5], [1.0, 2, 2, 4])
    >>> b = CrossMoments.from_values([2.0, 3, 5, 6], [1.0, 2, 3, 4])
    >>> round(float(cuped_test(a, b).effect_abs), 4)
    0.8987
    """
    theta = cuped_theta(control, variant, theta_method=theta_method)

    def adjusted(c: CrossMoments) -> tuple[FloatArray, FloatArray]:
        mean = c.main.mean - theta * c.other.mean
        var = c.main.variance + theta**2 * c.other.variance - 2.0 * theta * c.covariance
        return mean, var

    ma, va = adjusted(control)
    mb, vb = adjusted(variant)
    return compare_arms(
        ma,
        va,
        control.n,
        mb,
        vb,
        variant.n,
        unadjusted_a=control.main.mean,
        unadjusted_b=variant.main.mean,
        alpha=alpha,
        alternative=alternative,
        method=method,
        tuning=tuning,
    )
