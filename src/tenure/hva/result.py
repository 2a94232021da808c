"""The HVA result: typed estimates per (segment, candidate), with their diagnostics.

:class:`HvaResult` follows the package's result protocol (:class:`tenure.results.Result`):
``params`` records the settings (alpha, window, horizon, adjustment set, guards…),
``to_frame()`` is the tidy table, ``to_dict()`` the ``tenure hva --json`` document. Logic
reads the typed fields of :class:`HvaEstimate`, never table columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from tenure.hva.candidates import Candidate, Segment
from tenure.results import Result, json_safe
from tenure.stats.ipw import Status

__all__ = ["Balance", "Guards", "HvaEstimate", "HvaResult"]


@dataclass(frozen=True, slots=True)
class Guards:
    """Thresholds that turn diagnostics into statuses and warnings (recorded in ``params``).

    Parameters
    ----------
    min_arm : int
        An arm with fewer members whose outcome is observable gets status ``too_few`` (no
        estimate).
    min_events : int
        An arm with fewer retained, or fewer churned, members gets ``few_events``: shown with
        its (wide) interval, never an HVA.
    max_smd : float
        Balance is reached when every covariate's |standardised mean difference| after
        weighting is at most this (0.1, Austin 2009).
    max_clipped : float
        Positivity is thin when more than this share of members has a propensity at the clip.
    max_weight : float
        Propensities are bounded so that no member weighs more than this many times the
        average member of its arm (stabilised weights truncated at ``max_weight``).
    small_ess : float
        An arm whose effective sample size is below this is flagged ``small_sample``.
    """

    min_arm: int = 20
    min_events: int = 5
    max_smd: float = 0.1
    max_clipped: float = 0.05
    max_weight: float = 20.0
    small_ess: float = 100.0


@dataclass(frozen=True, slots=True)
class Balance:
    """Standardised mean difference of one covariate, before and after weighting.

    For a category, the level with the largest difference (signed).
    """

    covariate: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class HvaEstimate:
    """One candidate in one segment (``segment`` None: all landmark members)."""

    candidate: Candidate
    segment: Segment | None
    landmark: int
    treated: int
    control: int
    support: float
    naive_treated: float
    naive_control: float
    naive_diff: float
    naive_low: float
    naive_high: float
    adjusted_treated: float
    adjusted_control: float
    adjusted_diff: float
    adjusted_low: float
    adjusted_high: float
    adjusted_ratio: float
    p_value: float
    q_value: float
    e_value: float
    e_value_ci: float
    n_observable: int
    ess_treated: float
    ess_control: float
    clipped: float
    events_treated: int
    events_control: int
    balance: tuple[Balance, ...]
    status: Status
    balanced: bool
    overlap: bool
    small_sample: bool
    warnings: tuple[str, ...]
    cost: float = 0.0
    ease_of_encouraging: float = float("nan")
    score: float = float("nan")
    is_hva: bool = False
    within_stratum: float = 0.0
    """How much the member-level within-stratum term moved ``adjusted_diff`` (see
    :mod:`tenure.hva.within`): what the strata alone would have left in the estimate."""

    @property
    def established(self) -> bool:
        """A usable, balanced, overlapping estimate whose interval lies above 0.

        ``q < alpha`` is checked by the score.
        """
        return self.status == "ok" and self.balanced and self.overlap and self.adjusted_low > 0

    @property
    def max_smd_after(self) -> float:
        """Largest |SMD| after weighting over the covariates (0 with none)."""
        return max((abs(b.after) for b in self.balance), default=0.0)


_FRAME_FIELDS = (
    "landmark", "treated", "control", "support", "naive_treated", "naive_control", "naive_diff",
    "naive_low", "naive_high", "adjusted_treated", "adjusted_control", "adjusted_diff",
    "adjusted_low", "adjusted_high", "adjusted_ratio", "p_value", "q_value", "e_value",
    "e_value_ci", "n_observable", "ess_treated", "ess_control", "clipped", "events_treated",
    "events_control", "status", "balanced", "overlap", "small_sample", "cost",
    "ease_of_encouraging", "score", "is_hva", "within_stratum",
)  # fmt: skip


@dataclass(frozen=True, repr=False)
class HvaResult(Result):
    """Every candidate's support, naive and adjusted effect, diagnostics, q, E and score.

    ``estimates`` hold overall rows (``segment`` None) first, each block sorted by score
    (best first). ``warnings`` are dataset-level (a constant covariate, a column left out).
    """

    kind: ClassVar[str] = "hva"
    params: Mapping[str, Any]
    estimates: tuple[HvaEstimate, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def alpha(self) -> float:
        """The significance level the result was computed with."""
        return float(self.params["alpha"])

    def overall(self) -> tuple[HvaEstimate, ...]:
        """Rows for the whole landmark population."""
        return tuple(e for e in self.estimates if e.segment is None)

    def segment(self, value: str) -> tuple[HvaEstimate, ...]:
        """Rows of one segment value."""
        return tuple(
            e for e in self.estimates if e.segment is not None and e.segment.value == value
        )

    def hvas(self, segment: str | None = None) -> tuple[HvaEstimate, ...]:
        """Rows flagged as high-value actions, for one segment value (``None``: overall)."""
        rows = self.overall() if segment is None else self.segment(segment)
        return tuple(e for e in rows if e.is_hva)

    def shortlist(self, n: int = 5, segment: str | None = None) -> tuple[HvaEstimate, ...]:
        """The few actions a team can act on: HVAs by score, one per action family.

        A threshold or pair is listed only when no better-scored candidate on the same
        actions is; "≥ k distinct benefits" counts as one family.
        """
        seen: set[tuple[str, ...]] = set()
        out: list[HvaEstimate] = []
        for e in sorted(self.hvas(segment), key=lambda r: -r.score):
            fam = e.candidate.actions if e.candidate.kind != "distinct" else ("distinct",)
            if fam in seen:
                continue
            seen.add(fam)
            out.append(e)
            if len(out) == n:
                break
        return tuple(out)

    def to_frame(self) -> pd.DataFrame:
        """One row per (segment, candidate): labels, estimates, diagnostics, score."""
        rows = []
        for e in self.estimates:
            row: dict[str, Any] = {
                "segment": None if e.segment is None else e.segment.value,
                "candidate": e.candidate.name,
                "kind": e.candidate.kind,
                "contrast": e.candidate.contrast,
            }
            row.update({f: getattr(e, f) for f in _FRAME_FIELDS})
            row["max_smd_after"] = e.max_smd_after
            row["warnings"] = "; ".join(e.warnings)
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure hva --json`` document: params, warnings and every estimate."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "warnings": list(self.warnings),
            "candidates": [_estimate_dict(e) for e in self.estimates],
        }


def _estimate_dict(e: HvaEstimate) -> dict[str, Any]:
    c = e.candidate
    out: dict[str, Any] = json_safe(
        {
            "candidate": c.name,
            "kind": c.kind,
            "actions": list(c.actions),
            "k": c.k,
            "contrast": c.contrast,
            "segment": None if e.segment is None else {"column": e.segment.column, "value": e.segment.value},
            "landmark": e.landmark,
            "treated": e.treated,
            "control": e.control,
            "support": e.support,
            "naive": {"treated": e.naive_treated, "control": e.naive_control, "diff": e.naive_diff,
                      "ci": [e.naive_low, e.naive_high]},
            "adjusted": {"treated": e.adjusted_treated, "control": e.adjusted_control,
                         "diff": e.adjusted_diff, "ci": [e.adjusted_low, e.adjusted_high],
                         "ratio": e.adjusted_ratio},
            "p_value": e.p_value,
            "q_value": e.q_value,
            "e_value": e.e_value,
            "e_value_ci": e.e_value_ci,
            "diagnostics": {
                "n_observable": e.n_observable,
                "ess": {"treated": e.ess_treated, "control": e.ess_control},
                "share_at_clip": e.clipped,
                "within_stratum": e.within_stratum,
                "events": {"treated": e.events_treated, "control": e.events_control},
                "smd": [{"covariate": b.covariate, "before": b.before, "after": b.after}
                        for b in e.balance],
                "balanced": e.balanced,
                "overlap": e.overlap,
                "small_sample": e.small_sample,
            },
            "status": e.status,
            "warnings": list(e.warnings),
            "cost": e.cost,
            "ease_of_encouraging": e.ease_of_encouraging,
            "score": e.score,
            "is_hva": e.is_hva,
        }
    )  # fmt: skip
    return out
