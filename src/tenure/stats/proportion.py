r"""Score (Wilson) intervals for proportions and Newcombe's interval for their difference.

A Wald interval :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}` has zero width when
:math:`\hat p` is 0 or 1 — 32 members all retained give "100% ± 0" — and under-covers badly
for small :math:`n` or rates near the boundary. The Wilson score interval inverts the score
test instead (Wilson 1927; Agresti & Coull 1998, *Am. Stat.* 52(2)):

.. math::

    \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}
         {1 + z^2/n},

which is never degenerate and keeps close to nominal coverage down to :math:`n \approx 20`.
For a difference of two independent proportions, Newcombe's hybrid score interval (1998,
*Stat. Med.* 17, method 10) combines the two Wilson intervals :math:`[l_a, u_a]`:

.. math::

    L = \hat d - \sqrt{(\hat p_1 - l_1)^2 + (u_0 - \hat p_0)^2}, \qquad
    U = \hat d + \sqrt{(u_1 - \hat p_1)^2 + (\hat p_0 - l_0)^2}.

Both accept a real-valued *effective* sample size, so they apply to estimated rates (a
Kaplan–Meier survival, a weighted mean) through :math:`n_{\text{eff}} = \hat p(1-\hat p) /
\widehat{\operatorname{Var}}(\hat p)` (Korn & Graubard 1998; Dorey & Korn 1987).

Examples
--------
>>> lo, hi = wilson(1.0, 32.0, z=1.959964)
>>> round(float(lo), 3), float(hi)
(0.893, 1.0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tenure._types import FloatArray

__all__ = ["effective_n", "newcombe", "wilson"]


def wilson(p: npt.ArrayLike, n: npt.ArrayLike, *, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of proportion(s) `p` observed on (effective) size(s) `n`.

    NaN where ``n <= 0`` or `p` is NaN.
    """
    pp = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    nn = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z2n = z * z / nn
        centre = (pp + z2n / 2.0) / (1.0 + z2n)
        half = z * np.sqrt(pp * (1.0 - pp) / nn + z2n / (4.0 * nn)) / (1.0 + z2n)
    bad = ~(nn > 0) | np.isnan(pp)
    lo = np.where(bad, np.nan, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(bad, np.nan, np.clip(centre + half, 0.0, 1.0))
    return lo, hi


def effective_n(p: npt.ArrayLike, var: npt.ArrayLike, cap: npt.ArrayLike) -> FloatArray:
    r"""Effective sample size :math:`\hat p(1-\hat p)/\widehat{\operatorname{Var}}`, at most `cap`.

    At the boundary (:math:`\hat p \in \{0, 1\}`, zero variance) the estimate carries no
    information about its own spread, so `cap` — the number of members (or the effective
    number, for weighted estimates) behind the rate — is used: a rate estimated from 32
    members cannot be known better than 32 Bernoulli draws allow.
    """
    pp = np.asarray(p, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    c = np.asarray(cap, dtype=np.float64)
    q = pp * (1.0 - pp)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = q / v
    # A rate within rounding of 0 or 1 (an all-retained arm fitted as 0.9999999999999999)
    # is at the boundary: its tiny variance says nothing about the spread.
    raw = np.where((v > 0) & (q > 1e-9) & np.isfinite(raw), raw, c)
    return np.minimum(raw, c)


def newcombe(
    p1: npt.ArrayLike,
    n1: npt.ArrayLike,
    p0: npt.ArrayLike,
    n0: npt.ArrayLike,
    *,
    z: float,
    scale: npt.ArrayLike = 1.0,
) -> tuple[FloatArray, FloatArray]:
    r"""Newcombe's hybrid score interval for :math:`p_1 - p_0` (independent arms).

    ``scale`` multiplies both half-widths: an estimator whose arms are positively correlated
    (doubly robust arms share the outcome model) passes
    :math:`\sqrt{\operatorname{Var}(\hat d) / (\operatorname{Var}\hat p_1 +
    \operatorname{Var}\hat p_0)} \le 1`.

    Examples
    --------
    Newcombe (1998), Table II, example (a): 56/70 vs 48/80 gives [0.0524, 0.3339].

    >>> lo, hi = newcombe(56 / 70, 70, 48 / 80, 80, z=1.959964)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.0524, 0.3339)
    """
    a1 = np.asarray(p1, dtype=np.float64)
    a0 = np.asarray(p0, dtype=np.float64)
    l1, u1 = wilson(a1, n1, z=z)
    l0, u0 = wilson(a0, n0, z=z)
    d = a1 - a0
    s = np.asarray(scale, dtype=np.float64)
    lo = d - s * np.sqrt((a1 - l1) ** 2 + (u0 - a0) ** 2)
    hi = d + s * np.sqrt((u1 - a1) ** 2 + (a0 - l0) ** 2)
    return lo, hi
