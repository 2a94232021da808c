"""The knobs of a simulated world: size, seed, calendar and chunking.

Everything that changes the bytes written is here, so a `WorldConfig` plus the package version
identifies a world exactly. The causal structure itself (effects, rates) lives in
`tenure.simulate.catalogue` because it is part of the model, not a run option.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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


def to_us(t: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    delta = t - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


US_PER_DAY = _US_PER_DAY
