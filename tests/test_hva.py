"""HVA: landmark population, candidate construction by hand, score formula, JSON and CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.errors import SpecError
from tenure.hva import discover
from tenure.hva.candidates import candidate_kind, treated_rows
from tenure.hva.features import landmark
from tenure.hva.score import ScoreWeights, score_candidates
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


def _treated(folder: Path, backend: str = "duckdb") -> dict[str, set[str]]:
    ds = connect(folder, as_of=AS_OF, backend=backend)  # type: ignore[arg-type]
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=30)
    cands = treated_rows(lm.counts, lm.actions, max_distinct=3)
    tr = cands.rows.join(lm.members, "member_id")
    frame = tr.select("member_id", "cid").to_pyarrow().to_pandas()
    lm.release()
    at_level = {c: set(g["member_id"]) for c, g in frame.groupby("cid")}
    for family in cands.cumulative:  # a level's members are those at it or above
        for i, cid in enumerate(family):
            at_level[cid] = set().union(*(at_level.get(c, set()) for c in family[i:]))
    return {cands.names[c]: ids for c, ids in at_level.items() if ids}


@pytest.mark.parametrize("backend", ["duckdb", "polars"])
def test_candidates_by_hand(hand: Path, backend: str) -> None:
    got = _treated(hand, backend)
    assert got == {
        "video.stream": {"m0", "m1", "m2"},  # m3 left before day 7; m4's use was on day 7
        "video.stream>=2": {"m0"},
        "video.stream>=3": {"m0"},
        "shipping.order": {"m0", "m2"},
        "music.play": {"m1"},
        "music.play>=2": {"m1"},
        "music.play>=3": {"m1"},
        "music.play>=5": {"m1"},
        "shipping.order+video.stream": {"m0"},  # m2's shipping came on day 1
        "distinct_benefits>=1": {"m0", "m1", "m2"},
        "distinct_benefits>=2": {"m0", "m1", "m2"},
    }


def test_landmark_strata_and_outcomes(hand: Path) -> None:
    ds = connect(hand, as_of=AS_OF)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=30)
    frame = lm.members.to_pyarrow().to_pandas().set_index("member_id")
    lm.release()
    assert "m3" not in frame.index and len(frame) == 9
    activity = (frame["sid"] // lm.radix["day0_activity"]) % len(lm.levels["day0_activity"])
    assert activity["m0"] == 2 and activity["m5"] == 6  # nine opens, capped at 6
    assert frame.loc["m9", "retained"] == 0 and frame.loc["m9", "event"] == 1
    assert frame.loc["m9", "t"] == 20 - 7
    assert frame.loc["m0", "retained"] == 1 and frame.loc["m0", "t"] == 30 - 7
    assert (frame["obs_h"] == 1).all()


def test_candidate_kind() -> None:
    assert candidate_kind("video.stream") == "action"
    assert candidate_kind("video.stream>=3") == "threshold"
    assert candidate_kind("a.b+c.d") == "pair"
    assert candidate_kind("distinct_benefits>=2") == "distinct"


def test_score_formula() -> None:
    table = pd.DataFrame(
        {
            "candidate": ["x.y", "x.y>=2", "u.v", "x.y+u.v"],
            "kind": ["action", "threshold", "action", "pair"],
            "support": [0.2, 0.1, 0.5, 0.05],
            "landmark": [1000.0] * 4,
            "adjusted_diff": [0.02, 0.05, 0.01, 0.07],
            "adjusted_low": [0.01, 0.03, -0.01, 0.05],
            "q_value": [0.001, 0.01, 0.5, 0.001],
            "status": ["ok"] * 4,
        }
    )
    cost = {"x.y": 1.0, "u.v": 0.5}
    out = score_candidates(table, fee=10.0, cost_per_use=cost, weights=ScoreWeights())
    # x.y: (0.02 * 10 * 12 - 1.0) * 1000 * 0.8 * 0.2 ** 0.5 (effect established: counted)
    assert out["score"][0] == pytest.approx((0.02 * 120 - 1.0) * 800 * np.sqrt(0.2))
    assert out["cost"].tolist() == [1.0, 2.0, 0.5, 1.5]
    assert out["score"][2] < 0 and not out["is_hva"][2]  # interval covers 0: no value
    assert out["ease_of_encouraging"].isna().all()
    eased = score_candidates(table, fee=10.0, cost_per_use=cost, ease_of_encouraging={"x.y": 0.1})
    assert eased["score"][0] == pytest.approx((0.02 * 120 - 1.0) * 800 * 0.1)
    assert eased["ease_of_encouraging"][0] == 0.1


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tenure.simulate import WorldConfig, simulate_world

    out = tmp_path_factory.mktemp("hva") / "world"
    simulate_world(out, WorldConfig(n_members=8_000, seed=5))
    return out


def test_json_shape_and_support(world: Path) -> None:
    result = discover(connect(world), window=7, horizon=90, by="plan", min_support=0.02)
    d = result.to_dict()
    assert d["window_days"] == 7 and d["horizon_days"] == 90
    keys = {
        "candidate", "kind", "segment", "support", "naive_diff", "naive_ci", "adjusted_diff",
        "adjusted_ci", "q_value", "e_value", "score",
    }  # fmt: skip
    assert all(set(c) == keys for c in d["candidates"])
    assert {c["kind"] for c in d["candidates"]} == {"action", "threshold", "pair", "distinct"}
    assert min(c["support"] for c in d["candidates"]) >= 0.02
    assert {c["segment"] for c in d["candidates"]} >= {None, "monthly", "annual"}
    json.dumps(d)
    frame = result.to_frame()
    ok = frame[frame["status"] == "ok"]
    assert (
        (ok["adjusted_low"] <= ok["adjusted_diff"]) & (ok["adjusted_diff"] <= ok["adjusted_high"])
    ).all()
    assert ok["q_value"].between(0, 1).all() and (ok["e_value"] >= 1).all()


def test_options_are_checked(world: Path) -> None:
    ds = connect(world)
    with pytest.raises(SpecError):
        discover(ds, window=30, horizon=7)
    with pytest.raises(ValueError, match="nope"):
        discover(ds, by="nope")


def test_cli(world: Path) -> None:
    from tenure.cli import app

    args = ["hva", "--data", str(world), "--window", "7", "--horizon", "90"]
    out = CliRunner().invoke(app, [*args, "--json", "--min-support", "0.05"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["candidates"]
    table = CliRunner().invoke(app, [*args, "--by", "country", "--top", "3"])
    assert table.exit_code == 0 and "country = US" in table.stdout


def test_naive_retention_is_km_from_the_landmark(world: Path) -> None:
    """At a horizon many members have not reached, the naive arms are KM curves from the
    landmark (censored at as_of), equal to lifelines on the same members to 1e-9."""
    from lifelines import KaplanMeierFitter

    ds = connect(world)
    horizon = 300
    result = discover(ds, window=7, horizon=horizon, min_support=0.0)
    lm = landmark(ds.members, ds.table("events"), ds.as_of, window=7, horizon=horizon)
    members = lm.members.to_pyarrow().to_pandas()
    cands = treated_rows(lm.counts, lm.actions, max_distinct=0, pairs=False)
    rows = cands.rows.to_pyarrow().to_pandas()
    lm.release()
    assert (members["obs_h"] == 0).mean() > 0.2  # a real share is censored before the horizon
    name = "video.stream"
    family = next(f for f in cands.cumulative if cands.names[f[0]] == name)  # any use level
    adopters = set(rows.loc[rows["cid"].isin(family), "member_id"])
    row = result.table[result.table["segment"].isna()].set_index("candidate").loc[name]
    for arm, expected in ((True, row["naive_treated"]), (False, row["naive_control"])):
        part = members[members["member_id"].isin(adopters) == arm]
        km = KaplanMeierFitter().fit(part["t"], part["event"])
        # Retained at the horizon = survived past day horizon - 1, i.e. t > horizon - window - 1.
        assert km.predict(horizon - 7 - 1) == pytest.approx(expected, abs=1e-9)


def test_segment_outside_the_adjustment_set(world: Path) -> None:
    """A segment column that is not adjusted for still splits results, one block per value."""
    ds = connect(world)
    result = discover(ds, by="channel", covariates=["country", "plan"], min_support=0.05)
    assert result.covariates == ("country", "plan", "day0_activity")
    frame = result.to_frame()
    assert set(frame["segment"].dropna()) == {"organic", "paid_search", "social", "referral",
                                              "student_offer", "free_trial"}  # fmt: skip
    per_segment = frame.dropna(subset=["segment"]).groupby("segment")["landmark"].first()
    overall = frame[frame["segment"].isna()]["landmark"].iloc[0]
    assert per_segment.sum() == overall
