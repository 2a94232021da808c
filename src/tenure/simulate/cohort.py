"""One chunk of the world in memory: members, their pre-drawn randomness and outcomes.

A `Cohort` holds everything drawn for a chunk (attributes, day-0 activity, adoption and churn
uniforms, experiment assignments) and can re-run the adoption and churn models under any
forced treatment. The factual world is just one such run; truths are others.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def stream(config: WorldConfig, chunk: int, purpose: int) -> np.random.Generator:
    """The generator for one purpose of one chunk; independent of every other chunk."""
    return np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(chunk, purpose)))


def n_periods(config: WorldConfig) -> int:
    """Renewals to simulate: past ``as_of`` by the longest post-exposure horizon (180 d)."""
    days = max((config.as_of - config.start).days + 210, max(config.horizons_days) + 30)
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

    def __len__(self) -> int:
        return len(self.members)

    def adoption(self, rows: IntArray, assign: ex.Assignments) -> BoolArray:
        """Early adoption of members `rows` under `assign` (theirs), same uniforms."""
        return adoption_under(
            self.members.take(rows), self.d0[rows], self.adopt_u.adopt[rows], assign
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
        feats = churn_features(m, days, adopted, assign, periods)
        return ch.end_days(feats, self.churn_u.take(rows))


def adoption_under(
    members: Members, d0: IntArray, u: FloatArray, assign: ex.Assignments
) -> BoolArray:
    """Early adoption given attributes, day-0 activity, uniforms and experiment arms."""
    logits = ad.adoption_logits(members, d0, ex.adoption_offsets(assign))
    return ad.adopt(logits, u)


def churn_features(
    members: Members,
    first_day: IntArray,
    adopted: BoolArray,
    assign: ex.Assignments,
    periods: int,
) -> ch.ChurnFeatures:
    """Churn-model inputs from attributes, early adoption and experiment arms."""
    return ch.ChurnFeatures(
        static_lp=ch.static_lp(members),
        early_lp=ch.early_lp(members),
        adoption_lp=ch.adoption_lp(adopted, first_day, members.country),
        offsets=ex.churn_offsets(assign, periods),
    )


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
    d0 = ad.day0_opens(stream(config, chunk, STREAM_DAY0), members.z)
    adopt_u = ad.AdoptionUniforms.draw(stream(config, chunk, STREAM_ADOPT), n)
    churn_u = ch.ChurnUniforms.draw(stream(config, chunk, STREAM_CHURN), n, n_periods(config))
    assign = ex.draw_assignments(stream(config, chunk, STREAM_EXPERIMENTS), members, config)
    first_day = ad.first_days(d0, adopt_u)
    adopted = adoption_under(members, d0, adopt_u.adopt, assign)
    periods = churn_u.renew_logit.shape[1]
    end = ch.end_days(churn_features(members, first_day, adopted, assign, periods), churn_u)
    as_of_day = (config.as_of_us - members.signup_us) / US_PER_DAY
    return Cohort(
        chunk, lo, members, d0, adopt_u, first_day, churn_u, assign, adopted, end, as_of_day
    )
