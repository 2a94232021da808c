r"""Rank candidates by what pushing them is worth: value, cost to the business, ease.

For a candidate with adjusted retention effect :math:`\hat\tau` (interval :math:`[\ell, u]`,
q-value :math:`q`), support
:math:`s` (share of the landmark population already doing it), :math:`N` landmark members,
mean fee :math:`f` per 30-day period, catalogue cost per use :math:`c` and :math:`k` uses
implied by the candidate:

.. math::

    \text{score} = \bigl(w_v\, \tilde\tau\, f\, P - w_c\, c\, k\bigr)
    \times N (1 - s) \times \text{ease}, \qquad
    \text{ease} = \begin{cases} E & \text{measured} \\ s^{w_e} & \text{otherwise} \end{cases}

* :math:`\tilde\tau = \hat\tau` when the effect is established (:math:`\ell > 0` and
  :math:`q < \alpha`) and 0 otherwise, so an action whose interval covers 0 earns no value
  whatever its point estimate (the decoy's fate);
* :math:`f P` — what a retained member is worth: fee times ``value_periods`` periods;
* :math:`c k` — cost of one member taking it up (``k`` = the threshold for "≥ k" candidates,
  one use per action for pairs, ``k`` times the mean cost for "≥ k distinct benefits");
* :math:`N(1 - s)` — members who do not do it yet;
* ease — the share of non-adopters that encouragement converts. Where an encouragement
  experiment measured it (:math:`E`, the ``ease_of_encouraging`` mapping, e.g. from
  :func:`tenure.experiments.encouragement.ease_of_encouraging`) that number is used; until
  then the column is empty and current adoption stands in for it, :math:`s^{w_e}` (what
  many members already do is easier to encourage).

The weights :math:`w_v, w_c, w_e` are options (:class:`ScoreWeights`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FORMULA", "ScoreWeights", "candidate_uses", "score_candidates"]

FORMULA = (
    "score = (w_value × established adjusted effect (0 unless CI > 0 and q < α) × mean fee × value_periods "
    "− w_cost × cost_per_use × uses) × non-adopters × ease, where ease = ease_of_encouraging "
    "(measured adoption uplift) when known, else support^w_ease"
)


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Weights of the score formula (see the module docstring)."""

    value: float = 1.0
    cost: float = 1.0
    ease: float = 0.5
    value_periods: float = 12.0


def candidate_uses(candidate: str, kind: str, cost: Mapping[str, float]) -> float:
    """Cost to the business of one member taking up `candidate` (cost per use × uses)."""
    mean_cost = float(np.mean(list(cost.values()))) if cost else 0.0
    if kind == "pair":
        return float(sum(cost.get(a, 0.0) for a in candidate.split("+")))
    if kind == "distinct":
        return int(candidate.rsplit(">=", 1)[1]) * mean_cost
    if kind == "threshold":
        action, k = candidate.rsplit(">=", 1)
        return int(k) * cost.get(action, 0.0)
    return cost.get(candidate, 0.0)


def score_candidates(
    table: pd.DataFrame,
    *,
    fee: float,
    cost_per_use: Mapping[str, float],
    weights: ScoreWeights | None = None,
    ease_of_encouraging: Mapping[str, float] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Add ``cost``, ``ease_of_encouraging``, ``score`` and ``is_hva`` columns.

    ``is_hva`` marks candidates with ``q_value < alpha``, a positive adjusted interval and
    a positive score.
    """
    weights = weights or ScoreWeights()
    out = table.copy()
    if out.empty:
        return out.assign(cost=[], ease_of_encouraging=[], score=[], is_hva=[])
    cost = np.array(
        [
            candidate_uses(c, k, cost_per_use)
            for c, k in zip(out["candidate"], out["kind"], strict=True)
        ]
    )
    ease_map = dict(ease_of_encouraging or {})
    ease = out["candidate"].map(lambda c: ease_map.get(c, np.nan)).astype(np.float64)
    established = (out["adjusted_low"] > 0) & (out["q_value"] < alpha)
    effect = np.where(established, out["adjusted_diff"].fillna(0.0), 0.0)
    support = out["support"].to_numpy(np.float64)
    per_member = weights.value * effect * fee * weights.value_periods - weights.cost * cost
    non_adopters = out["landmark"].to_numpy(np.float64) * (1.0 - support)
    ease_used = np.where(ease.isna(), support**weights.ease, ease.to_numpy())
    score = per_member * non_adopters * ease_used
    out["cost"] = cost
    out["ease_of_encouraging"] = ease
    out["score"] = np.where(out["status"] == "ok", score, np.nan)
    out["is_hva"] = (
        (out["q_value"] < alpha) & (out["adjusted_low"] > 0) & (out["score"] > 0)
    ).to_numpy()
    return out
