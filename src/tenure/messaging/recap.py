"""The value recap: what a member got from their membership, in money and in benefits.

It is the text of the cancel flow ("you would lose these; you saved $30 in the last 7 days")
and of the sign-up welcome, computed from the member's own events (the ``value`` column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import pandas as pd

from tenure.messaging.catalogue import Catalogue
from tenure.messaging.members import MemberState
from tenure.results import Result, json_safe

__all__ = ["ValueRecap", "value_recap"]


@dataclass(frozen=True, repr=False)
class ValueRecap(Result):
    """Benefits a member used, money saved, what they would lose and their plan's size."""

    kind: ClassVar[str] = "value_recap"
    member_id: str
    benefits_used: tuple[str, ...]
    saved_7d: float
    saved_30d: float
    would_lose: tuple[str, ...]
    plan_benefits: int
    text: str
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per benefit used, with its uses and savings in the last 30 days."""
        return pd.DataFrame({"benefit": list(self.benefits_used)})

    def to_dict(self) -> dict[str, Any]:
        """The recap as the API returns it."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "member_id": self.member_id,
            "benefits_used": list(self.benefits_used),
            "saved_7d": json_safe(self.saved_7d),
            "saved_30d": json_safe(self.saved_30d),
            "would_lose": list(self.would_lose),
            "plan_benefits": self.plan_benefits,
            "text": self.text,
        }


def value_recap(state: MemberState, catalogue: Catalogue, *, now: datetime) -> ValueRecap:
    """The member's value recap from their usage in the 30 days before ``state.as_of``.

    ``benefits_used`` are the catalogue's benefits the member used, most used first (names);
    ``would_lose`` the benefits of their plan they used (what cancelling takes away);
    ``plan_benefits`` the number of benefits the plan includes. ``now`` is recorded with
    the state's ``as_of`` so a stale index is visible in ``params``.
    """
    plan = state.attributes.get("plan")
    plan_benefits = [b for b in catalogue.benefits if b.in_plan(plan)]
    used = sorted(
        (b for b in catalogue.benefits if state.uses_30d.get(b.id, 0) > 0),
        key=lambda b: (-state.uses_30d.get(b.id, 0), b.id),
    )
    names = tuple(b.name for b in used)
    lose = tuple(b.name for b in used if b.in_plan(plan))
    text = _text(names, state.saved_7d, state.saved_30d, len(plan_benefits))
    return ValueRecap(
        member_id=state.member_id,
        benefits_used=names,
        saved_7d=state.saved_7d,
        saved_30d=state.saved_30d,
        would_lose=lose,
        plan_benefits=len(plan_benefits),
        text=text,
        params={
            "as_of": state.as_of,
            "now": now,
            "stale_days": (now - state.as_of).total_seconds() / 86_400,
            "catalogue": catalogue.digest,
        },
    )


def _text(used: tuple[str, ...], saved_7d: float, saved_30d: float, n_plan: int) -> str:
    if not used:
        return f"Your plan includes {n_plan} benefits you have not tried yet."
    listed = used[0] if len(used) == 1 else ", ".join(used[:-1]) + f" and {used[-1]}"
    money = (
        f" and saved ${saved_30d:.2f} (${saved_7d:.2f} in the last 7 days)" if saved_30d > 0 else ""
    )
    return (
        f"In the last 30 days you used {listed}{money}. "
        f"Your plan includes {n_plan} benefits; cancelling ends all of them."
    )
