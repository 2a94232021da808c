"""Basketly: a grocery-delivery subscription world with known causal truth.

An independent synthetic world (``basketly-v1``) for grading a retention engine on conventions
its authors did not choose: CSV files, opaque shuffled ids, ``Z``-suffixed millisecond
timestamps, events written in global time order (not grouped by member), a mixed benefit
convention (some actions have no benefit), two extra member attributes (one continuous).

Files
-----
``members.csv``  member_id, signup_at, ended_at (empty while a member), channel, country, plan,
                 age_band, fee, household_size, distance_km
``events.csv``   member_id, ts, action, benefit (empty for app.open, recipe.browse and
                 wishlist.add, never for the others), value (money saved, >= 0, may be
                 empty); rows sorted by ts
``benefits.csv`` benefit, name (one row per benefit label used)
``truth.json``   the causal truth (see Truth)

Time
----
Signups are uniform over the 300 days from 2024-09-02T00:00Z; ``as_of`` is 120 days after the
signup window closes (2025-10-27T00:00:00.000Z), so every member is observed for 120-420 days
and members still subscribed then are right-censored (``ended_at`` empty). "Day d" of a member
is ``[signup_at + d days, signup_at + (d + 1) days)``; the window is days 0-6, i.e.
``signup_at <= ts < signup_at + 7 days``. A member is "a member at day d" when ``ended_at`` is
empty or ``ended_at > signup_at + d days``. Nothing is dated before ``signup_at``, at or after
``ended_at``, or at or after ``as_of``.

Causal structure (members independent of each other)
----------------------------------------------------
1. Observed attributes, mutually independent: channel (organic .35, paid_social .30,
   referral .20, partner .15), country (UK .5, DE .3, NL .2), plan (weekly .55, monthly .45),
   age_band (18-24 .15, 25-34 .35, 35-49 .32, 50+ .18), household_size ``hh`` in 1..6
   (.22, .30, .18, .17, .09, .04), distance_km ``dist`` = clip(exp(N(log 6, 0.75)), 1, 40)
   rounded to 0.01 km. ``fee`` = plan price (11.5 weekly, 39 monthly) x country factor
   (UK 1, DE 1.08, NL 1.12) x LogNormal(0, 0.05); fee affects nothing.
2. Latent engagement ``E = L - mean(L) + U``, ``U ~ N(0, 1 - Var L)`` independent of all else,
   ``L = 0.15 (hh - 2.6) - 0.015 (dist - 6) + level shifts`` (``E_LIN``: channel organic 0,
   paid_social -.25, referral +.30, partner +.10; country UK 0, DE +.05, NL -.05; plan
   monthly +.20; age 18-24 -.15, 25-34 0, 35-49 +.10, 50+ +.05), so ``E ~ N(0, 1)``.
3. Window counts, independent across actions given (E, attributes): for action j,
   ``log lambda_j = a_j + b_j E + g_j (hh - 2.6) + d_j (dist - 6)`` and
   ``C_j ~ Poisson(lambda_j)``, except the threshold action (``repeat`` set), a hurdle:
   ``C_j = 0`` with probability ``exp(-lambda_j)``, else ``C_j = 1 + Poisson(repeat)``, whose
   count given use does not depend on E. ``A_j = 1[C_j >= 1]`` is "did j in days 0-6".
   The log volume of a member's other window actions (linear + squared) explains >= 85 % of
   Var E among members with >= 5 window events, for every j.

   ====================  ===========  ======  =====  =====  =====  =====  =========
   action                role         a       b (E)  g (hh) d (km) tau    k / repeat
   ====================  ===========  ======  =====  =====  =====  =====  =========
   slot.reserve          true_hva      0.00   1.95   0      0      -0.45  1
   list.reuse            true_hva     -1.80   1.00   1.00   0      -0.40  1
   recipe.browse         decoy         0.45   1.95   0.15   0       0     1
   app.open              decoy         0.35   1.95   0.10   0       0     1
   substitution.accept   harmful       0.00   1.95   0.10   0      +0.30  1
   pantry.restock        threshold    -0.20   1.80   0      0      -0.45  3 / 1.5
   refund.claim          understated  -1.60  -0.30  -0.20   +0.06  -0.40  1
   express.delivery      distance     -1.00   1.00   0      -0.30  -0.12  1
   wishlist.add          null         -1.40   0.50   0      0       0     1
   voucher.share         null         -1.50   0.50   0      0       0     1
   ====================  ===========  ======  =====  =====  =====  =====  =========

   list.reuse is driven mainly by household size, express.delivery by (short) distance,
   refund.claim by low engagement, small households and long distances (all raise churn).
4. Churn in continuous time (cancel at any instant, no billing boundaries): daily hazard
   ``h(t) = (1 + t/30)^(-1/2) exp(eta + tau 1[t >= 7])`` (baseline declining with tenure),
   ``eta = log(0.0042) - 0.12 E - 0.25 (hh - 2.6) + 0.025 (dist - 6) + shifts`` (``CHURN_*``:
   channel organic 0, paid_social +.20, referral -.15, partner +.05; country UK 0, DE -.10,
   NL +.05; plan monthly -.25; age 18-24 +.25, 25-34 +.05, 35-49 -.10, 50+ -.05) and
   ``tau = sum_j tau_j 1[C_j >= k_j]``: window actions act on churn only from day 7 on. About
   3 % of members end in days 0-6.
5. Events after the window: each action at ``POST_RATE sqrt(lambda_j) / 7`` per day until the
   member ends or ``as_of``; they affect nothing. Every event's time within its span is
   uniform (millisecond resolution). ``value`` = round(saved_j x LogNormal(0, 0.5), 2) for
   actions with a benefit (8 % left empty), empty for the others.

Truth
-----
Landmark population: members who are members at day 7 and whose day 7 is at or before
``as_of``. For each action j (``kind`` "action"), ``effect`` = mean over the landmark of
``P(member at day 90 | do(A_j = 1)) - P(member at day 90 | do(A_j = 0))``, every other action
at its factual count, E and the attributes as drawn. ``do(A_j = 0)`` sets ``C_j = 0``.
``do(A_j = 1)`` draws ``C_j`` from the member's own count law given ``C_j >= 1``; only the
threshold action cares about the count, and for it this switches its effect on with
probability ``P(1 + Poisson(1.5) >= 3) = 0.442``. The ``kind`` "threshold" row (``k`` = 3)
contrasts ``do(C_j >= 3)`` with ``do(C_j <= 2)``. Both arms are re-simulated with common
random numbers: one Exp(1) draw per member is the cumulative hazard the member can take
between day 7 and day 90, compared with each arm's (survival to day 7 does not depend on the
arm); the effect averages ``TRUTH_REPS`` such replicate draws. ``naive`` is the difference in
empirical 90-day retention between adopters (``C_j >= k``) and the others, among landmark
members observed >= 90 days (``signup_at + 90 days <= as_of``, here all of them).

Identification: E is the only unobserved common cause of actions and churn. Given the
observed attributes and the volume of the member's other window actions (a tight proxy of E;
with slopes on E nearly equal across the heavy actions it is nearly sufficient for E), an
outcome regression recovers each effect to within about 0.01 on 30,000 members.

Usage: ``python tests/worlds/basket.py OUT --members 30000 --seed 1``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv

WORLD = "basketly-v1"
DAY_MS = 86_400_000
START = np.datetime64("2024-09-02T00:00:00.000", "ms")
SIGNUP_DAYS = 300
AS_OF = START + np.timedelta64((SIGNUP_DAYS + 120) * DAY_MS, "ms")
WINDOW_DAYS = 7
HORIZON_DAYS = 90
TRUTH_REPS = 24
POST_RATE = 0.04
EVENT_CHUNK = 100_000
ADJUST_FOR = ["channel", "country", "plan", "age_band", "household_size", "distance_km"]

CHANNELS = ("organic", "paid_social", "referral", "partner")
CHANNEL_P = (0.35, 0.30, 0.20, 0.15)
COUNTRIES = ("UK", "DE", "NL")
COUNTRY_P = (0.5, 0.3, 0.2)
PLANS = ("weekly", "monthly")
PLAN_P = (0.55, 0.45)
AGE_BANDS = ("18-24", "25-34", "35-49", "50+")
AGE_P = (0.15, 0.35, 0.32, 0.18)
HOUSEHOLD_P = (0.22, 0.30, 0.18, 0.17, 0.09, 0.04)  # sizes 1..6
PRICE = {"weekly": 11.5, "monthly": 39.0}
COUNTRY_PRICE = {"UK": 1.0, "DE": 1.08, "NL": 1.12}

# Engagement from attributes: per-level shifts, and slopes on household size and distance.
E_LIN: dict[str, Any] = {
    "channel": (0.0, -0.25, 0.30, 0.10),
    "country": (0.0, 0.05, -0.05),
    "plan": (0.0, 0.20),
    "age_band": (-0.15, 0.0, 0.10, 0.05),
    "household": 0.15,
    "distance": -0.015,
}

# Churn log hazard.
CHURN_C0 = math.log(0.0042)
CHURN_B_E = -0.12
CHURN_B_HH = -0.25
CHURN_B_DIST = 0.025
CHURN_LEVEL: dict[str, tuple[float, ...]] = {
    "channel": (0.0, 0.20, -0.15, 0.05),
    "country": (0.0, -0.10, 0.05),
    "plan": (0.0, -0.25),
    "age_band": (0.25, 0.05, -0.10, -0.05),
}


@dataclass(frozen=True)
class Action:
    """One action: its count law in days 0-6, its effect on churn and its role."""

    name: str
    benefit: str | None
    role: str
    a: float  # log rate at E = 0, household 2.6, distance 6
    b_e: float
    g_hh: float
    d_dist: float
    tau: float  # log-hazard effect from day 7 on
    k: int = 1  # uses in days 0-6 that switch the effect on
    saved: float = 1.0  # median money saved per use
    repeat: float | None = None  # hurdle: given >= 1 use, C = 1 + Poisson(repeat)


ACTIONS: tuple[Action, ...] = (
    Action("slot.reserve", "reserved_slots", "true_hva", 0.0, 1.95, 0.0, 0.0, -0.45, saved=2.5),
    Action("list.reuse", "saved_lists", "true_hva", -1.8, 1.0, 1.0, 0.0, -0.40, saved=1.2),
    Action("recipe.browse", None, "decoy", 0.45, 1.95, 0.15, 0.0, 0.0),
    Action("app.open", None, "decoy", 0.35, 1.95, 0.10, 0.0, 0.0),
    Action("substitution.accept", "smart_substitutes", "harmful", 0.0, 1.95, 0.10, 0.0, 0.30),
    Action(
        "pantry.restock", "auto_restock", "threshold", -0.2, 1.8, 0.0, 0.0, -0.45, k=3, repeat=1.5
    ),
    Action("refund.claim", "freshness_guarantee", "understated", -1.6, -0.3, -0.2, 0.06, -0.40),
    Action("express.delivery", "express", "distance", -1.0, 1.0, 0.0, -0.30, -0.12, saved=3.0),
    Action("wishlist.add", None, "null", -1.4, 0.5, 0.0, 0.0, 0.0),
    Action("voucher.share", "referral_credit", "null", -1.5, 0.5, 0.0, 0.0, 0.0, saved=5.0),
)
BENEFIT_NAMES = {
    "reserved_slots": "Reserved delivery slots",
    "saved_lists": "Saved shopping lists",
    "smart_substitutes": "Smart substitutes",
    "auto_restock": "Pantry auto-restock",
    "freshness_guarantee": "Freshness guarantee",
    "express": "Express delivery",
    "referral_credit": "Referral credit",
}

Array = npt.NDArray[Any]


def _base_cum(t: Array | float) -> Array:
    """Integral of b(s) = (1 + s/30)^(-1/2) from 0 to t (days)."""
    return 60.0 * (np.sqrt(1.0 + np.asarray(t, dtype=float) / 30.0) - 1.0)


def _base_inv(h: Array) -> Array:
    """The t with _base_cum(t) = h."""
    return 30.0 * ((1.0 + h / 60.0) ** 2 - 1.0)


def draw_population(members: int, rng: np.random.Generator) -> dict[str, Array]:
    """Draw the member-level world: attributes, latent E, window counts, churn times."""
    n = members
    out: dict[str, Array] = {}
    out["channel"] = rng.choice(len(CHANNELS), n, p=CHANNEL_P).astype(np.int8)
    out["country"] = rng.choice(len(COUNTRIES), n, p=COUNTRY_P).astype(np.int8)
    out["plan"] = rng.choice(len(PLANS), n, p=PLAN_P).astype(np.int8)
    out["age_band"] = rng.choice(len(AGE_BANDS), n, p=AGE_P).astype(np.int8)
    hh = rng.choice(len(HOUSEHOLD_P), n, p=HOUSEHOLD_P).astype(np.int8) + 1
    out["household_size"] = hh
    dist = np.round(np.clip(np.exp(rng.normal(math.log(6.0), 0.75, n)), 1.0, 40.0), 2)
    out["distance_km"] = dist
    noise = np.exp(rng.normal(0.0, 0.05, n))
    plan_price = np.array([PRICE[p] for p in PLANS])[out["plan"]]
    country_price = np.array([COUNTRY_PRICE[c] for c in COUNTRIES])[out["country"]]
    out["fee"] = np.round(plan_price * country_price * noise, 2)

    # Latent engagement.
    hh_c = hh - 2.6
    dist_c = dist - 6.0
    lin = E_LIN["household"] * hh_c + E_LIN["distance"] * dist_c
    probs = {"channel": CHANNEL_P, "country": COUNTRY_P, "plan": PLAN_P, "age_band": AGE_P}
    for col, p in probs.items():
        shift = np.asarray(E_LIN[col])
        lin = lin + shift[out[col]] - float(np.dot(shift, p))
    lin = lin - lin.mean()
    var_lin = float(lin.var())
    sd_u = math.sqrt(max(1.0 - var_lin, 0.05))
    e = lin + rng.normal(0.0, sd_u, n)
    out["E"] = e

    # Window counts.
    lam = np.empty((n, len(ACTIONS)))
    for j, act in enumerate(ACTIONS):
        lam[:, j] = np.exp(act.a + act.b_e * e + act.g_hh * hh_c + act.d_dist * dist_c)
    out["lam"] = lam
    counts = rng.poisson(lam).astype(np.int32)
    for j, act in enumerate(ACTIONS):
        if act.repeat is not None:
            extra = rng.poisson(act.repeat, n).astype(np.int32)
            counts[:, j] = np.where(counts[:, j] >= 1, 1 + extra, 0)
    out["counts"] = counts

    # Churn.
    eta = CHURN_C0 + CHURN_B_E * e + CHURN_B_HH * hh_c + CHURN_B_DIST * dist_c
    for col, shift in CHURN_LEVEL.items():
        eta = eta + np.asarray(shift)[out[col]]
    out["eta"] = eta
    out["tau"] = tau_of(out["counts"])
    u_pre = rng.random(n)
    u_post = rng.random(n)
    out["end_days"] = churn_days(eta, out["tau"], u_pre, u_post)
    out["signup_ms"] = (
        START.astype(np.int64) + rng.integers(0, SIGNUP_DAYS * DAY_MS, n, endpoint=False)
    ).astype(np.int64)
    return out


def tau_of(counts: Array) -> Array:
    """The summed log-hazard effect of the window counts."""
    tau = np.zeros(counts.shape[0])
    for j, act in enumerate(ACTIONS):
        if act.tau:
            tau += act.tau * (counts[:, j] >= act.k)
    return tau


def churn_days(eta: Array, tau: Array, u_pre: Array, u_post: Array) -> Array:
    """Time to churn (days): u_pre decides days 0-7, u_post the time after day 7."""
    b7 = float(_base_cum(WINDOW_DAYS))
    t_pre = _base_inv(-np.log(u_pre) * np.exp(-eta))
    t_post = _base_inv(b7 + (-np.log(u_post)) * np.exp(-(eta + tau)))
    return np.where(t_pre < WINDOW_DAYS, t_pre, t_post)


def landmark_mask(pop: dict[str, Array]) -> Array:
    """Members at day 7 whose day 7 is at or before as_of."""
    day7 = pop["signup_ms"] + WINDOW_DAYS * DAY_MS
    return (day7 <= AS_OF.astype(np.int64)) & (pop["end_days"] > WINDOW_DAYS)


def _p_on_given_adopt(act: Action) -> float:
    """P(C >= k | C >= 1): 1 when k = 1, else from the hurdle law C = 1 + Poisson(repeat)."""
    if act.k <= 1:
        return 1.0
    if act.repeat is None:
        raise ValueError(f"{act.name}: a threshold action needs a repeat rate")
    mu = act.repeat
    below = sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(act.k - 1))
    return 1.0 - below


def truth_effects(
    pop: dict[str, Array], rng: np.random.Generator, reps: int = TRUTH_REPS
) -> list[dict[str, Any]]:
    """Counterfactual effects on day-90 membership, by re-simulation with common numbers."""
    lm = landmark_mask(pop)
    eta = pop["eta"][lm]
    counts = pop["counts"][lm]
    tau = pop["tau"][lm]
    gap = float(_base_cum(HORIZON_DAYS) - _base_cum(WINDOW_DAYS))
    obs = observed_mask(pop)[lm]
    retained = pop["end_days"][lm] > HORIZON_DAYS
    rows: list[dict[str, Any]] = []
    contrasts: list[tuple[int, str]] = [(j, "action") for j in range(len(ACTIONS))]
    contrasts += [(j, "threshold") for j, a in enumerate(ACTIONS) if a.k > 1]
    for j, kind in contrasts:
        act = ACTIONS[j]
        on_now = counts[:, j] >= act.k
        tau_rest = tau - act.tau * on_now
        if kind == "action":
            p_on = np.full(len(eta), _p_on_given_adopt(act))
            adopt = counts[:, j] >= 1
        else:
            p_on = np.ones(len(eta))
            adopt = on_now
        total = 0.0
        for _ in range(reps):
            need = -np.log(rng.random(len(eta)))  # the member ends once this is used up
            switch = rng.random(len(eta)) < p_on
            h1 = np.exp(eta + tau_rest + act.tau * switch) * gap
            h0 = np.exp(eta + tau_rest) * gap
            total += float(np.mean((need > h1).astype(float) - (need > h0)))
        naive = float(retained[obs & adopt].mean() - retained[obs & ~adopt].mean())
        rows.append(
            {
                "candidate": act.name,
                "kind": kind,
                "k": 3 if kind == "threshold" else None,
                "role": act.role,
                "effect": round(total / reps, 6),
                "naive": round(naive, 6),
            }
        )
    return rows


def observed_mask(pop: dict[str, Array]) -> Array:
    """Members whose day 90 is at or before as_of."""
    return pop["signup_ms"] + HORIZON_DAYS * DAY_MS <= AS_OF.astype(np.int64)


def _iso(ms: Array) -> pa.Array:
    """Format epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` strings."""
    ms = np.asarray(ms, dtype=np.int64)
    n = len(ms)
    if n == 0:
        return pa.array([], type=pa.string())
    days = ms // DAY_MS
    rem = ms - days * DAY_MS
    d0 = int(days.min())
    table = np.datetime_as_string(np.arange(d0, int(days.max()) + 1).astype("datetime64[D]"))
    table_u8 = np.frombuffer(table.astype("S10").tobytes(), dtype=np.uint8).reshape(-1, 10)
    buf = np.empty((n, 24), dtype=np.uint8)
    buf[:, :10] = table_u8[days - d0]
    buf[:, 10] = ord("T")
    buf[:, 13] = buf[:, 16] = ord(":")
    buf[:, 19] = ord(".")
    buf[:, 23] = ord("Z")
    parts = ((11, rem // 3_600_000, 2), (14, rem // 60_000 % 60, 2), (17, rem // 1000 % 60, 2))
    for pos, val, width in (*parts, (20, rem % 1000, 3)):
        for i in range(width):
            buf[:, pos + width - 1 - i] = 48 + (val // 10**i) % 10
    arr = pa.array(buf.view("S24").ravel())
    return arr.cast(pa.string())


def _write_csv(table: pa.Table, path: Path, header: bool) -> None:
    opts = pcsv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("ab" if not header else "wb") as fh:
        if header:
            fh.write((",".join(table.column_names) + "\n").encode())
        pcsv.write_csv(table, fh, opts)


def _events(pop: dict[str, Array], rng: np.random.Generator) -> tuple[Array, Array, Array]:
    """All events as (member index, ts in ms, action index), sorted by ts."""
    n = len(pop["eta"])
    as_of = AS_OF.astype(np.int64)
    signup = pop["signup_ms"]
    end_ms = np.minimum(np.floor(pop["end_days"] * DAY_MS), (as_of - signup)).astype(np.int64)
    parts = [
        _events_of(lo, pop["counts"][lo:hi], pop["lam"][lo:hi], end_ms[lo:hi], rng)
        for lo, hi in ((lo, min(lo + EVENT_CHUNK, n)) for lo in range(0, n, EVENT_CHUNK))
    ]
    m = np.concatenate([p[0] for p in parts])
    act = np.concatenate([p[1] for p in parts])
    ts = np.concatenate([p[2] for p in parts])
    del parts
    ts += signup[m]
    order = np.argsort(ts, kind="stable")
    return m[order], ts[order], act[order]


def _events_of(
    lo: int, counts: Array, lam: Array, end_ms: Array, rng: np.random.Generator
) -> tuple[Array, Array, Array]:
    """Events of members lo, lo + 1, ...: (member index, action index, ms after signup)."""
    n, n_act = counts.shape
    win_ms = WINDOW_DAYS * DAY_MS
    # Days 0-6: the window counts, dropped once the member has ended (or at as_of).
    cell = np.repeat(np.arange(n * n_act, dtype=np.int64), counts.ravel())
    off = rng.integers(1, win_ms, len(cell))
    keep = off < end_ms[cell // n_act]
    cell1, off1 = cell[keep], off[keep]
    # After the window, until the member ends or as_of.
    post_days = np.maximum(end_ms - win_ms, 0) / DAY_MS
    post_counts = rng.poisson(np.sqrt(lam) * (POST_RATE / WINDOW_DAYS) * post_days[:, None])
    cell2 = np.repeat(np.arange(n * n_act, dtype=np.int64), post_counts.ravel())
    span = (end_ms[cell2 // n_act] - win_ms).astype(float)
    off2 = win_ms + np.floor(rng.random(len(cell2)) * span).astype(np.int64)
    cell = np.concatenate([cell1, cell2])
    member = (lo + cell // n_act).astype(np.int32)
    return member, (cell % n_act).astype(np.int8), np.concatenate([off1, off2])


def _ids(members: int, rng: np.random.Generator) -> Array:
    width = max(6, len(str(members * 10)))
    nums = rng.choice(10**width, members, replace=False)
    return np.char.add("B-", np.char.zfill(nums.astype(str), width))


def generate(out: Path, members: int, seed: int) -> dict[str, Any]:
    """Write the Basketly dataset for `members` members to folder `out`; return the truth."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pop = draw_population(members, rng)
    ids = _ids(members, rng)
    truth_rng = np.random.default_rng([seed, 90])
    effects = truth_effects(pop, truth_rng)

    as_of = AS_OF.astype(np.int64)
    signup = pop["signup_ms"]
    ended = signup + np.floor(pop["end_days"] * DAY_MS).astype(np.int64)
    active = ended >= as_of
    order = rng.permutation(members)
    ended_str = _iso(np.where(active, as_of, ended)[order])
    members_tbl = pa.table(
        {
            "member_id": pa.array(ids[order]),
            "signup_at": _iso(signup[order]),
            "ended_at": pa.array(ended_str.to_numpy(zero_copy_only=False), mask=active[order]),
            "channel": pa.array(np.array(CHANNELS)[pop["channel"][order]]),
            "country": pa.array(np.array(COUNTRIES)[pop["country"][order]]),
            "plan": pa.array(np.array(PLANS)[pop["plan"][order]]),
            "age_band": pa.array(np.array(AGE_BANDS)[pop["age_band"][order]]),
            "fee": pa.array(pop["fee"][order]),
            "household_size": pa.array(pop["household_size"][order].astype(np.int64)),
            "distance_km": pa.array(pop["distance_km"][order]),
        }
    )
    _write_csv(members_tbl, out / "members.csv", header=True)

    m, ts, act = _events(pop, rng)
    id_dict = pa.array(ids)
    names = pa.array([a.name for a in ACTIONS])
    benefit_codes = sorted({a.benefit for a in ACTIONS if a.benefit})
    benefit_of = np.array([benefit_codes.index(a.benefit) if a.benefit else -1 for a in ACTIONS])
    saved = np.array([a.saved for a in ACTIONS])
    chunk = 2_000_000
    header = True
    for lo in range(0, max(len(m), 1), chunk):
        sl = slice(lo, lo + chunk)
        a_ = act[sl]
        b_idx = benefit_of[a_]
        value = np.round(saved[a_] * np.exp(rng.normal(0.0, 0.5, len(a_))), 2)
        no_value = (b_idx < 0) | (rng.random(len(a_)) < 0.08)
        tbl = pa.table(
            {
                "member_id": pa.DictionaryArray.from_arrays(pa.array(m[sl]), id_dict),
                "ts": _iso(ts[sl]),
                "action": pa.DictionaryArray.from_arrays(pa.array(a_.astype(np.int32)), names),
                "benefit": pa.DictionaryArray.from_arrays(
                    pa.array(np.maximum(b_idx, 0).astype(np.int32), mask=b_idx < 0),
                    pa.array(benefit_codes),
                ),
                "value": pa.array(value, mask=no_value),
            }
        )
        _write_csv(tbl, out / "events.csv", header=header)
        header = False
    benefits_tbl = pa.table(
        {"benefit": benefit_codes, "name": [BENEFIT_NAMES[b] for b in benefit_codes]}
    )
    _write_csv(benefits_tbl, out / "benefits.csv", header=True)

    truth = {
        "world": WORLD,
        "seed": seed,
        "as_of": str(AS_OF) + "Z",
        "window_days": WINDOW_DAYS,
        "horizon_days": HORIZON_DAYS,
        "adjust_for": ADJUST_FOR,
        "effects": effects,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def main(argv: list[str] | None = None) -> None:
    """Command line: write a Basketly dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    truth = generate(args.out, args.members, args.seed)
    for row in truth["effects"]:
        print(
            f"{row['candidate']:22s} {row['kind']:9s} {row['role']:11s} "
            f"effect {row['effect']:+.4f}  naive {row['naive']:+.4f}"
        )
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
