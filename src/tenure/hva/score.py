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

* :math:`\tilde\tau = \hat\tau` when the effect is established (:math:`\ell > 0`,
  :math:`q < \alpha`, status ``ok``, balance reached and positivity not thin) and 0
  otherwise, so an action whose interval covers 0 — or whose adjustment failed — earns no
  value whatever its point estimate (the decoy's fate);
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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tenure.hva.candidates import Candidate
from tenure.hva.result import HvaEstimate

__all__ = ["FORMULA", "ScoreWeights", "candidate_cost", "score_estimates"]

FORMULA = (
    "score = (w_value × established adjusted effect (0 unless CI > 0, q < α, status ok, balanced, "
    "overlapping) × mean fee × value_periods − w_cost × cost_per_use × uses) × non-adopters × ease, "
    "where ease = ease_of_encouraging (measured adoption uplift) when known, else support^w_ease"
)


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Weights of the score formula (see the module docstring)."""

    value: float = 1.0
    cost: float = 1.0
    ease: float = 0.5
    value_periods: float = 12.0


def candidate_cost(candidate: Candidate, cost: Mapping[str, float]) -> float:
    """Cost to the business of one member taking up `candidate` (cost per use × uses)."""
    if candidate.kind == "distinct":
        mean_cost = float(np.mean(list(cost.values()))) if cost else 0.0
        return float(candidate.k or 0) * mean_cost
    per_use = sum(cost.get(a, 0.0) for a in candidate.actions)
    return float(candidate.uses * per_use)


def score_estimates(
    estimates: Sequence[HvaEstimate],
    *,
    fee: float,
    cost_per_use: Mapping[str, float],
    weights: ScoreWeights | None = None,
    ease_of_encouraging: Mapping[str, float] | None = None,
    alpha: float = 0.05,
) -> list[HvaEstimate]:
    """Fill ``cost``, ``ease_of_encouraging``, ``score`` and ``is_hva`` of each estimate.

    ``is_hva`` marks established effects (see the module docstring) with a positive score.
    ``ease_of_encouraging`` is keyed by candidate name.
    """
    w = weights or ScoreWeights()
    ease_map = dict(ease_of_encouraging or {})
    out = []
    for e in estimates:
        cost = candidate_cost(e.candidate, cost_per_use)
        ease = float(ease_map.get(e.candidate.name, np.nan))
        established = e.established and e.q_value < alpha
        effect = e.adjusted_diff if established else 0.0
        per_member = w.value * effect * fee * w.value_periods - w.cost * cost
        ease_used = ease if np.isfinite(ease) else e.support**w.ease
        score = per_member * e.landmark * (1.0 - e.support) * ease_used
        score = score if e.status != "too_few" else float("nan")
        hva = bool(established and score > 0)
        out.append(
            dataclasses.replace(e, cost=cost, ease_of_encouraging=ease, score=score, is_hva=hva)
        )
    return out
