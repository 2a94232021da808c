"""One chunk of the world in memory: members, their pre-drawn randomness and outcomes.

A `Cohort` holds everything drawn for a chunk (attributes, day-0 activity, adoption and churn
uniforms, experiment assignments) and can re-run the adoption and churn models under any
forced treatment. The factual world is just one such run; truths are others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.simulate import adoption as ad
from tenure.simulate import churn as ch
from tenure.simulate import experiments as ex
from tenure.simulate.config import US_PER_DAY, WorldConfig
from tenure.simulate.members import Members, draw_members

# Random streams of a chunk, as the last element of its SeedSequence spawn key.
STREAM_MEMBERS, STREAM_DAY0, STREAM_ADOPT, STREAM_CHURN, STREAM_EXPERIMENTS = 0, 1, 2, 3, 4
STREAM_EVENTS, STREAM_TRUTH = 5, 6
# Drawn only when their convention knob is on, so today's world keeps its streams.
STREAM_ACTIVITY, STREAM_FRAILTY = 7, 8


def stream(config: WorldConfig, chunk: int, purpose: int) -> np.random.Generator:
    """The generator for one purpose of one chunk; independent of every other chunk."""
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(chunk, purpose)))


def n_periods(config: WorldConfig) -> int:
    """Renewals to simulate: past ``as_of`` by the longest post-exposure horizon (180 d)."""
    days = max((config.as_of - config.start).days + 210, max(config.horizons_days) + 30)
    if config.renewals:  # the shortest period is then 28 days
        return -(-days // int(ch.SHORT_PERIOD_DAYS)) + 1
    return -(-days // 30) + 1


@dataclass(frozen=True, slots=True)
class Cohort:
    """A chunk of members with all their randomness drawn, and the factual outcomes."""

    chunk: int
    offset: int  # global index of the first member
    members: Members
    d0: IntArray
    adopt_u: ad.AdoptionUniforms
    first_day: IntArray  # (members, actions) day of first use if adopted
    churn_u: ch.ChurnUniforms
    assign: ex.Assignments
    adopted: BoolArray  # factual early adoption
    end: FloatArray  # factual days from signup to end (inf beyond the last renewal)
    as_of_day: FloatArray  # days from signup to as_of
    d0_scale: float = 1.0  # first-session convention: adoption reads min(d0 / scale, 6)
    schedule: ch.RenewalSchedule | None = None  # renewals convention; None = every 30 days

    def __len__(self) -> int:
        return len(self.members)

    def adoption(self, rows: IntArray, assign: ex.Assignments) -> BoolArray:
        """Early adoption of members `rows` under `assign` (theirs), same uniforms."""
        return adoption_under(
            self.members.take(rows),
            self.d0[rows],
            self.adopt_u.adopt[rows],
            assign,
            self.d0_scale,
        )

    def end_under(
        self,
        rows: IntArray,
        adopted: BoolArray,
        assign: ex.Assignments,
        first_day: IntArray | None = None,
    ) -> FloatArray:
        """End days of members `rows` under forced adoption, arms (theirs) and first-use days."""
        periods = self.churn_u.renew_logit.shape[1]
        m = self.members.take(rows)
        days = self.first_day[rows] if first_day is None else first_day
        schedule = None if self.schedule is None else self.schedule.take(rows)
        feats = churn_features(m, days, adopted, assign, periods, schedule)
        return ch.end_days(feats, self.churn_u.take(rows), schedule)


def adoption_under(
    members: Members,
    d0: IntArray,
    u: FloatArray,
    assign: ex.Assignments,
    scale: float = 1.0,
) -> BoolArray:
    """Early adoption given attributes, day-0 activity, uniforms and experiment arms."""
    logits = ad.adoption_logits(members, d0, ex.adoption_offsets(assign), scale)
    return ad.adopt(logits, u)


def churn_features(
    members: Members,
    first_day: IntArray,
    adopted: BoolArray,
    assign: ex.Assignments,
    periods: int,
    schedule: ch.RenewalSchedule | None = None,
) -> ch.ChurnFeatures:
    """Churn-model inputs from attributes, early adoption and experiment arms."""
    early = ch.early_lp(members)
    if schedule is not None:  # churn only at renewals: nobody leaves in the first week
        early = np.full(len(members), -np.inf)
    return ch.ChurnFeatures(
        static_lp=ch.static_lp(members),
        early_lp=early,
        adoption_lp=ch.adoption_lp(adopted, first_day, members.country),
        offsets=ex.churn_offsets(assign, periods, None if schedule is None else schedule.days),
    )


def with_conventions(config: WorldConfig, chunk: int, members: Members) -> Members:
    """Members with the activity multiplier and churn shift their convention knobs ask for."""
    activity = churn_shift = None
    n = len(members)
    if config.activity_tail is not None:
        # Pareto(alpha) scaled to mean one: most members a little below, a few far above.
        alpha = config.activity_tail
        u = stream(config, chunk, STREAM_ACTIVITY).random(n)
        activity = (alpha - 1.0) / alpha * (1.0 - u) ** (-1.0 / alpha)
    if config.frailty_sd > 0:
        churn_shift = stream(config, chunk, STREAM_FRAILTY).normal(0.0, config.frailty_sd, n)
    if config.cohort_trend != 0:
        span = config.end_us - config.start_us
        position = (members.signup_us - config.start_us) / span - 0.5
        trend = -config.cohort_trend * position  # churn log-odds: a renewal gain lowers churn
        churn_shift = trend if churn_shift is None else churn_shift + trend
    if activity is None and churn_shift is None:
        return members
    return replace(members, activity=activity, churn_shift=churn_shift)


def simulate_cohort(config: WorldConfig, chunk: int) -> Cohort:
    """Draw chunk `chunk` of the world and run the factual adoption and churn.

    Parameters
    ----------
    config : WorldConfig
        The world.
    chunk : int
        Chunk number; members ``chunk * chunk_size`` onwards, signing up in the matching
        slice of the signup year (so member ids increase with signup time).

    Returns
    -------
    Cohort
    """
    lo, hi = config.chunk_bounds(chunk)
    n = hi - lo
    span = config.end_us - config.start_us
    t_lo = config.start_us + span * lo // config.n_members
    t_hi = config.start_us + span * hi // config.n_members
    members = draw_members(stream(config, chunk, STREAM_MEMBERS), n, t_lo, t_hi)
    members = with_conventions(config, chunk, members)
    scale = config.first_session_scale
    d0 = ad.day0_opens(stream(config, chunk, STREAM_DAY0), members.z, scale, members.activity)
    adopt_u = ad.AdoptionUniforms.draw(stream(config, chunk, STREAM_ADOPT), n)
    churn_u = ch.ChurnUniforms.draw(stream(config, chunk, STREAM_CHURN), n, n_periods(config))
    periods = churn_u.renew_logit.shape[1]
    schedule = ch.renewal_schedule(members, periods) if config.renewals else None
    assign = ex.draw_assignments(
        stream(config, chunk, STREAM_EXPERIMENTS),
        members,
        config,
        None if schedule is None else schedule.days,
    )
    first_day = ad.first_days(d0, adopt_u, scale)
    adopted = adoption_under(members, d0, adopt_u.adopt, assign, scale)
    features = churn_features(members, first_day, adopted, assign, periods, schedule)
    end = ch.end_days(features, churn_u, schedule)
    as_of_day = (config.as_of_us - members.signup_us) / US_PER_DAY
    return Cohort(
        chunk,
        lo,
        members,
        d0,
        adopt_u,
        first_day,
        churn_u,
        assign,
        adopted,
        end,
        as_of_day,
        scale,
        schedule,
    )
