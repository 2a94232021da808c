"""The messaging → serving interface: catalogue, member index, eligibility, recap, uniform."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tenure.errors import SpecError
from tenure.messaging import (
    Catalogue,
    MemberIndex,
    PastDecision,
    UniformPolicy,
    eligible,
    load_policy,
    render_text,
    value_recap,
)
from tenure.messaging.snapshot import write_snapshot

from .conftest import AS_OF


def test_default_catalogue_is_factorised(catalogue: Catalogue) -> None:
    signup = catalogue.creatives("signup")
    ids = [c.id for c in catalogue.all_creatives]
    assert len(ids) == len(set(ids)), "creative ids must be unique"
    parts = {(c.message, c.image, c.cta) for c in signup}
    assert len(parts) == len(signup) == 240
    # cancel-flow-only parts appear only there
    assert all(c.cta != "keep_membership" for c in signup)
    assert any(c.frame == "discount" for c in catalogue.creatives("cancel_flow"))


def test_catalogue_errors_name_file_and_field(tmp_path: Path) -> None:
    text = Path(__file__).parents[2].joinpath("src/tenure/data/catalogue.yaml").read_text()
    bad = tmp_path / "cat.yaml"
    bad.write_text(text.replace("benefit: grocery, frame", "benefit: grocer, frame"))
    with pytest.raises(SpecError, match=r"cat\.yaml: messages\.6\.benefit: unknown benefit"):
        Catalogue.load(bad)
    bad.write_text(text.replace("free in two days with {benefit}", "free with {benefitt}"))
    with pytest.raises(SpecError, match=r"messages\.\d+\.template: unknown placeholder"):
        Catalogue.load(bad)
    with pytest.raises(SpecError, match="cannot read"):
        Catalogue.load(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="unknown placement 'inbox'"):
        Catalogue.default().creatives("inbox")


def test_member_index_counts_by_construction(index: MemberIndex) -> None:
    m1 = index.get("m1")
    assert m1 is not None and index.get("nobody") is None
    assert m1.uses_7d == {"shipping": 3}
    assert m1.uses_30d == {"shipping": 4, "video": 1}  # the 45-day-old order is outside
    assert m1.saved_7d == pytest.approx(15.5)
    assert m1.saved_30d == pytest.approx(22.5)
    assert m1.attributes["plan"] == "monthly" and m1.attributes["country"] == "US"
    m2 = index.get("m2")
    assert m2 is not None and m2.uses_30d == {"family": 1}
    assert m2.context(AS_OF)["tenure_band"] == "8-30d"


def test_eligibility_rules(index: MemberIndex, catalogue: Catalogue) -> None:
    m1 = index.get("m1")
    e = eligible(catalogue, m1, placement="in_context", context={}, now=AS_OF, recent=())
    benefits = {c.benefit for c in e.creatives}
    assert "shipping" not in benefits  # 4 uses in 30 days ≥ 3: regular use
    assert "grocery" in benefits  # US member
    assert "family" not in benefits and "student" not in benefits
    assert e.excluded["in_context:ship_fast:hero:try_now"].startswith("regular use")
    assert set(e.excluded) | set(e.ids) == {c.id for c in catalogue.creatives("in_context")}
    # the same creative is not shown twice within 3 days; older decisions don't count
    first = e.creatives[0]
    recent = [PastDecision(first.id, "in_context", AS_OF - timedelta(days=1))]
    e2 = eligible(catalogue, m1, placement="in_context", context={}, now=AS_OF, recent=recent)
    assert first.id not in e2.ids and e2.excluded[first.id].startswith("cap")
    old = [PastDecision(first.id, "in_context", AS_OF - timedelta(days=4))]
    e3 = eligible(catalogue, m1, placement="in_context", context={}, now=AS_OF, recent=old)
    assert first.id in e3.ids


def test_email_cap_two_a_week(index: MemberIndex, catalogue: Catalogue) -> None:
    m3 = index.get("m3")
    sent = [PastDecision("x", "email", AS_OF - timedelta(days=d)) for d in (1, 5)]
    e = eligible(catalogue, m3, placement="email", context={}, now=AS_OF, recent=sent)
    assert e.creatives == () and all(r.startswith("cap") for r in e.excluded.values())
    e = eligible(catalogue, m3, placement="email", context={}, now=AS_OF, recent=sent[:1])
    assert e.creatives


def test_personal_text_needs_usage(index: MemberIndex, catalogue: Catalogue) -> None:
    m1, m3 = index.get("m1"), index.get("m3")
    e1 = eligible(catalogue, m1, placement="cancel_flow", context={}, now=AS_OF, recent=())
    e3 = eligible(catalogue, m3, placement="cancel_flow", context={}, now=AS_OF, recent=())
    assert all(not c.personal for c in e3.creatives)
    personal = [c for c in e1.creatives if c.personal]
    assert personal
    recap = value_recap(m1, catalogue, now=AS_OF) if m1 else None
    text = render_text(personal[0], recap)
    assert "$22.50" in text and "$15.50" in text
    with pytest.raises(SpecError, match="need a value recap"):
        render_text(personal[0], None)


def test_value_recap(index: MemberIndex, catalogue: Catalogue) -> None:
    m1, m2 = index.get("m1"), index.get("m2")
    assert m1 is not None and m2 is not None
    r = value_recap(m1, catalogue, now=AS_OF).to_dict()
    assert r["benefits_used"] == ["Free delivery", "Video streaming"]
    assert r["saved_30d"] == pytest.approx(22.5) and r["saved_7d"] == pytest.approx(15.5)
    # family and student are plan-restricted, the discount is an offer: 8 benefits for monthly
    assert r["plan_benefits"] == 8 and r["would_lose"] == r["benefits_used"]
    assert "$22.50" in r["text"]
    r2 = value_recap(m2, catalogue, now=AS_OF).to_dict()
    assert r2["plan_benefits"] == 9 and r2["would_lose"] == ["Family sharing"]


def test_uniform_propensity_matches_frequencies(catalogue: Catalogue) -> None:
    pol = UniformPolicy(catalogue)
    elig = catalogue.creatives("home")[:7]
    rng = np.random.default_rng(3)
    picks = [pol.choose({}, elig, rng) for _ in range(7000)]
    assert all(p.propensity == pytest.approx(1 / 7) for p in picks)
    counts = Counter(p.creative.id for p in picks)
    # each arm ~ Binomial(7000, 1/7): sd ≈ 29; 5 sd bounds
    assert all(abs(n - 1000) < 150 for n in counts.values()) and len(counts) == 7
    with pytest.raises(SpecError, match="no eligible creative"):
        pol.choose({}, (), rng)


def test_uniform_snapshot_round_trip(tmp_path: Path, catalogue: Catalogue) -> None:
    pol = UniformPolicy(catalogue)
    path = write_snapshot(tmp_path / "u.json", "uniform", pol.snapshot_state())
    back = load_policy(path)
    assert back.version == pol.version
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SpecError, match="not a policy snapshot"):
        load_policy(tmp_path / "bad.json")


def test_uniform_direct_draw_is_the_base_policys_draw(catalogue: Catalogue) -> None:
    """The index draw picks what inverting the running sums would, from the same uniform."""
    from tenure.messaging.policies import BasePolicy

    pol = UniformPolicy(catalogue)
    for n in (1, 2, 7, 240):
        elig = catalogue.creatives("signup")[:n]
        a, b = np.random.default_rng(n), np.random.default_rng(n)
        fast = [pol.choose({}, elig, a).creative for _ in range(3000)]
        base = [elig[BasePolicy._draw(pol, {}, elig, b.random())[0]] for _ in range(3000)]
        assert fast == base
