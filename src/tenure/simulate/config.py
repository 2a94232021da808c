"""The knobs of a simulated world: size, seed, calendar, chunking and data conventions.

Everything that changes the bytes written is here, so a `WorldConfig` plus the package version
identifies a world exactly. The causal structure itself (effects, rates) lives in
`tenure.simulate.catalogue` because it is part of the model, not a run option.

The *convention knobs* (``benefit_labels`` … ``renewals``) change how the world looks, not what
causes what, so a method can be graded on worlds whose conventions its authors did not choose.
Their defaults give today's world byte for byte; ``WorldConfig.variant(name)`` names the
presets tests ask for. Under every knob the truth is still computed by re-simulating the
same model, so ``truth.json`` stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tenure.errors import SpecError

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Options of one simulated world.

    Parameters
    ----------
    n_members : int
        Members who sign up during the year.
    seed : int
        Root seed; the same seed and config give byte-identical files.
    chunk_size : int
        Members simulated and written together (one Parquet row group per chunk). Part of the
        world's identity: the random streams are spawned per chunk.
    start : datetime
        First signup instant (UTC).
    end : datetime
        Signups are uniform on ``[start, end)``.
    as_of : datetime
        End of observation; members still active then are censored (``ended_at`` null).
    window_days : int
        The early-adoption window after signup.
    horizons_days : tuple of int
        Retention horizons (days since signup) at which the truth is computed.
    truth_members : int
        At most this many members (a random subsample) enter the counterfactual truth.
    product_bets : bool
        Also plant a workaround of known size with decoy in-app flows
        (:mod:`tenure.simulate.workarounds`) and abuse in a pilot (:mod:`tenure.simulate.abuse`).
        Off by default: the default world is unchanged.
    benefit_labels : {"mixed", "all", "absent"}
        ``"mixed"``: ``app.open`` events have a null ``benefit`` (today's world); ``"all"``: every
        event is a benefit (``app.open`` maps to the ``app`` benefit); ``"absent"``: the events
        table has no ``benefit`` column at all.
    first_session_scale : float
        Multiplies the day-0 ``app.open`` rate (0.25: small first sessions, 5: large ones). The
        adoption model reads ``min(day-0 opens / scale, 6)``, so the confounder stays observed
        but a fixed cap on raw counts saturates (large) or starves (small).
    activity_tail : float or None
        Pareto tail index of a mean-one per-member activity multiplier on every usage rate
        (day-0 opens included); ``None`` = off. 1.4 gives a few members hundreds of events.
        Activity only: it never enters churn.
    frailty_sd : float
        Standard deviation of an unobserved frailty added to every churn log-odds. It is
        independent of everything else, so it confounds nothing; it only changes churn.
    cohort_trend : float
        Renewal log-odds gained from the first to the last signup (linear in signup time):
        later cohorts retain differently, so estimators that assume no cohort trend under
        censoring are biased.
    renewals : bool
        Churn only at renewals: 28-day periods (84-day for the ``annual`` plan), a 14-day trial
        for ``free_trial`` members, membership ending exactly at the declined renewal and no
        early cancellations.
    """

    n_members: int = 100_000
    seed: int = 7
    chunk_size: int = 100_000
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    end: datetime = datetime(2025, 12, 31, tzinfo=UTC)
    as_of: datetime = datetime(2026, 3, 31, tzinfo=UTC)
    window_days: int = 7
    horizons_days: tuple[int, ...] = (90, 180, 365)
    truth_members: int = 300_000
    product_bets: bool = False
    benefit_labels: Literal["mixed", "all", "absent"] = "mixed"
    first_session_scale: float = 1.0
    activity_tail: float | None = None
    frailty_sd: float = 0.0
    cohort_trend: float = 0.0
    renewals: bool = False

    def __post_init__(self) -> None:
        if self.n_members < 1:
            raise SpecError(f"n_members must be positive, got {self.n_members}")
        if not 1 <= self.chunk_size <= 2**21:
            raise SpecError(f"chunk_size must be in [1, 2_097_152], got {self.chunk_size}")
        for name in ("start", "end", "as_of"):
            if getattr(self, name).tzinfo is None:
                raise SpecError(f"{name} must be timezone-aware (UTC)")
        if not self.start < self.end <= self.as_of:
            raise SpecError("need start < end <= as_of")
        if self.window_days != 7:
            raise SpecError("the simulated adoption model is defined for window_days=7 only")
        if (self.as_of - self.start).days > 4 * 365:
            raise SpecError("start..as_of must span at most four years")
        if self.benefit_labels not in ("mixed", "all", "absent"):
            raise SpecError(
                f"benefit_labels must be 'mixed', 'all' or 'absent', got {self.benefit_labels!r}"
            )
        if not 0.05 <= self.first_session_scale <= 50:
            raise SpecError(
                f"first_session_scale must be in [0.05, 50], got {self.first_session_scale}"
            )
        if self.activity_tail is not None and not self.activity_tail > 1.05:
            raise SpecError(
                f"activity_tail must exceed 1.05 (a mean-one Pareto), got {self.activity_tail}"
            )
        if self.frailty_sd < 0:
            raise SpecError(f"frailty_sd must be non-negative, got {self.frailty_sd}")
        if self.renewals and self.product_bets:
            raise SpecError("renewals=True is not combined with product_bets (30-day timings)")
        if self.benefit_labels != "mixed" and self.product_bets:
            raise SpecError(
                "product_bets plants events without a benefit; use benefit_labels='mixed'"
            )

    @classmethod
    def variant(cls, name: str, **overrides: Any) -> WorldConfig:
        """A preset world by name (see `VARIANTS`), with any other field overridden.

        Examples
        --------
        >>> WorldConfig.variant("renewals", n_members=2_000).renewals
        True
        >>> WorldConfig.variant("default") == WorldConfig()
        True
        """
        if name not in VARIANTS:
            raise SpecError(f"unknown world variant {name!r}; choose from {', '.join(VARIANTS)}")
        return cls(**{**VARIANTS[name], **overrides})

    @property
    def conventions(self) -> dict[str, Any]:
        """The convention knobs that differ from today's world (empty for the default)."""
        default = WorldConfig()
        return {
            f: getattr(self, f)
            for f in CONVENTION_FIELDS
            if getattr(self, f) != getattr(default, f)
        }

    @property
    def n_chunks(self) -> int:
        """Number of member chunks."""
        return -(-self.n_members // self.chunk_size)

    @property
    def start_us(self) -> int:
        """`start` as microseconds since the Unix epoch."""
        return to_us(self.start)

    @property
    def end_us(self) -> int:
        """`end` as microseconds since the Unix epoch."""
        return to_us(self.end)

    @property
    def as_of_us(self) -> int:
        """`as_of` as microseconds since the Unix epoch."""
        return to_us(self.as_of)

    def chunk_bounds(self, k: int) -> tuple[int, int]:
        """Member index range ``[lo, hi)`` of chunk `k`."""
        lo = k * self.chunk_size
        return lo, min(lo + self.chunk_size, self.n_members)


CONVENTION_FIELDS = (
    "benefit_labels",
    "first_session_scale",
    "activity_tail",
    "frailty_sd",
    "cohort_trend",
    "renewals",
)

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "all_benefits": {"benefit_labels": "all"},
    "no_benefit_column": {"benefit_labels": "absent"},
    "small_first_sessions": {"first_session_scale": 0.25},
    "large_first_sessions": {"first_session_scale": 5.0},
    "renewals": {"renewals": True},
    "heavy_tail": {"activity_tail": 1.4},
    "frailty": {"frailty_sd": 1.0},
    "cohort_trend": {"cohort_trend": -2.0},
}
"""Preset convention worlds, by the names tests use."""


def to_us(t: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


US_PER_DAY = _US_PER_DAY
