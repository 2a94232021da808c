"""Value messaging vs a discount: the test's intervals cover the world's true differences."""

from __future__ import annotations

import numpy as np

from tenure.messaging import Catalogue
from tenure.messaging.cancel_flow import value_vs_discount
from tenure.simulate.creatives import CreativeWorld, SimMembers


def test_discount_saves_more_now_value_keeps_more_at_horizon() -> None:
    r = value_vs_discount(members=30_000, seed=3)
    # the truth, from the world's own probabilities on an independent large population
    world = CreativeWorld(Catalogue.default(), seed=3)
    pop = SimMembers.draw(np.random.default_rng(0), 200_000)
    rows = np.arange(len(pop))
    sv, hv = world.cancel_outcomes(["value"] * len(pop), pop, rows)
    sd, hd = world.cancel_outcomes(["discount"] * len(pop), pop, rows)
    truth = [sv.mean() - sd.mean(), hv.mean() - hd.mean()]
    assert truth[0] < 0 < truth[1]  # the world's design: the question has an answer
    for k in range(2):
        assert r.ci_low[k] <= truth[k] <= r.ci_high[k]
    assert r.ci_high[0] < 0 < r.ci_low[1]  # and the test finds it at 30k members
    assert r.discount_cost_per_member > 0
    assert list(r.to_frame()["outcome"]) == ["stayed_now", "member_at_horizon"]
