"""The four randomised experiments of the world: who is eligible, which arm, and what it does.

Arms are drawn for every member from the chunk's experiment stream (a fixed number of draws per
member, so the stream never shifts); a member is *exposed* only if eligible and, for the
mid-tenure experiments, still a member when the exposure would happen. Arm effects enter the
adoption model (signup experiments) or the renewal log-odds (discount, recap, upsell), and the
truth is obtained by forcing each arm and re-simulating.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.simulate import catalogue as cat
from tenure.simulate.config import US_PER_DAY, WorldConfig, to_us
from tenure.simulate.members import Members


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    """Static description of one experiment, written to ``truth.json``."""

    name: str
    placement: str
    arms: tuple[str, ...]
    weights: tuple[float, ...]
    countries: tuple[str, ...]
    notes: str


VALUE_MESSAGING = ExperimentSpec(
    "value_messaging",
    "signup",
    ("control", "value_message", "discount_offer"),
    (1 / 3, 1 / 3, 1 / 3),
    ("US", "GB", "DE", "BR"),
    "Exposure at signup for 2025-09-01..2025-10-31 signups. value_message acts only by raising "
    "early adoption of several benefits (a surrogate index on early HVAs sees it); "
    "discount_offer lowers churn at the first renewal only (invisible to the surrogate).",
)
ENCOURAGE_VIDEO = ExperimentSpec(
    "encourage_video",
    "home_banner",
    ("control", "promote_video"),
    (0.5, 0.5),
    ("US", "GB", "FR", "JP"),
    "Exposure at signup for 2025-06-01..2025-07-31 signups. promote_video adds +1.0 to the "
    "log-odds of early video.stream adoption; retention moves only through video.stream.",
)
CANCEL_FLOW_RECAP = ExperimentSpec(
    "cancel_flow_recap",
    "cancel_flow",
    ("control", "recap"),
    (0.5, 0.5),
    cat.COUNTRIES,
    "Exposure when a member opens the cancel flow a week before a renewal (from 2025-07-01). "
    "recap lowers the log-odds of declining that renewal. Split 50/50, but a logging bug drops "
    "~8% of recap exposures from exposures.parquet (sample-ratio mismatch); the truth covers "
    "every exposed member including the unlogged ones.",
)
UPSELL_BANNER = ExperimentSpec(
    "upsell_banner",
    "home_banner",
    ("control", "upsell"),
    (0.5, 0.5),
    ("US", "DE", "JP"),
    "Exposure during 2025-11 to members with >= 30 days tenure. upsell multiplies shipping.order "
    "usage after exposure (primary metric wins) but raises the renewal log-odds of churn at "
    "every later renewal (retention guardrail breach). Pre-exposure usage exists for CUPED.",
)
EXPERIMENTS = (VALUE_MESSAGING, ENCOURAGE_VIDEO, CANCEL_FLOW_RECAP, UPSELL_BANNER)

VM_WINDOW = (datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC))
EV_WINDOW = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC))
CF_START = datetime(2025, 7, 1, tzinfo=UTC)
UP_WINDOW = (datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC))

VALUE_MESSAGE_ADOPTION = {
    "shipping.order": 0.9,
    "video.stream": 0.9,
    "reading.borrow": 0.9,
    "grocery.order": 0.9,
    "photos.upload": 0.6,
    "music.play": 0.6,
}
DISCOUNT_FIRST_RENEWAL = -0.45
PROMOTE_VIDEO_ADOPTION = 1.0
CF_VISIT_INTERCEPT = -0.9
CF_VISIT_Z = -0.8
RECAP_LOGIT = -0.6
CF_LOG_LOSS = 0.08
UP_SHARE = 0.4
UP_MIN_TENURE_DAYS = 30.0
UPSELL_CHURN_LOGIT = 0.35
UPSELL_SHIPPING_MULT = 1.6


@dataclass(frozen=True, slots=True)
class Assignments:
    """Arms and exposure times of one chunk; ``-1`` arm / NaN day where not eligible.

    Mid-tenure days are candidate exposure times (days since signup); the member is exposed
    only if still a member then (``end > day``) and the instant is before ``as_of``.
    """

    vm_arm: IntArray
    ev_arm: IntArray
    cf_arm: IntArray
    cf_day: FloatArray
    cf_period: IntArray  # 1-based renewal the recap acts on, 0 where not eligible
    cf_logged: IntArray  # 0 if the logging bug drops the exposure row
    up_arm: IntArray
    up_day: FloatArray

    def take(self, rows: IntArray) -> Assignments:
        """The assignments of a subset of members."""
        return Assignments(*(getattr(self, f)[rows] for f in Assignments.__slots__))

    def with_arms(self, **arms: IntArray) -> Assignments:
        """A copy with some arm arrays replaced (for forcing arms in counterfactuals)."""
        return replace(self, **cast("dict[str, Any]", arms))


def _arm(u: FloatArray, spec: ExperimentSpec) -> IntArray:
    cdf = np.cumsum(spec.weights)
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(spec.arms) - 1).astype(np.int64)


def _in_countries(country: IntArray, spec: ExperimentSpec) -> BoolArray:
    return np.isin(country, [cat.COUNTRIES.index(c) for c in spec.countries])


def draw_assignments(
    rng: np.random.Generator,
    members: Members,
    config: WorldConfig,
    renewal_days: FloatArray | None = None,
) -> Assignments:
    """Draw eligibility, arms and candidate exposure times for every member of a chunk.

    Latent engagement makes disengaged members likelier to open the cancel flow, a few days
    before a renewal (every 30 days, or the members' own `renewal_days` under the renewals
    convention).
    """
    n = len(members)
    u = rng.random((n, 10))
    s = members.signup_us
    as_of_day = (config.as_of_us - s) / US_PER_DAY

    vm_ok = (s >= to_us(VM_WINDOW[0])) & (s < to_us(VM_WINDOW[1]))
    vm_ok &= _in_countries(members.country, VALUE_MESSAGING)
    vm_arm = np.where(vm_ok, _arm(u[:, 0], VALUE_MESSAGING), -1)
    ev_ok = (s >= to_us(EV_WINDOW[0])) & (s < to_us(EV_WINDOW[1]))
    ev_ok &= _in_countries(members.country, ENCOURAGE_VIDEO)
    ev_arm = np.where(ev_ok, _arm(u[:, 1], ENCOURAGE_VIDEO), -1)

    # Cancel flow: a visit a week before a random renewal >= 2 that falls before as_of.
    if renewal_days is None:
        max_period = np.floor(as_of_day / cat.RENEWAL_DAYS).astype(np.int64)
        period = 2 + (u[:, 2] * np.maximum(max_period - 1, 1)).astype(np.int64)
        cf_day = cat.RENEWAL_DAYS * period - 5.0 - 3.0 * u[:, 3]
    else:
        max_period = (renewal_days <= as_of_day[:, None]).sum(axis=1).astype(np.int64)
        period = 2 + (u[:, 2] * np.maximum(max_period - 1, 1)).astype(np.int64)
        col = np.minimum(period, renewal_days.shape[1]) - 1
        day = np.take_along_axis(renewal_days, col[:, None], axis=1)[:, 0]
        cf_day = day - 5.0 - 3.0 * u[:, 3]
    visit_p = 1.0 / (1.0 + np.exp(-(CF_VISIT_INTERCEPT + CF_VISIT_Z * members.z)))
    cf_abs = s + cf_day * US_PER_DAY
    cf_ok = (u[:, 4] < visit_p) & (max_period >= 2) & (cf_abs >= to_us(CF_START))
    cf_ok &= cf_abs < config.as_of_us
    cf_arm = np.where(cf_ok, _arm(u[:, 5], CANCEL_FLOW_RECAP), -1)
    cf_logged = ((cf_arm != 1) | (u[:, 6] >= CF_LOG_LOSS)).astype(np.int64)

    # Upsell banner: a random instant in November for members with >= 30 days tenure then.
    lo, hi = to_us(UP_WINDOW[0]), to_us(UP_WINDOW[1])
    up_abs = lo + u[:, 7] * (hi - lo)
    up_day = (up_abs - s) / US_PER_DAY
    up_ok = (u[:, 8] < UP_SHARE) & (up_day >= UP_MIN_TENURE_DAYS)
    up_ok &= _in_countries(members.country, UPSELL_BANNER)
    up_arm = np.where(up_ok, _arm(u[:, 9], UPSELL_BANNER), -1)
    return Assignments(
        vm_arm=vm_arm,
        ev_arm=ev_arm,
        cf_arm=cf_arm,
        cf_day=np.where(cf_ok, cf_day, np.nan),
        cf_period=np.where(cf_ok, period, 0),
        cf_logged=cf_logged,
        up_arm=up_arm,
        up_day=np.where(up_ok, up_day, np.nan),
    )


def adoption_offsets(a: Assignments) -> FloatArray:
    """Experiment offsets on the early-adoption log-odds, shaped (members, actions)."""
    off = np.zeros((a.vm_arm.shape[0], cat.N_ACTIONS))
    vm = a.vm_arm == VALUE_MESSAGING.arms.index("value_message")
    for action, delta in VALUE_MESSAGE_ADOPTION.items():
        off[:, cat.action_index(action)] += delta * vm
    ev = a.ev_arm == ENCOURAGE_VIDEO.arms.index("promote_video")
    off[:, cat.action_index("video.stream")] += PROMOTE_VIDEO_ADOPTION * ev
    return off


def churn_offsets(
    a: Assignments, periods: int, renewal_days: FloatArray | None = None
) -> FloatArray:
    """Experiment offsets on the renewal log-odds, shaped (members, periods).

    Each offset touches only renewals after its exposure, so arms never change whether a
    member is still present to be exposed. `renewal_days` (members, periods) is the renewals
    convention's schedule, where membership ends on the renewal day itself.
    """
    n = a.vm_arm.shape[0]
    off = np.zeros((n, periods))
    off[:, 0] += DISCOUNT_FIRST_RENEWAL * (a.vm_arm == 2)
    rows = np.flatnonzero((a.cf_arm == 1) & (a.cf_period <= periods))
    off[rows, a.cf_period[rows] - 1] += RECAP_LOGIT
    if renewal_days is None:
        renewal_day = cat.RENEWAL_DAYS * np.arange(1, periods + 1, dtype=np.float64)
        earliest_end = renewal_day[None, :] - cat.RENEWAL_JITTER_DAYS
    else:
        earliest_end = renewal_days[:, :periods]
    later = earliest_end > np.nan_to_num(a.up_day, nan=np.inf)[:, None]
    off += UPSELL_CHURN_LOGIT * (later & (a.up_arm == 1)[:, None])
    return off
