"""The lifecycle funnel against a member-by-member reference on a random small world."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from tenure.errors import DataContractError, SpecError
from tenure.lifecycle import STAGES, lifecycle_funnel, wilson_interval
from tenure.store import connect

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)
ACTIVATION = ("video.stream", "shipping.order")


def _world(folder: Path, n: int = 400, seed: int = 5) -> Path:
    """Members with random spans, events (some before signup) and cancel-flow exposures."""
    rng = np.random.default_rng(seed)
    signup = [AS_OF - timedelta(days=float(d)) for d in rng.uniform(1, 200, n)]
    ended = [
        s + timedelta(days=float(rng.uniform(0, 150))) if rng.random() < 0.4 else None
        for s in signup
    ]
    ended = [e if e is not None and e <= AS_OF else None for e in ended]
    members = pd.DataFrame(
        {
            "member_id": [f"m{i}" for i in range(n)],
            "signup_at": signup,
            "ended_at": pd.Series(ended, dtype="datetime64[us, UTC]"),
            "country": rng.choice(["US", "GB", "DE"], n, p=[0.6, 0.35, 0.05]),
            "plan": rng.choice(["monthly", "annual"], n),
            "fee": rng.choice([9.99, 14.99], n),
        }
    )
    rows = []
    actions = ["video.stream", "shipping.order", "music.play", "app.open", "cancel.start"]
    for i, (s, e) in enumerate(zip(signup, ended, strict=True)):
        end = e or AS_OF
        for _ in range(int(rng.poisson(12))):
            ts = s + timedelta(days=float(rng.uniform(-3, 60)))  # some pre-signup history
            if ts > end:
                continue
            a = str(rng.choice(actions, p=[0.2, 0.1, 0.2, 0.45, 0.05]))
            rows.append((f"m{i}", ts, a, None if a in ("app.open", "cancel.start") else a[:5]))
    events = pd.DataFrame(rows, columns=["member_id", "ts", "action", "benefit"])
    exp_rows = [
        (f"m{i}", s + timedelta(days=float(rng.uniform(0, 90))), "cancel_flow_recap", "control",
         "cancel_flow")
        for i, s in enumerate(signup)
        if rng.random() < 0.15
    ]  # fmt: skip
    exposures = pd.DataFrame(
        exp_rows, columns=["member_id", "ts", "experiment", "variant", "placement"]
    )
    exposures = exposures[exposures["ts"] <= AS_OF]
    folder.mkdir(parents=True, exist_ok=True)
    members.to_parquet(folder / "members.parquet")
    events.to_parquet(folder / "events.parquet")
    exposures.to_parquet(folder / "exposures.parquet")
    return folder


def _day(ts: datetime, start: datetime) -> int:
    return math.floor((ts - start).total_seconds() / 86400)


def _reference(folder: Path) -> pd.DataFrame:
    """Stage counts per country, member by member in plain Python (no shared code)."""
    m = pd.read_parquet(folder / "members.parquet")
    ev = pd.read_parquet(folder / "events.parquet")
    ex = pd.read_parquet(folder / "exposures.parquet")
    out: dict[str, dict[str, int]] = {}
    events: list[dict[Any, Any]] = ev.to_dict("records")
    exposures: list[dict[Any, Any]] = ex.to_dict("records")
    for r in m.to_dict("records"):
        s = r["signup_at"].to_pydatetime()
        end = r["ended_at"].to_pydatetime() if pd.notna(r["ended_at"]) else AS_OF
        tenure = _day(end, s)
        observed = _day(AS_OF, s)
        mine = [(_day(e["ts"].to_pydatetime(), s), e["action"]) for e in events
                if e["member_id"] == r["member_id"]]  # fmt: skip
        days = [(d, a) for d, a in mine if d >= 0]
        attempts = [d for d, a in days if a == "cancel.start"]
        xs = [
            _day(x["ts"].to_pydatetime(), s) for x in exposures if x["member_id"] == r["member_id"]
        ]
        attempts += [d for d in xs if d >= 0]
        c = out.setdefault(r["country"], {k: 0 for k in ("acquired", "obs_act", "act", "obs_eng",
                                                      "eng", "obs_ret", "ret", "att", "obs_sav", "sav")})  # fmt: skip
        c["acquired"] += 1
        if observed >= 7:
            c["obs_act"] += 1
            c["act"] += any(d < 7 and a in ACTIVATION for d, a in days)
        if observed >= 30:
            c["obs_eng"] += 1
            c["eng"] += len({d for d, _ in days if 7 <= d < 30}) >= 3
        if observed >= 90 or tenure < observed:
            c["obs_ret"] += 1
            c["ret"] += tenure >= 90
        if attempts:
            first = min(attempts)
            c["att"] += 1
            if first + 30 <= observed:
                c["obs_sav"] += 1
                c["sav"] += tenure >= first + 30
    return pd.DataFrame(out).T


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _world(tmp_path_factory.mktemp("lifecycle"))


def test_stage_counts_equal_a_member_by_member_reference(world: Path) -> None:
    res = lifecycle_funnel(connect(world, as_of=AS_OF), activation=ACTIVATION)
    f = res.to_frame()
    ref = _reference(world)
    pairs = {
        "acquired": ("acquired", "acquired"),
        "activated": ("obs_act", "act"),
        "engaged": ("obs_eng", "eng"),
        "retained": ("obs_ret", "ret"),
        "cancel attempt": ("acquired", "att"),
        "saved": ("obs_sav", "sav"),
    }
    market = f[f["dimension"] == "market"]
    for country, row in ref.iterrows():
        got = market[market["group"] == country].set_index("stage")
        for stage, (n_col, k_col) in pairs.items():
            assert got.loc[stage, "eligible"] == row[n_col], (country, stage)
            assert got.loc[stage, "reached"] == row[k_col], (country, stage)
    overall = res.overall().set_index("stage")
    assert overall.loc["activated", "reached"] == ref["act"].sum()
    assert list(res.overall()["stage"]) == list(STAGES)
    # Every member sits in exactly one cohort and one segment.
    for dim in ("cohort", "segment"):
        acquired = f[(f["dimension"] == dim) & (f["stage"] == "acquired")]["reached"].sum()
        assert acquired == overall.loc["acquired", "reached"]


def test_pre_signup_events_never_activate(tmp_path: Path) -> None:
    members = pd.DataFrame({"member_id": ["a", "b"], "signup_at": [AS_OF - timedelta(days=60)] * 2})
    events = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "ts": [AS_OF - timedelta(days=61), AS_OF - timedelta(days=59)],  # before / after
            "action": ["video.stream", "video.stream"],
        }
    )
    members.to_parquet(tmp_path / "members.parquet")
    events.to_parquet(tmp_path / "events.parquet")
    res = lifecycle_funnel(connect(tmp_path, as_of=AS_OF), activation=["video.stream"], min_n=1)
    rate, _, _ = res.stage_rate("activated")
    assert rate == 0.5


def test_small_groups_are_flagged_and_rates_come_with_wilson_intervals(world: Path) -> None:
    res = lifecycle_funnel(connect(world, as_of=AS_OF), activation=ACTIVATION, min_n=30)
    f = res.to_frame()
    assert (f["small"] == (f["eligible"] < 30)).all()
    de = f[(f["dimension"] == "market") & (f["group"] == "DE")]
    assert de["small"].any()  # ~5% of 400 members
    ok = f[f["eligible"] > 0]
    lo, hi = proportion_confint(ok["reached"], ok["eligible"], alpha=0.05, method="wilson")
    np.testing.assert_allclose(ok["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(ok["ci_high"], hi, atol=1e-12)
    assert ((ok["ci_low"] <= ok["rate"]) & (ok["rate"] <= ok["ci_high"])).all()


def test_wilson_keeps_its_width_at_the_boundary() -> None:
    lo, hi = wilson_interval([0, 20, 32], [20, 20, 32])
    ref_lo, ref_hi = proportion_confint([0, 20, 32], [20, 20, 32], method="wilson")
    np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-12)
    assert hi[0] > 0.1 and lo[1] < 0.9  # never a zero-width interval at 0 % or 100 %
    assert np.isnan(wilson_interval([0], [0])[0][0])


def test_json_is_safe_and_records_the_definitions(world: Path) -> None:
    res = lifecycle_funnel(connect(world, as_of=AS_OF), activation=ACTIVATION)
    doc = res.to_dict()
    assert doc["kind"] == "lifecycle" and doc["params"]["activation"] == list(ACTIVATION)
    assert doc["params"]["cancel_placements"] == ["cancel_flow"]
    assert all(set(r) >= {"stage", "rate", "ci_low", "ci_high", "small"} for r in doc["rows"])


def test_bad_settings_and_data_are_clear_errors(world: Path, tmp_path: Path) -> None:
    ds = connect(world, as_of=AS_OF)
    with pytest.raises(SpecError, match="window < engaged_until"):
        lifecycle_funnel(ds, activation=ACTIVATION, window=40)
    with pytest.raises(SpecError, match="activation"):
        lifecycle_funnel(ds, activation=[])
    pd.DataFrame({"member_id": ["a"], "signup_at": [AS_OF]}).to_parquet(
        tmp_path / "members.parquet"
    )
    pd.DataFrame({"member_id": ["a"], "ts": [AS_OF], "action": ["x"]}).to_parquet(
        tmp_path / "events.parquet"
    )
    with pytest.raises(DataContractError, match="benefit"):
        lifecycle_funnel(connect(tmp_path, as_of=AS_OF), activation=None)
