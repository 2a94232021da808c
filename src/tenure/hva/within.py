r"""What the strata leave out: a member-level outcome term for variation *within* a stratum.

The models work on strata (quantile bins of activity and of each continuous attribute), so
two members of one stratum count as alike even when one is at the bottom of its activity bin
and the other at the top. Users of an action sit higher in their bins than non-users do, and
at a million members that residue is larger than the intervals (on the Basketly world, with
1M members, single-action effects off by up to 0.0075 with intervals of ±0.002–0.003).

The remedy is the outcome model's part of the doubly robust estimator made member-level:
:math:`m_a(x_i) = m_a(s_i) + z_i - \bar z_{s_i}`, where :math:`z_i = \beta^\top x_i` is a
linear index of the member's continuous covariates (the log counts of activity, of the signup
day and of pre-signup history, and each continuous attribute, each with its square) and
:math:`\bar z_s` its mean over the stratum's members. :math:`\beta` is the within-stratum
least-squares slope of retention on those covariates (strata as fixed effects; members whose
horizon is observable), one for all candidates: the term corrects a second-order residue, so
its own error is third-order. The standardised means are unchanged (the deviations sum to
zero over a stratum); each arm's weighted residuals lose :math:`w\,(z_i - \bar z_s)`, which is
summed per count cell like the counts themselves (:mod:`tenure.hva.aggregate`), and applied in
:func:`tenure.stats.ipw.aipw_grouped`. A candidate's index uses its own activity counts
*without* its events, as its stratum does.

When no covariate varies within a stratum (every count and attribute fully resolved by its
bins) :math:`\beta` is 0 and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tenure._types import FloatArray, IntArray
from tenure.hva.design import ACTIVITY, DAY0

__all__ = ["WithinStratum", "fit_within"]


def _poly(values: FloatArray, coef: tuple[float, float]) -> FloatArray:
    out: FloatArray = coef[0] * values + coef[1] * values * values
    return out


@dataclass(frozen=True)
class WithinStratum:
    """The fitted index: each member's fixed part and the coefficients of the two activity counts.

    ``fixed`` (one entry per landmark member) holds the parts no candidate changes
    (pre-signup history, continuous attributes); :meth:`index` adds the activity parts for
    counts given per member, so a candidate's index is recomputed without its own events.
    Counts up to ``max_count`` (the landmark's largest) are looked up in a table of their
    parts rather than computed: the pairs ask for one per pair of uses, 13.6M at a million
    Parla members.
    """

    fixed: FloatArray
    activity: tuple[float, float]
    day0: tuple[float, float]
    names: tuple[str, ...] = ()
    coef: tuple[float, ...] = ()
    max_count: int = 0

    def index(self, rows: IntArray, d0: IntArray, d1: IntArray) -> FloatArray:
        """:math:`z` of landmark rows ``rows`` with activity ``d0`` and signup-day count ``d1``."""
        act, day = self._parts
        top = act.size - 1
        if d0.size and min(d0.min(), d1.min()) >= 0 and max(d0.max(), d1.max()) <= top:
            looked: FloatArray = self.fixed[rows] + act[d0] + day[d1]
            return looked
        out: FloatArray = (
            self.fixed[rows]
            + _poly(np.log1p(np.maximum(d0, 0).astype(np.float64)), self.activity)
            + _poly(np.log1p(np.maximum(d1, 0).astype(np.float64)), self.day0)
        )
        return out

    @cached_property
    def _parts(self) -> tuple[FloatArray, FloatArray]:
        """Each count's activity and signup-day parts, for counts ``0..max_count``."""
        logs = np.log1p(np.arange(self.max_count + 1, dtype=np.float64))
        return _poly(logs, self.activity), _poly(logs, self.day0)

    @property
    def active(self) -> bool:
        """Whether the index varies at all (otherwise the term changes nothing)."""
        return any(self.activity) or any(self.day0) or bool(np.any(self.fixed))


def _demeaned(values: FloatArray, group: IntArray, weight: FloatArray) -> FloatArray:
    """``values`` less their ``weight``-ed mean within each group."""
    total = np.bincount(group, weight * values)
    count = np.bincount(group, weight)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    out: FloatArray = values - mean[group]
    return out


def fit_within(
    strata: IntArray,
    outcome: IntArray,
    observed: IntArray,
    *,
    d0: IntArray,
    d1: IntArray | None,
    fixed: Mapping[str, FloatArray],
) -> WithinStratum:
    r"""Fit :math:`\beta` by least squares of retention on the covariates, strata as fixed effects.

    ``d1`` is None when the signup day is the activity already (no second count). ``fixed``
    holds the candidate-independent covariates (already on their model scale: log counts,
    standardised attributes), each entering with its square.
    """
    group = np.unique(strata, return_inverse=True)[1].reshape(-1)
    w = (np.asarray(observed) == 1).astype(np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    act = np.log1p(np.asarray(d0, dtype=np.float64))
    columns: dict[str, FloatArray] = {ACTIVITY: act, f"{ACTIVITY}^2": act * act}
    if d1 is not None:
        day = np.log1p(np.asarray(d1, dtype=np.float64))
        columns.update({DAY0: day, f"{DAY0}^2": day * day})
    for name, v in fixed.items():
        columns.update({name: v, f"{name}^2": v * v})
    names = tuple(columns)
    x = np.column_stack([_demeaned(columns[c], group, w) * w for c in names])
    yd = _demeaned(y, group, w) * w
    # A covariate the bins resolve exactly has nothing left within the strata but rounding:
    # it is left out (coefficient 0) rather than fitted to that noise.
    spread = np.sqrt((x * x).sum(axis=0))
    total = np.array([float(np.std(columns[c][w > 0])) if w.any() else 0.0 for c in names])
    keep = spread > 1e-8 * np.sqrt(max(float(w.sum()), 1.0)) * np.maximum(total, 1e-300)
    beta = np.zeros(len(names))
    if keep.any():
        scaled = x[:, keep] / spread[keep]
        beta[keep] = np.linalg.lstsq(scaled, yd, rcond=1e-10)[0] / spread[keep]
    coef = dict(zip(names, beta.tolist(), strict=True))
    part = np.zeros(np.asarray(strata).size)
    for name, v in fixed.items():
        part += _poly(v, (coef[name], coef[f"{name}^2"]))
    day0 = (coef[DAY0], coef[f"{DAY0}^2"]) if d1 is not None else (0.0, 0.0)
    top = int(max(np.max(d0, initial=0), np.max(d1, initial=0) if d1 is not None else 0))
    return WithinStratum(
        part, (coef[ACTIVITY], coef[f"{ACTIVITY}^2"]), day0, names, tuple(beta.tolist()), top
    )
