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

import threading
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse, special

from tenure._types import FloatArray, IntArray
from tenure.errors import NotFittedError, SpecError
from tenure.stats.proportion import effective_n, newcombe, wilson

__all__ = [
    "AdjustedEffect",
    "EffectMethod",
    "GroupedLogistic",
    "Status",
    "StrataDesign",
    "aipw_grouped",
    "one_hot",
]

EffectMethod = Literal["aipw", "ipw"]

_CHORD_BELOW = 0.1
"""A fit whose Newton step is below this (logit scale) keeps its Hessian: chord steps."""


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
        self,
        X: npt.ArrayLike | StrataDesign,
        successes: npt.ArrayLike,
        trials: npt.ArrayLike,
        *,
        start: npt.ArrayLike | None = None,
    ) -> GroupedLogistic:
        """Fit; ``X`` is (S, p) with an intercept column first, counts are (C, S) or (S,).

        ``start`` — coefficients to start from, (p,) or (C, p) — only saves iterations: the
        penalised likelihood has one maximum, and every fit is run to the same tolerance.
        """
        design = _prepared(X)
        k, n = _counts(successes, trials)
        if k.shape[1] != design.s:
            raise SpecError("X must be (S, p) and successes, trials (C, S)")
        return self._fit(design, k, n, start)

    def fit_arms(
        self,
        X: npt.ArrayLike | StrataDesign,
        successes1: npt.ArrayLike,
        trials1: npt.ArrayLike,
        successes0: npt.ArrayLike,
        trials0: npt.ArrayLike,
        *,
        start: npt.ArrayLike | None = None,
    ) -> GroupedLogistic:
        """Fit one model shared by a treated and an untreated arm: the design ``[X, arm]``.

        The same fit as :meth:`fit` on the stacked rows ``[[X, 1], [X, 0]]`` with the counts
        side by side (the arm's coefficient last), at half the cost: both arms share ``X``,
        so the Hessian's covariate block is one product with the arms' weights summed, and
        the arm's row is a sum. Counts are (C, S) per arm; predict with :meth:`predict_arms`.
        ``start`` as in :meth:`fit`, with p + 1 coefficients.
        """
        design = _prepared(X)
        k, n = _counts(np.hstack([np.atleast_2d(successes1), np.atleast_2d(successes0)]),
                       np.hstack([np.atleast_2d(trials1), np.atleast_2d(trials0)]))  # fmt: skip
        if k.shape[1] != 2 * design.s:
            raise SpecError("X must be (S, p) and each arm's successes, trials (C, S)")
        return self._fit(_TwoArm(design), k, n, start)

    def _fit(
        self,
        design: StrataDesign | _TwoArm,
        k: FloatArray,
        n: FloatArray,
        start: npt.ArrayLike | None,
    ) -> GroupedLogistic:
        if self.ridge < 0:
            raise SpecError(f"ridge must be non-negative, got {self.ridge}")
        c, p = k.shape[0], design.p
        pen = np.full(p, float(self.ridge))
        pen[0] = 0.0
        beta = _start(k, n, p, start)
        self.n_iter_ = 0
        self.last_step_ = np.zeros(c)

        def objective(eta: FloatArray, b: FloatArray, kk: FloatArray, nn: FloatArray) -> FloatArray:
            ll = (kk * eta - nn * np.logaddexp(0.0, eta)).sum(axis=1)
            out: FloatArray = ll - 0.5 * (pen * b * b).sum(axis=1)
            return out

        # Two phases per fit. Newton: the Hessian — a (C, S) x (S, p²/2) product, the cost —
        # with a line search on the likelihood. Once a fit's steps are small its Hessian barely
        # changes, so its inverse is kept (chord steps: only a gradient per iteration, no
        # likelihood); a chord step that grows instead of shrinking sends that fit back to
        # Newton with the line search. The Hessian is formed in float64: the designs are
        # rank-deficient (a count covariate's quadratic and its level steps overlap, only the
        # ridge separates them), and a float32 Hessian's rounding — about the size of the
        # ridge at a million members — sent some fits of a batch oscillating to max_iter.
        # The (C, S) working arrays hold only the fits still moving, compressed again only
        # when some converge, so an iteration copies no count array.
        kk, nn, eta = k, n, design.eta(beta)
        ll_all = np.full(c, np.nan)  # a fit's likelihood, computed when a line search needs it
        inverse = np.zeros((c, p, p))
        chord = np.zeros(c, dtype=bool)
        prev = np.full(c, np.inf)
        active = np.arange(c)  # candidates still moving; converged ones are frozen
        for it in range(self.max_iter):
            b = beta[active]
            mu = special.expit(eta)  # (C, S)
            fitted = nn * mu
            grad = design.score(kk - fitted) - pen * b
            newton = ~chord[active]
            if newton.any():
                nw = np.flatnonzero(newton)
                hess = design.hessian(_rows(fitted, nw) * (1.0 - _rows(mu, nw)))
                inverse[active[nw]] = np.linalg.inv(hess + np.diag(pen + 1e-10))
            step = (inverse[active] @ grad[..., None])[..., 0]
            # Damped Newton: a step of more than 2 on the logit scale overshoots on strata
            # that are nearly separated; capping it, then halving any step that lowers the
            # penalised likelihood (backtracking), makes IRLS converge from any start.
            big = np.max(np.abs(step), axis=1)
            step = step * np.minimum(1.0, 2.0 / np.maximum(big, 1e-300))[:, None]
            new_b = b + step
            new_eta = design.eta(new_b)
            # A Newton step below the chord threshold is taken as it is (the quadratic model
            # is good there): that fit turns to chord steps, whose growth is the safeguard.
            nw = np.flatnonzero(newton & (big >= _CHORD_BELOW))
            if nw.size:
                base = ll_all[active[nw]]
                unknown = np.flatnonzero(np.isnan(base))
                if unknown.size:
                    u = nw[unknown]
                    base[unknown] = objective(eta[u], b[u], kk[u], nn[u])
                trial = objective(_rows(new_eta, nw), new_b[nw], _rows(kk, nw), _rows(nn, nw))
                for _ in range(12):
                    worse = np.flatnonzero(trial < base - 1e-12 * np.abs(base))
                    if worse.size == 0:
                        break
                    r = nw[worse]
                    step[r] *= 0.5
                    new_b[r] = b[r] + step[r]
                    new_eta[r] = design.eta(new_b[r])
                    trial[worse] = objective(new_eta[r], new_b[r], kk[r], nn[r])
                ll_all[active[nw]] = trial
            ll_all[active[newton & (big < _CHORD_BELOW)]] = np.nan
            beta[active], eta = new_b, new_eta
            self.n_iter_ = it + 1
            moved = np.max(np.abs(step), axis=1)
            self.last_step_[active] = moved
            diverging = chord[active] & (moved > prev[active])
            if diverging.any():  # back to Newton, from the likelihood of where it stands
                back = active[diverging]
                chord[back] = False
                ll_all[back] = np.nan
            chord[active[~diverging & (moved < _CHORD_BELOW)]] = True
            prev[active] = moved
            going = moved >= self.tol
            if not going.all():
                active, kk, nn, eta = active[going], kk[going], nn[going], eta[going]
            if active.size == 0:
                break
        self.coef_ = beta
        self.converged_ = self.last_step_ < self.tol
        return self

    def predict_proba(self, X: npt.ArrayLike | StrataDesign) -> FloatArray:
        """Fitted probabilities, shape (C, S)."""
        proba: FloatArray = special.expit(_prepared(X).eta(self._coef()))
        return proba

    def predict_arms(self, X: npt.ArrayLike | StrataDesign) -> tuple[FloatArray, FloatArray]:
        """Fitted probabilities of a :meth:`fit_arms` model: treated and untreated, each (C, S)."""
        coef = self._coef()
        xb = _prepared(X).eta(coef[:, :-1])
        treated: FloatArray = special.expit(xb + coef[:, -1:])
        untreated: FloatArray = special.expit(xb)
        return treated, untreated

    def _coef(self) -> FloatArray:
        coef: FloatArray | None = getattr(self, "coef_", None)
        if coef is None:
            raise NotFittedError(
                "GroupedLogistic is not fitted yet: call fit(X, successes, trials) or fit_arms"
            )
        return coef


def _rows(a: FloatArray, idx: IntArray) -> FloatArray:
    """``a[idx]``, without the copy when ``idx`` is every row (as it mostly is)."""
    return a if idx.size == a.shape[0] else a[idx]


def _counts(successes: npt.ArrayLike, trials: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    k = np.atleast_2d(np.asarray(successes, dtype=np.float64))
    n = np.atleast_2d(np.asarray(trials, dtype=np.float64))
    if k.shape != n.shape:
        raise SpecError("successes and trials must have the same shape (C, S)")
    return k, n


def _start(k: FloatArray, n: FloatArray, p: int, start: npt.ArrayLike | None) -> FloatArray:
    """(C, p) starting coefficients: the caller's, or each fit's pooled rate."""
    c = k.shape[0]
    if start is not None:
        given = np.asarray(start, dtype=np.float64)
        if given.shape not in ((p,), (c, p)):
            raise SpecError(f"start must be ({p},) or ({c}, {p}), got {given.shape}")
        return np.array(np.broadcast_to(given, (c, p)))
    # The pooled rate: one Newton step from there is already close.
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.clip(k.sum(1) / np.maximum(n.sum(1), 1.0), 1e-6, 1 - 1e-6)
    beta = np.zeros((c, p))
    beta[:, 0] = special.logit(rate)
    return beta


class StrataDesign:
    """A stratum design matrix prepared once for every fit on it.

    The Hessian's products ``x_i x_j`` (S × p(p+1)/2) are formed on the first Hessian and
    kept: building them costs as much as several Hessians, and the HVA fits hundreds of
    models on one design in batches. Only the distinct non-zero product columns are kept
    (products of two levels of one factor are zero, an indicator's square is itself), and
    they are multiplied by the weights in two parts (:class:`_Products`).
    """

    def __init__(self, X: npt.ArrayLike) -> None:
        self.x = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        if self.x.ndim != 2:
            raise SpecError("X must be (S, p)")
        self.s, self.p = self.x.shape
        self._products: tuple[_Products, IntArray, IntArray] | None = None
        self._lock = threading.Lock()  # batches of fits may share one design across threads

    def eta(self, beta: FloatArray) -> FloatArray:
        """Linear predictors ``beta @ x.T``, (C, S)."""
        out: FloatArray = beta @ self.x.T
        return out

    def score(self, resid: FloatArray) -> FloatArray:
        """``resid @ x``, (C, p)."""
        out: FloatArray = resid @ self.x
        return out

    def hessian(self, w: FloatArray) -> FloatArray:
        """``x.T diag(w_c) x`` for every row ``w_c`` of the (C, S) weights, (C, p, p)."""
        with self._lock:
            if self._products is None:
                self._products = self._prepare_products()
        xx, where, col = self._products
        distinct = xx.weighted(w)
        hess = np.zeros((w.shape[0], self.p * self.p))
        hess[:, where] = distinct[:, col]
        return hess.reshape(w.shape[0], self.p, self.p)

    def _prepare_products(self) -> tuple[_Products, IntArray, IntArray]:
        """The distinct products, and where each lands in a flattened (p, p) Hessian."""
        products, col_of = _distinct_products(self.x)
        xx = _Products(products)
        iu, ju = np.triu_indices(self.p)
        flat = np.concatenate([iu * self.p + ju, ju * self.p + iu])
        col = np.concatenate([col_of, col_of])
        keep = col >= 0
        return xx, flat[keep], col[keep]


def _distinct_products(x: FloatArray) -> tuple[FloatArray, IntArray]:
    """The distinct non-zero columns of ``x[:, i] * x[:, j]`` (i <= j) and each pair's column.

    Pairs whose product is zero everywhere map to -1. Columns are matched by a random
    projection first and confirmed equal exactly, so no two different columns are merged.
    """
    iu, ju = np.triu_indices(x.shape[1])
    col_of = np.full(iu.size, -1, dtype=np.int64)
    kept: list[FloatArray] = []
    seen: dict[float, list[int]] = {}
    probe = np.random.default_rng(0).random(x.shape[0])
    for q, (i, j) in enumerate(zip(iu, ju, strict=True)):
        prod = x[:, i] * x[:, j]
        if not prod.any():
            continue
        key = float(probe @ prod)
        for u in seen.get(key, []):
            if np.array_equal(kept[u], prod):
                col_of[q] = u
                break
        else:
            col_of[q] = len(kept)
            seen.setdefault(key, []).append(len(kept))
            kept.append(prod)
    xx = np.column_stack(kept) if kept else np.zeros((x.shape[0], 0))
    return xx, col_of


class _Products:
    """A design's product columns, split so the weights meet each part at its best speed.

    Most products of two indicators are zero in most strata (two levels of two factors):
    on the Parla world 470 of 564 columns are under 30% non-zero, 19% of all entries. Those
    are a sparse matrix, the rest a dense block for BLAS: the (C, S) x (S, 564) product of
    every Hessian took 24 ms dense and takes 13.5 ms split, with the same sums to 1e-10;
    twelve batches of HVA fits captured there, 2.36-2.51 s before and 2.00-2.05 s after (one
    BLAS thread, best of five rounds, old and new interleaved in one process).
    """

    DENSE_ABOVE = 0.3
    """A column with more non-zero entries than this share is in the dense block."""

    def __init__(self, xx: FloatArray) -> None:
        share = (xx != 0).mean(axis=0) if xx.shape[0] else np.ones(xx.shape[1])
        self.n_cols = xx.shape[1]
        self.dense_cols = np.flatnonzero(share > self.DENSE_ABOVE)
        self.sparse_cols = np.flatnonzero(share <= self.DENSE_ABOVE)
        self.dense = np.ascontiguousarray(xx[:, self.dense_cols])
        self.sparse_t = sparse.csr_matrix(xx[:, self.sparse_cols].T)

    def weighted(self, w: FloatArray) -> FloatArray:
        """``w @ xx``: (C, S) weights by the (S, columns) products, (C, columns)."""
        out = np.empty((w.shape[0], self.n_cols))
        out[:, self.dense_cols] = w @ self.dense
        if self.sparse_cols.size:
            out[:, self.sparse_cols] = (self.sparse_t @ w.T).T
        return out


def _prepared(X: npt.ArrayLike | StrataDesign) -> StrataDesign:
    return X if isinstance(X, StrataDesign) else StrataDesign(X)


class _TwoArm:
    """The stacked design ``[[X, 1], [X, 0]]`` without stacking it (see ``fit_arms``)."""

    def __init__(self, inner: StrataDesign) -> None:
        self.inner = inner
        self.s = inner.s
        self.p = inner.p + 1

    def eta(self, beta: FloatArray) -> FloatArray:
        xb = self.inner.eta(beta[:, :-1])
        out: FloatArray = np.empty((beta.shape[0], 2 * self.s))
        np.add(xb, beta[:, -1:], out=out[:, : self.s])
        out[:, self.s :] = xb
        return out

    def score(self, resid: FloatArray) -> FloatArray:
        r1 = resid[:, : self.s]
        return np.column_stack([self.inner.score(r1 + resid[:, self.s :]), r1.sum(1)])

    def hessian(self, w: FloatArray) -> FloatArray:
        w1 = w[:, : self.s]
        hess = np.zeros((w.shape[0], self.p, self.p))
        hess[:, :-1, :-1] = self.inner.hessian(w1 + w[:, self.s :])
        cross = w1 @ self.inner.x
        hess[:, :-1, -1] = cross
        hess[:, -1, :-1] = cross
        hess[:, -1, -1] = w1.sum(1)
        return hess


Status = Literal["ok", "too_few", "few_events"]
"""Whether an estimate is usable: ``too_few`` — an arm has fewer than ``min_arm`` members with
an observable outcome (no estimate); ``few_events`` — an arm has fewer than ``min_events``
retained or fewer than ``min_events`` churned members (estimate and a wide score interval are
shown, but nothing is established from it)."""


@dataclass(frozen=True, slots=True)
class AdjustedEffect:
    """Adjusted retention effects, one entry per candidate.

    ``mean1``/``mean0`` are the standardised retention with and without the treatment,
    ``estimate`` their difference with a score-type interval ``[ci_low, ci_high]``,
    ``ratio`` their ratio (MOVER interval on the log scale), ``p_value`` two-sided and
    consistent with the interval (``p < alpha`` exactly when the interval excludes 0).
    ``var1``/``var0`` are the arms' influence-function variances, ``ess1``/``ess0`` the
    effective numbers of members behind each arm (Kish, from the inverse-probability weights),
    ``clipped`` the share of members whose propensity hit the clip, ``converged`` whether
    every model of the candidate converged (its last Newton step below the tolerance: a fit
    stopped at ``max_iter`` gives a number that must not be read), ``within`` how much the
    member-level within-stratum outcome term moved ``estimate`` (0 without one),
    ``propensity`` the fitted (clipped) propensity per stratum, shape (C, S).
    """

    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    p_value: FloatArray
    mean1: FloatArray
    mean0: FloatArray
    var1: FloatArray
    var0: FloatArray
    ratio: FloatArray
    ratio_low: FloatArray
    ratio_high: FloatArray
    n: FloatArray
    n_treated: FloatArray
    n_observed: FloatArray
    ess1: FloatArray
    ess0: FloatArray
    clipped: FloatArray
    events1: FloatArray
    events0: FloatArray
    status: npt.NDArray[np.str_]
    converged: npt.NDArray[np.bool_]
    within: FloatArray
    propensity: FloatArray

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate (the per-stratum propensities are left out)."""
        return pd.DataFrame(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name != "propensity"}
        )


def aipw_grouped(
    X: npt.ArrayLike | StrataDesign,
    n1: npt.ArrayLike,
    y1: npt.ArrayLike,
    n0: npt.ArrayLike,
    y0: npt.ArrayLike,
    *,
    all1: npt.ArrayLike | None = None,
    all0: npt.ArrayLike | None = None,
    within: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike] | None = None,
    method: EffectMethod = "aipw",
    alpha: float = 0.05,
    clip: float = 0.01,
    ridge: float = 1.0,
    min_arm: int = 10,
    min_events: int = 0,
    max_weight: float | None = None,
) -> AdjustedEffect:
    r"""Average treatment effect on retention from stratum counts, for many candidates.

    With censoring: ``all1``/``all0`` count every member of the population in each arm and
    stratum, ``n1``/``n0`` those whose outcome is observable and ``y1``/``y0`` the retained
    among them. Observability :math:`\Delta` is modelled by a logistic regression on the
    covariates and the arm (:math:`\pi_a(x)`), and each member contributes

    .. math::

        \varphi_1 = m_1 + \frac{A\,\Delta\,(Y - m_1)}{e\,\pi_1}, \qquad
        \varphi_0 = m_0 + \frac{(1-A)\,\Delta\,(Y - m_0)}{(1-e)\,\pi_0},

    averaged over the *whole* population: the inverse-probability-of-censoring weights carry
    the members whose horizon is observable to the covariate mix of all members, including
    the recent cohorts whose horizon is not yet observable (Robins & Rotnitzky 1992; Bang &
    Robins 2005). It assumes observability depends on nothing but the covariates and the arm
    (no trend across cohorts *within* a covariate stratum). Without ``all1``/``all0`` every
    member is observable (:math:`\pi \equiv 1`).

    With ``within`` — per stratum, the sums of a member-level index :math:`z` over the
    treated, the observed treated, the untreated and the observed untreated — the outcome
    model is member-level: :math:`m_a(x_i) = m_a(s_i) + z_i - \bar z_{s_i}`, with
    :math:`\bar z_s` the stratum's mean over every member (see :mod:`tenure.hva.within`).
    The standardised means keep their form (the deviations sum to zero over a stratum);
    each observed member's residual loses :math:`z_i - \bar z_s`. The variance keeps the
    stratum-level residuals (the member-level term only explains some of their spread).

    The interval is Newcombe's hybrid score interval on the two arms
    (:func:`tenure.stats.proportion.newcombe`) with effective sizes
    :math:`\min(\hat\mu_a(1-\hat\mu_a)/\hat V_a, \mathrm{ESS}_a)` and half-widths scaled by
    :math:`\sqrt{\hat V_\tau / (\hat V_1 + \hat V_0)}` (the arms share the outcome model):
    it matches the influence-function interval in large samples and keeps its width when an
    arm is small or its rate is 0 or 1, where the influence-function variance collapses.

    Parameters
    ----------
    X : array_like, shape (S, p), or StrataDesign
        Stratum design matrix, intercept column first (a :class:`StrataDesign` prepared once
        saves rebuilding its Hessian products when called batch after batch).
    n1, y1, n0, y0 : array_like, shape (C, S)
        Treated observable count, treated retained, untreated observable, untreated retained.
    all1, all0 : array_like, shape (C, S), optional
        Treated and untreated counts including members whose outcome is not observable.
    method : {"aipw", "ipw"}
        Doubly robust (default) or inverse-probability weighting (Horvitz–Thompson).
    alpha : float, default 0.05
    clip : float, default 0.01
        Propensities (and observation probabilities) are clipped to ``[clip, 1 - clip]``.
    ridge : float, default 1.0
        Passed to :class:`GroupedLogistic`.
    min_arm, min_events : int
        Status thresholds (see :data:`Status`).
    max_weight : float, optional
        Also bound propensities so that no stabilised weight exceeds this (truncation).

    Returns
    -------
    AdjustedEffect

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
    x = _prepared(X)
    o1, r1, o0, r0 = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (n1, y1, n0, y0))
    p1 = o1 if all1 is None else np.atleast_2d(np.asarray(all1, dtype=np.float64))
    p0 = o0 if all0 is None else np.atleast_2d(np.asarray(all0, dtype=np.float64))
    n_s = p1 + p0
    # Each model starts from its saturated fit (see _saturated_start): fewer Newton steps.
    start = _saturated_start(x, p1, n_s, ridge)
    e_model = GroupedLogistic(ridge=ridge).fit(x, p1, n_s, start=start)
    e_raw = e_model.predict_proba(x)
    converged = e_model.converged_.copy()
    lo_e = np.full((e_raw.shape[0], 1), clip)
    hi_e = np.full((e_raw.shape[0], 1), 1.0 - clip)
    if max_weight is not None:
        # Stabilised weights p̄/e and (1 - p̄)/(1 - e) at most max_weight: the bound follows
        # the candidate's own share, so a rare action is not clipped flat by a fixed 0.01.
        with np.errstate(divide="ignore", invalid="ignore"):
            share = (p1.sum(1) / n_s.sum(1))[:, None]
        lo_e = np.maximum(lo_e, np.nan_to_num(share) / max_weight)
        hi_e = np.minimum(hi_e, 1.0 - np.nan_to_num(1.0 - share) / max_weight)
    e = np.clip(e_raw, lo_e, hi_e)
    at_clip = (e_raw < lo_e) | (e_raw > hi_e)
    # Observability and the outcome are each one model shared by both arms ([x, arm]), so
    # covariate effects are learnt from everyone.
    censored = all1 is not None or all0 is not None
    if censored and bool(((o1 < p1) | (o0 < p0)).any()):
        obs = GroupedLogistic(ridge=ridge)
        start = _saturated_start(_TwoArm(x), np.hstack([o1, o0]), np.hstack([p1, p0]), ridge)
        obs.fit_arms(x, o1, p1, o0, p0, start=start)
        converged &= obs.converged_
        pi1, pi0 = (np.clip(v, max(clip, 1e-3), 1.0) for v in obs.predict_arms(x))
    else:
        pi1 = pi0 = np.ones_like(e)
    if method == "aipw":
        out = GroupedLogistic(ridge=ridge)
        start = _saturated_start(_TwoArm(x), np.hstack([r1, r0]), np.hstack([o1, o0]), ridge)
        out.fit_arms(x, r1, o1, r0, o0, start=start)
        converged &= out.converged_
        m1, m0 = out.predict_arms(x)
    else:
        m1 = np.zeros_like(e)
        m0 = np.zeros_like(e)
    big_n = n_s.sum(axis=1)
    w1, w0 = 1.0 / (e * pi1), 1.0 / ((1.0 - e) * pi0)
    # The six member types per stratum, (A, Δ, Y), summed in closed form: φ1 is m1 except
    # for the observed treated, m1 + (Y - m1) w1, so Σ φ1 = Σ n m1 + g1 and the squared
    # deviations add h1 (and likewise for φ0) — a few (C, S) products instead of six each.
    g1, h1 = _weighted_residuals(m1, w1, r1, o1)
    g0, h0 = _weighted_residuals(m0, w0, r0, o0)
    shift = np.zeros(o1.shape[0])
    if within is not None and method == "aipw":
        zs1, zo1, zs0, zo0 = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in within)
        with np.errstate(divide="ignore", invalid="ignore"):
            zbar = np.where(n_s > 0, (zs1 + zs0) / n_s, 0.0)
        c1, c0 = w1 * (zo1 - o1 * zbar), w0 * (zo0 - o0 * zbar)
        g1, g0 = g1 - c1, g0 - c0
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = (c0.sum(axis=1) - c1.sum(axis=1)) / big_n
    with np.errstate(divide="ignore", invalid="ignore"):
        mu1 = (n_s * m1 + g1).sum(axis=1) / big_n
        mu0 = (n_s * m0 + g0).sum(axis=1) / big_n
        tau = mu1 - mu0
        d1 = m1 - mu1[:, None]
        d0 = m0 - mu0[:, None]
        dd = d1 - d0
        var1 = (n_s * d1**2 + 2.0 * d1 * g1 + h1).sum(axis=1) / big_n**2
        var0 = (n_s * d0**2 + 2.0 * d0 * g0 + h0).sum(axis=1) / big_n**2
        var_tau = (n_s * dd**2 + 2.0 * dd * (g1 - g0) + h1 + h0).sum(axis=1) / big_n**2
        ess1 = (o1 * w1).sum(1) ** 2 / (o1 * w1**2).sum(1)
        ess0 = (o0 * w0).sum(1) ** 2 / (o0 * w0**2).sum(1)
        rho = np.sqrt(np.clip(var_tau / (var1 + var0), 0.0, 1.0))
    rho = np.where(np.isfinite(rho), rho, 1.0)
    z = float(special.ndtri(1.0 - alpha / 2.0))
    ne1 = effective_n(np.clip(mu1, 0, 1), var1, np.nan_to_num(ess1))
    ne0 = effective_n(np.clip(mu0, 0, 1), var0, np.nan_to_num(ess0))
    lo, hi = newcombe(np.clip(mu1, 0, 1), ne1, np.clip(mu0, 0, 1), ne0, z=z, scale=rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1, u1 = wilson(np.clip(mu1, 0, 1), ne1, z=z)
        l0, u0 = wilson(np.clip(mu0, 0, 1), ne0, z=z)
        ratio = mu1 / mu0
        lr = np.log(ratio) - rho * np.hypot(np.log(mu1) - np.log(l1), np.log(u0) - np.log(mu0))
        ur = np.log(ratio) + rho * np.hypot(np.log(u1) - np.log(mu1), np.log(mu0) - np.log(l0))
        side = np.where(tau >= 0, tau - lo, hi - tau) / z
        p = 2.0 * special.ndtr(-np.abs(tau) / side)
    p = np.where(side > 0, p, np.where(tau == 0, 1.0, 0.0))
    events1 = np.minimum(r1.sum(1), (o1 - r1).sum(1))
    events0 = np.minimum(r0.sum(1), (o0 - r0).sum(1))
    too_few = (o1.sum(1) < max(min_arm, 1)) | (o0.sum(1) < max(min_arm, 1))
    few = np.minimum(events1, events0) < min_events
    status = np.where(too_few, "too_few", np.where(few, "few_events", "ok")).astype(np.str_)

    def mask(v: FloatArray) -> FloatArray:
        return np.where(too_few, np.nan, v)

    with np.errstate(divide="ignore", invalid="ignore"):
        clipped = (n_s * at_clip).sum(1) / big_n
    return AdjustedEffect(
        estimate=mask(tau),
        se=mask(np.sqrt(var_tau)),
        ci_low=mask(lo),
        ci_high=mask(hi),
        p_value=mask(p),
        mean1=mask(mu1),
        mean0=mask(mu0),
        var1=mask(var1),
        var0=mask(var0),
        ratio=mask(ratio),
        ratio_low=mask(np.exp(lr)),
        ratio_high=mask(np.exp(ur)),
        n=big_n,
        n_treated=p1.sum(1),
        n_observed=(o1 + o0).sum(1),
        ess1=ess1,
        ess0=ess0,
        clipped=clipped,
        events1=events1,
        events0=events0,
        status=status,
        converged=converged,
        within=mask(shift),
        propensity=e,
    )


def _saturated_start(
    design: StrataDesign | _TwoArm, k: FloatArray, n: FloatArray, ridge: float
) -> FloatArray:
    """(C, p) starting coefficients: one weighted least-squares fit of the strata's logits.

    The start of R's ``glm``: each stratum's rate shrunk to ``(k + ½) / (n + 1)``, its
    empirical logit regressed on the design with the IRLS weights ``n μ (1 - μ)``: one
    Hessian, after which Newton has fewer, smaller steps left than from the pooled rate (the
    HVA's 240 × 3 fits on the Parla world: 16.7 CPU s instead of 19.0). A start only saves
    iterations (one maximum, the same tolerance); rows whose start is not finite or is far
    out (a ridge-free rank-deficient design) start from the pooled rate instead.
    """
    mu = (k + 0.5) / (n + 1.0)
    w = n * mu * (1.0 - mu)
    rhs = design.score(w * special.logit(mu) + (k - n * mu))
    pen = np.full(design.p, float(ridge))
    pen[0] = 0.0
    hess = design.hessian(w) + np.diag(pen + 1e-10)
    with np.errstate(all="ignore"):
        beta: FloatArray = np.linalg.solve(hess, rhs[..., None])[..., 0].astype(np.float64)
    wild = ~np.isfinite(beta).all(axis=1) | (np.abs(beta).max(axis=1, initial=0.0) > 30.0)
    if wild.any():
        beta[wild] = _start(k[wild], n[wild], design.p, None)
    return beta


def _weighted_residuals(
    m: FloatArray, w: FloatArray, y: FloatArray, o: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """An arm's ``Σ w (Y - m)`` and ``Σ w² (Y - m)²`` over its observed members, per stratum.

    ``y`` of the ``o`` observed members are retained (Y = 1), the rest churned (Y = 0).
    """
    g: FloatArray = w * (y - o * m)
    h: FloatArray = w * w * (y * (1.0 - m) ** 2 + (o - y) * m * m)
    return g, h
