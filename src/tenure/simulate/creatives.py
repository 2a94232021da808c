r"""A truth-known response of members to benefit creatives, for the messaging closed loop.

Standalone: it reads the simulator's model card (``tenure.simulate.catalogue``) and never
changes it. A member arriving at a placement is shown one creative promoting one benefit;
the probability that they use that benefit within the next 7 days is

.. math::

    \operatorname{logit} P(\text{adopt} \mid c, x) = a_b(x) + \lambda(c, x),

where :math:`a_b(x)` is the simulator's own adoption log-odds of the benefit's action for the
member's channel, country, plan and age band (``adoption_tables``), and the creative's lift
:math:`\lambda` is a sum of true effects of its parts and their interactions with the
segment and placement: message (value-framed messages +0.25), image, call to action,
message × country, message × placement, call to action × placement, image × plan — drawn once
from ``seed``. Adoption then feeds the simulator's causal effect of that benefit on the
renewal log-odds (``effect_matrix``), so retention at the horizon follows from the same
churn model the HVA truth comes from (a member at median engagement, :math:`z = 0`).

A member who adopts uses the benefit first on day :math:`k` of the 7-day window with a
constant daily hazard (``ADOPTION_DAY_HAZARD`` = 0.4, truncated to the window: 41% on day 1,
87% by day 4), the same for every creative — so a success is visible before the window
closes, as it is in a real events table.

The cancel flow answers a different question — value messaging or a discount? A discount
saves more members today (+0.9 on the log-odds of staying) but the members it saves are
price-sensitive and churn faster afterwards (+0.9 on every later renewal log-odds, the
price returns after three months) and it costs money; a value recap saves fewer today
(+0.5, +0.3 more if the member saved money recently) with no later penalty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from scipy import special

from tenure._types import FloatArray, IntArray
from tenure.messaging.catalogue import Catalogue
from tenure.messaging.creatives import Creative
from tenure.simulate import catalogue as model

__all__ = ["CreativeWorld", "SimMembers", "adoption_day", "served_test"]

PLACEMENT_FEATURES = ("signup", "in_context", "home", "email", "cancel_flow")
DISCOUNT_STAY = 0.9
DISCOUNT_LATER_CHURN = 0.9
DISCOUNT_MONTHS = 3
VALUE_STAY = 0.5
VALUE_SAVED_STAY = 0.3
CANCEL_STAY_INTERCEPT = -1.2
ADOPTION_DAY_HAZARD = 0.4


def adoption_day(u: FloatArray, window_days: int = 7) -> IntArray:
    """Day (``1..window_days``) of first use for adopters, from uniforms ``u`` (inverse CDF)."""
    k = np.arange(1, window_days + 1)
    h = ADOPTION_DAY_HAZARD
    cdf = (1 - (1 - h) ** k) / (1 - (1 - h) ** window_days)
    return np.asarray(1 + np.searchsorted(cdf, np.asarray(u), side="left"), dtype=np.int64)


@dataclass(frozen=True, slots=True)
class SimMembers:
    """Members as attribute codes (indices into the simulator's level tuples)."""

    channel: IntArray
    country: IntArray
    plan: IntArray
    age_band: IntArray
    saved_30d: FloatArray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> SimMembers:
        """Members with the simulator's attribute distributions."""
        channel = rng.choice(len(model.CHANNELS), size=n, p=model.CHANNEL_P)
        country = rng.choice(len(model.COUNTRIES), size=n, p=model.COUNTRY_P)
        student = channel == model.CHANNELS.index("student_offer")
        u = rng.random(n)
        plan = np.where(
            student,
            np.searchsorted(np.cumsum(model.PLAN_P_STUDENT_OFFER), u, side="right"),
            np.searchsorted(np.cumsum(model.PLAN_P_OTHER), u, side="right"),
        )
        plan = np.minimum(plan, len(model.PLANS) - 1)
        v = rng.random(n)
        young = plan == model.PLANS.index("student")
        age = np.where(
            young,
            np.searchsorted(np.cumsum(model.AGE_P_STUDENT), v, side="right"),
            np.searchsorted(np.cumsum(model.AGE_P_OTHER), v, side="right"),
        )
        age = np.minimum(age, len(model.AGE_BANDS) - 1)
        saved = np.where(rng.random(n) < 0.45, rng.gamma(2.0, 8.0, n), 0.0)
        return cls(channel, country, plan, age, saved)

    def __len__(self) -> int:
        return int(self.channel.size)

    def labels(self, i: int) -> dict[str, str]:
        """Member ``i``'s attributes as the strings a dataset would hold."""
        return {
            "channel": model.CHANNELS[int(self.channel[i])],
            "country": model.COUNTRIES[int(self.country[i])],
            "plan": model.PLANS[int(self.plan[i])],
            "age_band": model.AGE_BANDS[int(self.age_band[i])],
        }


class CreativeWorld:
    """True adoption and retention responses to the creatives of a catalogue.

    Parameters
    ----------
    catalogue
        The creatives' catalogue; benefits map to the simulator's actions by ``actions``.
    seed
        Draws the true creative effects.
    horizon_days
        Retention is the probability of still being a member this many days after the
        decision.
    """

    def __init__(self, catalogue: Catalogue, *, seed: int = 7, horizon_days: int = 180) -> None:
        self.catalogue = catalogue
        self.seed = seed
        self.horizon_days = horizon_days
        rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
        parts = catalogue.all_creatives
        msgs = sorted({c.message for c in parts})
        imgs = sorted({c.image for c in parts})
        ctas = sorted({c.cta for c in parts})
        nc, npl, npn = len(model.COUNTRIES), len(PLACEMENT_FEATURES), len(model.PLANS)
        value = {c.message: c.frame == "value" for c in parts}
        self._msg = {
            m: (rng.normal(0, 0.35) + 0.25 * value[m], rng.normal(0, 0.35, nc),
                rng.normal(0, 0.35, npl)) for m in msgs
        }  # fmt: skip
        self._img = {i: (rng.normal(0, 0.15), rng.normal(0, 0.2, npn)) for i in imgs}
        self._cta = {c: (rng.normal(0, 0.15), rng.normal(0, 0.25, npl)) for c in ctas}
        tables = model.adoption_tables()
        self._adopt_tables = tables
        self._action = {
            b.id: model.action_index(b.actions[0])
            for b in catalogue.benefits
            if b.actions and b.actions[0] in model.ACTION_NAMES
        }
        self._intercept = np.array([a.adopt_intercept for a in model.ACTIONS])
        self._effects = model.effect_matrix()

    # -- adoption -----------------------------------------------------------------------------
    def lift(
        self, creatives: Sequence[Creative], members: SimMembers, rows: IntArray
    ) -> FloatArray:
        """The creatives' true lift on adoption log-odds, shaped (rows, creatives)."""
        out = np.zeros((rows.size, len(creatives)))
        co, pl = members.country[rows], members.plan[rows]
        for j, c in enumerate(creatives):
            place = PLACEMENT_FEATURES.index(c.placement)
            m0, mc, mp = self._msg[c.message]
            i0, ip = self._img[c.image]
            k0, kp = self._cta[c.cta]
            out[:, j] = m0 + mc[co] + mp[place] + i0 + ip[pl] + k0 + kp[place]
        return out

    def lift_grid(self, creatives: Sequence[Creative]) -> FloatArray:
        """The lift of each creative for every (country, plan), shaped (countries, plans, creatives)."""
        nc, npn = len(model.COUNTRIES), len(model.PLANS)
        out = np.zeros((nc, npn, len(creatives)))
        for j, c in enumerate(creatives):
            place = PLACEMENT_FEATURES.index(c.placement)
            m0, mc, mp = self._msg[c.message]
            i0, ip = self._img[c.image]
            k0, kp = self._cta[c.cta]
            out[:, :, j] = (m0 + mp[place] + i0 + k0 + kp[place]) + mc[:, None] + ip[None, :]
        return out

    def benefit_logits(self, members: SimMembers) -> tuple[tuple[str, ...], FloatArray]:
        """Every member's adoption log-odds of every catalogue benefit (−inf for none)."""
        benefits = tuple(b.id for b in self.catalogue.benefits)
        return benefits, self.base_logit(benefits, members, np.arange(len(members)))

    def base_logit(
        self, benefits: Sequence[str], members: SimMembers, rows: IntArray
    ) -> FloatArray:
        """The simulator's adoption log-odds of each benefit's action, (rows, benefits)."""
        ch_t, co_t, pl_t, ag_t = self._adopt_tables
        out = np.full((rows.size, len(benefits)), -np.inf)
        for j, b in enumerate(benefits):
            a = self._action.get(b)
            if a is None:
                continue
            out[:, j] = (
                self._intercept[a]
                + ch_t[members.channel[rows], a]
                + co_t[members.country[rows], a]
                + pl_t[members.plan[rows], a]
                + ag_t[members.age_band[rows], a]
            )
        return out

    def adoption_prob(
        self, creatives: Sequence[Creative], members: SimMembers, rows: IntArray
    ) -> FloatArray:
        """P(the promoted benefit is used within 7 days | shown each creative), (rows, creatives)."""
        base = self.base_logit([c.benefit for c in creatives], members, rows)
        return np.asarray(special.expit(base + self.lift(creatives, members, rows)))

    # -- retention ------------------------------------------------------------------------------
    def _renewal_lp(self, members: SimMembers, rows: IntArray) -> FloatArray:
        periods = max(1, self.horizon_days // model.RENEWAL_DAYS)
        p = np.arange(1, periods + 1, dtype=np.float64)
        base = model.CHURN_BASE_INTERCEPT + model.CHURN_BASE_SLOPE * np.log(p)
        static = (
            model.CHURN_CHANNEL[members.channel[rows]]
            + model.CHURN_PLAN[members.plan[rows]]
            + model.CHURN_COUNTRY[members.country[rows]]
            + model.CHURN_AGE[members.age_band[rows]]
        )
        return np.asarray(base[None, :] + static[:, None])

    def retention(
        self, benefit: Sequence[str | None], members: SimMembers, rows: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """P(member at the horizon) without and with adopting each row's benefit."""
        lp = self._renewal_lp(members, rows)
        without = np.prod(1 - special.expit(lp), axis=1)
        eff = np.array(
            [
                self._effects[members.country[r], self._action[b]]
                if b is not None and b in self._action
                else 0.0
                for r, b in zip(rows, benefit, strict=True)
            ]
        )
        with_ = np.prod(1 - special.expit(lp - eff[:, None]), axis=1)
        return without, with_

    def expected_retention(
        self, creatives: Sequence[Creative], members: SimMembers, rows: IntArray
    ) -> FloatArray:
        """Each row's P(member at the horizon) when shown its creative (one per row)."""
        adopt = np.array(
            [self.adoption_prob([c], members, np.array([r]))[0, 0]
             for c, r in zip(creatives, rows, strict=True)]
        )  # fmt: skip
        without, with_ = self.retention([c.benefit for c in creatives], members, rows)
        return np.asarray(adopt * with_ + (1 - adopt) * without)

    # -- the cancel flow: value recap or discount ---------------------------------------------
    def cancel_outcomes(
        self, frames: Sequence[str], members: SimMembers, rows: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """P(stays now) and P(member at the horizon), per row, for a cancel-flow frame."""
        lp = self._renewal_lp(members, rows)
        saved = members.saved_30d[rows] > 0
        is_discount = np.array([f == "discount" for f in frames])
        stay_lp = CANCEL_STAY_INTERCEPT + np.where(
            is_discount, DISCOUNT_STAY, VALUE_STAY + VALUE_SAVED_STAY * saved
        )
        stay = special.expit(stay_lp)
        later = lp.copy()
        later[:, DISCOUNT_MONTHS:] += np.where(is_discount, DISCOUNT_LATER_CHURN, 0.0)[:, None]
        after = np.prod(1 - special.expit(later), axis=1)
        return np.asarray(stay), np.asarray(stay * after)


def served_test(
    world: CreativeWorld,
    *,
    members: int = 20_000,
    days: int = 300,
    placement: str = "home",
    window_days: int = 7,
    seed: int = 0,
) -> tuple[dict[str, pd.DataFrame], datetime]:
    """A past uniform test of ``placement``'s creatives, written as contract tables.

    One decision per member on their sign-up day, spread evenly over ``days``; each member
    is shown a creative drawn uniformly from those whose benefit's segment rules they meet
    (the logged ``propensity``). Adoption (one event of the benefit's first action on its
    first-use day, :func:`adoption_day`) and staying to the horizon come from ``world``; a
    member who leaves before the horizon ends on a day drawn uniformly after the window.
    Observation ends ``days`` after the first decision, so early decisions have reached the
    horizon and late ones have not (``ended_at`` is null past ``as_of``). Returns the
    ``members``, ``events`` and ``exposures`` tables and ``as_of``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 41]))
    cat = world.catalogue
    creatives = cat.creatives(placement)
    m = SimMembers.draw(rng, members)
    rows = np.arange(members)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    as_of = start + timedelta(days=days)
    offer: dict[tuple[int, int], IntArray] = {}
    pick = np.empty(members, dtype=np.int64)
    size = np.empty(members, dtype=np.int64)
    for r in rows:
        key = (int(m.country[r]), int(m.plan[r]))
        if key not in offer:
            attrs = {"country": model.COUNTRIES[key[0]], "plan": model.PLANS[key[1]]}
            offer[key] = np.array(
                [j for j, c in enumerate(creatives)
                 if cat.benefit(c.benefit).segment_reason(attrs) is None]
            )  # fmt: skip
        ok = offer[key]
        pick[r], size[r] = ok[rng.integers(ok.size)], ok.size
    shown = [creatives[j] for j in pick]
    p = world.adoption_prob(creatives, m, rows)[rows, pick]
    adopted = rng.random(members) < p
    first = adoption_day(rng.random(members), window_days)
    without, with_ = world.retention([c.benefit for c in shown], m, rows)
    stays = rng.random(members) < np.where(adopted, with_, without)
    ts = start + pd.to_timedelta(rng.uniform(0, days, members), unit="D")
    leave = ts + pd.to_timedelta(
        rng.uniform(window_days + 1, world.horizon_days, members), unit="D"
    )
    ended = pd.Series(leave).where(~stays & (leave <= pd.Timestamp(as_of)))
    ids = [f"s{r}" for r in rows]
    labels = [m.labels(int(r)) for r in rows]
    members_t = pd.DataFrame(
        {"member_id": ids, "signup_at": ts, "ended_at": pd.to_datetime(ended, utc=True),
         "country": [a["country"] for a in labels], "plan": [a["plan"] for a in labels],
         "channel": [a["channel"] for a in labels]}
    )  # fmt: skip
    used = np.flatnonzero(adopted)
    events_t = pd.DataFrame(
        {"member_id": [ids[r] for r in used],
         "ts": ts[used] + pd.to_timedelta(first[used] - 0.5, unit="D"),
         "action": [cat.benefit(shown[r].benefit).actions[0] for r in used],
         "benefit": [shown[r].benefit for r in used]}
    )  # fmt: skip
    events_t = events_t[events_t["ts"] <= as_of]
    exposures_t = pd.DataFrame(
        {"member_id": ids, "ts": ts + pd.Timedelta(minutes=1), "experiment": "uniform-test",
         "variant": [c.id for c in shown], "placement": placement,
         "propensity": 1.0 / size, "decision_id": [f"d{r}" for r in rows],
         "country": members_t["country"], "plan": members_t["plan"]}
    )  # fmt: skip
    return {"members": members_t, "events": events_t, "exposures": exposures_t}, as_of
