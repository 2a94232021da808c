"""The surrogate index of a simulated world, fitted on its historical members.

The simulated messaging loop (:func:`tenure.messaging.loop.run_closed_loop`) can reward its learning
arm by predicted retention at the horizon. On data the index is fitted on the decision log's
own old decisions (:func:`tenure.messaging.surrogate_reward.fit_surrogate_index`); a
simulated world has no log before the loop starts, so here the history is a past uniform
test drawn from the world itself. It lives with the simulator because it draws from it: the
method module stays free of simulator imports.
"""

from __future__ import annotations

import numpy as np

from tenure.messaging.surrogate_reward import SurrogateReward, surrogate_design
from tenure.simulate import catalogue as model
from tenure.simulate.creatives import CreativeWorld, SimMembers
from tenure.stats.ipw import GroupedLogistic

__all__ = ["fit_surrogate_reward"]


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
    x = surrogate_design(co, pl, out, n_out, nc, npn)
    seen = trials > 0
    fit = GroupedLogistic(ridge=1.0).fit(x[seen], succ[seen], trials[seen])
    table = fit.predict_proba(x)[0].reshape(nc, npn, n_out)
    return SurrogateReward(
        benefits, np.asarray(table, dtype=np.float64), members, model.COUNTRIES, model.PLANS
    )
