r"""Doubly robust difference in event *rates* (events per member-week) from stratum sums.

The publish-rate association compares counts over exposure: member :math:`i` publishes
:math:`C_i` times in :math:`E_i` member-weeks of follow-up. The rate of an arm is a ratio of
means, :math:`R_a = \mu_{C,a} / \mu_{E,a}`, each mean standardised to the whole population by
the augmented inverse-probability-weighted estimator (Robins, Rotnitzky & Zhao 1994) with
propensity :math:`e(x)` and outcome models :math:`m_{C,a}(x)`, :math:`m_{E,a}(x)`:

.. math::

    \varphi_{C,1} = m_{C,1} + \frac{A (C - m_{C,1})}{e}, \qquad
    \hat R_1 = \frac{\sum_i \varphi_{C,1}}{\sum_i \varphi_{E,1}},

and likewise for the untreated with :math:`1 - A` and :math:`1 - e`. Dividing mean counts by
mean exposure (rather than averaging per-member rates) weighs a member by the time they were
observed, so a member who left after a day does not count as much as one followed for weeks.
The variance of :math:`\hat\tau = \hat R_1 - \hat R_0` is the empirical variance of its
influence function :math:`\psi = (\varphi_{C,1} - R_1 \varphi_{E,1}) / \mu_{E,1} -
(\varphi_{C,0} - R_0 \varphi_{E,0}) / \mu_{E,0}` (delta method), which in each stratum and arm
is linear in :math:`(C, E)`: the sums :math:`n, \sum C, \sum E, \sum C^2, \sum E^2, \sum CE`
per stratum and arm are sufficient, so nothing here is member-level.

The propensity is the grouped logistic regression of :mod:`tenure.stats.ipw`; the outcome
models are weighted least squares of the stratum means on the design and the arm.
With a saturated design the estimate is the stratified (standardised) rate difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from tenure._types import FloatArray
from tenure.stats.ipw import GroupedLogistic

__all__ = ["ArmSums", "RateEffect", "rate_difference"]


@dataclass(frozen=True, slots=True)
class ArmSums:
    """Per-stratum sums of one arm: members, counts, exposure and their squares and product."""

    n: FloatArray
    c: FloatArray
    e: FloatArray
    cc: FloatArray
    ee: FloatArray
    ce: FloatArray


@dataclass(frozen=True, slots=True)
class RateEffect:
    """Adjusted rates per arm, their difference with a Wald interval, and the diagnostics.

    ``ess1``/``ess0`` are Kish effective sizes of the inverse-probability weights,
    ``clipped`` the share of members whose propensity hit the clip, ``propensity`` per stratum.
    """

    rate1: float
    rate0: float
    estimate: float
    se: float
    ci: tuple[float, float]
    p_value: float
    ess1: float
    ess0: float
    clipped: float
    propensity: FloatArray


def _wls(x: FloatArray, y: FloatArray, w: FloatArray, ridge: float) -> FloatArray:
    """Fitted values of a weighted least-squares fit (a tiny ridge keeps it solvable)."""
    xtw = x.T * w
    gram = xtw @ x
    pen = ridge * np.eye(x.shape[1])
    pen[0, 0] = 0.0
    beta = np.linalg.lstsq(gram + pen, xtw @ y, rcond=None)[0]
    fitted: FloatArray = x @ beta
    return fitted


def rate_difference(
    X: FloatArray,
    treated: ArmSums,
    untreated: ArmSums,
    *,
    alpha: float = 0.05,
    clip: float = 1e-3,
    max_weight: float | None = 20.0,
    ridge: float = 1.0,
) -> RateEffect:
    r"""AIPW difference in rates, treated minus untreated (see the module docstring).

    Parameters
    ----------
    X : numpy.ndarray, shape (S, p)
        Stratum design, intercept column first.
    treated, untreated : ArmSums
        Sums per stratum (arrays of length S) of each arm.
    alpha : float
        One minus the interval's coverage.
    clip : float
        Propensities are clipped to ``[clip, 1 - clip]``.
    max_weight : float, optional
        Also bound them so that no stabilised weight exceeds this (the HVA engine's
        truncation: the bound follows the treated share, so a rare workaround is not clipped
        flat by a fixed floor).
    ridge : float
        Ridge of the propensity model (:class:`tenure.stats.ipw.GroupedLogistic`).

    Examples
    --------
    Two strata; in each, treated members publish 0.5 more a week; the treated are mostly in
    the busier stratum, so the raw difference would be larger.

    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> def arm(n, rate, weeks=4.0):
    ...     n = np.asarray(n, float); c = n * rate * weeks; e = n * weeks
    ...     return ArmSums(n, c, e, c * 2, e * weeks, c * weeks)
    >>> r = rate_difference(X, arm([100, 400], [1.5, 2.5]), arm([400, 100], [1.0, 2.0]), ridge=0)
    >>> round(r.estimate, 6)
    0.5
    """
    s = X.shape[0]
    t, u = treated, untreated
    n_s = t.n + u.n
    big_n = float(n_s.sum())
    e_raw = GroupedLogistic(ridge=ridge).fit(X, t.n[None, :], n_s[None, :]).predict_proba(X)[0]
    lo, hi = clip, 1.0 - clip
    if max_weight is not None:
        share = float(t.n.sum()) / big_n
        lo, hi = max(lo, share / max_weight), min(hi, 1.0 - (1.0 - share) / max_weight)
    e = np.clip(e_raw, lo, hi)
    clipped = float((n_s * ((e_raw < lo) | (e_raw > hi))).sum() / big_n)
    # Outcome models: stratum means of C and E on [X, A], weighted by members.
    xa = np.vstack([np.column_stack([X, np.ones(s)]), np.column_stack([X, np.zeros(s)])])
    w = np.concatenate([t.n, u.n])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c = np.nan_to_num(np.concatenate([t.c, u.c]) / w)
        mean_e = np.nan_to_num(np.concatenate([t.e, u.e]) / w)
    fit_c = _wls(xa, mean_c, w, 1e-8 * float(w.sum()))
    fit_e = _wls(xa, mean_e, w, 1e-8 * float(w.sum()))
    mc1, mc0 = fit_c[:s], fit_c[s:]
    me1, me0 = fit_e[:s], fit_e[s:]
    mu_c1 = float((n_s * mc1 + (t.c - t.n * mc1) / e).sum() / big_n)
    mu_e1 = float((n_s * me1 + (t.e - t.n * me1) / e).sum() / big_n)
    mu_c0 = float((n_s * mc0 + (u.c - u.n * mc0) / (1 - e)).sum() / big_n)
    mu_e0 = float((n_s * me0 + (u.e - u.n * me0) / (1 - e)).sum() / big_n)
    r1, r0 = mu_c1 / mu_e1, mu_c0 / mu_e0
    k1 = (mc1 - r1 * me1) / mu_e1
    k0 = (mc0 - r0 * me0) / mu_e0
    # ψ = u + v C + w E for every member of a (stratum, arm) group.
    tu, tv, tw = k1 * (1 - 1 / e) - k0, 1 / (e * mu_e1), -r1 / (e * mu_e1)
    uu, uv, uw = k1 - k0 * (1 - 1 / (1 - e)), -1 / ((1 - e) * mu_e0), r0 / ((1 - e) * mu_e0)

    def sq(a: ArmSums, cu: FloatArray, cv: FloatArray, cw: FloatArray) -> float:
        out = (
            a.n * cu**2
            + cv**2 * a.cc
            + cw**2 * a.ee
            + 2 * cu * cv * a.c
            + 2 * cu * cw * a.e
            + 2 * cv * cw * a.ce
        )
        return float(out.sum())

    var = (sq(t, tu, tv, tw) + sq(u, uu, uv, uw)) / big_n**2
    se = float(np.sqrt(max(var, 0.0)))
    tau = r1 - r0
    z = float(special.ndtri(1 - alpha / 2))
    p = float(2 * special.ndtr(-abs(tau) / se)) if se > 0 else (1.0 if tau == 0 else 0.0)
    w1, w0 = 1 / e, 1 / (1 - e)
    with np.errstate(divide="ignore", invalid="ignore"):
        ess1 = float((t.n * w1).sum() ** 2 / (t.n * w1**2).sum())
        ess0 = float((u.n * w0).sum() ** 2 / (u.n * w0**2).sum())
    return RateEffect(
        rate1=r1,
        rate0=r0,
        estimate=tau,
        se=se,
        ci=(tau - z * se, tau + z * se),
        p_value=p,
        ess1=ess1,
        ess0=ess0,
        clipped=clipped,
        propensity=e,
    )
