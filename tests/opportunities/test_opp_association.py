"""The workaround associations: the rate estimator against references, and truth-known worlds.

* :func:`rate_difference` with a saturated design is the stratified (standardised) rate
  difference, computed here from member rows with pandas; its standard error matches a
  member-level bootstrap.
* On a world of the simulator's planted flows alone with **no** publish effect
  (``publish_effect=0``), doers are younger and younger members publish more: the naive
  difference is positive and its interval excludes 0, the adjusted one covers 0. The world
  with the planted effect (0.3 a week) is checked in ``test_opp_truth.py``.
* Degenerate inputs say so: no doer in the window, a constant covariate, an unknown
  ``--publish-action``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from opp_data import from_frames

from tenure.errors import SpecError
from tenure.opportunities import OpportunityResult, find_workarounds
from tenure.opportunities.adjustment import adjustment_table
from tenure.opportunities.association import publish_rate_association
from tenure.simulate.workarounds import WORKAROUND_STEPS, workaround_events
from tenure.stats.rate_effect import ArmSums, rate_difference
from tenure.store import Dataset

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
_US_DAY = 86_400 * 1_000_000
AGE_P = np.array([0.2, 0.3, 0.22, 0.16, 0.12])


def _planted_world(n: int, seed: int, effect: float) -> Dataset:
    """Members with an age band and a fee, and only the simulator's planted flows."""
    rng = np.random.default_rng(seed)
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    signup = as_of_us - (rng.uniform(70, 250, n) * _US_DAY).astype(np.int64)
    end = signup + (rng.exponential(400, n) * _US_DAY).astype(np.int64)
    ended = end < as_of_us
    age = rng.choice(5, size=n, p=AGE_P)
    planted = workaround_events(
        signup, np.minimum(end, as_of_us), rng, age_band=age, publish_effect=effect
    )
    ids = np.array([f"m{i:05d}" for i in range(n)])
    members = pd.DataFrame(
        {
            "member_id": ids,
            "signup_at": pd.to_datetime(signup, unit="us", utc=True),
            "ended_at": pd.to_datetime(np.where(ended, end, 0), unit="us", utc=True).where(ended),
            "age_band": np.array(["18-24", "25-34", "35-44", "45-54", "55+"])[age],
            "fee": np.round(rng.uniform(5, 20, n), 2),
        }
    )
    events = pd.DataFrame(
        {
            "member_id": ids[planted.member],
            "ts": pd.to_datetime(planted.ts_us, unit="us", utc=True),
            "action": np.array(planted.action)[planted.code],
        }
    )
    return from_frames(members, events, AS_OF)


@pytest.fixture(scope="module")
def null_world() -> Dataset:
    return _planted_world(8_000, seed=1, effect=0.0)


@pytest.fixture(scope="module")
def null_result(null_world: Dataset) -> OpportunityResult:
    return find_workarounds(null_world, top=3)


def test_no_publish_effect_is_found_where_there_is_none(null_result: OpportunityResult) -> None:
    (w,) = null_result.workarounds()
    assert w.steps == WORKAROUND_STEPS
    pub = w.publish_rate
    assert pub is not None and pub["status"] == "ok"
    assert pub["publish_action"] == "video.upload"
    assert pub["n_treated"] > 100
    lo, hi = pub["ci"]
    assert lo < 0.0 < hi
    # The confounded raw comparison: doers are younger, the young publish more.
    naive_lo, _ = pub["naive_ci"]
    assert naive_lo > 0.0
    assert pub["smd"]["age_band"]["before"] > 0.2
    assert abs(pub["smd"]["age_band"]["after"]) < pub["smd"]["age_band"]["before"]
    assert pub["ess_treated"] <= pub["n_treated"]
    # …and the same covariates leave retention's (zero) truth covered.
    ret = w.retention
    assert ret is not None and ret["ci"][0] < 0.0 < ret["ci"][1]
    assert [c.split(" ")[0] for c in pub["covariates"]] == ["age_band", "fee", "activity"]
    assert pub["covariates"][1].startswith("fee (number")


def test_saturated_design_is_the_stratified_rate_difference() -> None:
    rng = np.random.default_rng(3)
    n = 6_000
    stratum = rng.integers(0, 4, n)
    treated = rng.random(n) < np.array([0.1, 0.3, 0.5, 0.7])[stratum]
    weeks = rng.uniform(0.5, 4.0, n)
    count = rng.poisson((0.2 + 0.3 * stratum + 0.4 * treated) * weeks).astype(float)
    rows = pd.DataFrame({"s": stratum, "a": treated, "c": count, "e": weeks})
    # Reference: standardise each arm's mean count and mean exposure to the stratum sizes.
    by = rows.groupby(["s", "a"])[["c", "e"]].mean().unstack("a")
    share = rows.groupby("s").size() / n
    ref = (share * by[("c", True)]).sum() / (share * by[("e", True)]).sum() - (
        share * by[("c", False)]
    ).sum() / (share * by[("e", False)]).sum()
    X = np.column_stack([np.ones(4), np.eye(4)[:, 1:]])
    r = rate_difference(X, _sums(rows[rows.a]), _sums(rows[~rows.a]), ridge=0.0, max_weight=None)
    assert r.estimate == pytest.approx(ref, abs=1e-6)
    # The influence-function SE against a member-level bootstrap of the same estimate.
    reps = []
    for _ in range(200):
        b = rows.iloc[rng.integers(0, n, n)]
        rb = rate_difference(X, _sums(b[b.a]), _sums(b[~b.a]), ridge=0.0, max_weight=None)
        reps.append(rb.estimate)
    assert r.se == pytest.approx(float(np.std(reps)), rel=0.15)
    assert r.ci[0] < r.estimate < r.ci[1]


def _sums(rows: pd.DataFrame) -> ArmSums:
    def per(v: np.ndarray) -> np.ndarray:
        return np.bincount(rows.s.to_numpy(), weights=v, minlength=4).astype(np.float64)

    c, e = rows.c.to_numpy(float), rows.e.to_numpy(float)
    return ArmSums(per(np.ones(len(rows))), per(c), per(e), per(c * c), per(e * e), per(c * e))


def test_activity_leaves_out_the_patterns_own_events() -> None:
    t0 = pd.Timestamp("2024-06-01", tz="UTC")
    members = pd.DataFrame({"member_id": ["a", "b"], "signup_at": [t0, t0], "plan": ["x", "x"]})
    at = [t0 + pd.Timedelta(minutes=k) for k in (10, 11, 20, 25, 30, 40)]
    events = pd.DataFrame(
        {
            "member_id": ["a"] * 6 + ["b"] * 2,
            "ts": [*at, at[0], at[1]],
            "action": [
                "feed.browse",
                "video.download",
                "app.open",  # the way back in: inside the occurrence
                "video.upload",
                "feed.browse",
                "video.upload",  # a pattern step outside an occurrence: still excluded
                "feed.browse",
                "feed.browse",
            ],
        }
    )
    ds = from_frames(members, events, t0 + pd.Timedelta(days=60))
    spans = (["a"], np.array([at[1].timestamp()]), np.array([at[3].timestamp()]))
    adj = adjustment_table(
        ds, window=28, exclude_actions=["video.download", "video.upload"], own_spans=spans
    )
    assert adj.cached is not None
    acts = {r["member_id"]: r["_act"] for r in adj.cached.to_pyarrow().to_pylist()}
    assert acts == {"a": 2, "b": 2}
    assert any("constant covariate: plan" in n for n in adj.notes)
    assert [c.name for c in adj.covariates] == ["plan", "activity"]
    adj.release()
    # An event before signup is history: it becomes a covariate and is not activity.
    early = pd.DataFrame(
        {"member_id": ["b"], "ts": [t0 - pd.Timedelta(days=3)], "action": ["feed.browse"]}
    )
    ds = from_frames(members, pd.concat([events, early]), t0 + pd.Timedelta(days=60))
    adj = adjustment_table(ds, window=28, exclude_actions=["video.download", "video.upload"])
    assert [c.name for c in adj.covariates] == ["plan", "activity", "presignup_events"]
    assert adj.cached is not None
    rows = {r["member_id"]: (r["_act"], r["_pre"]) for r in adj.cached.to_pyarrow().to_pylist()}
    assert rows == {"a": (3, 0), "b": (2, 1)}  # without the spans, a's app.open counts
    adj.release()


def test_no_doer_in_the_window_is_loud(null_world: Dataset) -> None:
    r = publish_rate_association(null_world, {}, publish_action="video.upload", window=28)
    assert r["status"] == "too_few" and r["effect"] is None
    assert any(w.startswith("degenerate") for w in r["warnings"])


def test_an_unknown_publish_action_names_the_flag(null_world: Dataset) -> None:
    with pytest.raises(SpecError, match=r"--publish-action 'video\.publish'"):
        find_workarounds(null_world, publish_action="video.publish")
