r"""The closed loop on a truth-known world: learning policy vs uniform A/B vs oracle, day by day.

Each day a fresh cohort of members arrives at the loop's placements. Every member is passed
through the real eligibility rules (segment rules, regular use, caps) and each of three arms
chooses among the *same* eligible creatives: pooled Thompson sampling retrained every day,
a uniform A/B test of the same creatives, and the oracle that knows the true adoption
probabilities. Outcomes use common random numbers (one uniform per member shared by the
arms), so differences between arms are differences of policy, not of luck.

Rewards are delayed: a decision's reward — the promoted benefit used within ``delay_days``
(7) — is final only when its window closes. Each morning the learning arm retrains on every
decision so far: closed windows with their reward, and open ones the way a real events
table shows them — a success already visible from the day it happens, a "not yet" weighted
by the share of its window's successes that would be visible by now
(:func:`tenure.messaging.rewards.seen_share`, fed to the policy's ``seen`` column); a
default 0 is never assumed for an open window. ``early_rewards=False`` trains on closed
windows only, which leaves the learning arm uniform for the whole first window.
Regret is expected regret, :math:`v(\text{oracle}) - v(\text{chosen})` per decision, with
:math:`v` the true adoption probability (for ``reward="surrogate"``, the expected predicted
retention :math:`p\,h_b + (1 - p)\,h_0`; the oracle maximises the same :math:`v`).

At the end the final learned policy is graded offline: its value estimated by IPS / SNIPS /
DR on the uniform arm's logs and on its own arm's logs (logged propensities), against its
true value on those same members, computed from the true adoption probabilities.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from tenure._types import FloatArray
from tenure.errors import SpecError
from tenure.messaging.cancel_flow import ValueVsDiscount, value_vs_discount
from tenure.messaging.catalogue import Catalogue
from tenure.messaging.creatives import Creative
from tenure.messaging.eligibility import eligible
from tenure.messaging.members import MemberState
from tenure.messaging.policies.thompson import Prior, ThompsonPolicy
from tenure.messaging.rewards import seen_share
from tenure.messaging.surrogate_reward import adoption_rates, open_window_reward
from tenure.results import Result, json_safe
from tenure.simulate import catalogue as model
from tenure.simulate.creatives import CreativeWorld, SimMembers, adoption_day
from tenure.simulate.surrogate_history import fit_surrogate_reward
from tenure.stats.ope import OffPolicyEstimates, evaluate

__all__ = [
    "ARMS",
    "DEMO_DAYS",
    "DEMO_DELAY_DAYS",
    "DEMO_MEMBERS_PER_DAY",
    "LoopResult",
    "Winner",
    "run_closed_loop",
]

ARMS = ("thompson", "uniform", "oracle")
# What the demo runs, and why: four weeks is the length a team gives a messaging test (every
# weekday four times); the reward stays the real one — the promoted benefit used within 7
# days — learned from open windows as successes land (``early_rewards``), not replaced by a
# shorter proxy; 1,000 eligible arrivals a day across the four placements.
DEMO_DAYS, DEMO_MEMBERS_PER_DAY, DEMO_DELAY_DAYS = 28, 1000, 7
P = ParamSpec("P")
R = TypeVar("R")
LOOP_PLACEMENTS = ("signup", "in_context", "home", "email")
CONTEXT = ("placement", "country", "plan")
FACTORS = ("message", "image", "cta")


@dataclass(frozen=True, slots=True)
class Winner:
    """The creative the learned policy favours in one segment, and the oracle's."""

    placement: str
    country: str
    learned: str
    learned_prob: float
    learned_adoption: float
    oracle: str
    oracle_adoption: float


@dataclass(frozen=True, repr=False)
class LoopResult(Result):
    """Daily regret and reward per arm, adoption and retention, winners, OPE vs truth."""

    kind: ClassVar[str] = "messaging_loop"
    arms: tuple[str, ...]
    days: np.ndarray
    cumulative_regret: FloatArray  # (arms, days)
    daily_reward: FloatArray  # (arms, days): realised adoption rate that day
    adoption: FloatArray  # (arms,): realised adoption over the whole run
    expected_adoption: FloatArray  # (arms,): mean true adoption probability of the choices
    retention: FloatArray  # (arms,): mean P(member at the horizon) of the choices
    winners: tuple[Winner, ...]
    ope_uniform: OffPolicyEstimates
    ope_own: OffPolicyEstimates
    true_value_uniform: float
    true_value_own: float
    realised_own: float
    final_version: str
    params: dict[str, Any]
    discount: ValueVsDiscount | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per arm and day: cumulative regret and that day's adoption rate."""
        rows = []
        for a, arm in enumerate(self.arms):
            for d, day in enumerate(self.days):
                rows.append(
                    {"arm": arm, "day": int(day),
                     "cumulative_regret": float(self.cumulative_regret[a, d]),
                     "adoption": float(self.daily_reward[a, d])}
                )  # fmt: skip
        return pd.DataFrame(rows)

    def summary_frame(self) -> pd.DataFrame:
        """One row per arm: total regret, adoption, expected adoption, retention at horizon."""
        return pd.DataFrame(
            {
                "arm": list(self.arms),
                "regret": self.cumulative_regret[:, -1],
                "adoption": self.adoption,
                "expected_adoption": self.expected_adoption,
                "retention": self.retention,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Per-arm summary, daily curves, winners and the OPE check."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "summary": json_safe(self.summary_frame()),
            "rows": json_safe(self.to_frame()),
            "winners": json_safe(list(self.winners)),
            "ope": {
                "final_version": self.final_version,
                "uniform_logs": self.ope_uniform.to_dict(),
                "true_value_uniform_logs": json_safe(self.true_value_uniform),
                "own_logs": self.ope_own.to_dict(),
                "true_value_own_logs": json_safe(self.true_value_own),
                "realised_own_logs": json_safe(self.realised_own),
            },
            "value_vs_discount": None if self.discount is None else self.discount.to_dict(),
        }


@dataclass
class _Log:
    """One arm's decisions (with their eligible sets and true probabilities, for grading)."""

    rows: list[dict[str, Any]]


def _regular_use(
    rng: np.random.Generator, logits: FloatArray, benefits: tuple[str, ...]
) -> list[dict[str, int]]:
    """Some members already use one benefit regularly (chosen by their own adoption odds)."""
    p = 1 / (1 + np.exp(-logits))
    p = np.where(np.isfinite(logits), p, 0.0)
    out: list[dict[str, int]] = []
    has = rng.random(len(p)) < 0.3
    for i in range(len(p)):
        if has[i] and p[i].sum() > 0:
            b = int(rng.choice(len(benefits), p=p[i] / p[i].sum()))
            out.append({benefits[b]: 5})
        else:
            out.append({})
    return out


def _one_blas_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with BLAS capped at one thread.

    The loop's many small solves (a few hundred coefficients) lose far more to thread
    start-up and contention than they gain: its tests ran 8x slower threaded (122 s vs 16 s)
    on a shared two-core machine.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


@_one_blas_thread
def run_closed_loop(
    *,
    days: int = 28,
    members_per_day: int = 2000,
    seed: int = 7,
    delay_days: int = 7,
    exploration: float = 0.05,
    mc_draws: int = 1000,
    horizon_days: int = 180,
    catalogue: Catalogue | None = None,
    alpha: float = 0.05,
    discount_members: int = 20_000,
    prior: Prior | None = None,
    early_rewards: bool = True,
    reward: Literal["adoption", "surrogate"] = "adoption",
    placements: tuple[str, ...] = LOOP_PLACEMENTS,
    posterior_scale: float = 1.0,
) -> LoopResult:
    """Run the three arms for ``days`` days of ``members_per_day`` arrivals each.

    Parameters
    ----------
    days, members_per_day
        Length of the run and daily arrivals (each arm sees the same members).
    seed
        Seeds the world's true creative effects, the arrivals and every draw.
    delay_days
        Days until a decision's reward is joined (its window closes).
    exploration, mc_draws
        The learning policy's exploration floor and Monte Carlo draws per context.
    horizon_days
        Retention is reported at this many days after the decision.
    catalogue
        Defaults to the shipped catalogue.
    alpha
        Level of the OPE intervals.
    prior
        The learning policy's prior (default :class:`~tenure.messaging.policies.thompson.Prior`).
    early_rewards
        Learn from open windows too (successes as they happen, "not yet" weighted by
        :func:`~tenure.messaging.rewards.seen_share`); ``False`` waits for windows to close.
    reward
        What the learning arm is rewarded by: ``adoption`` (the promoted benefit used in the
        window) or ``surrogate`` — retained at the horizon, predicted from that early outcome
        by the surrogate index :func:`tenure.simulate.surrogate_history.fit_surrogate_reward`
        (fitted on historical members of the same world). With ``early_rewards`` an open
        window is learned from too: a use already seen earns its benefit's predicted
        retention, a "not yet" its expected outcome given the adoption model fitted each
        morning on the same decisions
        (:func:`~tenure.messaging.surrogate_reward.open_window_reward`). Regret, and the
        oracle, are then in that reward's units (expected predicted retention).
    placements
        Where members arrive (a small test loop may run one placement).
    posterior_scale
        The learning policy's tempering of Thompson draws
        (:class:`~tenure.messaging.policies.thompson.ThompsonPolicy`); 1 is plain Thompson
        sampling.
    discount_members
        Members in the cancel-flow test of value messaging against a discount run in the
        same world (``0`` skips it); see :func:`tenure.messaging.cancel_flow.value_vs_discount`.
    """
    if reward not in ("adoption", "surrogate"):
        raise SpecError(f"reward: expected 'adoption' or 'surrogate', got {reward!r}")
    cat = catalogue or Catalogue.default()
    world = CreativeWorld(cat, seed=seed, horizon_days=horizon_days)
    surrogate = fit_surrogate_reward(world, seed=seed) if reward == "surrogate" else None
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    creatives = {p: cat.creatives(p) for p in placements}
    index = {p: {c.id: j for j, c in enumerate(cs)} for p, cs in creatives.items()}
    grids = {p: world.lift_grid(cs) for p, cs in creatives.items()}
    bidx = {b.id: k for k, b in enumerate(cat.benefits)}
    cbenefit = {p: np.array([bidx[c.benefit] for c in cs]) for p, cs in creatives.items()}
    start = datetime(2026, 1, 5, tzinfo=UTC)

    logs = {arm: _Log([]) for arm in ARMS}
    regret = np.zeros((len(ARMS), days))
    daily = np.zeros((len(ARMS), days))
    retention_sum = np.zeros(len(ARMS))
    adopt_p_sum = np.zeros(len(ARMS))
    n_total = 0
    policy: ThompsonPolicy | None = None
    adoption_model: ThompsonPolicy | None = None
    for day in range(days):
        now = start + timedelta(days=day)
        train_today = _training_frame(logs["thompson"].rows, day, delay_days, early_rewards)
        if train_today is not None and surrogate is not None and early_rewards:
            # open windows: each "not yet" rewarded by its expected outcome, p from adoption
            adoption_model = ThompsonPolicy(FACTORS, CONTEXT, mc_draws=mc_draws, prior=prior).fit(
                train_today, warm_start=adoption_model
            )
            train_today = train_today.assign(
                reward=open_window_reward(
                    train_today["h0"], train_today["hb"], train_today["reward"] > 0,
                    train_today["seen"], adoption_rates(adoption_model, train_today),
                )
            ).drop(columns=["seen"])  # fmt: skip
        if train_today is not None:
            policy = ThompsonPolicy(FACTORS, CONTEXT, exploration=exploration,
                                    mc_draws=mc_draws, prior=prior,
                                    posterior_scale=posterior_scale).fit(train_today,
                                                           warm_start=policy)  # fmt: skip
        members = SimMembers.draw(rng, members_per_day)
        benefits, logits = world.benefit_logits(members)
        usage = _regular_use(rng, logits, benefits)
        places = rng.choice(len(placements), size=members_per_day)
        u = rng.random(members_per_day)
        first_use = adoption_day(rng.random(members_per_day), delay_days)
        day_reward = np.zeros(len(ARMS))
        day_regret = np.zeros(len(ARMS))
        chosen_all: dict[str, list[Creative]] = {arm: [] for arm in ARMS}
        rows_all: list[int] = []
        for i in range(members_per_day):
            place = placements[int(places[i])]
            attrs = members.labels(i)
            state = MemberState(f"d{day}m{i}", attrs, now - timedelta(days=40), now,
                                uses_7d=usage[i], uses_30d=usage[i])  # fmt: skip
            elig = eligible(cat, state, placement=place, context=attrs, now=now)
            if not elig.creatives:
                continue
            cols = np.array([index[place][c.id] for c in elig.creatives])
            co, pl = int(members.country[i]), int(members.plan[i])
            p_true = 1 / (
                1 + np.exp(-(logits[i, cbenefit[place][cols]] + grids[place][co, pl, cols]))
            )
            v_true = p_true  # each eligible creative's expected logged reward (for grading)
            h = np.zeros(0)
            if surrogate is not None:
                codes = np.array([surrogate.index(c.benefit) for c in elig.creatives])
                h = surrogate.table[co, pl]
                v_true = p_true * h[codes] + (1 - p_true) * h[0]
            best = int(np.argmax(v_true))  # the oracle, in the learned reward's units
            ctx = {"placement": place, "country": attrs["country"], "plan": attrs["plan"]}
            picks: dict[str, tuple[int, float]] = {}
            n_e = len(elig.creatives)
            picks["uniform"] = (int(rng.integers(n_e)), 1.0 / n_e)
            if policy is None:
                picks["thompson"] = (int(rng.integers(n_e)), 1.0 / n_e)
            else:
                probs = policy.probabilities(ctx, elig.creatives)
                j = min(int(np.searchsorted(np.cumsum(probs), rng.random() * probs.sum(),
                                            side="right")), n_e - 1)  # fmt: skip
                picks["thompson"] = (j, float(probs[j]))
            picks["oracle"] = (best, 1.0)
            rows_all.append(i)
            for a, arm in enumerate(ARMS):
                j, prop = picks[arm]
                c = elig.creatives[j]
                adopted = float(u[i] < p_true[j])
                day_reward[a] += adopted
                logged = adopted
                if surrogate is not None:
                    code = surrogate.index(c.benefit) if adopted else 0
                    logged = float(surrogate.table[co, pl, code])
                day_regret[a] += v_true[best] - v_true[j]
                adopt_p_sum[a] += p_true[j]
                chosen_all[arm].append(c)
                if arm != "oracle":
                    logs[arm].rows.append(
                        {"day": day, "placement": place, "country": attrs["country"],
                         "plan": attrs["plan"], "message": c.message, "image": c.image,
                         "cta": c.cta, "creative": c.id, "propensity": prop, "reward": logged,
                         "event_day": int(first_use[i]) if adopted else 0,
                         "member": i, "eligible": elig.creatives, "v_true": v_true,
                         "h0": float(h[0]) if h.size else 0.0,
                         "hb": float(h[codes[j]]) if h.size else 0.0}
                    )  # fmt: skip
        n_day = len(rows_all)
        n_total += n_day
        rows = np.array(rows_all, dtype=np.int64)
        for a, arm in enumerate(ARMS):
            if n_day:
                retention_sum[a] += float(
                    world.expected_retention(chosen_all[arm], members, rows).sum()
                )
            daily[a, day] = day_reward[a] / max(n_day, 1)
            regret[a, day] = day_regret[a]
    cumulative = np.cumsum(regret, axis=1)
    # Grade a policy on logs it was not trained on: the final policy learns from the
    # learning arm's decisions before the last ``holdout`` days and is evaluated on those
    # days' decisions (logged propensities) and on the uniform arm's logs.
    holdout = max(1, days // 4)
    train = [r for r in logs["thompson"].rows if r["day"] < days - holdout]
    own = [r for r in logs["thompson"].rows if r["day"] >= days - holdout]
    final = ThompsonPolicy(
        FACTORS,
        CONTEXT,
        exploration=exploration,
        mc_draws=mc_draws,
        posterior_scale=posterior_scale,
    ).fit(pd.DataFrame(train or logs["thompson"].rows), warm_start=policy)
    ope_u, truth_u = _grade(final, logs["uniform"].rows, cat, alpha)
    ope_o, truth_o = _grade(final, own, cat, alpha)
    realised_own = float(np.mean([r["reward"] for r in own])) if own else float("nan")
    return LoopResult(
        arms=ARMS,
        days=np.arange(1, days + 1),
        cumulative_regret=cumulative,
        daily_reward=daily,
        adoption=np.asarray(daily.mean(axis=1), dtype=np.float64),
        expected_adoption=adopt_p_sum / max(n_total, 1),
        retention=retention_sum / max(n_total, 1),
        winners=_winners(final, world, cat, placements),
        ope_uniform=ope_u,
        ope_own=ope_o,
        true_value_uniform=truth_u,
        true_value_own=truth_o,
        realised_own=realised_own,
        final_version=final.version,
        discount=(
            value_vs_discount(
                members=discount_members,
                seed=seed,
                horizon_days=horizon_days,
                alpha=alpha,
                catalogue=cat,
            )
            if discount_members
            else None
        ),
        params={
            "days": days,
            "members_per_day": members_per_day,
            "seed": seed,
            "delay_days": delay_days,
            "exploration": exploration,
            "mc_draws": mc_draws,
            "horizon_days": horizon_days,
            "placements": list(placements),
            "context": list(CONTEXT),
            "factors": list(FACTORS),
            "reward": (
                f"promoted benefit used within {delay_days} days"
                if surrogate is None
                else f"retained at {horizon_days} days, surrogate index of the {delay_days}-day "
                "adoption"
            ),
            "early_rewards": early_rewards,
            "posterior_scale": posterior_scale,
            "alpha": alpha,
            "holdout_days": holdout,
            "catalogue": cat.digest,
        },
    )


def _training_frame(
    rows: list[dict[str, Any]], day: int, window: int, early: bool
) -> pd.DataFrame | None:
    """What the learning arm knows on the morning of ``day`` (None: nothing yet)."""
    cols = ["placement", "country", "plan", *FACTORS, "h0", "hb"]
    if early:
        past = [r for r in rows if r["day"] < day]
        if not past:
            return None
        frame = pd.DataFrame({c: [r[c] for r in past] for c in cols})
        elapsed = day - np.array([r["day"] for r in past], dtype=np.float64)
        first = np.array([r["event_day"] for r in past], dtype=np.float64)
        visible = (first > 0) & (first <= elapsed)
        frame["reward"] = visible.astype(np.float64)
        frame["seen"] = seen_share(elapsed, np.where(visible, first, np.nan), window)
        return frame
    closed = [r for r in rows if r["day"] <= day - window]
    if not closed:
        return None
    return pd.DataFrame({c: [r[c] for r in closed] for c in [*cols, "reward"]})


def _grade(
    policy: ThompsonPolicy, rows: list[dict[str, Any]], cat: Catalogue, alpha: float
) -> tuple[OffPolicyEstimates, float]:
    """OPE of ``policy`` on logged rows, and its true value on the same members.

    The reward model for DM and DR is the final policy's own posterior-mean adoption rate.
    """
    n = len(rows)
    target, truth = np.empty(n), np.empty(n)
    q_chosen, q_target = np.empty(n), np.empty(n)
    q_cache: dict[tuple[str, str, str], dict[str, float]] = {}
    for k, r in enumerate(rows):
        key = (r["placement"], r["country"], r["plan"])
        ctx = dict(zip(CONTEXT, key, strict=True))
        elig: tuple[Creative, ...] = r["eligible"]
        if key not in q_cache:
            allc = cat.creatives(r["placement"])
            q_cache[key] = dict(
                zip((c.id for c in allc), policy.expected_reward(ctx, allc), strict=True)
            )
        q = np.array([q_cache[key][c.id] for c in elig])
        probs = policy.probabilities(ctx, elig)
        j = next(i for i, c in enumerate(elig) if c.id == r["creative"])
        target[k] = probs[j]
        truth[k] = float(probs @ r["v_true"])
        q_chosen[k] = q[j]
        q_target[k] = float(probs @ q)
    est = evaluate(
        np.array([r["reward"] for r in rows]),
        np.array([r["propensity"] for r in rows]),
        target,
        q_chosen=q_chosen,
        q_target=q_target,
        alpha=alpha,
        params={"reward_model": "posterior mean of the evaluated policy"},
    )
    return est, float(truth.mean())


def _winners(
    policy: ThompsonPolicy, world: CreativeWorld, cat: Catalogue, placements: tuple[str, ...]
) -> tuple[Winner, ...]:
    """Per placement × country (plan monthly, no regular use): learned favourite vs oracle's."""
    plan = model.PLANS.index("monthly")
    out: list[Winner] = []
    for place in placements:
        for co, country in enumerate(model.COUNTRIES):
            attrs = {"country": country, "plan": "monthly", "channel": "organic"}
            elig = eligible(cat, None, placement=place, context=attrs,
                            now=datetime(2026, 1, 1, tzinfo=UTC)).creatives  # fmt: skip
            if not elig:
                continue
            members = SimMembers(
                np.array([model.CHANNELS.index("organic")]), np.array([co]), np.array([plan]),
                np.array([1]), np.array([0.0]),
            )  # fmt: skip
            p_true = world.adoption_prob(elig, members, np.array([0]))[0]
            probs = policy.probabilities({"placement": place, "country": country,
                                          "plan": "monthly"}, elig)  # fmt: skip
            j, b = int(np.argmax(probs)), int(np.argmax(p_true))
            out.append(Winner(place, country, elig[j].id, float(probs[j]), float(p_true[j]),
                              elig[b].id, float(p_true[b])))  # fmt: skip
    return tuple(out)
