"""Checks of the Basketly world (tests/worlds/basket.py) against its specification.

Every test reads the written files as a user would (pandas on the CSVs), or re-derives a figure
of the truth by a second route (closed-form survival instead of re-simulation, the naive lift
from the files instead of the generator's arrays).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import basket
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from tenure.store import ingest

MEMBERS = 30_000
DAY = np.timedelta64(1, "D")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
NO_BENEFIT = {"app.open", "recipe.browse", "wishlist.add"}
MEMBER_COLUMNS = [
    "member_id",
    "signup_at",
    "ended_at",
    "channel",
    "country",
    "plan",
    "age_band",
    "fee",
    "household_size",
    "distance_km",
]


@dataclass
class World:
    folder: Path
    truth: dict[str, Any]
    members: pd.DataFrame  # indexed by member_id; signup_at, ended_at as UTC datetime64[ms]
    events: pd.DataFrame  # as read (text), in file order
    ev_member: np.ndarray  # row of each event's member in `members`
    ev_ts: np.ndarray  # event ts as UTC datetime64[ms]
    counts: pd.DataFrame  # window (days 0-6) counts, members x actions
    as_of: np.datetime64

    @property
    def landmark(self) -> np.ndarray:
        m = self.members
        alive7 = m.ended_at.isna() | (m.ended_at > m.signup_at + 7 * DAY)
        return ((m.signup_at + 7 * DAY <= self.as_of) & alive7).to_numpy()

    @property
    def observed(self) -> np.ndarray:
        return (self.members.signup_at + 90 * DAY <= self.as_of).to_numpy()

    @property
    def retained(self) -> np.ndarray:
        m = self.members
        return (m.ended_at.isna() | (m.ended_at > m.signup_at + 90 * DAY)).to_numpy()


def _utc(col: pd.Series) -> np.ndarray:
    """ISO-8601 text ending in Z (or empty) -> datetime64[ms]; refuses any other suffix."""
    text = col.to_numpy(dtype=str)
    filled = text != ""
    assert np.char.endswith(text[filled], "Z").all()
    out = np.full(len(text), np.datetime64("NaT", "ms"))
    out[filled] = np.char.rstrip(text[filled], "Z").astype("datetime64[ms]")
    return out


def load(folder: Path) -> World:
    truth = json.loads((folder / "truth.json").read_text())
    members = pd.read_csv(folder / "members.csv", dtype=str, keep_default_na=False)
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    members["signup_at"] = _utc(members.signup_at)
    members["ended_at"] = _utc(members.ended_at)
    for c in ("fee", "distance_km"):
        members[c] = members[c].astype(float)
    members["household_size"] = members.household_size.astype(int)
    members = members.set_index("member_id", verify_integrity=True)
    ev_member = members.index.get_indexer(events.member_id)
    ev_ts = _utc(events.ts)
    signup = members.signup_at.to_numpy()[ev_member]
    in_window = (ev_member >= 0) & (ev_ts >= signup) & (ev_ts < signup + 7 * DAY)
    names = sorted(set(events.action))
    code = pd.Categorical(events.action, categories=names).codes
    cell = ev_member[in_window] * len(names) + code[in_window]
    grid = np.bincount(cell, minlength=len(members) * len(names)).reshape(len(members), -1)
    counts = pd.DataFrame(grid, index=members.index, columns=names)
    as_of = np.datetime64(truth["as_of"].rstrip("Z"), "ms")
    return World(folder, truth, members, events, ev_member, ev_ts, counts, as_of)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("basket1")
    basket.generate(folder, MEMBERS, 1)
    return load(folder)


@pytest.fixture(scope="module")
def world2(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("basket2")
    basket.generate(folder, MEMBERS, 2)
    return load(folder)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ta = basket.generate(a, 2_000, 7)
    tb = basket.generate(b, 2_000, 7)
    basket.generate(c, 2_000, 8)
    assert ta == tb
    for name in ("members.csv", "events.csv", "benefits.csv", "truth.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "events.csv").read_bytes() != (c / "events.csv").read_bytes()


def test_headers_and_timestamp_format(world: World) -> None:
    def header(name: str) -> str:
        with (world.folder / name).open() as fh:
            return fh.readline().rstrip("\n")

    assert header("members.csv") == ",".join(MEMBER_COLUMNS)
    assert header("events.csv") == "member_id,ts,action,benefit,value"
    assert header("benefits.csv") == "benefit,name"
    raw_m = pd.read_csv(world.folder / "members.csv", dtype=str, keep_default_na=False)
    raw_e = pd.read_csv(world.folder / "events.csv", dtype=str, keep_default_na=False)
    assert raw_m.signup_at.str.match(TS_RE).all()
    ended = raw_m.ended_at[raw_m.ended_at != ""]
    assert ended.str.match(TS_RE).all()
    assert raw_e.ts.str.match(TS_RE).all()
    assert TS_RE.match(world.truth["as_of"])
    # Fractional milliseconds really vary (not all .000).
    assert raw_e.ts.str[20:23].nunique() > 900


def test_members_table(world: World) -> None:
    m = world.members
    assert len(m) == MEMBERS
    ids = pd.Series(m.index)
    assert ids.is_unique and ids.str.fullmatch(r"B-\d{6,}").all()
    assert not ids.is_monotonic_increasing  # shuffled, not a running number in file order
    assert set(m.channel) == set(basket.CHANNELS) and m.channel.nunique() == 4
    assert set(m.country) == set(basket.COUNTRIES) and m.country.nunique() == 3
    assert set(m.plan) == {"weekly", "monthly"}
    assert set(m.age_band) == {"18-24", "25-34", "35-49", "50+"}
    assert m.household_size.between(1, 6).all() and m.household_size.nunique() == 6
    assert m.distance_km.between(1, 40).all() and m.distance_km.nunique() > 1000
    assert (m.fee > 0).all()
    fee = m.groupby(["plan", "country"]).fee.agg(["mean", "std"])
    assert fee.loc["monthly", "mean"].min() > 2 * fee.loc["weekly", "mean"].max()
    assert (fee["std"] > 0).all()
    assert fee.loc["weekly", "mean"].nunique() == 3
    # ~10 months of signups; as_of at least 120 days after the last; right-censoring.
    span = m.signup_at.max() - m.signup_at.min()
    assert 280 * DAY < span < 320 * DAY
    assert world.as_of >= m.signup_at.max() + 120 * DAY
    assert (m.ended_at.dropna() <= world.as_of).all()
    assert (m.ended_at.dropna() > m.signup_at[m.ended_at.notna()]).all()
    assert 0.3 < m.ended_at.isna().mean() < 0.9
    # Few end in days 0-6, so the day-7 landmark keeps most members.
    early = (m.ended_at < m.signup_at + 7 * DAY).mean()
    assert early < 0.05


def test_events_in_time_order_and_in_bounds(world: World) -> None:
    m, ts, who = world.members, world.ev_ts, world.ev_member
    assert (who >= 0).all()  # every event's member is a member
    assert (np.diff(ts.astype(np.int64)) >= 0).all()  # global time order
    assert (ts >= m.signup_at.to_numpy()[who]).all()
    ended = m.ended_at.to_numpy()[who]
    has_end = ~np.isnat(ended)
    assert (ts[has_end] < ended[has_end]).all()
    assert (ts < world.as_of).all()
    # Not grouped by member: consecutive rows rarely share a member.
    assert (who[1:] == who[:-1]).mean() < 0.05


def test_benefit_convention(world: World) -> None:
    e = world.events
    actions = {a.name for a in basket.ACTIONS}
    assert set(e.action) == actions and len(actions) == 10
    no_benefit = e.action.isin(NO_BENEFIT)
    assert (e.benefit[no_benefit] == "").all()
    assert (e.benefit[~no_benefit] != "").all()
    assert (e.groupby("action").benefit.nunique() == 1).all()  # one label per action
    benefits = pd.read_csv(world.folder / "benefits.csv", dtype=str)
    assert benefits.benefit.is_unique and (benefits.name.str.len() > 0).all()
    assert set(benefits.benefit) == set(e.benefit[~no_benefit])
    value = pd.to_numeric(e.value.replace("", None))
    assert (value.dropna() >= 0).all()
    assert value[no_benefit].isna().all()
    assert 0.02 < value[~no_benefit].isna().mean() < 0.2


def test_first_week_is_sparse(world: World) -> None:
    total = world.counts.sum(axis=1)[world.landmark]
    assert world.landmark.mean() > 0.95
    assert 4 <= total.median() <= 15
    assert total.between(1, 3).mean() > 0.15
    assert total.quantile(0.99) > 100  # some heavy users


def test_roles_and_truth_shape(world: World) -> None:
    t = world.truth
    assert t["world"] == "basketly-v1" and t["seed"] == 1
    assert set(t) == {
        "world",
        "seed",
        "as_of",
        "window_days",
        "horizon_days",
        "adjust_for",
        "effects",
    }
    for r in t["effects"]:
        assert set(r) == {"candidate", "kind", "k", "role", "effect", "naive"}
    assert t["window_days"] == 7 and t["horizon_days"] == 90
    assert set(t["adjust_for"]) == {
        "household_size",
        "distance_km",
        "age_band",
        "channel",
        "country",
        "plan",
    }
    rows = t["effects"]
    assert len(rows) == 11
    roles = [r["role"] for r in rows if r["kind"] == "action"]
    for role, n in [
        ("true_hva", 2),
        ("decoy", 2),
        ("harmful", 1),
        ("threshold", 1),
        ("understated", 1),
        ("distance", 1),
        ("null", 2),
    ]:
        assert roles.count(role) == n, role
    by = {(r["candidate"], r["kind"]): r for r in rows}
    for r in rows:
        if r["role"] in ("decoy", "null"):
            assert r["effect"] == 0.0
        if r["role"] == "true_hva":
            assert r["effect"] > 0.03
    harmful = next(r for r in rows if r["role"] == "harmful")
    assert harmful["effect"] < -0.02 and harmful["naive"] > 0
    understated = next(r for r in rows if r["role"] == "understated")
    assert understated["naive"] < understated["effect"] - 0.02
    thr = by[("pantry.restock", "threshold")]
    assert thr["k"] == 3 and thr["effect"] > by[("pantry.restock", "action")]["effect"] + 0.01


def _naive(world: World, candidate: str, k: int) -> float:
    sel = world.landmark & world.observed
    adopt = world.counts[candidate].to_numpy()[sel] >= k
    kept = world.retained[sel]
    return float(kept[adopt].mean() - kept[~adopt].mean())


def test_naive_lift_recomputed_from_files(world: World) -> None:
    for r in world.truth["effects"]:
        assert _naive(world, r["candidate"], r["k"] or 1) == pytest.approx(r["naive"], abs=2e-6)


def _base_cum(t: float) -> float:
    # Integral of (1 + s/30)^(-1/2), the baseline hazard shape of the docstring.
    return 60.0 * (math.sqrt(1.0 + t / 30.0) - 1.0)


def test_truth_matches_closed_form(world: World) -> None:
    """The re-simulated effects against exact survival probabilities of the latent draw."""
    pop = basket.draw_population(MEMBERS, np.random.default_rng(1))
    # The latent draw is the one behind the files: same landmark members and window counts.
    lm_files = world.landmark
    signup_files = world.members.signup_at.to_numpy().astype("datetime64[ms]").astype(np.int64)
    total_files = world.counts.sum(axis=1).to_numpy()
    file_pairs = np.sort(signup_files[lm_files] * 10_000 + total_files[lm_files])
    lm = (pop["signup_ms"] + 7 * 86_400_000 <= world.as_of.astype(np.int64)) & (pop["end_days"] > 7)
    lat_pairs = np.sort(pop["signup_ms"][lm] * 10_000 + pop["counts"][lm].sum(axis=1))
    assert np.array_equal(file_pairs, lat_pairs)

    gap = _base_cum(90) - _base_cum(7)
    eta, counts = pop["eta"][lm], pop["counts"][lm]
    taus = np.array([a.tau for a in basket.ACTIONS])
    ks = np.array([a.k for a in basket.ACTIONS])
    tau = ((counts >= ks) * taus).sum(axis=1)
    names = [a.name for a in basket.ACTIONS]
    for r in world.truth["effects"]:
        j = names.index(r["candidate"])
        act = basket.ACTIONS[j]
        rest = tau - act.tau * (counts[:, j] >= act.k)
        if r["kind"] == "action" and act.k > 1:
            p_on = float(stats.poisson.sf(act.k - 2, act.repeat))  # 1 + Poisson >= k
        else:
            p_on = 1.0
        s1 = np.exp(-np.exp(eta + rest + act.tau) * gap)
        s0 = np.exp(-np.exp(eta + rest) * gap)
        exact = float(np.mean(p_on * s1 + (1 - p_on) * s0 - s0))
        assert r["effect"] == pytest.approx(exact, abs=0.0015), r


def test_engagement_proxy_is_tight() -> None:
    """Log volume of the other window actions explains >= 85% of Var E (>= 5 window events)."""
    pop = basket.draw_population(MEMBERS, np.random.default_rng(1))
    counts = pop["counts"]
    total = counts.sum(axis=1)
    many = total >= 5
    for j, act in enumerate(basket.ACTIONS):
        lv = np.log(total[many] - counts[many, j] + 1.0)
        x = np.column_stack([np.ones(many.sum()), lv, lv**2])
        e = pop["E"][many]
        resid = e - x @ np.linalg.lstsq(x, e, rcond=None)[0]
        assert 1 - resid.var() / e.var() >= 0.85, act.name


def standardised_effects(world: World) -> dict[tuple[str, str], float]:
    """Logistic outcome regression on observed columns + other-action volume, standardised."""
    sel = world.landmark & world.observed
    m = world.members[sel]
    base = pd.get_dummies(
        m[["channel", "country", "plan", "age_band"]], drop_first=True, dtype=float
    )
    for c in ("household_size", "distance_km"):
        x = m[c].astype(float)
        base[c] = x
        base[c + "^2"] = x**2
    base.insert(0, "const", 1.0)
    counts = world.counts[sel]
    total = counts.sum(axis=1)
    y = world.retained[sel].astype(float)
    out = {}
    for r in world.truth["effects"]:
        a, k = r["candidate"], r["k"] or 1
        lv = np.log1p((total - counts[a]).to_numpy())
        x = np.column_stack([(counts[a] >= k).to_numpy(float), base.to_numpy(), lv, lv**2])
        fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
        x1, x0 = x.copy(), x.copy()
        x1[:, 0], x0[:, 0] = 1.0, 0.0
        out[(a, r["kind"])] = float(fit.predict(x1).mean() - fit.predict(x0).mean())
    return out


@pytest.mark.parametrize("which", ["world", "world2"])
def test_adjustment_recovers_truth_and_naive_does_not(
    which: str, request: pytest.FixtureRequest
) -> None:
    w: World = request.getfixturevalue(which)
    est = standardised_effects(w)
    for r in w.truth["effects"]:
        got = est[(r["candidate"], r["kind"])]
        assert abs(got - r["effect"]) < 0.02, (r, got)
        naive = _naive(w, r["candidate"], r["k"] or 1)
        if r["role"] in ("decoy", "harmful"):
            assert abs(naive - r["effect"]) > 0.03, (r, naive)


def test_loads_through_ingest_with_nothing_quarantined(world: World, tmp_path: Path) -> None:
    as_of = datetime.fromisoformat(world.truth["as_of"])
    report = ingest(world.folder, tmp_path / "basket.duckdb", as_of=as_of)
    by = {t.table: t for t in report.tables}
    assert sum(t.quarantined for t in report.tables) == 0
    assert by["members"].accepted == MEMBERS
    assert by["events"].accepted == len(world.events)
    assert by["benefits"].accepted == 7
    assert report.pre_signup == 0
