r"""Random-effects meta-analysis across markets (DerSimonian–Laird), with shrinkage.

Each market :math:`i` reports an effect :math:`y_i` with variance :math:`v_i`. The markets'
true effects are taken to scatter around a common mean :math:`\mu` with variance
:math:`\tau^2`:

.. math::

    w_i = 1/v_i, \quad \bar y_{FE} = \frac{\sum w_i y_i}{\sum w_i}, \quad
    Q = \sum w_i (y_i - \bar y_{FE})^2, \quad
    \hat\tau^2 = \max\Bigl(0, \frac{Q - (k - 1)}{\sum w_i - \sum w_i^2 / \sum w_i}\Bigr),

    w_i^\ast = \frac{1}{v_i + \hat\tau^2}, \quad
    \hat\mu = \frac{\sum w_i^\ast y_i}{\sum w_i^\ast}, \quad
    \mathrm{SE}(\hat\mu) = \Bigl(\sum w_i^\ast\Bigr)^{-1/2}, \quad
    I^2 = \max\Bigl(0, \frac{Q - (k-1)}{Q}\Bigr).

Per-market estimates are shrunk toward the pool (empirical Bayes):
:math:`\tilde\theta_i = \hat\mu + B_i (y_i - \hat\mu)` with :math:`B_i =
\hat\tau^2 / (\hat\tau^2 + v_i)` and
:math:`\operatorname{Var}(\tilde\theta_i) = B_i v_i + (1 - B_i)^2 \operatorname{Var}(\hat\mu)`
(the second term carries the uncertainty in :math:`\hat\mu`).

Markets lie along the last axis; leading axes are independent meta-analyses. NaN marks a
market that is absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from tenure._types import FloatArray
from tenure.errors import SpecError

__all__ = ["MetaResult", "random_effects_meta"]


@dataclass(frozen=True, slots=True)
class MetaResult:
    """Pooled random-effects estimate (shape ``(...)``) and shrunk markets (``(..., k)``)."""

    pooled: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    p_value: FloatArray
    tau2: FloatArray
    q: FloatArray
    q_p_value: FloatArray
    i2: FloatArray
    k: FloatArray
    shrunk: FloatArray
    shrunk_se: FloatArray


def random_effects_meta(
    effects: npt.ArrayLike, variances: npt.ArrayLike, *, alpha: float = 0.05
) -> MetaResult:
    r"""DerSimonian–Laird random-effects pooling of per-market effects.

    Parameters
    ----------
    effects : array_like, shape (..., k)
        Per-market effect estimates.
    variances : array_like, shape (..., k)
        Their sampling variances (squared standard errors); must be positive.
    alpha : float, default 0.05
        The pooled interval is the normal :math:`1 - \alpha` interval.

    Returns
    -------
    MetaResult

    Examples
    --------
    >>> r = random_effects_meta([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.015, 0.03])
    >>> round(float(r.pooled), 4), round(float(r.se), 4)
    (0.2365, 0.0786)
    """
    if not 0 < alpha < 1:
        raise SpecError(f"alpha must be in (0, 1), got {alpha!r}")
    y, v = np.broadcast_arrays(np.asarray(effects, float), np.asarray(variances, float))
    present = ~(np.isnan(y) | np.isnan(v))
    if np.any(v[present] <= 0):
        raise SpecError("variances must be positive")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(present, 1.0 / v, 0.0)
        y0 = np.where(present, y, 0.0)
        k = present.sum(axis=-1).astype(np.float64)
        sw = w.sum(axis=-1)
        fe = (w * y0).sum(axis=-1) / sw
        q = (w * (y0 - fe[..., None]) ** 2).sum(axis=-1)
        c = sw - (w * w).sum(axis=-1) / sw
        tau2 = np.maximum(0.0, (q - (k - 1.0)) / c)
        tau2 = np.where(k > 1, tau2, 0.0)
        wr = np.where(present, 1.0 / (v + tau2[..., None]), 0.0)
        swr = wr.sum(axis=-1)
        mu = (wr * y0).sum(axis=-1) / swr
        se = np.sqrt(1.0 / swr)
        i2 = np.where(q > 0, np.maximum(0.0, (q - (k - 1.0)) / q), 0.0)
        b = tau2[..., None] / (tau2[..., None] + v)
        shrunk = np.where(present, mu[..., None] + b * (y - mu[..., None]), np.nan)
        shrunk_var = b * v + (1.0 - b) ** 2 * se[..., None] ** 2
        shrunk_se = np.where(present, np.sqrt(shrunk_var), np.nan)
    z = special.ndtri(1.0 - alpha / 2.0)
    return MetaResult(
        pooled=mu,
        se=se,
        ci_low=mu - z * se,
        ci_high=mu + z * se,
        p_value=2.0 * special.ndtr(-np.abs(mu / se)),
        tau2=tau2,
        q=q,
        q_p_value=np.where(k > 1, special.chdtrc(np.maximum(k - 1.0, 1.0), q), np.nan),
        i2=i2,
        k=k,
        shrunk=shrunk,
        shrunk_se=shrunk_se,
    )
