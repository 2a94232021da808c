"""The pure decision: what it logs is exactly what eligibility allowed and the policy drew."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from serve_world import AS_OF

from tenure.messaging import Catalogue, MemberIndex, UniformPolicy, eligible
from tenure.serve.decider import Decider, UnknownMember, UnknownPlacement
from tenure.serve.policy_slot import PolicySlot
from tenure.serve.recent import RecentDecisions


def make(catalogue: Catalogue, members: MemberIndex, seed: int = 5) -> Decider:
    return Decider(
        catalogue,
        members,
        PolicySlot(UniformPolicy(catalogue)),
        RecentDecisions(timedelta(days=7)),
        rng=np.random.default_rng(seed),
    )


def test_every_logged_eligible_set_is_what_eligibility_says(
    catalogue: Catalogue, members: MemberIndex
) -> None:
    decider = make(catalogue, members)
    placements = ("home", "in_context", "email", "cancel_flow")
    based = 0
    for i in range(400):
        member, placement = f"m{i % 25:03d}", placements[i % 4]
        now = AS_OF + timedelta(minutes=i)
        recent = decider.recent.get(member, now)
        expected = eligible(
            catalogue,
            members.get(member),
            placement=placement,
            context=members.get(member).context(now),  # type: ignore[union-attr]
            now=now,
            recent=recent,
        )
        row = decider.decide(member, placement, {}, now=now).row
        assert row.eligible == expected.ids
        if row.eligible_base is not None:  # what the log stores: the cap-free set, minus
            free = eligible(
                catalogue,
                members.get(member),
                placement=placement,
                context=members.get(member).context(now),  # type: ignore[union-attr]
                now=now,
            )
            assert row.eligible_base == free.ids != row.eligible
            based += 1
        if expected.ids:
            assert row.variant in expected.ids
            assert row.propensity == pytest.approx(1 / len(expected.ids))
        else:
            assert row.variant is None and row.propensity == 1.0 and row.reason
    assert based > 50  # the same-creative cap shrank the cached sets often enough to test it


def test_uniform_draws_cover_the_eligible_set_evenly(
    catalogue: Catalogue, members: MemberIndex
) -> None:
    decider = make(catalogue, members)
    # A member with no caps in play: decide at a far-apart time each draw, then forget it.
    counts: dict[str, int] = {}
    for i in range(1200):  # about 7 draws per creative: enough for the chi-square
        now = AS_OF + timedelta(days=10 * i)
        d = decider.decide("m010", "home", {}, now=now)
        assert d.row.variant is not None
        counts[d.row.variant] = counts.get(d.row.variant, 0) + 1
    n = len(decider.decide("m010", "home", {}, now=AS_OF + timedelta(days=10**5)).row.eligible)
    # Chi-square goodness of fit against uniform over the eligible set (scipy reference).
    from scipy.stats import chisquare

    observed = np.array(list(counts.values()) + [0] * (n - len(counts)))
    assert chisquare(observed).pvalue > 1e-4


def test_unknown_members_and_placements_are_refused(
    catalogue: Catalogue, members: MemberIndex
) -> None:
    decider = make(catalogue, members)
    with pytest.raises(UnknownPlacement, match="expected one of signup"):
        decider.decide("m001", "billboard", {}, now=AS_OF)
    with pytest.raises(UnknownMember, match="only placement 'signup'"):
        decider.decide("stranger", "home", {}, now=AS_OF)
    first = decider.decide("stranger", "signup", {"plan": "family"}, now=AS_OF)
    later = decider.decide("stranger", "home", {}, now=AS_OF + timedelta(days=40))
    assert first.row.context["tenure_band"] == "0-7d"
    assert later.row.context["plan"] == "family" and later.row.context["tenure_band"] == "31-90d"


def test_same_seed_same_decisions(catalogue: Catalogue, members: MemberIndex) -> None:
    def run() -> list[str | None]:
        d = make(catalogue, members, seed=42)
        return [
            d.decide(f"m{i:03d}", "in_context", {}, now=AS_OF + timedelta(seconds=i)).row.variant
            for i in range(100)
        ]

    assert run() == run()
