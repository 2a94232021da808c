"""Read a test run in several markets as one body of evidence: random-effects pooling.

A per-country cut of an experiment is several small experiments. Reading each on its own
invites the garden of forking paths ("it only works in Germany"); averaging them blindly
hides real differences. DerSimonian–Laird random-effects pooling
(:func:`tenure.stats.meta.random_effects_meta`) gives the pooled effect, the heterogeneity
(:math:`I^2`, :math:`\\tau^2`) and per-market estimates shrunk toward the pool, so a
market's outlying estimate is believed only as far as its precision allows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.stats.meta import random_effects_meta

__all__ = ["pool_segments"]

_POOLED = [
    "metric",
    "variant",
    "segment_column",
    "k",
    "pooled",
    "ci_low",
    "ci_high",
    "p_value",
    "i2",
    "tau2",
]
_SHRUNK = ["metric", "variant", "segment", "effect_abs", "se_abs", "shrunk", "shrunk_se"]


def pool_segments(
    table: pd.DataFrame, column: str, *, alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pool each metric × variant's absolute effects across the segments of `column`.

    Parameters
    ----------
    table : pandas.DataFrame
        Comparison rows with ``metric, variant, segment, effect_abs, se_abs, status``;
        segments of `column` are labelled ``"column=value"``.
    column : str
        The segment attribute to pool over (e.g. ``"country"``).
    alpha : float
        One minus the pooled interval's coverage.

    Returns
    -------
    (pooled, shrunk) : tuple of pandas.DataFrame
        ``pooled``: one row per metric × variant; ``shrunk``: one row per market.

    Examples
    --------
    >>> t = pd.DataFrame({"metric": "m", "variant": "b", "status": "ok",
    ...     "segment": ["c=US", "c=GB", "c=DE"], "effect_abs": [0.1, 0.3, 0.2],
    ...     "se_abs": [0.1, 0.12, 0.11]})
    >>> pooled, shrunk = pool_segments(t, "c")
    >>> round(float(pooled["pooled"].iloc[0]), 3), int(pooled["k"].iloc[0])
    (0.188, 3)
    """
    prefix = f"{column}="
    rows = table[
        table["segment"].astype(str).str.startswith(prefix)
        & (table["status"] == "ok")
        & np.isfinite(table["se_abs"].astype(float))
        & (table["se_abs"].astype(float) > 0)
    ]
    if rows.empty:
        return pd.DataFrame(columns=_POOLED), pd.DataFrame(columns=_SHRUNK)
    keys = rows[["metric", "variant"]].drop_duplicates().reset_index(drop=True)
    markets = sorted(rows["segment"].unique())
    eff = np.full((len(keys), len(markets)), np.nan)
    var = np.full_like(eff, np.nan)
    ki = {(m, v): i for i, (m, v) in enumerate(keys.itertuples(index=False))}
    mi = {s: j for j, s in enumerate(markets)}
    for r in rows.itertuples(index=False):
        i, j = ki[(r.metric, r.variant)], mi[r.segment]
        eff[i, j] = float(r.effect_abs)
        var[i, j] = float(r.se_abs) ** 2
    res = random_effects_meta(eff, var, alpha=alpha)
    pooled = keys.assign(
        segment_column=column,
        k=res.k,
        pooled=res.pooled,
        ci_low=res.ci_low,
        ci_high=res.ci_high,
        p_value=res.p_value,
        i2=res.i2,
        tau2=res.tau2,
    )[_POOLED]
    present = ~np.isnan(eff)
    ii, jj = np.nonzero(present)
    shrunk = pd.DataFrame(
        {
            "metric": keys["metric"].to_numpy()[ii],
            "variant": keys["variant"].to_numpy()[ii],
            "segment": np.asarray(markets)[jj],
            "effect_abs": eff[ii, jj],
            "se_abs": np.sqrt(var[ii, jj]),
            "shrunk": res.shrunk[ii, jj],
            "shrunk_se": res.shrunk_se[ii, jj],
        }
    )
    return pooled.reset_index(drop=True), shrunk
