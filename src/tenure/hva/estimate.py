r"""Naive and adjusted effects of every candidate, overall and per segment, from counts.

For each candidate :math:`c` (and segment):

* **naive lift** — Kaplan–Meier retention at the horizon from the landmark, adopters
  (:math:`\hat S_1`) versus the rest (:math:`\hat S_0`); members whose horizon is not yet
  observed are censored at ``as_of``. Difference :math:`\hat S_1 - \hat S_0` with Greenwood
  variance :math:`\hat S_a^2 \sum d/(n(n-d))`; ratio with a log-scale interval.
* **adjusted effect** — AIPW (:func:`tenure.stats.ipw.aipw_grouped`) on the strata of the
  adjustment covariates, among members whose horizon is observable. Censoring here is
  administrative (it depends only on the signup date, known for everyone), so restricting to
  observable members is inverse-probability-of-censoring weighting with the known censoring
  time; it assumes no trend in effects across signup cohorts.
* **q-value** — Benjamini–Hochberg over the candidates of one segment (the overall rows are
  their own family).
* **E-value** — of the adjusted risk ratio and of its interval limit nearer 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from tenure._types import FloatArray
from tenure.hva.aggregate import HvaCounts
from tenure.hva.candidates import candidate_kind
from tenure.hva.features import ACTIVITY, Landmark
from tenure.stats.evalue import e_values
from tenure.stats.ipw import EffectMethod, aipw_grouped
from tenure.stats.multiple import benjamini_hochberg
from tenure.stats.survival import km_grid

__all__ = ["estimate_effects"]


@dataclass(frozen=True)
class _Dense:
    """Counts as dense arrays over candidates × strata and candidates × segments × days."""

    candidates: list[str]
    sids: np.ndarray
    n_all: FloatArray  # (S,) landmark members per stratum
    n_obs: FloatArray  # (S,) with horizon observable
    y_obs: FloatArray  # (S,) retained among those
    t_all: FloatArray  # (C, S) treated landmark members
    t_obs: FloatArray  # (C, S)
    t_y: FloatArray  # (C, S)
    curve_n: FloatArray  # (G, T, 2) landmark members by segment, day, churned
    curve_t: FloatArray  # (C, G, T, 2)


def _dense(counts: HvaCounts, lm: Landmark) -> _Dense:
    st, sc = counts.strata_totals, counts.strata_treated
    sids = np.unique(st["sid"].to_numpy())
    cids = np.array(sorted(counts.names), dtype=np.int64)
    cands = [counts.names[int(c)] for c in cids]
    S, C = sids.size, len(cands)

    def per_stratum(frame: pd.DataFrame, mask: np.ndarray) -> FloatArray:
        out = np.zeros(S)
        idx = np.searchsorted(sids, frame["sid"].to_numpy())
        np.add.at(out, idx[mask], frame["n"].to_numpy(np.float64)[mask])
        return out

    obs = st["obs_h"].to_numpy() == 1
    ret = st["retained"].to_numpy() == 1
    n_all = per_stratum(st, np.ones(len(st), bool))
    n_obs = per_stratum(st, obs)
    y_obs = per_stratum(st, obs & ret)
    ci = np.searchsorted(cids, sc["cid"].to_numpy())
    si = np.searchsorted(sids, sc["sid"].to_numpy())
    w = sc["n"].to_numpy(np.float64)
    o2 = sc["obs_h"].to_numpy() == 1
    r2 = sc["retained"].to_numpy() == 1
    t_all, t_obs, t_y = np.zeros((C, S)), np.zeros((C, S)), np.zeros((C, S))
    np.add.at(t_all, (ci, si), w)
    np.add.at(t_obs, (ci[o2], si[o2]), w[o2])
    np.add.at(t_y, (ci[o2 & r2], si[o2 & r2]), w[o2 & r2])

    g = len(lm.levels[lm.segment]) if lm.segment else 1
    days = lm.horizon - lm.window + 1
    ct, cc = counts.curve_totals, counts.curve_treated
    curve_n = np.zeros((g, days, 2))
    np.add.at(
        curve_n,
        (ct["seg"].to_numpy(np.int64), ct["t"].to_numpy(np.int64), ct["event"].to_numpy(np.int64)),
        ct["n"].to_numpy(np.float64),
    )
    curve_t = np.zeros((C, g, days, 2))
    np.add.at(
        curve_t,
        (
            np.searchsorted(cids, cc["cid"].to_numpy()),
            cc["seg"].to_numpy(np.int64),
            cc["t"].to_numpy(np.int64),
            cc["event"].to_numpy(np.int64),
        ),
        cc["n"].to_numpy(np.float64),
    )
    for family in counts.cumulative:
        idx = np.searchsorted(cids, np.asarray(family, dtype=np.int64))
        for arr in (t_all, t_obs, t_y, curve_t):
            # Rows came at each member's highest level; "≥ level" is the sum of levels above.
            arr[idx] = np.cumsum(arr[idx][::-1], axis=0)[::-1]
    return _Dense(cands, sids, n_all, n_obs, y_obs, t_all, t_obs, t_y, curve_n, curve_t)


def _design(sids: np.ndarray, lm: Landmark) -> FloatArray:
    """Intercept, one-hot columns (first level dropped) of each attribute, and day-0 activity
    as a smooth term (linear and quadratic in the capped count): few parameters, so a rare
    candidate's propensity is not shrunk flat by the ridge."""
    cols = [np.ones(sids.size)]
    for f in lm.covariates:
        code = (sids // lm.radix[f]) % len(lm.levels[f])
        if f == ACTIVITY:
            a = code / max(len(lm.levels[f]) - 1, 1)
            cols.extend([a, a * a])
            continue
        cols.extend((code == k).astype(np.float64) for k in range(1, len(lm.levels[f])))
    return np.column_stack(cols)


def _landmark_km(curve: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Retention at the horizon and its Greenwood sum from (..., T, 2) day × churned counts."""
    total = curve.sum(axis=-1)
    at_risk = np.cumsum(total[..., ::-1], axis=-1)[..., ::-1]
    s, g = km_grid(at_risk[..., :-1], curve[..., :-1, 1])
    return s[..., -1], g[..., -1]


def _naive(treated: FloatArray, total: FloatArray, z: float) -> dict[str, FloatArray]:
    s1, g1 = _landmark_km(treated)
    s0, g0 = _landmark_km(total[None] - treated)
    diff = s1 - s0
    se = np.sqrt(s1**2 * g1 + s0**2 * g0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s1 / s0
        se_log = np.sqrt(g1 + g0)
    return {
        "naive_treated": s1,
        "naive_control": s0,
        "naive_diff": diff,
        "naive_low": diff - z * se,
        "naive_high": diff + z * se,
        "naive_ratio": ratio,
        "naive_ratio_low": ratio * np.exp(-z * se_log),
        "naive_ratio_high": ratio * np.exp(z * se_log),
    }


def estimate_effects(
    counts: HvaCounts,
    lm: Landmark,
    *,
    alpha: float = 0.05,
    min_support: float = 0.005,
    method: EffectMethod = "aipw",
) -> pd.DataFrame:
    """One row per (segment, candidate) with support, naive and adjusted effects, q and E.

    ``segment`` is ``None`` for the whole landmark population, else a value of ``lm.segment``.
    Candidates below ``min_support`` (share of the landmark population, within the segment)
    are left out of that segment's rows.
    """
    d = _dense(counts, lm)
    z = float(special.ndtri(1.0 - alpha / 2.0))
    x = _design(d.sids, lm)
    groups: list[tuple[str | None, np.ndarray, list[int]]] = [
        (None, np.ones(d.sids.size, bool), [])
    ]
    if lm.segment is not None:
        seg_code = (d.sids // lm.radix[lm.segment]) % len(lm.levels[lm.segment])
        groups += [(v, seg_code == k, [k]) for k, v in enumerate(lm.levels[lm.segment])]
    frames = []
    for value, mask, seg_idx in groups:
        gi = seg_idx or list(range(d.curve_n.shape[0]))
        n_land = d.n_all[mask].sum()
        if n_land == 0:
            continue
        support = d.t_all[:, mask].sum(axis=1) / n_land
        keep = (support >= min_support) & (support > 0)
        if not keep.any():
            continue
        n1 = d.t_obs[keep][:, mask]
        y1 = d.t_y[keep][:, mask]
        n0 = d.n_obs[mask][None] - n1
        y0 = d.y_obs[mask][None] - y1
        adj = aipw_grouped(x[mask], n1, y1, n0, y0, method=method, alpha=alpha)
        naive = _naive(d.curve_t[keep][:, gi].sum(axis=1), d.curve_n[gi].sum(axis=0), z)
        ev = e_values(adj.ratio, adj.ratio_low, adj.ratio_high)
        names = [c for c, k in zip(d.candidates, keep, strict=True) if k]
        frame = pd.DataFrame(
            {
                "segment": value,
                "candidate": names,
                "kind": [candidate_kind(c) for c in names],
                "landmark": n_land,
                "adopters": d.t_all[keep][:, mask].sum(axis=1),
                "support": support[keep],
                **naive,
                "adjusted_treated": adj.mean1,
                "adjusted_control": adj.mean0,
                "adjusted_diff": adj.estimate,
                "adjusted_low": adj.ci_low,
                "adjusted_high": adj.ci_high,
                "adjusted_ratio": adj.ratio,
                "p_value": adj.p_value,
                "q_value": benjamini_hochberg(adj.p_value),
                "e_value": ev.point,
                "e_value_ci": ev.ci,
                "n_observable": adj.n,
                "status": adj.status,
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
