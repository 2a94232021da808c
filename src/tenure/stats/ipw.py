r"""Covariate-adjusted treatment effects on grouped data: logistic IRLS with counts and AIPW.

Members are grouped by covariate stratum :math:`s` (one row per combination of attributes);
for each of :math:`C` candidate treatments the engine returns, per stratum, the treated count
:math:`n_{1s}`, the treated members retained :math:`y_{1s}`, and the same for the untreated
(:math:`n_{0s}, y_{0s}`). Those four counts per stratum are sufficient for the propensity
model, the outcome models and the augmented inverse-probability-weighted (doubly robust)
estimator with its influence-function variance, so nothing here is member-level and all
candidates are fitted at once.

With :math:`e_s` the propensity and :math:`m_{as}` the outcome model in arm :math:`a`, each
member contributes

.. math::

    \varphi_1 = m_1 + \frac{A (Y - m_1)}{e}, \qquad
    \varphi_0 = m_0 + \frac{(1 - A)(Y - m_0)}{1 - e},

and :math:`\hat\mu_a = \frac1N \sum \varphi_a`, :math:`\hat\tau = \hat\mu_1 - \hat\mu_0`,
:math:`\widehat{\operatorname{Var}}(\hat\tau) = \frac1{N^2} \sum (\varphi_1 - \varphi_0 -
\hat\tau)^2` — a sum over the four (A, Y) types in each stratum weighted by their counts.
``method="ipw"`` drops the outcome model (:math:`m \equiv 0`, Horvitz–Thompson).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from tenure._types import FloatArray
from tenure.errors import NotFittedError, SpecError

__all__ = ["AdjustedEffect", "GroupedLogistic", "aipw_grouped", "one_hot"]

EffectMethod = Literal["aipw", "ipw"]


def one_hot(codes: npt.ArrayLike, n_levels: int) -> FloatArray:
    """Indicator columns of integer codes ``0..n_levels-1`` (all levels kept)."""
    c = np.asarray(codes, dtype=np.int64)
    out = np.zeros((c.size, n_levels))
    out[np.arange(c.size), c] = 1.0
    return out


class GroupedLogistic:
    r"""Binomial logistic regressions on grouped rows, many response vectors at once.

    Fits :math:`\operatorname{logit} p_{cs} = x_s^\top \beta_c` for every candidate
    :math:`c` by Newton–Raphson (IRLS) on successes :math:`k_{cs}` out of trials
    :math:`n_{cs}`, maximising

    .. math::

        \sum_s k_{cs} \log p_{cs} + (n_{cs} - k_{cs}) \log(1 - p_{cs})
        - \tfrac{\lambda}{2} \lVert \beta_{c,1:} \rVert^2 .

    The ridge :math:`\lambda` (intercept unpenalised; a N(0, 1/λ) prior on the other
    coefficients) keeps full one-hot designs and empty or separated strata finite; with
    thousands of members per level it barely moves the other coefficients.

    Parameters
    ----------
    ridge : float, default 1.0
    max_iter : int, default 50
    tol : float, default 1e-8
        Stop when the largest Newton step is below this.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> m = GroupedLogistic(ridge=0.0).fit(X, [[10, 30]], [[40, 40]])
    >>> m.predict_proba(X).round(3).tolist()
    [[0.25, 0.75]]
    """

    def __init__(self, ridge: float = 1.0, max_iter: int = 50, tol: float = 1e-8) -> None:
        self.ridge = ridge
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self, X: npt.ArrayLike, successes: npt.ArrayLike, trials: npt.ArrayLike
    ) -> GroupedLogistic:
        """Fit; ``X`` is (S, p) with an intercept column first, counts are (C, S) or (S,)."""
        x = np.asarray(X, dtype=np.float64)
        k = np.atleast_2d(np.asarray(successes, dtype=np.float64))
        n = np.atleast_2d(np.asarray(trials, dtype=np.float64))
        if x.ndim != 2 or k.shape != n.shape or k.shape[1] != x.shape[0]:
            raise SpecError("X must be (S, p) and successes, trials (C, S)")
        if self.ridge < 0:
            raise SpecError(f"ridge must be non-negative, got {self.ridge}")
        c, p = k.shape[0], x.shape[1]
        pen = np.full(p, float(self.ridge))
        pen[0] = 0.0
        # Start at the pooled rate: one Newton step from there is already close.
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.clip(k.sum(1) / np.maximum(n.sum(1), 1.0), 1e-6, 1 - 1e-6)
        beta = np.zeros((c, p))
        beta[:, 0] = special.logit(rate)
        self.n_iter_ = 0
        xx = (x[:, :, None] * x[:, None, :]).reshape(x.shape[0], p * p)  # Hessian = w @ xx
        active = np.arange(c)  # candidates still moving; converged ones are frozen
        for it in range(self.max_iter):
            b, kk, nn = beta[active], k[active], n[active]
            mu = special.expit(b @ x.T)  # (C, S)
            w = nn * mu * (1.0 - mu)
            grad = (kk - nn * mu) @ x - pen * b
            hess = (w @ xx).reshape(-1, p, p) + np.diag(pen + 1e-10)
            step = np.linalg.solve(hess, grad[..., None])[..., 0]
            # Damped Newton: a step of more than 2 on the logit scale overshoots on strata
            # that are nearly separated; capping it makes IRLS converge from any start.
            big = np.max(np.abs(step), axis=1, keepdims=True)
            step = step * np.minimum(1.0, 2.0 / np.maximum(big, 1e-300))
            beta[active] = b + step
            self.n_iter_ = it + 1
            self.last_step_ = np.max(np.abs(step), axis=1)
            active = active[self.last_step_ >= self.tol]
            if active.size == 0:
                break
        self.coef_ = beta
        return self

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Fitted probabilities, shape (C, S)."""
        coef: FloatArray | None = getattr(self, "coef_", None)
        if coef is None:
            raise NotFittedError(
                "GroupedLogistic is not fitted yet: call fit(X, successes, trials)"
            )
        return special.expit(coef @ np.asarray(X, dtype=np.float64).T)


@dataclass(frozen=True, slots=True)
class AdjustedEffect:
    """Adjusted retention effects, one entry per candidate.

    ``mean1``/``mean0`` are the standardised retention with and without the treatment,
    ``estimate`` their difference, ``ratio`` their ratio (interval by the delta method on
    the log scale), ``p_value`` two-sided for the difference.
    """

    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    p_value: FloatArray
    mean1: FloatArray
    mean0: FloatArray
    ratio: FloatArray
    ratio_low: FloatArray
    ratio_high: FloatArray
    n: FloatArray
    n_treated: FloatArray
    status: npt.NDArray[np.str_]

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate."""
        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})


def aipw_grouped(
    X: npt.ArrayLike,
    n1: npt.ArrayLike,
    y1: npt.ArrayLike,
    n0: npt.ArrayLike,
    y0: npt.ArrayLike,
    *,
    method: EffectMethod = "aipw",
    alpha: float = 0.05,
    clip: float = 0.01,
    ridge: float = 1.0,
) -> AdjustedEffect:
    r"""Average treatment effect on retention from stratum counts, for many candidates.

    Parameters
    ----------
    X : array_like, shape (S, p)
        Stratum design matrix, intercept column first.
    n1, y1, n0, y0 : array_like, shape (C, S)
        Treated count, treated retained, untreated count, untreated retained.
    method : {"aipw", "ipw"}
        Doubly robust (default) or inverse-probability weighting (Horvitz–Thompson).
    alpha : float, default 0.05
    clip : float, default 0.01
        Propensities are clipped to ``[clip, 1 - clip]``.
    ridge : float, default 1.0
        Passed to :class:`GroupedLogistic`.

    Returns
    -------
    AdjustedEffect
        Status ``"too_few"`` where an arm has fewer than 10 members.

    Examples
    --------
    One binary confounder; within each stratum treatment adds 0.1.

    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> r = aipw_grouped(X, [[200, 800]], [[120, 720]], [[800, 200]], [[400, 160]])
    >>> round(float(r.estimate[0]), 3)
    0.1
    """
    if method not in ("aipw", "ipw"):
        raise SpecError(f"method must be 'aipw' or 'ipw', got {method!r}")
    if not 0.0 <= clip < 0.5:
        raise SpecError(f"clip must be in [0, 0.5), got {clip}")
    x = np.asarray(X, dtype=np.float64)
    a1, r1, a0, r0 = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (n1, y1, n0, y0))
    n_s = a1 + a0
    e = GroupedLogistic(ridge=ridge).fit(x, a1, n_s).predict_proba(x)
    e = np.clip(e, clip, 1.0 - clip)
    if method == "aipw":
        # One outcome model for both arms, treatment as a column: covariate effects are learnt
        # from every member, so a rare candidate's treated arm is not extrapolated alone.
        s = x.shape[0]
        xa = np.vstack([np.column_stack([x, np.ones(s)]), np.column_stack([x, np.zeros(s)])])
        fit = GroupedLogistic(ridge=ridge).fit(xa, np.hstack([r1, r0]), np.hstack([a1, a0]))
        m = fit.predict_proba(xa)
        m1, m0 = m[:, :s], m[:, s:]
    else:
        m1 = np.zeros_like(e)
        m0 = np.zeros_like(e)
    big_n = n_s.sum(axis=1)
    # The four member types per stratum: (A, Y) with their counts and phi1, phi0.
    counts = np.stack([r1, a1 - r1, r0, a0 - r0])
    phi1 = np.stack([m1 + (1 - m1) / e, m1 - m1 / e, m1, m1])
    phi0 = np.stack([m0, m0, m0 + (1 - m0) / (1 - e), m0 - m0 / (1 - e)])
    with np.errstate(divide="ignore", invalid="ignore"):
        mu1 = (counts * phi1).sum(axis=(0, 2)) / big_n
        mu0 = (counts * phi0).sum(axis=(0, 2)) / big_n
        tau = mu1 - mu0
        dev = phi1 - phi0 - tau[None, :, None]
        se = np.sqrt((counts * dev**2).sum(axis=(0, 2))) / big_n
        ratio = mu1 / mu0
        dlog = (phi1 - mu1[None, :, None]) / mu1[None, :, None] - (phi0 - mu0[None, :, None]) / mu0[
            None, :, None
        ]
        se_log = np.sqrt((counts * dlog**2).sum(axis=(0, 2))) / big_n
    z = float(special.ndtri(1.0 - alpha / 2.0))
    p = 2.0 * special.ndtr(-np.abs(tau / se))
    ok = (a1.sum(1) >= 10) & (a0.sum(1) >= 10)
    bad = ~ok

    def mask(v: FloatArray) -> FloatArray:
        return np.where(bad, np.nan, v)

    return AdjustedEffect(
        estimate=mask(tau),
        se=mask(se),
        ci_low=mask(tau - z * se),
        ci_high=mask(tau + z * se),
        p_value=mask(p),
        mean1=mask(mu1),
        mean0=mask(mu0),
        ratio=mask(ratio),
        ratio_low=mask(ratio * np.exp(-z * se_log)),
        ratio_high=mask(ratio * np.exp(z * se_log)),
        n=big_n,
        n_treated=a1.sum(1),
        status=np.where(ok, "ok", "too_few").astype(np.str_),
    )
