r"""Read a test run in several markets as one body of evidence: random-effects pooling.

A per-country cut of an experiment is several small experiments. Reading each on its own
invites the garden of forking paths ("it only works in Germany"); averaging them blindly
hides real differences. DerSimonian–Laird random-effects pooling
(:func:`tenure.stats.meta.random_effects_meta`) gives the pooled effect, the heterogeneity
(:math:`I^2`, :math:`\tau^2`) and per-market estimates shrunk toward the pool, so a
market's outlying estimate is believed only as far as its precision allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tenure.experiments.comparison import Comparison
from tenure.settings import Inference
from tenure.stats.meta import random_effects_meta

__all__ = ["PooledEffect", "ShrunkEffect", "pool_segments"]


@dataclass(frozen=True, slots=True)
class PooledEffect:
    """One metric × variant pooled across the ``k`` segments of ``segment_column``."""

    metric: str
    variant: str
    segment_column: str
    k: int
    pooled: float
    ci_low: float
    ci_high: float
    p_value: float
    i2: float
    tau2: float


@dataclass(frozen=True, slots=True)
class ShrunkEffect:
    """One market's estimate and the same estimate shrunk toward the pool."""

    metric: str
    variant: str
    segment: str
    effect_abs: float
    se_abs: float
    shrunk: float
    shrunk_se: float


def pool_segments(
    comparisons: Sequence[Comparison], column: str, *, inference: Inference | None = None
) -> tuple[tuple[PooledEffect, ...], tuple[ShrunkEffect, ...]]:
    """Pool each metric × variant's absolute effects across the segments of `column`.

    Parameters
    ----------
    comparisons : sequence of Comparison
        Scorecard rows; those of `column` (``segment_column == column``) with status ``ok``
        and a positive standard error are pooled.
    column : str
        The segment attribute to pool over (e.g. ``"country"``).
    inference : Inference, optional
        Its ``alpha`` sets the pooled interval's coverage.

    Returns
    -------
    (pooled, shrunk) : tuple of tuples
        ``pooled``: one :class:`PooledEffect` per metric × variant; ``shrunk``: one
        :class:`ShrunkEffect` per market.

    Examples
    --------
    >>> from tenure.experiments.comparison import Comparison
    >>> nan = float("nan")
    >>> def row(country, effect, se):
    ...     return Comparison("m", "primary", f"c={country}", "c", country, "b", 100, 100, 0.5,
    ...         0.5, nan, effect, nan, nan, se, nan, nan, nan, nan, nan, nan, nan, nan, nan,
    ...         False, False, False, False, "", nan, False, True, "welch", "ok")
    >>> pooled, shrunk = pool_segments([row("US", 0.1, 0.1), row("GB", 0.3, 0.12),
    ...                                  row("DE", 0.2, 0.11)], "c")
    >>> round(pooled[0].pooled, 3), pooled[0].k
    (0.188, 3)
    """
    inf = Inference() if inference is None else inference
    rows = [
        c
        for c in comparisons
        if c.segment_column == column
        and c.status == "ok"
        and math.isfinite(c.se_abs)
        and c.se_abs > 0
    ]
    if not rows:
        return (), ()
    keys = list(dict.fromkeys((c.metric, c.variant) for c in rows))
    markets = sorted({c.segment for c in rows})
    eff = np.full((len(keys), len(markets)), np.nan)
    var = np.full_like(eff, np.nan)
    ki = {k: i for i, k in enumerate(keys)}
    mi = {s: j for j, s in enumerate(markets)}
    for c in rows:
        i, j = ki[(c.metric, c.variant)], mi[c.segment]
        eff[i, j] = c.effect_abs
        var[i, j] = c.se_abs**2
    res = random_effects_meta(eff, var, alpha=inf.alpha)
    pooled = tuple(
        PooledEffect(
            metric=m,
            variant=v,
            segment_column=column,
            k=int(res.k[i]),
            pooled=float(res.pooled[i]),
            ci_low=float(res.ci_low[i]),
            ci_high=float(res.ci_high[i]),
            p_value=float(res.p_value[i]),
            i2=float(res.i2[i]),
            tau2=float(res.tau2[i]),
        )
        for i, (m, v) in enumerate(keys)
    )
    ii, jj = np.nonzero(~np.isnan(eff))
    shrunk = tuple(
        ShrunkEffect(
            metric=keys[i][0],
            variant=keys[i][1],
            segment=markets[j],
            effect_abs=float(eff[i, j]),
            se_abs=float(np.sqrt(var[i, j])),
            shrunk=float(res.shrunk[i, j]),
            shrunk_se=float(res.shrunk_se[i, j]),
        )
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True)
    )
    return pooled, shrunk
