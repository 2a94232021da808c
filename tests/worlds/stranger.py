"""Parla: a language-learning subscription with known causal truth, written blind to Tenure.

This generator was written from a short causal spec and Tenure's data contract only, without
reading Tenure's simulator or its high-value-action (HVA) code, so that HVA discovery can be
graded on a world whose conventions its authors did not choose. Its conventions differ from
Tenure's on purpose:

* every event's action maps to a benefit (the ``benefit`` column is never null);
* first weeks are busy and heavy-tailed (median about 45 events in days 0-6, quartiles about
  20 and 90, the top 1% over 500; day 0 alone has a median of about 16, so a fixed cap on
  day-0 counts saturates);
* about a quarter of members used the free tier before paying, so they have events *before*
  ``signup_at`` (the contract keeps them as pre-signup history);
* membership ends only at a billing boundary: a 10-day trial, then 30-day periods (ends fall
  on days 10, 40, 70, 100, ... after signup), plus a 7-day money-back refund inside the window;
* ``age`` and ``fee`` are continuous member columns, ``member_id`` is opaque text.

Causal structure
----------------
Each member has a latent engagement :math:`E` (never written out). It depends on channel,
plan, age and the signup month (January "resolution" signups are less engaged) and drives

(a) activity volume: each action a member takes in days 0-6 is logged
    :math:`1 + \\mathrm{Poisson}(r_j e^{1.2E})` times (``lesson.start``, done by 97% of
    members, carries most of the volume), and free-tier history before signup
    is :math:`\\mathrm{Poisson}(0.35\\,d\\,e^{0.7E})` events over :math:`d` free days;
(b) which of the 14 actions a member takes in the window:
    :math:`P(A_j = 1) = \\operatorname{logit}^{-1}(a_j + g_j E + h_j(\\text{attributes}))`;
(c) churn: the member renews at boundary :math:`k` with probability
    :math:`\\operatorname{logit}^{-1}(c_k + \\eta + \\tau)` where
    :math:`\\eta = 0.85E + \\text{plan} + \\text{age} + \\text{fee} + \\text{channel} +
    \\text{country}` (so plan is a member-attribute effect on churn, not an action effect) and
    :math:`\\tau = \\sum_j \\beta_j A_j + \\beta_{gr} A_g A_r + \\beta_{JP} A_p [\\text{JP}]`
    holds the causal action effects (synergy of ``goal.set`` x ``reminder.enable``; the
    ``phrasebook.open`` effect exists in Japan only).

Roles (``ACTIONS``): three true HVAs with different effects; three decoys with no effect whose
adoption rises steeply with :math:`E`; a harmful action done mostly by engaged members; a
segment-only action; a synergy pair; an action with a real benefit done mostly by struggling
members (``tutorial.watch``, naive lift understates it); three nulls. Timing matters for one
HVA: ``speaking.practice`` loses 12% of its effect per day its first use is delayed (engaged
members try things sooner, so the first-use day is confounded by :math:`E` too).

Identification assumption
-------------------------
Conditional exchangeability given the observed member columns (``country``, ``plan``,
``channel``, ``age``, ``fee``) and the engagement signal carried by the member's own events:
the volume of *other* actions in days 0-6 and the pre-signup history. Given :math:`E` and the
attributes, actions are independent of one another and of the renewal draws, and each
action's own event count depends only on :math:`E`, so the volume of the other actions is a
pre-treatment proxy of :math:`E` while the candidate's own events are a consequence of the
treatment (adjusting for them would open a collider path). :math:`E` is recovered only up to
Poisson noise: the log volume of the other actions explains about 94% of :math:`E`'s variance
(less for members with few events), so a small residual confounding remains. Measured on a 30k
world, a logistic outcome regression on these observables lands within about 0.01 of the same
regression given :math:`E` itself for every action but ``lesson.start``, and within 0.035 of the
truth (``test_an_outcome_regression_on_the_observables_recovers_the_truth``). ``lesson.start``
is the activity itself and near-universal: a positivity trap a method should flag, not score.
Outcomes are right-censored at ``as_of``; there is no cohort trend in the action effects.

Truth
-----
For each candidate, ``effect`` is the mean over the landmark population (members whose day 7
falls before ``as_of`` and who are still members then, i.e. not refunded) of
:math:`P(\\text{member at day 90} \\mid do(\\cdot))` differences, by re-simulating the
renewals with common random numbers: the factual uniform draws plus extra replicate draws,
shared by both arms. ``do(perform)`` sets :math:`A_j = 1` and ``do(not)`` sets
:math:`A_j = 0`, leaving every other action at its factual value (the window's actions touch
only renewals, which start at day 10, so the landmark population is the same in both arms).
For the pair, ``pair_both_vs_neither`` is do(both) - do(neither) and ``pair_both_vs_one`` is
do(both) minus do(exactly one), the one taken in proportion to the members who, in the data,
did only ``goal.set`` or only ``reminder.enable``. A forced first use happens on the member's own
drawn first-use day; ``first_use_day`` entries (``k`` = 0..6, ``speaking.practice``) are
do(first use on day k) - do(not in the window).

Run ``python tests/worlds/stranger.py OUT --members 30000 --seed 1`` to write a world.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

WORLD = "parla-stranger-v1"
WINDOW_DAYS = 7
HORIZON_DAYS = 90
TRIAL_DAYS = 10
PERIOD_DAYS = 30
SIGNUP_START = datetime(2025, 3, 1, tzinfo=UTC)
SIGNUP_DAYS = 365
AS_OF = SIGNUP_START + timedelta(days=SIGNUP_DAYS + 30)
ADJUST_FOR = ("country", "plan", "channel", "age", "fee")

COUNTRIES = ("US", "BR", "DE", "JP", "IN")
COUNTRY_SHARE = (0.35, 0.2, 0.15, 0.15, 0.15)
COUNTRY_PRICE = (1.0, 0.55, 1.05, 1.1, 0.4)  # price index applied to the plan's list fee
COUNTRY_RENEW = (0.0, -0.2, 0.15, 0.1, -0.3)
COUNTRY_AGE = (0.0, -2.0, 3.0, 4.0, -5.0)
PLANS = ("lite", "standard", "family")
PLAN_SHARE = (0.45, 0.4, 0.15)
PLAN_FEE = (7.99, 12.99, 19.99)
PLAN_RENEW = (-0.25, 0.0, 0.35)  # the member-attribute effect on churn
PLAN_ENGAGE = (-0.1, 0.0, 0.15)
CHANNELS = ("organic", "paid_search", "social", "referral", "free_upgrade")
CHANNEL_SHARE = (0.3, 0.2, 0.2, 0.1, 0.2)
CHANNEL_ENGAGE = (0.0, -0.1, -0.25, 0.2, 0.35)
CHANNEL_RENEW = (0.0, 0.0, -0.15, 0.1, 0.25)
RENEW_BASE = (0.9, 1.6, 2.0, 2.3, 2.5)  # logit intercept at boundary k (then the last value)
SYNERGY = 0.45  # extra renewal log-odds for goal.set and reminder.enable together
SEGMENT_COUNTRY = "JP"
SEGMENT_EFFECT = 0.5  # phrasebook.open renewal log-odds, in Japan only
TIMED_ACTION = "speaking.practice"  # its effect fades with the day of first use
TIMING_FADE = 0.12  # share of the effect lost per day of delay (day 6 keeps 28%)
EARLY_BIRD = 0.3  # engaged members try things sooner: first-day decay times exp(0.3 E)
ENGAGE_RENEW = 1.0
VOLUME_SLOPE = 1.2
REPLICATE_DRAWS = 2_000_000  # renewal-draw budget of the re-simulation (members x replicates)
CHUNK = 50_000  # members per block of events (bounds memory on large worlds)
SECONDS_PER_DAY = 86_400
US_PER_S = 1_000_000


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of the world: its benefit, its role and the parameters of its mechanisms.

    ``base``/``engagement`` set the adoption log-odds in the window, ``effect`` the renewal
    log-odds it causes, ``repeat`` its extra events per unit of activity rate, ``decay`` how
    early in the week it happens, ``free_tier`` whether free-tier users can do it.
    """

    name: str
    benefit: str
    role: str
    base: float
    engagement: float
    effect: float
    repeat: float
    decay: float
    free_tier: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("lesson.start", "lessons", "decoy", 4.5, 1.2, 0.0, 40.0, 1.5, True),
    ActionSpec("lesson.complete", "lessons", "decoy", 1.3, 1.3, 0.0, 1.0, 0.5, True),
    ActionSpec("leaderboard.view", "community", "decoy", -0.6, 1.3, 0.0, 0.6, 0.1, True),
    ActionSpec("tutor.book", "live_tutor", "true_hva", -2.0, 0.5, 0.55, 0.1, 0.2),
    ActionSpec("speaking.practice", "speaking", "true_hva", -0.7, 0.7, 0.45, 0.8, 0.2),
    ActionSpec("flashcards.review", "flashcards", "true_hva", 0.0, 0.7, 0.2, 0.8, 0.1, True),
    ActionSpec("hardmode.challenge", "challenges", "harmful", -1.4, 1.5, -0.3, 0.5, 0.05),
    ActionSpec("phrasebook.open", "phrasebook", "segment_only", -1.5, 0.4, 0.0, 0.5, 0.2),
    ActionSpec("goal.set", "goals", "synergy", -0.5, 0.4, 0.05, 0.0, 1.0),
    ActionSpec("reminder.enable", "reminders", "synergy", -0.7, 0.3, 0.05, 0.0, 0.8),
    ActionSpec("tutorial.watch", "onboarding", "understated", -0.8, -1.1, 0.35, 0.2, 0.6),
    ActionSpec("avatar.choose", "profile", "null", -1.0, 0.2, 0.0, 0.0, 0.8),
    ActionSpec("progress.share", "community", "null", -1.8, 0.5, 0.0, 0.1, 0.1),
    ActionSpec("dictionary.lookup", "dictionary", "null", -0.2, 0.4, 0.0, 0.8, 0.1, True),
)
NAMES = tuple(a.name for a in ACTIONS)
PAIR = ("goal.set", "reminder.enable")
SEGMENT_ACTION = "phrasebook.open"


@dataclass(frozen=True, slots=True)
class Members:
    """Member-level draws: attributes, the latent engagement, actions and renewal uniforms."""

    signup_us: IntArray
    country: IntArray
    plan: IntArray
    channel: IntArray
    age: FloatArray
    fee: FloatArray
    engagement: FloatArray
    free_days: IntArray  # 0 when the member has no free-tier history
    adopted: BoolArray  # members x actions, performed in days 0-6
    first_day: FloatArray  # members x actions, when (days after signup) the first use would be
    refund_day: FloatArray  # days after signup of a money-back end, inf when none
    renew_u: FloatArray  # members x boundaries: the factual renewal draws
    extra_u: FloatArray  # members x horizon boundaries x replicates: more draws for the truth
    ended_us: IntArray  # -1 while active at as_of


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def _idx(values: tuple[str, ...], name: str) -> int:
    return values.index(name)


def _adoption_shift(
    country: IntArray, plan: IntArray, channel: IntArray, age: FloatArray, free: BoolArray
) -> FloatArray:
    """Attribute terms h_j of each action's adoption log-odds (members x actions)."""
    shift = np.zeros((country.size, len(ACTIONS)))
    col = {name: k for k, name in enumerate(NAMES)}
    age_c = age - 33.0
    shift[:, col["tutor.book"]] += 0.025 * age_c + 0.5 * (plan != _idx(PLANS, "lite"))
    shift[:, col["hardmode.challenge"]] -= 0.03 * age_c
    shift[:, col["phrasebook.open"]] += 1.2 * (country == _idx(COUNTRIES, "JP"))
    shift[:, col["goal.set"]] += 0.5 * (plan == _idx(PLANS, "family"))
    shift[:, col["reminder.enable"]] += 0.4 * (channel == _idx(CHANNELS, "paid_search"))
    shift[:, col["tutorial.watch"]] += (
        0.02 * age_c - 0.9 * free + 0.3 * (channel == _idx(CHANNELS, "social"))
    )
    shift[:, col["speaking.practice"]] += 0.3 * (country == _idx(COUNTRIES, "DE")) - 0.2 * (
        country == _idx(COUNTRIES, "JP")
    )
    shift[:, col["leaderboard.view"]] += 0.3 * (channel == _idx(CHANNELS, "social"))
    return shift


def _renew_logit(
    m: Members,
    adopted: BoolArray,
    idx: IntArray | None = None,
    first_day: FloatArray | None = None,
) -> FloatArray:
    """Renewal log-odds without the boundary intercept, for members ``idx`` (all when None).

    ``first_day`` overrides the members' own first-use days (members x actions).
    """
    sel: slice | IntArray = slice(None) if idx is None else idx
    days = m.first_day[sel] if first_day is None else first_day
    country, plan, channel = m.country[sel], m.plan[sel], m.channel[sel]
    eta = (
        ENGAGE_RENEW * m.engagement[sel]
        + np.asarray(PLAN_RENEW)[plan]
        + 0.012 * (m.age[sel] - 33.0)
        - 0.05 * (m.fee[sel] - 11.0)
        + np.asarray(CHANNEL_RENEW)[channel]
        + np.asarray(COUNTRY_RENEW)[country]
    )
    effects = np.tile(np.asarray([a.effect for a in ACTIONS]), (adopted.shape[0], 1))
    t = NAMES.index(TIMED_ACTION)
    effects[:, t] *= 1.0 - TIMING_FADE * np.floor(days[:, t])
    tau = np.einsum("ij,ij->i", adopted.astype(np.float64), effects)
    g, r = NAMES.index(PAIR[0]), NAMES.index(PAIR[1])
    tau += SYNERGY * (adopted[:, g] & adopted[:, r])
    in_segment = country == _idx(COUNTRIES, SEGMENT_COUNTRY)
    tau += SEGMENT_EFFECT * (adopted[:, NAMES.index(SEGMENT_ACTION)] & in_segment)
    return np.asarray(eta + tau, dtype=np.float64)


def _renew_base(n_boundaries: int) -> FloatArray:
    base = np.full(n_boundaries, RENEW_BASE[-1])
    base[: min(n_boundaries, len(RENEW_BASE))] = RENEW_BASE[:n_boundaries]
    return base


def _draw_members(n: int, rng: np.random.Generator) -> Members:
    # Signups: a steady flow over the year plus a January "resolution" wave.
    january = rng.random(n) < 0.15
    jan_start = (datetime(2026, 1, 1, tzinfo=UTC) - SIGNUP_START).days
    day = np.where(january, jan_start + rng.random(n) * 31, rng.random(n) * SIGNUP_DAYS)
    start_us = int(SIGNUP_START.timestamp()) * US_PER_S
    signup_us = start_us + np.sort(day * SECONDS_PER_DAY * US_PER_S).astype(np.int64)
    january = (signup_us >= start_us + jan_start * SECONDS_PER_DAY * US_PER_S) & (
        signup_us < start_us + (jan_start + 31) * SECONDS_PER_DAY * US_PER_S
    )
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE).astype(np.int64)
    plan = rng.choice(len(PLANS), n, p=PLAN_SHARE).astype(np.int64)
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_SHARE).astype(np.int64)
    age = np.clip(rng.normal(33.0, 11.0, n) + np.asarray(COUNTRY_AGE)[country], 16.0, 79.0)
    age = np.round(age, 1)
    promo = rng.random(n) < np.where(channel == _idx(CHANNELS, "paid_search"), 0.5, 0.25)
    discount = np.where(promo, rng.uniform(0.5, 0.8, n), 1.0)
    fee = np.round(
        np.asarray(PLAN_FEE)[plan] * np.asarray(COUNTRY_PRICE)[country] * discount, 2
    ).astype(np.float64)
    engagement = (
        0.9 * rng.standard_normal(n)
        + np.asarray(CHANNEL_ENGAGE)[channel]
        + np.asarray(PLAN_ENGAGE)[plan]
        - 0.012 * (age - 33.0)
        - 0.35 * january
    )
    free = (channel == _idx(CHANNELS, "free_upgrade")) | (rng.random(n) < 0.08)
    free_days = np.where(free, rng.integers(7, 121, n), 0).astype(np.int64)
    logits = (
        np.asarray([a.base for a in ACTIONS])
        + np.outer(engagement, [a.engagement for a in ACTIONS])
        + _adoption_shift(country, plan, channel, age, free)
    )
    adopted = rng.random(logits.shape) < _sigmoid(logits)
    decay = (
        np.asarray([a.decay for a in ACTIONS])[None, :] * np.exp(EARLY_BIRD * engagement)[:, None]
    )
    first_day = _day_offsets(decay.ravel(), rng, 0.0, float(WINDOW_DAYS)).reshape(adopted.shape)
    refund = rng.random(n) < _sigmoid(-3.3 - 0.7 * engagement)
    refund_day = np.where(refund, rng.uniform(1.0, WINDOW_DAYS - 0.01, n), np.inf)
    span_days = (int(AS_OF.timestamp()) * US_PER_S - signup_us) / (SECONDS_PER_DAY * US_PER_S)
    n_boundaries = int(np.ceil((span_days.max() - TRIAL_DAYS) / PERIOD_DAYS)) + 1
    replicates = int(np.clip(REPLICATE_DRAWS // max(n, 1), 1, 32))
    renew_u = rng.random((n, n_boundaries))
    extra_u = rng.random((n, _horizon_boundaries(), replicates - 1))
    m = Members(
        signup_us,
        country,
        plan,
        channel,
        age,
        fee,
        engagement,
        free_days,
        adopted,
        first_day,
        refund_day,
        renew_u,
        extra_u,
        np.full(n, -1, dtype=np.int64),
    )
    return _with_ends(m)


def _boundaries(n_boundaries: int) -> IntArray:
    return TRIAL_DAYS + PERIOD_DAYS * np.arange(n_boundaries, dtype=np.int64)


def _with_ends(m: Members) -> Members:
    """The factual end of each membership (replicate 0), censored at as_of."""
    n_b = m.renew_u.shape[1]
    p = _sigmoid(_renew_base(n_b)[None, :] + _renew_logit(m, m.adopted)[:, None])
    lapse = m.renew_u >= p
    # The boundaries cover the whole observation span, so a member who renews at every
    # one of them is still a member at as_of.
    end_day = np.where(lapse.any(axis=1), _boundaries(n_b)[lapse.argmax(axis=1)], 10**6)
    refunded = np.isfinite(m.refund_day)
    day = np.where(refunded, np.where(refunded, m.refund_day, 0.0), end_day.astype(np.float64))
    ended = m.signup_us + (day * SECONDS_PER_DAY * US_PER_S).astype(np.int64)
    as_of_us = int(AS_OF.timestamp()) * US_PER_S
    return dataclasses.replace(m, ended_us=np.where(ended <= as_of_us, ended, -1).astype(np.int64))


def _landmark(m: Members) -> IntArray:
    """Members whose day 7 is observed and who are still members then (not refunded)."""
    as_of_us = int(AS_OF.timestamp()) * US_PER_S
    seen = m.signup_us + WINDOW_DAYS * SECONDS_PER_DAY * US_PER_S <= as_of_us
    return np.flatnonzero(seen & ~np.isfinite(m.refund_day)).astype(np.int64)


def _horizon_boundaries() -> int:
    """How many renewals fall before the horizon (days 10, 40, 70 < 90)."""
    return int(np.sum(_boundaries(100) < HORIZON_DAYS))


def resimulated_survival(
    m: Members, adopted: BoolArray, idx: IntArray, first_day: FloatArray | None = None
) -> FloatArray:
    """P(member at the horizon) per member of ``idx`` under ``adopted``, by re-simulation.

    The same uniforms (the factual ``renew_u`` and the replicate ``extra_u``) serve every
    counterfactual arm: common random numbers, so an arm differs from another only where the
    intervention changes a renewal decision.
    """
    k = _horizon_boundaries()
    p = _sigmoid(_renew_base(k)[None, :] + _renew_logit(m, adopted, idx, first_day)[:, None])
    draws = np.concatenate([m.renew_u[idx, :k, None], m.extra_u[idx]], axis=2)
    renewed = draws < p[:, :, None]
    return np.asarray(renewed.all(axis=1).mean(axis=1), dtype=np.float64)


def expected_survival(m: Members, adopted: BoolArray, idx: IntArray) -> FloatArray:
    """The same probability in closed form (the product of renewal probabilities)."""
    k = _horizon_boundaries()
    p = _sigmoid(_renew_base(k)[None, :] + _renew_logit(m, adopted, idx)[:, None])
    return np.asarray(p.prod(axis=1), dtype=np.float64)


def _set(adopted: BoolArray, idx: IntArray, changes: dict[str, bool]) -> BoolArray:
    out = adopted[idx].copy()
    for name, value in changes.items():
        out[:, NAMES.index(name)] = value
    return out


def _contrast(m: Members, idx: IntArray, one: dict[str, bool], zero: dict[str, bool]) -> float:
    s1 = resimulated_survival(m, _set(m.adopted, idx, one), idx)
    s0 = resimulated_survival(m, _set(m.adopted, idx, zero), idx)
    return float(np.mean(s1 - s0))


def truth_effects(m: Members) -> list[dict[str, Any]]:
    """Every candidate's causal effect on P(member at day 90), by re-simulation (see module)."""
    lm = _landmark(m)
    effects: list[dict[str, Any]] = []

    def add(candidate: str, kind: str, effect: float, role: str, segment: Any = None) -> None:
        effects.append(
            {
                "candidate": candidate,
                "kind": kind,
                "k": None,
                "segment": segment,
                "effect": round(effect, 6),
                "role": role,
            }
        )

    for a in ACTIONS:
        add(a.name, "action", _contrast(m, lm, {a.name: True}, {a.name: False}), a.role)
    g, r = PAIR
    both = resimulated_survival(m, _set(m.adopted, lm, {g: True, r: True}), lm)
    neither = resimulated_survival(m, _set(m.adopted, lm, {g: False, r: False}), lm)
    only_g = resimulated_survival(m, _set(m.adopted, lm, {g: True, r: False}), lm)
    only_r = resimulated_survival(m, _set(m.adopted, lm, {g: False, r: True}), lm)
    ag, ar = m.adopted[lm, NAMES.index(g)], m.adopted[lm, NAMES.index(r)]
    n_g, n_r = int(np.sum(ag & ~ar)), int(np.sum(ar & ~ag))
    w_g = n_g / max(n_g + n_r, 1)
    add(f"{g}+{r}", "pair_both_vs_neither", float(np.mean(both - neither)), "synergy")
    one = w_g * only_g + (1.0 - w_g) * only_r
    add(f"{g}+{r}", "pair_both_vs_one", float(np.mean(both - one)), "synergy")
    t = NAMES.index(TIMED_ACTION)
    never = resimulated_survival(m, _set(m.adopted, lm, {TIMED_ACTION: False}), lm)
    on = _set(m.adopted, lm, {TIMED_ACTION: True})
    for day in range(WINDOW_DAYS):
        first = m.first_day[lm].copy()
        first[:, t] = day + 0.5
        effect = float(np.mean(resimulated_survival(m, on, lm, first) - never))
        effects.append(
            {
                "candidate": TIMED_ACTION,
                "kind": "first_use_day",
                "k": day,
                "segment": None,
                "effect": round(effect, 6),
                "role": "true_hva",
            }
        )
    for c, country in enumerate(COUNTRIES):
        sub = lm[m.country[lm] == c]
        effect = _contrast(m, sub, {SEGMENT_ACTION: True}, {SEGMENT_ACTION: False})
        segment = {"column": "country", "value": country}
        add(SEGMENT_ACTION, "action", effect, "segment_only", segment)
    return effects


def _day_offsets(
    decay: FloatArray, rng: np.random.Generator, lo: float | FloatArray, hi: float
) -> FloatArray:
    """Days after signup in [lo, hi) with density proportional to exp(-decay * day)."""
    u = rng.random(decay.size)
    span = hi - lo
    safe = np.where(decay > 1e-9, decay, 1.0)
    trunc = 1.0 - np.exp(-safe * span)
    x = np.where(decay > 1e-9, -np.log1p(-u * trunc) / safe, u * span)
    return np.asarray(lo + np.minimum(x, span * (1 - 1e-9)), dtype=np.float64)


def _events_block(
    m: Members, lo: int, hi: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Events of members lo..hi-1: (member index, ts in µs, action index, duration_s)."""
    idx = np.arange(lo, hi)
    eng = m.engagement[idx]
    day_us = SECONDS_PER_DAY * US_PER_S
    as_of_us = int(AS_OF.timestamp()) * US_PER_S
    end_us = np.where(m.ended_us[idx] >= 0, m.ended_us[idx], as_of_us)
    repeat = np.asarray([a.repeat for a in ACTIONS])
    decay = np.asarray([a.decay for a in ACTIONS])
    # Days 0-6: every adopted action at least once, more for engaged members.
    # The first use falls on the member's drawn first day, repeats between it and day 7.
    mem, act = np.nonzero(m.adopted[idx])
    first = m.first_day[idx][mem, act]
    extra = rng.poisson(repeat[act] * np.exp(VOLUME_SLOPE * eng[mem]))
    r_mem, r_act = np.repeat(mem, extra), np.repeat(act, extra)
    r_day = _day_offsets(decay[r_act], rng, np.repeat(first, extra), float(WINDOW_DAYS))
    w_mem, w_act = np.concatenate([mem, r_mem]), np.concatenate([act, r_act])
    w_day = np.concatenate([first, r_day])
    # Free-tier history before signup: the free-tier actions, spread over the free days.
    free_actions = np.flatnonzero([a.free_tier for a in ACTIONS])
    free_w = repeat[free_actions] / repeat[free_actions].sum()
    fd = m.free_days[idx]
    n_pre = np.where(fd > 0, rng.poisson(0.35 * fd * np.exp(0.7 * eng)), 0)
    p_mem = np.repeat(np.arange(idx.size), n_pre)
    p_act = free_actions[rng.choice(free_actions.size, p_mem.size, p=free_w)]
    p_day = -(rng.random(p_mem.size) * fd[p_mem]) - 1.0 / 1440.0
    # After the window: a slower habit among the actions the member took up.
    life_days = (end_us - m.signup_us[idx]) / day_us - WINDOW_DAYS
    rate = 0.12 * np.exp(0.6 * eng)
    n_post = rng.poisson(rate * np.clip(life_days, 0.0, None))
    q_mem = np.repeat(np.arange(idx.size), n_post)
    weights = (repeat + 0.5)[None, :] * (m.adopted[idx] + 0.02)
    cum = np.cumsum(weights, axis=1)
    pick = rng.random(q_mem.size) * cum[q_mem, -1]
    q_act = np.empty(q_mem.size, dtype=np.int64)
    step = 1_000_000
    for s in range(0, q_mem.size, step):  # bounded memory for the members x actions search
        q_act[s : s + step] = (cum[q_mem[s : s + step]] < pick[s : s + step, None]).sum(axis=1)
    q_day = WINDOW_DAYS + rng.random(q_mem.size) * np.clip(life_days[q_mem], 0.0, None)
    member = np.concatenate([w_mem, p_mem, q_mem])
    action = np.concatenate([w_act, p_act, q_act]).astype(np.int64)
    day = np.concatenate([w_day, p_day, q_day])
    ts = m.signup_us[idx][member] + (day * day_us).astype(np.int64)
    keep = (ts < end_us[member]) & (ts < as_of_us)
    member, action, ts = member[keep], action[keep], ts[keep]
    duration = np.round(rng.lognormal(4.0, 0.8, member.size), 1)
    order = np.argsort(ts, kind="stable")  # an event log in time order
    return (member[order] + lo).astype(np.int64), ts[order], action[order], duration[order]


def _member_ids(n: int, seed: int) -> list[str]:
    # An affine map modulo 2**32 with an odd multiplier is a bijection: unique opaque ids.
    mult = 2_654_435_761
    offset = (seed * 40_503 + 12_345) % 2**32
    codes = (np.arange(n, dtype=np.uint64) * np.uint64(mult) + np.uint64(offset)) % np.uint64(2**32)
    return [f"px{c:08x}" for c in codes.tolist()]


def _timestamps(us: IntArray) -> pa.Array:
    return pa.array(us, type=pa.timestamp("us", tz="UTC"))


def _write_members(m: Members, ids: pa.Array, path: Path) -> None:
    ended = pa.array(
        np.where(m.ended_us >= 0, m.ended_us, 0),
        type=pa.timestamp("us", tz="UTC"),
        mask=m.ended_us < 0,
    )
    table = pa.table(
        {
            "member_id": ids,
            "signup_at": _timestamps(m.signup_us),
            "ended_at": ended,
            "country": pa.array(np.asarray(COUNTRIES)[m.country].tolist()),
            "plan": pa.array(np.asarray(PLANS)[m.plan].tolist()),
            "channel": pa.array(np.asarray(CHANNELS)[m.channel].tolist()),
            "age": pa.array(m.age),
            "fee": pa.array(m.fee),
        }
    )
    pq.write_table(table, path)


def _blocks(n: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, CHUNK):
        yield lo, min(n, lo + CHUNK)


def _write_events(m: Members, ids: pa.Array, path: Path, seed: int) -> int:
    """Stream the events, block by block, as dictionary-encoded text columns (fast to write)."""
    names = pa.array(NAMES)
    benefit_names = sorted({a.benefit for a in ACTIONS})
    benefit_code = np.asarray([benefit_names.index(a.benefit) for a in ACTIONS], dtype=np.int32)
    text = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema(
        [
            ("member_id", text),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("action", text),
            ("benefit", text),
            ("duration_s", pa.float64()),
        ]
    )
    total = 0
    with pq.ParquetWriter(path, schema) as writer:
        for block, (lo, hi) in enumerate(_blocks(m.signup_us.size)):
            rng = np.random.default_rng([seed, 2, block])
            member, ts, action, duration = _events_block(m, lo, hi, rng)
            columns = [
                pa.DictionaryArray.from_arrays(
                    pa.array((member - lo).astype(np.int32)), ids[lo:hi]
                ),
                _timestamps(ts),
                pa.DictionaryArray.from_arrays(pa.array(action.astype(np.int32)), names),
                pa.DictionaryArray.from_arrays(
                    pa.array(benefit_code[action]), pa.array(benefit_names)
                ),
                pa.array(duration),
            ]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
            total += member.size
    return total


def simulate(members: int, seed: int) -> Members:
    """The member-level draws of a world (no files written): deterministic per seed."""
    if members < 1:
        raise ValueError(f"members must be at least 1 (got {members})")
    return _draw_members(members, np.random.default_rng([seed, 1]))


def generate(out_dir: Path, *, members: int, seed: int) -> dict[str, Any]:
    """Write ``members.parquet``, ``events.parquet``, ``benefits.csv`` and ``truth.json``.

    Returns the truth (the ``truth.json`` document). The same ``members`` and ``seed`` always
    give byte-identical tables.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     truth = generate(Path(d), members=2000, seed=3)
    >>> truth["window_days"], truth["horizon_days"], len(truth["effects"]) > 14
    (7, 90, True)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = simulate(members, seed)
    ids = pa.array(_member_ids(members, seed))
    _write_members(m, ids, out / "members.parquet")
    _write_events(m, ids, out / "events.parquet", seed)
    rows = ["benefit,name,cost_per_use"]
    seen: set[str] = set()
    for a in ACTIONS:
        if a.benefit not in seen:
            seen.add(a.benefit)
            cost = 4.0 if a.benefit == "live_tutor" else 0.0
            rows.append(f"{a.benefit},{a.benefit.replace('_', ' ').title()},{cost}")
    (out / "benefits.csv").write_text("\n".join(rows) + "\n")
    truth: dict[str, Any] = {
        "world": WORLD,
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "window_days": WINDOW_DAYS,
        "horizon_days": HORIZON_DAYS,
        "adjust_for": list(ADJUST_FOR),
        "effects": truth_effects(m),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def main(argv: list[str] | None = None) -> None:
    """Command line: write a world to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    truth = generate(args.out, members=args.members, seed=args.seed)
    for e in truth["effects"]:
        seg = f" [{e['segment']['value']}]" if e["segment"] else ""
        print(f"{e['candidate']:40s} {e['kind']:22s}{seg:6s} {e['effect']:+.4f} {e['role']}")


if __name__ == "__main__":
    main()
