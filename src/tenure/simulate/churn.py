r"""When members leave: one pure function from churn features and uniforms to end times.

A member leaves early (days 1-7) with a small probability that depends on channel and latent
engagement but not on adoption. Otherwise at each renewal ``p`` (day ``30 p``) the member
declines with probability

.. math::
    h_{ip} = \sigma\big(b(p) + \text{static}_i - \textstyle\sum_a \tau_{a} A_{ia}
    - \tau_{pair} P_i + o_{ip}\big),\qquad b(p) = b_0 + b_1 \log p,

where ``static`` holds channel, plan, country and age effects minus ``gamma z``, ``A`` are the
early-adoption indicators, ``P`` the day-0 shipping+video pair and ``o`` experiment offsets.
The same `end_days` runs the real world and every counterfactual, fed the same pre-drawn
uniforms (common random numbers), so truths are differences of re-simulations, not formulas.

Under the ``renewals`` convention (`RenewalSchedule`) the same hazard acts at each member's own
renewal days (28- or 84-day periods, a 14-day trial), membership ends exactly on the declined
renewal and nobody leaves early.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.simulate import catalogue as cat
from tenure.simulate.members import Members

_EFFECTS = cat.effect_matrix()
_PAIR = (cat.action_index(cat.PAIR[0]), cat.action_index(cat.PAIR[1]))


@dataclass(frozen=True, slots=True)
class ChurnUniforms:
    """Pre-drawn uniforms: one per renewal, plus early-exit, early-time and jitter draws."""

    renew_logit: FloatArray  # logit of one uniform per (member, renewal)
    early: FloatArray
    early_time: FloatArray
    jitter: FloatArray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, periods: int) -> ChurnUniforms:
        """Draw the uniforms for `n` members and `periods` renewals."""
        u = rng.random((n, periods))
        # Stored as logits so every counterfactual compares log-odds without a sigmoid.
        renew_logit = np.log(u) - np.log1p(-u)
        return cls(renew_logit, rng.random(n), rng.random(n), rng.random(n))

    def take(self, rows: IntArray) -> ChurnUniforms:
        """The uniforms of a subset of members."""
        return ChurnUniforms(
            self.renew_logit[rows], self.early[rows], self.early_time[rows], self.jitter[rows]
        )


@dataclass(frozen=True, slots=True)
class ChurnFeatures:
    """Per-member inputs of the churn model (everything but the randomness)."""

    static_lp: FloatArray  # attributes and latent engagement
    early_lp: FloatArray  # log-odds of leaving in days 1-7
    adoption_lp: FloatArray  # summed causal effects of early adoption (subtracted)
    offsets: FloatArray  # (members, periods) experiment offsets on the renewal log-odds


@dataclass(frozen=True, slots=True)
class RenewalSchedule:
    """Days from signup of each member's renewals, shaped (members, periods)."""

    days: FloatArray

    def take(self, rows: IntArray) -> RenewalSchedule:
        """The schedule of a subset of members."""
        return RenewalSchedule(self.days[rows])


TRIAL_DAYS = 14.0
SHORT_PERIOD_DAYS = 28.0
LONG_PERIOD_DAYS = 84.0  # the annual plan renews every 12 weeks under the renewals convention


def renewal_schedule(members: Members, periods: int) -> RenewalSchedule:
    """Renewal days under the ``renewals`` convention.

    28-day periods, 84-day for the ``annual`` plan; ``free_trial`` members first convert at the
    end of a 14-day trial, then renew every period.
    """
    annual = members.plan == cat.PLANS.index("annual")
    length = np.where(annual, LONG_PERIOD_DAYS, SHORT_PERIOD_DAYS)
    trial = members.channel == cat.CHANNELS.index("free_trial")
    first = np.where(trial, TRIAL_DAYS, length)
    k = np.arange(periods, dtype=np.float64)
    return RenewalSchedule(first[:, None] + length[:, None] * k[None, :])


def static_lp(members: Members) -> FloatArray:
    """Attribute and engagement part of the renewal log-odds (plus any frailty/cohort shift)."""
    lp = (
        cat.CHURN_CHANNEL[members.channel]
        + cat.CHURN_PLAN[members.plan]
        + cat.CHURN_COUNTRY[members.country]
        + cat.CHURN_AGE[members.age_band]
        - cat.CHURN_GAMMA * members.z
    )
    if members.churn_shift is not None:
        lp = lp + members.churn_shift
    return np.asarray(lp, dtype=np.float64)


def early_lp(members: Members) -> FloatArray:
    """Log-odds of cancelling inside the first week (independent of adoption)."""
    free_trial = members.channel == cat.CHANNELS.index("free_trial")
    social = members.channel == cat.CHANNELS.index("social")
    lp = (
        cat.EARLY_INTERCEPT
        + cat.EARLY_FREE_TRIAL * free_trial
        + cat.EARLY_SOCIAL * social
        + cat.EARLY_Z * members.z
    )
    return np.asarray(lp, dtype=np.float64)


def adoption_lp(adopted: BoolArray, first_day: IntArray, country: IntArray) -> FloatArray:
    """Summed causal effect of early adoption on the retention log-odds.

    Effects add across distinct adopted benefits; the segment-only action counts only in its
    country; the shipping+video pair both first used on day 0 adds a synergy term.
    """
    total = np.einsum("ij,ij->i", adopted.astype(np.float64), _EFFECTS[country])
    i, j = _PAIR
    pair = adopted[:, i] & adopted[:, j] & (first_day[:, i] == 0) & (first_day[:, j] == 0)
    return np.asarray(total + cat.PAIR_SYNERGY_LOGIT * pair, dtype=np.float64)


def renewal_base(periods: int) -> FloatArray:
    """Baseline renewal log-odds ``b(p)`` for p = 1..periods, declining with tenure."""
    p = np.arange(1, periods + 1, dtype=np.float64)
    return cat.CHURN_BASE_INTERCEPT + cat.CHURN_BASE_SLOPE * np.log(p)


def end_days(
    features: ChurnFeatures, uniforms: ChurnUniforms, schedule: RenewalSchedule | None = None
) -> FloatArray:
    """Days from signup to the end of membership (``inf`` if it outlives every renewal).

    Parameters
    ----------
    features : ChurnFeatures
        Per-member log-odds components.
    uniforms : ChurnUniforms
        Pre-drawn uniforms; pass the same ones for every counterfactual.
    schedule : RenewalSchedule, optional
        The ``renewals`` convention: end exactly on the declined renewal, no early exits.

    Returns
    -------
    numpy.ndarray
        Early exits fall in ``[1, 7)``; a declined renewal ``p`` ends membership in
        ``(30 p - 3, 30 p]`` (cancellations take effect just before the renewal charge).
    """
    periods = uniforms.renew_logit.shape[1]
    lp = renewal_base(periods)[None, :] + (features.static_lp - features.adoption_lp)[:, None]
    lp += features.offsets
    churns = uniforms.renew_logit < lp  # u < sigmoid(lp)  <=>  logit(u) < lp
    any_churn = churns.any(axis=1)
    first = np.argmax(churns, axis=1)
    if schedule is not None:
        on_day = np.take_along_axis(schedule.days, first[:, None], axis=1)[:, 0]
        return np.where(any_churn, on_day, np.inf)
    renew_end = cat.RENEWAL_DAYS * (first + 1) - cat.RENEWAL_JITTER_DAYS * uniforms.jitter
    end = np.where(any_churn, renew_end, np.inf)
    early = uniforms.early < 1.0 / (1.0 + np.exp(-features.early_lp))
    return np.where(early, 1.0 + 6.0 * uniforms.early_time, end)
