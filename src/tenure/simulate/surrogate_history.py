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

from tenure.messaging.surrogate_reward import SurrogateReward, index_table
from tenure.simulate import catalogue as model
from tenure.simulate.creatives import CreativeWorld, SimMembers

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
    shape = (len(model.COUNTRIES), len(model.PLANS), len(benefits) + 1)
    table = index_table(m.country, m.plan, outcome, retained.astype(np.float64), shape)
    return SurrogateReward(benefits, table, members, model.COUNTRIES, model.PLANS)
