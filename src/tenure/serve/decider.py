"""The decision itself, in process and without I/O: member → eligible set → policy → row.

Everything here is a dictionary look-up or a small loop over one placement's creatives,
so a decision costs tens of microseconds; the service around it only adds the durable
write. The row it returns is what the log stores and what the response is built from.

A member the data does not know may be decided at ``signup`` (from the request context:
country, plan, channel); the service remembers their signup context, so the same new
member is known at later placements. Anywhere else an unknown member is an error.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from tenure.errors import SpecError
from tenure.messaging import (
    Catalogue,
    Creative,
    MemberIndex,
    MemberState,
    PastDecision,
    eligible,
    render_text,
    tenure_band,
    value_recap,
)
from tenure.messaging.eligibility import CreativeSet, regular_benefits
from tenure.serve.policy_slot import PolicySlot
from tenure.serve.recent import RecentDecisions
from tenure.serve.stores import DecisionRow, PeerDecision

__all__ = ["SIGNUP", "Decider", "Decision", "UnknownMember", "UnknownPlacement"]

SIGNUP = "signup"
"""The placement where a member absent from the data may be decided."""


class UnknownMember(SpecError):
    """The member is not in the data (and the placement is not signup): a 404."""


class UnknownPlacement(SpecError):
    """The placement is not in the catalogue: a 422 naming the field and the valid ones."""


@dataclass(frozen=True, slots=True)
class _Eligible:
    """One eligibility result as the decider uses it: the set, its ids, and the reason."""

    creatives: tuple[Creative, ...]
    ids: tuple[str, ...]
    position: Mapping[str, int]
    reason: str
    removed: tuple[str, ...] | None = None
    """The ids the same-creative cap cut from the cached set (in its order), if any."""

    def without(self, shown: Sequence[str]) -> tuple[list[Creative], tuple[str, ...]]:
        """The creatives and ids left when ``shown`` (members of this set) are removed.

        Cut out by position, so the cost is a few slices, not a loop over the set.
        """
        creatives: list[Creative] = []
        ids: list[str] = []
        start = 0
        for cut in sorted(self.position[i] for i in shown):
            creatives += self.creatives[start:cut]
            ids += self.ids[start:cut]
            start = cut + 1
        creatives += self.creatives[start:]
        ids += self.ids[start:]
        return creatives, tuple(ids)


CACHE_SIZE = 65_536
"""Eligibility results kept (cleared when full); each holds a tuple of creative references."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The logged row and the creative object it names (None when nothing was eligible)."""

    row: DecisionRow
    creative: Creative | None
    shown: PastDecision | None


class Decider:
    """Decide for one request: eligibility and caps, then the current policy's choice."""

    def __init__(
        self,
        catalogue: Catalogue,
        members: MemberIndex,
        policies: PolicySlot,
        recent: RecentDecisions,
        *,
        rng: np.random.Generator,
    ) -> None:
        self.catalogue = catalogue
        self.members = members
        self.policies = policies
        self.recent = recent
        self.rng = rng
        self.newcomers: dict[str, tuple[Mapping[str, str], datetime]] = {}
        self._creatives = {c.id: c for p in catalogue.placements for c in catalogue.creatives(p)}
        # Server ids: a random prefix per process and a counter (no system call per decision).
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count(1)
        self._cache: dict[object, _Eligible] = {}
        self._member_keys: dict[str, tuple[object, ...]] = {}
        self._interned: dict[tuple[object, ...], tuple[object, ...]] = {}
        # The only attributes eligibility reads: the columns of the benefits' segment rules.
        self._segment_columns = tuple(
            sorted({column for b in catalogue.benefits for column, _ in b.segments})
        )

    def _eligible(
        self,
        state: MemberState | None,
        placement: str,
        context: dict[str, str],
        now: datetime,
        recent: tuple[PastDecision, ...],
    ) -> tuple[_Eligible, tuple[str, ...] | None]:
        """:func:`~tenure.messaging.eligible` for this request, and the set before caps.

        Eligibility was the largest part of a decision, yet its inputs repeat. Without caps
        it reads only the placement, the context's values of the segment rules' columns,
        which benefits the member uses regularly (and how often: its reasons quote it) and
        whether they used or saved anything; its result is cached under exactly those, so
        it is what ``eligible`` returns, computed once per distinct input. The caps then act
        on that set as ``eligible`` applies them: a capped placement, or every creative
        left shown lately, is computed by ``eligible`` itself (it words the reason); a few
        creatives shown lately are removed from the cached set, order kept.

        The second value is the cap-free set when the same-creative cap removed something
        from it (else None): the log stores that shared set and the few removed ids.
        """
        member: tuple[object, ...] = ()
        if state is not None:
            # A member's state is fixed for the service's life: its part of the key once.
            part = self._member_keys.get(state.member_id)
            if part is None:
                regular = regular_benefits(self.catalogue, state)
                part = (
                    tuple(sorted(regular.items())),
                    state.saved_30d > 0 or bool(state.uses_30d),
                )
                part = self._member_keys[state.member_id] = self._interned.setdefault(part, part)
            member = part
        segment = tuple(context.get(c) for c in self._segment_columns)
        key = (placement, segment, member)
        base = self._cache.get(key)
        if base is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            base = self._cache[key] = self._compute(state, placement, context, now, ())
        if not recent:
            return base, None
        caps = self.catalogue.caps
        capped = caps.placement_reason(placement, now, recent)
        if capped is not None:  # every creative there is excluded, for this one reason
            found = self._cache.get((key, capped))
            if found is None:
                found = self._cache[key, capped] = self._compute(
                    state, placement, context, now, recent
                )
            return found, None
        shown = sorted(caps.recent_creatives(now, recent) & base.position.keys())
        if not shown:
            return base, None
        if len(shown) == len(base.ids):
            return self._compute(state, placement, context, now, recent), None
        keep, ids = base.without(shown)
        # A key naming this set uniquely, for policies that cache per eligible set.
        set_key = (getattr(base.creatives, "key", base.ids), tuple(shown))
        removed = tuple(sorted(shown, key=base.position.__getitem__))
        return _Eligible(CreativeSet(keep, set_key), ids, {}, "", removed), base.ids

    def _compute(
        self,
        state: MemberState | None,
        placement: str,
        context: dict[str, str],
        now: datetime,
        recent: tuple[PastDecision, ...],
    ) -> _Eligible:
        elig = eligible(
            self.catalogue, state, placement=placement, context=context, now=now, recent=recent
        )
        ids = tuple([c.id for c in elig.creatives])
        reason = "" if ids else _summarise(elig.excluded)
        position = {i: k for k, i in enumerate(ids)}
        return _Eligible(
            elig.creatives, ids, position, reason or f"no creative at placement {placement}"
        )

    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._counter):012x}"

    def creative(self, creative_id: str | None) -> Creative | None:
        """The catalogue's creative with this id (None for a null decision or an old id)."""
        return None if creative_id is None else self._creatives.get(creative_id)

    def remember(self, row: DecisionRow) -> None:
        """Warm caps and newcomers from a logged decision (at start-up, from the log)."""
        if row.variant is not None:
            self.recent.add(row.member_id, PastDecision(row.variant, row.placement, row.ts))
        if row.placement == SIGNUP and self.members.get(row.member_id) is None:
            self.newcomers.setdefault(row.member_id, (dict(row.context), row.ts))

    def remember_peer(self, row: PeerDecision) -> None:
        """Follow a decision another worker committed: its caps, and a newcomer it signed up."""
        if row.variant is not None:
            self.recent.add(row.member_id, PastDecision(row.variant, row.placement, row.ts))
        if (
            row.placement == SIGNUP
            and row.member_id not in self.newcomers
            and self.members.get(row.member_id) is None
        ):
            self.newcomers[row.member_id] = (json.loads(row.context), row.ts)

    def decide(
        self,
        member_id: str,
        placement: str,
        context: Mapping[str, str],
        *,
        now: datetime,
        decision_id: str | None = None,
    ) -> Decision:
        """Choose what ``member_id`` sees at ``placement`` now; record it for caps."""
        if placement not in self.catalogue.placements:
            raise UnknownPlacement(
                f"placement {placement!r} is not in the catalogue "
                f"(expected one of {', '.join(self.catalogue.placements)})"
            )
        state = self.members.get(member_id)
        full_context = self._context(member_id, placement, state, context, now)
        recent = self.recent.get(member_id, now)
        elig, base = self._eligible(state, placement, full_context, now, recent)
        policy = self.policies.current  # read once: a hot swap cannot split this decision
        ids = elig.ids
        did = decision_id or self._next_id()
        fresh = not decision_id
        if not elig.creatives:
            row = DecisionRow(
                did, member_id, now, policy.version, None, placement, 1.0, ids,
                reason=elig.reason, context=full_context, fresh=fresh,
            )  # fmt: skip
            return Decision(row, None, None)
        choice = policy.choose(full_context, elig.creatives, self.rng)
        creative = choice.creative
        recap = (
            value_recap(state, self.catalogue, now=now)
            if creative.personal and state is not None
            else None
        )
        row = DecisionRow(
            did, member_id, now, policy.version, creative.id, placement,
            float(choice.propensity), ids, benefit=creative.benefit,
            text=render_text(creative, recap), context=full_context, eligible_base=base,
            eligible_removed=elig.removed, fresh=fresh,
        )  # fmt: skip
        shown = PastDecision(creative.id, placement, now)
        self.recent.add(member_id, shown)
        if placement == SIGNUP and state is None:
            self.newcomers.setdefault(member_id, (dict(full_context), now))
        return Decision(row, creative, shown)

    def _context(
        self,
        member_id: str,
        placement: str,
        state: MemberState | None,
        context: Mapping[str, str],
        now: datetime,
    ) -> dict[str, str]:
        if state is not None:
            return {**context, **state.context(now)}
        known = self.newcomers.get(member_id)
        if known is None:
            if placement != SIGNUP:
                raise UnknownMember(
                    f"member {member_id!r} is not in the data; only placement 'signup' "
                    "decides for a new member"
                )
            return {**context, "tenure_band": tenure_band(0.0)}
        signup_context, signed_up = known
        days = max((now - signed_up).total_seconds() / 86_400, 0.0)
        return {**signup_context, **context, "tenure_band": tenure_band(days)}


def _summarise(excluded: Mapping[str, str]) -> str:
    """The most common exclusion reason, with how many creatives it excluded."""
    if not excluded:
        return ""
    counts: Counter[str] = Counter()
    # Few distinct reasons exclude hundreds of creatives: group the distinct ones only.
    for reason, n in Counter(excluded.values()).items():
        key = reason.split(":", 1)[0] if reason.startswith(("segment", "regular use")) else reason
        counts[key] += n
    reason, n = counts.most_common(1)[0]
    return f"{reason} ({n} of {len(excluded)} creatives)"
