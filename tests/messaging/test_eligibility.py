"""`eligibility_key` names exactly what `eligible` reads before the caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tenure.messaging import Catalogue, MemberState
from tenure.messaging.eligibility import eligibility_key, eligible, regular_benefits

NOW = datetime(2026, 3, 31, tzinfo=UTC)


def _states(cat: Catalogue, rng: np.random.Generator, n: int) -> list[MemberState | None]:
    """Members with random plans and usage (some regular), and unknown members."""
    benefits = [b.id for b in cat.benefits]
    plans = ["monthly", "annual", "family", "student"]
    out: list[MemberState | None] = [None]
    for i in range(n):
        uses = {b: int(rng.integers(0, 6)) for b in rng.choice(benefits, rng.integers(0, 3))}
        out.append(
            MemberState(
                f"m{i}",
                {"plan": str(rng.choice(plans)), "country": str(rng.choice(["US", "DE"]))},
                NOW - timedelta(days=40),
                NOW,
                uses_7d=uses,
                uses_30d=uses,
                saved_30d_by_benefit={"shipping": 5.0} if rng.random() < 0.3 else {},
            )
        )
    return out


def test_equal_keys_mean_equal_eligibility_and_the_key_separates_outcomes(
    catalogue: Catalogue,
) -> None:
    """Over random members, contexts and placements a key never maps to two different
    cap-free results, and most inputs share a key with others (what makes it worth caching)."""
    rng = np.random.default_rng(12)
    seen: dict[tuple[object, ...], tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
    inputs = 0
    for state in _states(catalogue, rng, 150):
        for placement in ("signup", "home", "cancel_flow"):
            ctx = {"plan": str(rng.choice(["monthly", "family"])), "country": "GB"}
            e = eligible(catalogue, state, placement=placement, context=ctx, now=NOW)
            got = (e.ids, tuple(sorted(e.excluded.items())))
            key = eligibility_key(catalogue, state, placement=placement, context=ctx)
            hash(key)
            assert seen.setdefault(key, got) == got
            inputs += 1
    assert len(seen) < 0.6 * inputs


def test_the_members_plan_wins_over_the_request_context(catalogue: Catalogue) -> None:
    """``eligible`` reads a known member's attributes before the context; so does the key."""
    state = MemberState("m", {"plan": "family"}, NOW - timedelta(days=40), NOW)
    a = eligibility_key(catalogue, state, placement="home", context={"plan": "monthly"})
    b = eligibility_key(catalogue, state, placement="home", context={"plan": "family"})
    assert a == b
    fam = eligible(catalogue, state, placement="home", context={"plan": "monthly"}, now=NOW)
    assert any(c.benefit == "family" for c in fam.creatives)


def test_regular_benefits_follow_the_catalogue_rule(catalogue: Catalogue) -> None:
    k = catalogue.regular_use_count
    state = MemberState("m", {}, NOW, NOW, uses_7d={"video": k, "shipping": k - 1},
                        uses_30d={"video": k, "shipping": k - 1})  # fmt: skip
    assert regular_benefits(catalogue, state) == {"video": k}
    assert regular_benefits(catalogue, None) == {}
