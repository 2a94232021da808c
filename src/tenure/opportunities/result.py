"""`OpportunityResult`: the ranked patterns, their sizing, and the rules that found them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from tenure.results import Result, json_safe

__all__ = ["SCORE_FORMULA", "Opportunity", "OpportunityResult"]

SCORE_FORMULA = (
    "score = hours_saved_per_week × shape weight, where the weight is 1 for a workaround "
    "(export-like step → exit → a step that brings something back), {leaves_app} for a "
    "pattern that leaves the app without that shape, and {in_app} for an in-app flow with no "
    "exit; hours_saved_per_week = members × occurrences × (time − one step) per week"
)


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One pattern (its variants merged) with its size."""

    steps: tuple[str, ...]
    shape: str  # "workaround", "leaves_app" or "in_app"
    members: int
    occurrences: int
    occurrences_per_week: float
    median_seconds: float
    seconds_quantiles: Mapping[str, float]
    hours_per_week: float
    hours_saved_per_week: float
    hours_saved_ci: tuple[float, float]
    heavy_user_share: float
    trend_per_week: float
    variants: Mapping[str, Mapping[str, float]]
    merged_patterns: int
    retention: Mapping[str, Any] | None
    score: float
    publish_rate: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The issue's keys first, then the extras."""
        return {
            "steps": list(self.steps),
            "members": self.members,
            "occurrences": self.occurrences,
            "occurrences_per_week": self.occurrences_per_week,
            "median_seconds": self.median_seconds,
            "hours_per_week": self.hours_per_week,
            "hours_saved_per_week": self.hours_saved_per_week,
            "hours_saved_ci": list(self.hours_saved_ci),
            "score": self.score,
            "shape": self.shape,
            "seconds_quantiles": dict(self.seconds_quantiles),
            "heavy_user_share": self.heavy_user_share,
            "trend_per_week": self.trend_per_week,
            "variants": {k: dict(v) for k, v in self.variants.items()},
            "merged_patterns": self.merged_patterns,
            "retention": dict(self.retention) if self.retention is not None else None,
            "publish_rate_association": (
                dict(self.publish_rate) if self.publish_rate is not None else None
            ),
        }


@dataclass(frozen=True, repr=False)
class OpportunityResult(Result):
    """Frequent multi-step patterns ranked by the stated score (workarounds first).

    ``params`` records every setting and the recognition rules (``roles``), ``weeks`` the
    length of the data's period the per-week figures divide by.
    """

    kind: ClassVar[str] = "opportunities"
    opportunities: tuple[Opportunity, ...]
    weeks: float
    members_with_events: int
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per pattern, best score first."""
        rows = []
        for o in self.opportunities:
            d = o.to_dict()
            rows.append(
                {
                    "steps": " → ".join(o.steps),
                    "shape": o.shape,
                    "members": o.members,
                    "occurrences": o.occurrences,
                    "occurrences_per_week": o.occurrences_per_week,
                    "median_seconds": o.median_seconds,
                    "hours_per_week": o.hours_per_week,
                    "hours_saved_per_week": o.hours_saved_per_week,
                    "hours_saved_low": o.hours_saved_ci[0],
                    "hours_saved_high": o.hours_saved_ci[1],
                    "heavy_user_share": o.heavy_user_share,
                    "trend_per_week": o.trend_per_week,
                    "retention_effect": (o.retention or {}).get("effect"),
                    "publish_rate_effect": (o.publish_rate or {}).get("effect"),
                    "score": o.score,
                    "variants": str(d["variants"]),
                }
            )
        return pd.DataFrame(rows)

    def workarounds(self) -> tuple[Opportunity, ...]:
        """Only the patterns with the workaround shape."""
        return tuple(o for o in self.opportunities if o.shape == "workaround")

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure opportunities --json`` document (issue 14's shape, plus ``params``)."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "weeks": json_safe(self.weeks),
            "members_with_events": self.members_with_events,
            "opportunities": [json_safe(o.to_dict()) for o in self.opportunities],
        }
