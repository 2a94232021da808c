"""Which creatives may be shown to this member, here, now — decided before any policy runs.

Rules, in order (the first that applies is the recorded reason):

1. **segment**: the benefit's segment rules (``plan = family`` for family sharing) must
   match the member's attributes, or for an unknown member the request context;
2. **regular use**: a benefit the member already uses regularly (``regular_use.uses`` times
   in ``regular_use.days`` days) is not promoted to them;
3. **personal text**: a message that quotes the member's savings or usage needs a known
   member with some;
4. **caps**: a placement over its per-member cap excludes every creative there; a creative
   shown within ``same_creative_days`` is excluded.

The result keeps the excluded creatives with their reasons; the eligible ids are logged with
the decision so that propensities are probabilities over the set the policy really chose from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tenure.messaging.caps import PastDecision
from tenure.messaging.catalogue import Catalogue
from tenure.messaging.creatives import Creative
from tenure.messaging.members import MemberState

__all__ = [
    "CreativeSet",
    "Eligibility",
    "PastDecision",
    "eligibility_key",
    "eligible",
    "regular_benefits",
]


class CreativeSet(tuple[Creative, ...]):
    """The eligible creatives, in catalogue order, with a cheap key identifying the set.

    ``key`` is built from the placement and the message groups kept (plus any creative
    excluded one by one), so a policy can cache per eligible set without hashing hundreds
    of creative ids on every decision.
    """

    key: tuple[object, ...]

    def __new__(cls, creatives: list[Creative], key: tuple[object, ...]) -> CreativeSet:
        """A tuple of ``creatives`` carrying ``key``."""
        obj = super().__new__(cls, creatives)
        obj.key = key
        return obj


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The creatives a policy may choose from, and why each other one was excluded."""

    creatives: tuple[Creative, ...]
    excluded: Mapping[str, str]

    @property
    def ids(self) -> tuple[str, ...]:
        """Eligible creative ids, in catalogue order (what the log stores)."""
        return tuple(c.id for c in self.creatives)


def eligible(
    catalogue: Catalogue,
    state: MemberState | None,
    *,
    placement: str,
    context: Mapping[str, str],
    now: datetime,
    recent: Sequence[PastDecision] = (),
) -> Eligibility:
    """Filter the placement's creatives for one member.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> cat = Catalogue.default()
    >>> e = eligible(cat, None, placement="signup", context={"plan": "monthly"},
    ...              now=datetime(2026, 1, 1, tzinfo=UTC), recent=())
    >>> len(e.creatives), e.excluded["signup:family_value:hero:try_now"][:8]
    (180, 'segment:')
    """
    groups = catalogue.groups(placement)
    capped = catalogue.caps.placement_reason(placement, now, recent)
    if capped is not None:
        return Eligibility((), {c.id: capped for _, _, cs in groups for c in cs})
    attributes: Mapping[str, str] = (
        {**context, **state.attributes} if state is not None else context
    )
    regular = regular_benefits(catalogue, state)
    has_personal = state is not None and (state.saved_30d > 0 or bool(state.uses_30d))
    shown = catalogue.caps.recent_creatives(now, recent) if recent else frozenset()
    benefit_reason: dict[str, str | None] = {}
    keep: list[Creative] = []
    kept: list[str] = []
    dropped: list[str] = []
    excluded: dict[str, str] = {}
    for benefit, personal, members in groups:
        if benefit not in benefit_reason:
            reason = catalogue.benefit(benefit).segment_reason(attributes)
            if reason is None and benefit in regular:
                reason = (
                    f"regular use: {regular[benefit]} {benefit} uses in "
                    f"{catalogue.regular_use_days} days"
                )
            benefit_reason[benefit] = reason
        reason = benefit_reason[benefit]
        if reason is None and personal and not has_personal:
            reason = "personal text: needs a known member with usage or savings"
        if reason is not None:
            excluded.update(dict.fromkeys((c.id for c in members), reason))
        elif shown:
            kept.append(members[0].message)
            for c in members:
                if c.id in shown:
                    excluded[c.id] = f"cap: shown within {catalogue.caps.same_creative_days:g} days"
                    dropped.append(c.id)
                else:
                    keep.append(c)
        else:
            kept.append(members[0].message)
            keep.extend(members)
    key = (catalogue.digest, placement, tuple(kept), tuple(dropped))
    return Eligibility(CreativeSet(keep, key), excluded)


def regular_benefits(catalogue: Catalogue, state: MemberState | None) -> dict[str, int]:
    """The benefits ``state`` uses regularly, with their use counts (rule 2 of the module).

    A benefit counts when the member used it at least ``catalogue.regular_use_count`` times
    in ``catalogue.regular_use_days`` days; an unknown member (``None``) uses none.
    """
    if state is None:
        return {}
    # The index counts 30 days; a shorter rule window cannot be answered from it exactly,
    # so 7-day counts are used when the rule asks for 7 days or fewer.
    counts = state.uses_7d if catalogue.regular_use_days <= 7 else state.uses_30d
    return {b: n for b, n in counts.items() if n >= catalogue.regular_use_count}


# Kept while callers move to the public name.
_regular_benefits = regular_benefits


def eligibility_key(
    catalogue: Catalogue,
    state: MemberState | None,
    *,
    placement: str,
    context: Mapping[str, str],
) -> tuple[object, ...]:
    """Everything :func:`eligible` reads before the caps, as one hashable key.

    Two requests with the same key get the same cap-free :class:`Eligibility` (creatives,
    order and reasons), so a server can compute :func:`eligible` once per key and apply
    only the caps per request. The key holds the catalogue's digest, the placement, the
    values of the columns the benefits' segment rules read (from the member's attributes
    where known, else the request context — the precedence :func:`eligible` uses), the
    regular-use counts (a reason quotes them) and whether the member has anything for a
    personal text.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> cat = Catalogue.default()
    >>> k1 = eligibility_key(cat, None, placement="home", context={"plan": "monthly"})
    >>> k2 = eligibility_key(cat, None, placement="home",
    ...                      context={"plan": "monthly", "age_band": "25-34"})
    >>> k1 == k2  # no segment rule reads the age band
    True
    """
    columns = _segment_columns(catalogue)
    attributes: Mapping[str, str] = (
        {**context, **state.attributes} if state is not None else context
    )
    member: tuple[object, ...] = ()
    if state is not None:
        member = (
            tuple(sorted(regular_benefits(catalogue, state).items())),
            state.saved_30d > 0 or bool(state.uses_30d),
        )
    segment = tuple(attributes.get(c) for c in columns)
    return (catalogue.digest, placement, segment, member)


_SEGMENT_COLUMNS: dict[str, tuple[str, ...]] = {}


def _segment_columns(catalogue: Catalogue) -> tuple[str, ...]:
    """The attribute columns any benefit's segment rule reads, sorted (cached by digest)."""
    found = _SEGMENT_COLUMNS.get(catalogue.digest)
    if found is None:
        found = tuple(sorted({column for b in catalogue.benefits for column, _ in b.segments}))
        _SEGMENT_COLUMNS[catalogue.digest] = found
    return found
