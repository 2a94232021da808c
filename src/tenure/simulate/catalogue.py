"""The simulated product: member attributes, benefit actions and their true parameters.

This module is the model card of the world. Every number that shapes behaviour or churn is
declared here, once, so the truth written to ``truth.json`` and the data generated from it
cannot drift apart. Attribute levels are stored as small integer codes; the tuples below give
the code → label mapping used when writing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import FloatArray

CHANNELS = ("organic", "paid_search", "social", "referral", "student_offer", "free_trial")
COUNTRIES = ("US", "GB", "DE", "FR", "JP", "BR")
PLANS = ("monthly", "annual", "student", "family")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")

CHANNEL_P = np.array([0.30, 0.20, 0.15, 0.10, 0.10, 0.15])
COUNTRY_P = np.array([0.40, 0.15, 0.12, 0.10, 0.10, 0.13])
# Plan given channel: the student offer sells student plans, others mostly monthly.
PLAN_P_STUDENT_OFFER = np.array([0.15, 0.0, 0.85, 0.0])
PLAN_P_OTHER = np.array([0.55, 0.25, 0.05, 0.15])
# Age band given plan: student plans are young.
AGE_P_STUDENT = np.array([0.80, 0.20, 0.0, 0.0, 0.0])
AGE_P_OTHER = np.array([0.12, 0.30, 0.25, 0.18, 0.15])

# Fee per 30-day period: plan list price (USD) times a country price index.
PLAN_FEE = np.array([14.99, 11.49, 7.49, 22.99])
COUNTRY_PRICE = np.array([1.00, 0.90, 0.95, 0.95, 1.00, 0.55])

# Latent engagement z ~ Normal(shift[channel], 1); never written out.
Z_SHIFT_CHANNEL = np.array([0.2, 0.0, -0.3, 0.4, 0.0, -0.4])

# Day-0 app.open count ~ Poisson(exp(a + b z)): a strong proxy of z (the confounder's shadow).
DAY0_OPEN_INTERCEPT = 0.25
DAY0_OPEN_Z = 0.9
DAY0_CAP = 6
# app.open after day 0: rate per day, times exp(OPEN_Z * z - OPEN_Z**2 / 2).
OPEN_RATE = 0.125
OPEN_Z = 0.45
# Post-window benefit usage: rate multiplier exp(USE_Z * z - USE_Z**2 / 2); non-adopters
# keep a trickle of usage after the window.
USE_Z = 0.35
NON_ADOPTER_RATE = 0.08

# Shared main effects of attributes on the adoption log-odds (scaled per action).
ADOPT_CHANNEL = np.array([0.10, 0.0, -0.10, 0.20, 0.0, -0.30])
ADOPT_COUNTRY = np.array([0.20, 0.0, -0.10, -0.10, 0.0, -0.20])
ADOPT_PLAN = np.array([0.0, 0.20, -0.10, 0.10])
ADOPT_AGE = np.array([0.15, 0.10, 0.0, -0.10, -0.20])

# First-use day given adoption: P(day 0) = sigmoid(a + b min(day0 opens, 6)), else uniform 1..6.
FIRST_DAY0_INTERCEPT = -0.9
FIRST_DAY0_SLOPE = 0.35

# Churn log-odds at renewal p (day 30p): base(p) + channel + plan + country + age - GAMMA z
# - sum of early-adoption effects + experiment offsets.
CHURN_BASE_INTERCEPT = -1.75
CHURN_BASE_SLOPE = -0.45  # times log(p): hazard declines with tenure
CHURN_CHANNEL = np.array([0.0, 0.15, 0.30, -0.20, 0.20, 0.50])
CHURN_PLAN = np.array([0.0, -1.80, 0.10, -0.40])
CHURN_COUNTRY = np.array([0.0, 0.05, -0.10, 0.0, -0.15, 0.30])
CHURN_AGE = np.array([0.20, 0.10, 0.0, -0.10, -0.15])
CHURN_GAMMA = 0.6
# Early cancellation (days 1-7), independent of adoption.
EARLY_INTERCEPT = -3.6
EARLY_FREE_TRIAL = 1.4
EARLY_SOCIAL = 0.4
EARLY_Z = -0.5
RENEWAL_DAYS = 30
# Cancellations take effect up to this many days before the renewal they decline.
RENEWAL_JITTER_DAYS = 3.0

# Synergy: shipping.order and video.stream both first used on day 0.
PAIR = ("shipping.order", "video.stream")
PAIR_DAY = 0
PAIR_SYNERGY_LOGIT = 0.35


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One benefit action and its true parameters.

    ``logit_effect`` is the causal effect of early adoption on the churn log-odds at every
    later renewal (positive = more retention); ``segment_country`` restricts it to one country.
    """

    action: str
    benefit: str
    name: str
    kind: str  # "causal" | "decoy" | "segment_only" | "null"
    logit_effect: float
    adopt_intercept: float
    adopt_day0_slope: float
    attr_scale: float
    window_extra: float  # extra uses in the window ~ Poisson(window_extra * (1 + 0.2 min(d0, 6)))
    rate: float  # uses per day after the window (adopters)
    value_mean: float  # money saved per use; NaN when the action carries no value
    cost_per_use: float
    template: str
    segment_country: str | None = None


_NAN = float("nan")

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("shipping.order", "shipping", "Free delivery", "causal", 0.40, -1.0, 0.30, 1.0,
               0.8, 0.033, 5.99, 4.10, "Free delivery on {n} orders saved you ${value}"),
    ActionSpec("video.stream", "video", "Video streaming", "causal", 0.30, -0.8, 0.30, 1.0,
               2.0, 0.060, _NAN, 0.35, "You watched {n} videos included in your plan"),
    ActionSpec("music.play", "music", "Music", "decoy", 0.0, -2.2, 0.75, 1.0,
               2.5, 0.080, _NAN, 0.08, "{n} songs played ad-free"),
    ActionSpec("reading.borrow", "reading", "Reading", "causal", 0.20, -2.0, 0.25, 1.0,
               0.6, 0.017, _NAN, 0.60, "You borrowed {n} books at no cost"),
    ActionSpec("grocery.order", "grocery", "Grocery delivery", "segment_only", 0.45, -3.0,
               0.25, 1.0, 0.5, 0.017, 7.99, 5.50,
               "Grocery delivery on {n} orders saved you ${value}", segment_country="US"),
    ActionSpec("photos.upload", "photos", "Photo storage", "causal", 0.10, -1.6, 0.25, 1.0,
               1.5, 0.028, _NAN, 0.01, "{n} photos backed up for free"),
    ActionSpec("family.discount", "family", "Family sharing", "causal", 0.15, -3.4, 0.20, 0.8,
               0.3, 0.006, 4.00, 2.00, "Family discounts saved you ${value}"),
    ActionSpec("student.deal", "student", "Student deals", "null", 0.0, -3.4, 0.20, 0.8,
               0.3, 0.006, 10.00, 3.00, "Student deals saved you ${value}"),
    ActionSpec("gaming.claim", "gaming", "Gaming", "null", 0.0, -2.4, 0.30, 1.0,
               0.5, 0.011, _NAN, 0.50, "You claimed {n} free games"),
    ActionSpec("pharmacy.order", "pharmacy", "Pharmacy", "null", 0.0, -3.6, 0.20, 1.0,
               0.2, 0.006, 6.00, 3.50, "Pharmacy delivery saved you ${value}"),
    ActionSpec("deals.lightning", "deals", "Lightning deals", "null", 0.0, -1.4, 0.35, 1.0,
               0.8, 0.017, 12.00, 0.90, "Member-only deals saved you ${value}"),
    ActionSpec("audio.listen", "audio", "Audiobooks", "causal", 0.05, -2.0, 0.25, 1.0,
               1.0, 0.028, _NAN, 0.40, "{n} audiobook hours included"),
)  # fmt: skip

ACTION_NAMES = tuple(a.action for a in ACTIONS)
N_ACTIONS = len(ACTIONS)
APP_OPEN = "app.open"
# Event action codes: 0 is app.open, 1 + i is ACTIONS[i].
EVENT_ACTIONS = (APP_OPEN, *ACTION_NAMES)
EVENT_BENEFITS: tuple[str | None, ...] = (None, *(a.benefit for a in ACTIONS))
VALUE_MEAN: FloatArray = np.array([_NAN, *(a.value_mean for a in ACTIONS)])
VALUE_SIGMA = 0.25


def action_index(action: str) -> int:
    """Column of `action` in adoption matrices."""
    return ACTION_NAMES.index(action)


def _specific_adoption() -> tuple[dict[int, FloatArray], ...]:
    """Action-specific attribute effects, as (attribute → per-level vector) per action.

    Keyed by attribute position: 0 channel, 1 country, 2 plan, 3 age band.
    """
    out: list[dict[int, FloatArray]] = [{} for _ in ACTIONS]
    out[action_index("grocery.order")][1] = np.array([1.2, 0.0, 0.0, 0.0, 0.0, -0.5])
    out[action_index("pharmacy.order")][1] = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    out[action_index("family.discount")][2] = np.array([0.0, 0.0, -1.0, 2.6])
    out[action_index("student.deal")][2] = np.array([0.0, 0.0, 2.6, -0.5])
    out[action_index("music.play")][3] = np.array([0.5, 0.2, 0.0, -0.2, -0.4])
    out[action_index("gaming.claim")][3] = np.array([0.6, 0.3, 0.0, -0.3, -0.6])
    return tuple(out)


SPECIFIC_ADOPTION = _specific_adoption()


def adoption_tables() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-level adoption log-odds contributions, shaped (levels, actions), per attribute."""
    scale = np.array([a.attr_scale for a in ACTIONS])
    tables = []
    for pos, shared in enumerate((ADOPT_CHANNEL, ADOPT_COUNTRY, ADOPT_PLAN, ADOPT_AGE)):
        t = shared[:, None] * scale[None, :]
        for j, spec in enumerate(SPECIFIC_ADOPTION):
            if pos in spec:
                t[:, j] += spec[pos]
        tables.append(t)
    return tables[0], tables[1], tables[2], tables[3]


def effect_matrix() -> FloatArray:
    """Causal logit effect of early adoption, shaped (countries, actions)."""
    eff = np.zeros((len(COUNTRIES), N_ACTIONS))
    for j, a in enumerate(ACTIONS):
        if a.segment_country is None:
            eff[:, j] = a.logit_effect
        else:
            eff[COUNTRIES.index(a.segment_country), j] = a.logit_effect
    return eff
