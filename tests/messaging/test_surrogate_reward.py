"""The surrogate-index reward ranks creatives like their true effect on retention."""

from __future__ import annotations

import numpy as np
from scipy import stats

from tenure.messaging import Catalogue
from tenure.messaging.loop import ARMS, run_closed_loop
from tenure.simulate.creatives import CreativeWorld, SimMembers
from tenure.simulate.surrogate_history import fit_surrogate_reward


def test_surrogate_reward_ranks_creatives_like_true_retention() -> None:
    """Per creative at ``home``: the expected surrogate reward (adoption × h(benefit) +
    non-adoption × h(none)) against the world's expected retention when shown it, averaged
    over the same members. Adoption alone ranks them worse: it ignores what a benefit is
    worth in renewals."""
    cat = Catalogue.default()
    world = CreativeWorld(cat, seed=7)
    sr = fit_surrogate_reward(world, members=40_000, seed=1)
    creatives = cat.creatives("home")
    members = SimMembers.draw(np.random.default_rng(5), 3_000)
    rows = np.arange(len(members))
    adopt = world.adoption_prob(creatives, members, rows)  # (members, creatives)
    codes = np.array([sr.index(c.benefit) for c in creatives])
    h_b = sr.table[members.country[:, None], members.plan[:, None], codes[None, :]]
    h_0 = sr.table[members.country, members.plan, 0][:, None]
    surrogate = (adopt * h_b + (1 - adopt) * h_0).mean(axis=0)
    # the world's retention when shown each creative (its expected_retention, by benefit)
    keep = {}
    for b in {c.benefit for c in creatives}:
        keep[b] = world.retention([b] * len(rows), members, rows)
    without = np.stack([keep[c.benefit][0] for c in creatives], axis=1)
    with_ = np.stack([keep[c.benefit][1] for c in creatives], axis=1)
    truth = (adopt * with_ + (1 - adopt) * without).mean(axis=0)
    rho_surrogate = stats.spearmanr(surrogate, truth).statistic
    rho_adoption = stats.spearmanr(adopt.mean(axis=0), truth).statistic
    print(f"spearman surrogate {rho_surrogate:.3f}, adoption {rho_adoption:.3f}")
    assert rho_surrogate > 0.9
    assert rho_surrogate > rho_adoption
    # the predicted retention levels are calibrated, not only ranked
    assert np.max(np.abs(surrogate - truth)) < 0.02


def test_loop_learns_from_the_surrogate_reward() -> None:
    """A loop rewarded by predicted retention logs rates in (0, 1) and keeps members at least
    as well as the uniform test; its OPE is graded against the surrogate-scale truth."""
    r = run_closed_loop(days=4, members_per_day=120, delay_days=1, mc_draws=100, seed=7,
                        discount_members=0, reward="surrogate", placements=("home",),
                        alpha=0.01)  # fmt: skip
    t, u = ARMS.index("thompson"), ARMS.index("uniform")
    assert "surrogate" in r.params["reward"]
    assert r.params["early_rewards"] is True
    assert 0.3 < r.true_value_own < 1
    assert r.retention[t] >= r.retention[u] - 0.01
    lo, hi = r.ope_own.interval_of("dr")  # one small run: a 99% interval
    assert lo <= r.true_value_own <= hi, (lo, r.true_value_own, hi)
