"""Who signs up: member attributes and the latent engagement that drives usage and staying.

Attributes are drawn with the correlations a subscription business sees (the student offer
sells student plans to young members). Latent engagement ``z`` is the unobserved confounder:
it raises usage, day-0 activity and retention alike, and it is never written out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import FloatArray, IntArray
from tenure.simulate import catalogue as cat


@dataclass(frozen=True, slots=True)
class Members:
    """Attributes of one chunk of members, as integer codes into the catalogue tuples."""

    signup_us: IntArray
    channel: IntArray
    country: IntArray
    plan: IntArray
    age_band: IntArray
    fee: FloatArray
    z: FloatArray
    # Convention knobs (None in today's world): a mean-one usage-rate multiplier (heavy-tailed
    # activity) and a churn log-odds shift (unobserved frailty plus cohort trend).
    activity: FloatArray | None = None
    churn_shift: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.signup_us.shape[0])

    def take(self, rows: IntArray) -> Members:
        """The members at positions `rows`."""
        m = self
        return Members(
            m.signup_us[rows],
            m.channel[rows],
            m.country[rows],
            m.plan[rows],
            m.age_band[rows],
            m.fee[rows],
            m.z[rows],
            None if m.activity is None else m.activity[rows],
            None if m.churn_shift is None else m.churn_shift[rows],
        )


def _categorical(rng: np.random.Generator, p: FloatArray, n: int) -> IntArray:
    """Codes drawn from probabilities `p` by inverse CDF (one uniform per member)."""
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1).astype(
        np.int64
    )


def _conditional(
    rng: np.random.Generator, flag: IntArray, p_if: FloatArray, p_else: FloatArray
) -> IntArray:
    """Codes drawn from `p_if` where `flag` else from `p_else` (same uniform stream)."""
    u = rng.random(flag.shape[0])
    codes_if = np.searchsorted(np.cumsum(p_if / p_if.sum()), u, side="right")
    codes_else = np.searchsorted(np.cumsum(p_else / p_else.sum()), u, side="right")
    codes = np.where(flag.astype(bool), codes_if, codes_else)
    return np.minimum(codes, len(p_if) - 1).astype(np.int64)


def draw_members(rng: np.random.Generator, n: int, lo_us: int, hi_us: int) -> Members:
    """Draw `n` members signing up uniformly in ``[lo_us, hi_us)``, sorted by signup.

    Parameters
    ----------
    rng : numpy.random.Generator
        The chunk's member stream.
    n : int
        Number of members.
    lo_us, hi_us : int
        Signup interval in microseconds since the epoch (whole seconds are drawn).

    Returns
    -------
    Members
    """
    span_s = max((hi_us - lo_us) // 1_000_000, 1)
    signup = lo_us + np.sort(rng.integers(0, span_s, n)) * 1_000_000
    channel = _categorical(rng, cat.CHANNEL_P, n)
    country = _categorical(rng, cat.COUNTRY_P, n)
    student_offer = channel == cat.CHANNELS.index("student_offer")
    plan = _conditional(rng, student_offer, cat.PLAN_P_STUDENT_OFFER, cat.PLAN_P_OTHER)
    student_plan = plan == cat.PLANS.index("student")
    age = _conditional(rng, student_plan, cat.AGE_P_STUDENT, cat.AGE_P_OTHER)
    fee = np.round(cat.PLAN_FEE[plan] * cat.COUNTRY_PRICE[country], 2)
    z = cat.Z_SHIFT_CHANNEL[channel] + rng.standard_normal(n)
    return Members(signup, channel, country, plan, age, fee, z)
