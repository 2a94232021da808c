"""Frequency caps: how often a member may see a placement or the same creative.

Caps are part of eligibility, applied before a policy chooses, so the logged eligible set
(and with it every propensity) already reflects them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["FrequencyCaps", "PastDecision", "PlacementCap"]


@dataclass(frozen=True, slots=True)
class PastDecision:
    """A decision already made for the member: the server supplies these for capping."""

    creative_id: str
    placement: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class PlacementCap:
    """At most ``max`` decisions at one placement in any ``days``-day window."""

    max: int
    days: float


@dataclass(frozen=True, slots=True)
class FrequencyCaps:
    """Per-placement limits and the minimum gap before the same creative is shown again."""

    per_placement: Mapping[str, PlacementCap] = field(default_factory=dict)
    same_creative_days: float = 3.0

    def placement_reason(
        self, placement: str, now: datetime, recent: Sequence[PastDecision]
    ) -> str | None:
        """Why the whole placement is capped for this member now, or ``None``."""
        cap = self.per_placement.get(placement)
        if cap is None:
            return None
        since = now - timedelta(days=cap.days)
        shown = sum(1 for d in recent if d.placement == placement and since < d.ts <= now)
        if shown >= cap.max:
            return f"cap: {shown} {placement} decisions in {cap.days:g} days (max {cap.max})"
        return None

    def recent_creatives(self, now: datetime, recent: Sequence[PastDecision]) -> frozenset[str]:
        """Creatives shown within ``same_creative_days`` before ``now``."""
        since = now - timedelta(days=self.same_creative_days)
        return frozenset(d.creative_id for d in recent if since < d.ts <= now)
