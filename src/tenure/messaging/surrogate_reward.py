r"""Retained at the horizon as the loop's reward, through a surrogate index.

What a messaging team wants is retention at the horizon (180 days); what it can see within a
week is whether the member used the promoted benefit. The surrogate index (Athey, Chetty,
Imbens & Kang 2019; :mod:`tenure.experiments.surrogate` reads experiments with it) bridges
the two: :math:`h(s, x) = \operatorname{E}[Y \mid S = s, X = x]`, fitted on historical
members, where :math:`Y` is "still a member at the horizon", :math:`S` the early outcome —
which benefit the member took up in the 7-day window after a message (or none) — and
:math:`X` the attributes (country, plan). It is fitted the same way as the experiments'
index: grouped counts per cell of :math:`(S, X)` and :class:`tenure.stats.ipw.GroupedLogistic`
on them, with the early outcome's effect allowed to differ by country.

A decision's reward is then :math:`h(S_i, X_i) \in [0, 1]`, a rate the pooled Thompson
policy fits like any other. It ranks creatives by what their adoption is worth in
retention, not by adoption alone: a creative that sells a benefit with no effect on renewal
earns nothing over the no-adoption baseline. Valid only under surrogacy (the message moves
retention *through* the benefit's use) — the assumption the experiments' check horizon
tests; in the simulator it holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import FloatArray, IntArray
from tenure.simulate import catalogue as model
from tenure.simulate.creatives import CreativeWorld, SimMembers
from tenure.stats.ipw import GroupedLogistic, one_hot

__all__ = ["SurrogateReward", "fit_surrogate_reward"]


@dataclass(frozen=True, slots=True)
class SurrogateReward:
    """Predicted retention per (country, plan, early outcome); outcome 0 is "no adoption"."""

    benefits: tuple[str, ...]
    table: FloatArray  # (countries, plans, 1 + benefits)
    n_historical: int

    def reward(self, country: IntArray, plan: IntArray, adopted: IntArray) -> FloatArray:
        """Rewards of decisions: ``adopted`` is the benefit's index + 1, or 0 for none."""
        return np.asarray(self.table[country, plan, adopted], dtype=np.float64)

    def index(self, benefit: str) -> int:
        """The early-outcome code of adopting ``benefit`` (its position + 1)."""
        return self.benefits.index(benefit) + 1


def _design(country: IntArray, plan: IntArray, outcome: IntArray, n_out: int) -> FloatArray:
    nc, npn = len(model.COUNTRIES), len(model.PLANS)
    s = one_hot(outcome, n_out)[:, 1:]
    c = one_hot(country, nc)
    inter = (s[:, :, None] * c[:, None, 1:]).reshape(len(outcome), -1)
    return np.hstack([np.ones((len(outcome), 1)), s, c[:, 1:], one_hot(plan, npn)[:, 1:], inter])


def fit_surrogate_reward(
    world: CreativeWorld, *, members: int = 40_000, seed: int = 0
) -> SurrogateReward:
    """Fit :math:`h(S, X)` on ``members`` historical members of ``world``.

    Each historical member was shown one benefit at random (a past uniform test); whether
    they took it up in the window and whether they were still members at the horizon are
    drawn from the world — the index sees only those counts, never the world's effects.

    Examples
    --------
    >>> from tenure.messaging import Catalogue
    >>> sr = fit_surrogate_reward(CreativeWorld(Catalogue.default(), seed=7), members=20_000)
    >>> sr.table.shape, bool(((sr.table > 0) & (sr.table < 1)).all())
    ((6, 4, 11), True)
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    benefits = tuple(b.id for b in world.catalogue.benefits if b.actions)
    m = SimMembers.draw(rng, members)
    rows = np.arange(members)
    shown = rng.integers(len(benefits), size=members)
    logit = world.base_logit(benefits, m, rows)[rows, shown]
    adopted = np.isfinite(logit) & (rng.random(members) < 1 / (1 + np.exp(-logit)))
    without, with_ = world.retention([benefits[b] for b in shown], m, rows)
    retained = rng.random(members) < np.where(adopted, with_, without)
    outcome = np.where(adopted, shown + 1, 0)
    n_out = len(benefits) + 1
    nc, npn = len(model.COUNTRIES), len(model.PLANS)
    cell = (m.country * npn + m.plan) * n_out + outcome
    size = nc * npn * n_out
    trials = np.bincount(cell, minlength=size).astype(np.float64)
    succ = np.bincount(cell, weights=retained.astype(np.float64), minlength=size)
    grid = np.arange(size)
    co, rest = np.divmod(grid, npn * n_out)
    pl, out = np.divmod(rest, n_out)
    x = _design(co, pl, out, n_out)
    seen = trials > 0
    fit = GroupedLogistic(ridge=1.0).fit(x[seen], succ[seen], trials[seen])
    table = fit.predict_proba(x)[0].reshape(nc, npn, n_out)
    return SurrogateReward(benefits, np.asarray(table, dtype=np.float64), members)
