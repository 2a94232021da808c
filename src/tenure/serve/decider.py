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
from tenure.serve.policy_slot import PolicySlot
from tenure.serve.recent import RecentDecisions
from tenure.serve.stores import DecisionRow

__all__ = ["SIGNUP", "Decider", "Decision", "UnknownMember", "UnknownPlacement"]

SIGNUP = "signup"
"""The placement where a member absent from the data may be decided."""


class UnknownMember(SpecError):
    """The member is not in the data (and the placement is not signup): a 404."""


class UnknownPlacement(SpecError):
    """The placement is not in the catalogue: a 422 naming the field and the valid ones."""


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
        self._ids_by_key: dict[object, tuple[str, ...]] = {}

    def _ids(self, creatives: Sequence[Creative]) -> tuple[str, ...]:
        """The eligible ids, cached by the set's key when eligibility gives one.

        A placement has hundreds of creatives and most decisions share a few eligible
        sets; rebuilding the id tuple was a fifth of a decision's cost.
        """
        key = getattr(creatives, "key", None)
        if key is None:
            return tuple(c.id for c in creatives)
        ids = self._ids_by_key.get(key)
        if ids is None:
            if len(self._ids_by_key) >= 4096:
                self._ids_by_key.clear()
            ids = self._ids_by_key[key] = tuple(c.id for c in creatives)
        return ids

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
        elig = eligible(
            self.catalogue, state, placement=placement, context=full_context, now=now, recent=recent
        )
        policy = self.policies.current  # read once: a hot swap cannot split this decision
        ids = self._ids(elig.creatives)
        did = decision_id or self._next_id()
        if not elig.creatives:
            reason = _summarise(elig.excluded) or f"no creative at placement {placement}"
            row = DecisionRow(
                did, member_id, now, policy.version, None, placement, 1.0, ids,
                reason=reason, context=full_context,
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
            text=render_text(creative, recap), context=full_context,
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
