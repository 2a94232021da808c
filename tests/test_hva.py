"""HVA: landmark population, candidate construction by hand, score formula, JSON and CLI."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.errors import DataContractError, SpecError
from tenure.hva import ACTIVITY, DAY0, Candidate, HvaEstimate, discover
from tenure.hva.aggregate import aggregate_counts
from tenure.hva.estimate import build_arms
from tenure.hva.features import landmark
from tenure.hva.score import ScoreWeights, score_estimates
from tenure.store import connect

SIGNUP = datetime(2025, 1, 1, 8, tzinfo=UTC)
AS_OF = datetime(2025, 6, 30, tzinfo=UTC)


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    """Ten members; m3 leaves on day 3 (not in the landmark); events placed by day."""
    ids = [f"m{i}" for i in range(10)]
    members = pd.DataFrame(
        {
            "member_id": ids,
            "signup_at": [SIGNUP] * 10,
            "ended_at": [None, None, None, SIGNUP + timedelta(days=3, hours=2)]
            + [None] * 5
            + [SIGNUP + timedelta(days=20)],
            "channel": ["a", "b"] * 5,
            "fee": [10.0] * 10,
        }
    )
    members["ended_at"] = pd.to_datetime(members["ended_at"], utc=True)
    rows: list[tuple[str, int, str, str | None]] = [
        *[("m0", 0, "video.stream", "video")] * 3,
        ("m0", 0, "shipping.order", "shipping"),
        *[("m0", 0, "app.open", None)] * 2,
        ("m1", 2, "video.stream", "video"),
        *[("m1", 6, "music.play", "music")] * 5,
        ("m2", 1, "shipping.order", "shipping"),
        ("m2", 0, "video.stream", "video"),
        ("m3", 0, "video.stream", "video"),
        ("m4", 7, "video.stream", "video"),
        *[("m5", 0, "app.open", None)] * 9,
    ]
    events = pd.DataFrame(
        {
            "member_id": [r[0] for r in rows],
            "ts": [SIGNUP + timedelta(days=r[1], hours=1) for r in rows],
            "action": [r[2] for r in rows],
            "benefit": [r[3] for r in rows],
        }
    )
    members.to_parquet(tmp_path / "members.parquet")
    events.to_parquet(tmp_path / "events.parquet")
    pd.DataFrame(
        {
            "benefit": ["video", "shipping", "music"],
            "name": ["V", "S", "M"],
            "cost_per_use": [0.5, 4.0, 0.1],
        }
    ).to_csv(tmp_path / "benefits.csv", index=False)
    return tmp_path


def _treated_counts(folder: Path, backend: str = "duckdb") -> dict[str, tuple[int, int]]:
    """Treated and population members of every candidate, from the count tables alone."""
    ds = connect(folder, as_of=AS_OF, backend=backend)  # type: ignore[arg-type]
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=30, early_days=1)
    counts = aggregate_counts(lm, max_distinct=3)
    lm.release()
    arms = build_arms(counts, lm.design, lm.actions, lm.thresholds, max_distinct=3)
    return {
        c.name: (int(arms.treated[i, 0].sum()), int(arms.pop[i, 0].sum()))
        for i, c in enumerate(arms.candidates)
    }


@pytest.mark.parametrize("backend", ["duckdb", "polars"])
def test_candidates_by_hand(hand: Path, backend: str) -> None:
    got = _treated_counts(hand, backend)
    nine = 9  # m3 left before day 7: the landmark has nine members
    assert got == {
        "video.stream": (3, nine),  # m0, m1, m2; m4's use was on day 7
        "video.stream>=2": (1, nine),
        "video.stream>=3": (1, nine),
        "shipping.order": (2, nine),
        "music.play": (1, nine),
        "music.play>=2": (1, nine),
        "music.play>=3": (1, nine),
        "music.play>=5": (1, nine),
        # Pairs first used on day 0: only m0 (m2's shipping came on day 1).
        "shipping.order+video.stream": (1, 1 + 7),  # vs neither early: m1, m4, m5-m9
        "shipping.order+video.stream (vs one)": (1, 1 + 1),  # vs exactly one early: m2
        "distinct_benefits>=2": (3, nine),
    }


def test_timing_candidates_by_hand(hand: Path) -> None:
    """First used on day k vs not in the window: other first-use days are in neither arm."""
    ds = connect(hand, as_of=AS_OF)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=30, early_days=1)
    counts = aggregate_counts(lm, max_distinct=3, timing=True)
    lm.release()
    arms = build_arms(counts, lm.design, lm.actions, lm.thresholds, max_distinct=3)
    got = {
        c.name: (int(arms.treated[i, 0].sum()), int(arms.pop[i, 0].sum()))
        for i, c in enumerate(arms.candidates)
        if c.kind == "first_day"
    }
    never_video = 6  # of nine landmark members, m0, m1, m2 used video in the window
    assert got == {
        "video.stream@day0": (2, 2 + never_video),  # m0, m2
        "video.stream@day2": (1, 1 + never_video),  # m1
        "shipping.order@day0": (1, 1 + 7),  # m0
        "shipping.order@day1": (1, 1 + 7),  # m2
        "music.play@day6": (1, 1 + 8),  # m1
    }
    assert Candidate("first_day", ("video.stream",), 2).contrast == (
        "video.stream first used on day 2 vs not in the window"
    )


def test_landmark_strata_and_outcomes(hand: Path) -> None:
    ds = connect(hand, as_of=AS_OF)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=30)
    frame = lm.members_frame().set_index("member_id")
    lm.release()
    assert "m3" not in frame.index and len(frame) == 9
    # Early activity counts every event in days 0-6, benefit or not; d1 the signup day's.
    assert frame.loc["m0", "d0"] == 6 and frame.loc["m5", "d0"] == 9 and frame.loc["m4", "d0"] == 0
    assert frame.loc["m1", "d0"] == 6 and frame.loc["m1", "d1"] == 0 and frame.loc["m2", "d1"] == 1
    codes = lm.design.codes(frame["sid"].to_numpy(), ACTIVITY)
    assert codes[frame.index.get_loc("m5")] >= codes[frame.index.get_loc("m2")]
    assert frame.loc["m9", "retained"] == 0 and frame.loc["m9", "event"] == 1
    assert frame.loc["m9", "t"] == 20 - 7
    assert frame.loc["m0", "retained"] == 1 and frame.loc["m0", "t"] == 30 - 7
    assert (frame["obs_h"] == 1).all()
    assert lm.design.covariates == ("channel", "fee", ACTIVITY, DAY0)


def test_candidates_are_typed() -> None:
    assert Candidate("action", ("c++.compile",)).name == "c++.compile"
    assert Candidate("action", ("c++.compile",)).kind == "action"
    assert Candidate("threshold", ("a.b",), 3).contrast == "a.b at least 3 times vs fewer"
    assert "exactly one" in Candidate("pair_both_vs_one", ("a", "b")).contrast
    assert Candidate("distinct", (), 2).name == "distinct_benefits>=2"


def test_score_formula() -> None:
    rows = [
        _estimate(Candidate("action", ("x.y",)), 0.2, 0.02, 0.01, 0.001),
        _estimate(Candidate("threshold", ("x.y",), 2), 0.1, 0.05, 0.03, 0.01),
        _estimate(Candidate("action", ("u.v",)), 0.5, 0.01, -0.01, 0.5),
        _estimate(Candidate("pair_both_vs_neither", ("u.v", "x.y")), 0.05, 0.07, 0.05, 0.001),
    ]
    cost = {"x.y": 1.0, "u.v": 0.5}
    out = score_estimates(rows, fee=10.0, cost_per_use=cost, weights=ScoreWeights())
    # x.y: (0.02 * 10 * 12 - 1.0) * 1000 * 0.8 * 0.2 ** 0.5 (effect established: counted)
    assert out[0].score == pytest.approx((0.02 * 120 - 1.0) * 800 * np.sqrt(0.2))
    assert [e.cost for e in out] == [1.0, 2.0, 0.5, 1.5]
    assert out[2].score < 0 and not out[2].is_hva  # interval covers 0: no value
    assert all(np.isnan(e.ease_of_encouraging) for e in out)
    eased = score_estimates(rows, fee=10.0, cost_per_use=cost, ease_of_encouraging={"x.y": 0.1})
    assert eased[0].score == pytest.approx((0.02 * 120 - 1.0) * 800 * 0.1)
    unbalanced = dataclasses.replace(rows[0], balanced=False)
    assert not score_estimates([unbalanced], fee=10.0, cost_per_use=cost)[0].is_hva


def _estimate(c: Candidate, support: float, diff: float, low: float, q: float) -> HvaEstimate:
    nan = float("nan")
    return HvaEstimate(
        candidate=c, segment=None, landmark=1000, treated=int(support * 1000),
        control=int((1 - support) * 1000), support=support, naive_treated=nan,
        naive_control=nan, naive_diff=nan, naive_low=nan, naive_high=nan,
        adjusted_treated=nan, adjusted_control=nan, adjusted_diff=diff, adjusted_low=low,
        adjusted_high=diff + (diff - low), adjusted_ratio=nan, p_value=q, q_value=q,
        e_value=nan, e_value_ci=nan, n_observable=1000, ess_treated=100.0, ess_control=800.0,
        clipped=0.0, events_treated=50, events_control=400, balance=(), status="ok",
        balanced=True, overlap=True, small_sample=False, warnings=(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tenure.simulate import WorldConfig, simulate_world

    out = tmp_path_factory.mktemp("hva") / "world"
    simulate_world(out, WorldConfig(n_members=8_000, seed=5))
    return out


def test_json_shape_and_support(world: Path) -> None:
    result = discover(connect(world), window=7, horizon=90, by="plan", min_support=0.02)
    d = result.to_dict()
    assert d["params"]["window_days"] == 7 and d["params"]["horizon_days"] == 90
    assert d["params"]["alpha"] == 0.05 and d["params"]["adjust_for"][-2:] == [ACTIVITY, DAY0]
    keys = {
        "candidate", "kind", "actions", "k", "contrast", "segment", "landmark", "treated",
        "control", "support", "naive", "adjusted", "p_value", "q_value", "e_value", "e_value_ci",
        "diagnostics", "status", "warnings", "cost", "ease_of_encouraging", "score", "is_hva",
    }  # fmt: skip
    assert all(set(c) == keys for c in d["candidates"])
    kinds = {c["kind"] for c in d["candidates"]}
    assert kinds == {"action", "threshold", "pair_both_vs_neither", "pair_both_vs_one", "distinct"}
    assert min(c["support"] for c in d["candidates"]) >= 0.02
    segments = {None if c["segment"] is None else c["segment"]["value"] for c in d["candidates"]}
    assert segments >= {None, "monthly", "annual"}
    diag = d["candidates"][0]["diagnostics"]
    assert {b["covariate"] for b in diag["smd"]} == set(d["params"]["adjust_for"])
    json.dumps(d)
    ok = [e for e in result.estimates if e.status == "ok"]
    assert all(e.adjusted_low <= e.adjusted_diff <= e.adjusted_high for e in ok)
    assert all(0 <= e.q_value <= 1 and e.e_value >= 1 for e in ok)
    # Weighting balances what it adjusts for: after weighting |SMD| is far below before.
    top = result.overall()[0]
    assert max(abs(b.before) for b in top.balance) > top.max_smd_after


def test_options_are_checked(world: Path) -> None:
    ds = connect(world)
    with pytest.raises(SpecError):
        discover(ds, window=30, horizon=7)
    with pytest.raises(DataContractError, match="nope"):
        discover(ds, by="nope")
    with pytest.raises(DataContractError, match="nope"):
        discover(ds, adjust_for=["country", "nope"])
    with pytest.raises(SpecError, match=r"latest observable horizon is \d+ days"):
        discover(ds, horizon=3000)


def test_cli(world: Path) -> None:
    from tenure.cli import app

    args = ["hva", "--data", str(world), "--window", "7", "--horizon", "90"]
    out = CliRunner().invoke(app, [*args, "--json", "--min-support", "0.05"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["candidates"]
    table = CliRunner().invoke(app, [*args, "--by", "country", "--top", "3"])
    assert table.exit_code == 0 and "country = US" in table.stdout
    assert "adjusted for: channel, country, plan, age_band, fee" in table.stdout
    # fee (a continuous column) and the activity counts vary within their bins
    assert "within strata: a member-level index of " in table.stdout
    assert "early_activity" in table.stdout.split("within strata:")[1]
    params = json.loads(out.stdout)["params"]["within_stratum"]
    assert params["early_activity"] != 0.0 and set(params) >= {"fee", "fee^2"}
    bad = CliRunner().invoke(app, [*args, "--adjust-for", "nope"])
    assert bad.exit_code == 2 and "--adjust-for 'nope'" in bad.output


def test_naive_retention_is_km_from_the_landmark(world: Path) -> None:
    """At a horizon many members have not reached, the naive arms are KM curves from the
    landmark (censored at as_of), equal to lifelines on the same members to 1e-9."""
    from lifelines import KaplanMeierFitter

    ds = connect(world)
    horizon = 300
    result = discover(ds, window=7, horizon=horizon, min_support=0.0)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=horizon)
    members = lm.members_frame()
    uses = lm.uses_frame()[["member_id", "a"]]
    lm.release()
    assert (members["obs_h"] == 0).mean() > 0.2  # a real share is censored before the horizon
    name = "video.stream"
    adopters = set(uses.loc[uses["a"] == lm.actions.index(name), "member_id"])
    row = next(e for e in result.overall() if e.candidate == Candidate("action", (name,)))
    for arm, expected in ((True, row.naive_treated), (False, row.naive_control)):
        part = members[members["member_id"].isin(adopters) == arm]
        km = KaplanMeierFitter().fit(part["t"], part["event"])
        # Retained at the horizon = survived past day horizon - 1, i.e. t > horizon - window - 1.
        assert km.predict(horizon - 7 - 1) == pytest.approx(expected, abs=1e-9)


def test_counts_do_not_depend_on_the_batches(world: Path) -> None:
    """The window uses are read and counted in batches of whole members: cutting them into
    many batches (a tiny budget), counted by one thread or shared among several, gives
    exactly the tables of one batch, pairs included."""
    ds = connect(world)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=90, early_days=7)
    try:
        whole = aggregate_counts(lm, timing=True, threads=1)
        n_batches = sum(1 for _ in lm.uses.batches(1024))
        cut = aggregate_counts(
            lm, timing=True, budget=8 * 32 * 1024, threads=1
        )  # 1,024 uses a batch
        # Three threads, each counting its share of the batches into tables of its own.
        shared = aggregate_counts(lm, timing=True, budget=3 * 8 * 32 * 1024, threads=3)
    finally:
        lm.release()
    assert n_batches >= 10
    assert len(whole.pairs) > 100 and len(whole.first) > 100
    for field in dataclasses.fields(whole):
        for other in (cut, shared):
            pd.testing.assert_frame_equal(
                getattr(other, field.name), getattr(whole, field.name), obj=field.name
            )
    with pytest.raises(RuntimeError, match="released"):
        next(lm.uses.batches(1024))


def test_segment_outside_the_adjustment_set(world: Path) -> None:
    """A segment column that is not adjusted for still splits results, one block per value."""
    ds = connect(world)
    result = discover(ds, by="channel", adjust_for=["country", "plan"], min_support=0.05)
    assert result.params["adjust_for"] == ["country", "plan", ACTIVITY, DAY0]
    segments = {e.segment.value for e in result.estimates if e.segment is not None}
    assert segments == {"organic", "paid_search", "social", "referral", "student_offer",
                        "free_trial"}  # fmt: skip
    # A single action's population is every landmark member (of the segment).
    first: dict[str, int] = {}
    for e in result.estimates:
        if e.segment is not None and e.candidate.kind == "action":
            first.setdefault(e.segment.value, e.landmark)
    whole = next(e.landmark for e in result.overall() if e.candidate.kind == "action")
    assert sum(first.values()) == whole


def test_within_index_sums_match_the_members(world: Path) -> None:
    """The count tables' index sums, through the arms' algebra, equal each stratum's sum of
    its members' own index (without the candidate's events) over every member and over the
    observable ones: single actions, thresholds and pairs (both early vs neither, vs one)."""
    from tenure.hva.estimate import LAYERS
    from tenure.hva.uses import codes

    ds = connect(world)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=90, early_days=7)
    try:
        counts = aggregate_counts(lm)
        members, uses = lm.members_frame(), lm.uses_frame()
    finally:
        lm.release()
    arms = build_arms(counts, lm.design, lm.actions, lm.thresholds)
    assert lm.within.active and LAYERS == 5
    row = pd.Series(np.arange(len(members)), index=members["member_id"])
    uses["row"] = row.reindex(uses["member_id"]).to_numpy()
    sid, z, obs = (members[c].to_numpy() for c in ("sid", "z", "obs_h"))
    d0, d1 = members["d0"].to_numpy(), members["d1"].to_numpy()
    act, day0 = lm.design.factor(ACTIVITY), lm.design.factor(DAY0)
    radix = lm.design.radix

    def layers(rows: np.ndarray, strata: np.ndarray, index: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(arms.sids, strata)
        s = arms.sids.size
        return np.stack([np.bincount(pos, index * w, s) for w in (1.0, obs[rows])])

    checked = 0
    for c, cand in enumerate(arms.candidates):
        if cand.kind in ("action", "threshold"):
            u = uses[(uses["a"] == lm.actions.index(cand.actions[0])) & (uses["n"] > 0)]
            m = u["row"].to_numpy()
            z_a = lm.within.index(m, d0[m] - u["n0"].to_numpy(), d1[m] - u["n1"].to_numpy())
            took = u["n"].to_numpy() >= (cand.k or 1)
            strata, index = sid.copy(), z.copy()
            strata[m], index[m] = u["sid_a"].to_numpy(), z_a
            every = np.arange(sid.size)
            want_pop = layers(every, strata, index)
            want_trt = layers(m[took], u["sid_a"].to_numpy()[took], z_a[took])
        elif cand.kind in ("pair_both_vs_neither", "pair_both_vs_one"):
            early = uses[uses["early"] == 1]
            per = [early[early["a"] == lm.actions.index(a)].set_index("row") for a in cand.actions]
            both = per[0].index.intersection(per[1].index).to_numpy()
            n0 = per[0].loc[both, "n0"].to_numpy() + per[1].loc[both, "n0"].to_numpy()
            n1 = per[0].loc[both, "n1"].to_numpy() + per[1].loc[both, "n1"].to_numpy()
            s_ij = (
                sid[both]
                + (codes(d0[both] - n0, act.edges) - codes(d0[both], act.edges)) * radix[ACTIVITY]
                + (codes(d1[both] - n1, day0.edges) - codes(d1[both], day0.edges)) * radix[DAY0]
            )
            z_ij = lm.within.index(both, d0[both] - n0, d1[both] - n1)
            want_trt = layers(both, s_ij, z_ij)
            if cand.kind == "pair_both_vs_neither":
                rest = np.setdiff1d(np.arange(sid.size), np.union1d(per[0].index, per[1].index))
                want_pop = want_trt + layers(rest, sid[rest], z[rest])
            else:  # exactly one early: that action's own stratum and index without it
                want_pop = want_trt.copy()
                for mine, other in (per, per[::-1]):
                    one = mine[~mine.index.isin(other.index)]
                    r = one.index.to_numpy()
                    z_a = lm.within.index(
                        r, d0[r] - one["n0"].to_numpy(), d1[r] - one["n1"].to_numpy()
                    )
                    want_pop += layers(r, one["sid_a"].to_numpy(), z_a)
        else:
            continue
        np.testing.assert_allclose(arms.pop[c, 3:], want_pop, atol=1e-7, err_msg=cand.name)
        np.testing.assert_allclose(arms.treated[c, 3:], want_trt, atol=1e-7, err_msg=cand.name)
        checked += 1
    assert checked > 20
