r"""Bayesian read-out of an effect: Gaussian posterior, chance to win, expected loss.

The effect estimate is treated as a Gaussian likelihood :math:`\hat\delta \sim
N(\delta, \mathrm{SE}^2)` and combined with an optional Gaussian prior
:math:`\delta \sim N(\mu_0, \sigma_0^2)` (gbstats' ``EffectBayesianABTest``):

.. math::

    \tau = \frac{1}{\mathrm{SE}^2} + \frac{1}{\sigma_0^2}, \qquad
    \mu = \frac{\hat\delta/\mathrm{SE}^2 + \mu_0/\sigma_0^2}{\tau}, \qquad
    \sigma = \tau^{-1/2}.

An improper (flat) prior leaves :math:`\mu = \hat\delta, \sigma = \mathrm{SE}`. The expected
loss ("risk") of a choice is the effect given up, in expectation, if that choice is wrong:

.. math::

    \text{risk}_{\text{control}} = E[\max(\delta, 0)]
        = \mu\,\Phi(\mu/\sigma) + \sigma\,\varphi(\mu/\sigma), \qquad
    \text{risk}_{\text{variant}} = E[\max(-\delta, 0)]
        = -\mu\,\Phi(-\mu/\sigma) + \sigma\,\varphi(\mu/\sigma).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from tenure._types import FloatArray
from tenure.stats.result import ComparisonResult

__all__ = ["BayesianResult", "GaussianPrior", "bayesian_test", "gaussian_posterior"]


@dataclass(frozen=True, slots=True)
class GaussianPrior:
    """Prior on the effect; ``proper=False`` means flat (mean and variance ignored)."""

    mean: float = 0.0
    variance: float = 1.0
    proper: bool = False


@dataclass(frozen=True, slots=True)
class BayesianResult:
    """Posterior summaries per cell; NaN where the frequentist estimate was NaN."""

    posterior_mean: FloatArray
    posterior_sd: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    chance_to_win: FloatArray
    risk_control: FloatArray
    risk_variant: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per cell."""
        return pd.DataFrame({f.name: np.ravel(getattr(self, f.name)) for f in fields(self)})


def gaussian_posterior(
    estimate: npt.ArrayLike,
    se: npt.ArrayLike,
    *,
    prior: GaussianPrior | None = None,
    alpha: float = 0.05,
    inverse: bool = False,
) -> BayesianResult:
    r"""Posterior of an effect from its estimate and standard error.

    Parameters
    ----------
    estimate, se : array_like
        Effect estimate and its standard error (the likelihood).
    prior : GaussianPrior, optional
        Prior on the effect in the estimate's units; flat when omitted or improper.
    alpha : float, default 0.05
        The credible interval is the central :math:`1 - \alpha` posterior interval.
    inverse : bool, default False
        The metric is better when lower: chance to win is :math:`P(\delta < 0)` and the
        two risks swap.

    Returns
    -------
    BayesianResult

    Examples
    --------
    >>> r = gaussian_posterior(0.05, 0.0357217)
    >>> round(float(r.chance_to_win), 3), round(float(r.risk_control), 3)
    (0.919, 0.051)
    """
    est = np.asarray(estimate, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if prior is not None and prior.proper:
            precision = 1.0 / s**2 + 1.0 / prior.variance
            mu = (est / s**2 + prior.mean / prior.variance) / precision
            sd = np.sqrt(1.0 / precision)
        else:
            mu, sd = est + 0.0 * s, s + 0.0 * est
        z = mu / sd
    z_crit = special.ndtri(1.0 - alpha / 2.0)
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    # Closed forms of the truncated-normal means gbstats gets from scipy.stats.truncnorm.
    risk_ctrl = mu * special.ndtr(z) + sd * pdf
    risk_trt = -mu * special.ndtr(-z) + sd * pdf
    win = special.ndtr(z)
    if inverse:
        win, risk_ctrl, risk_trt = 1.0 - win, risk_trt, risk_ctrl
    return BayesianResult(
        posterior_mean=mu,
        posterior_sd=sd,
        ci_low=mu - z_crit * sd,
        ci_high=mu + z_crit * sd,
        chance_to_win=win,
        risk_control=risk_ctrl,
        risk_variant=risk_trt,
    )


def bayesian_test(
    result: ComparisonResult,
    *,
    relative: bool = True,
    prior: GaussianPrior | None = None,
    prior_type: Literal["relative", "absolute"] = "relative",
    alpha: float = 0.05,
    inverse: bool = False,
) -> BayesianResult:
    r"""Bayesian read-out of a :class:`ComparisonResult` (relative effect by default).

    A prior stated on the other scale is rescaled by the unadjusted control mean
    :math:`\bar y_A`, as gbstats does: an absolute prior :math:`N(\mu_0, \sigma_0^2)` becomes
    :math:`N(\mu_0/|\bar y_A|, \sigma_0^2/\bar y_A^2)` for the relative effect.

    Parameters
    ----------
    result : ComparisonResult
        Output of :func:`welch_test`, :func:`cuped_test` or :func:`ratio_test` with
        ``method="fixed"`` (its standard errors are used, not its intervals).
    relative : bool, default True
        Read out the relative effect (gbstats' default) or the absolute one.
    prior, prior_type, alpha, inverse
        See :func:`gaussian_posterior`; ``prior_type`` says on which scale ``prior`` is.

    Returns
    -------
    BayesianResult
    """
    est = result.effect_rel if relative else result.effect_abs
    se = result.se_rel if relative else result.se_abs
    if prior is not None and prior.proper and (prior_type == "absolute") == relative:
        base = result.baseline_mean
        scale = 1.0 / np.abs(base) if relative else np.abs(base)
        # A prior varies per cell once rescaled; apply it through the vectorised formula.
        with np.errstate(divide="ignore", invalid="ignore"):
            m0 = prior.mean * scale
            v0 = prior.variance * scale**2
            precision = 1.0 / se**2 + 1.0 / v0
            post_mean = (est / se**2 + m0 / v0) / precision
            post_sd = np.sqrt(1.0 / precision)
        return gaussian_posterior(post_mean, post_sd, alpha=alpha, inverse=inverse)
    return gaussian_posterior(est, se, prior=prior, alpha=alpha, inverse=inverse)
