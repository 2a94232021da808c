"""The closed loop on the creative-response world: learning beats uniform, OPE covers truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tenure.messaging.loop import ARMS, LoopResult, run_closed_loop


@pytest.fixture
def small(small_loop: LoopResult) -> LoopResult:
    return small_loop


def test_learning_beats_uniform_and_oracle_has_no_regret(small: LoopResult) -> None:
    t, u, o = (ARMS.index(a) for a in ("thompson", "uniform", "oracle"))
    assert small.cumulative_regret[o, -1] == 0
    assert small.cumulative_regret[t, -1] < 0.8 * small.cumulative_regret[u, -1]
    assert small.expected_adoption[t] > small.expected_adoption[u]
    assert small.expected_adoption[o] >= small.expected_adoption[t]
    assert np.all(np.diff(small.cumulative_regret, axis=1) >= 0)
    assert np.all((small.retention > 0) & (small.retention < 1))


def test_ope_intervals_cover_the_true_value(small: LoopResult) -> None:
    """DR and SNIPS cover on the small run. Plain IPS, with an effective sample size near
    100 here, missed on the uniform logs (its normal interval under-covers with skewed
    weights); it is checked on the longer run instead."""
    for est, truth in (
        (small.ope_uniform, small.true_value_uniform),
        (small.ope_own, small.true_value_own),
    ):
        for name in ("snips", "dr"):
            lo, hi = est.interval_of(name)
            assert lo <= truth <= hi, (name, lo, truth, hi)


def test_result_renders(small: LoopResult) -> None:
    doc = small.to_dict()
    json.dumps(doc, allow_nan=False)
    assert {r["arm"] for r in doc["summary"]} == set(ARMS)
    assert len(small.to_frame()) == 3 * 6
    assert small.winners and all(0 <= w.learned_prob <= 1 for w in small.winners)


@pytest.mark.slow
def test_longer_loop_approaches_the_oracle() -> None:
    r = run_closed_loop(days=21, members_per_day=600, delay_days=3, seed=11)
    t, u, o = (ARMS.index(a) for a in ("thompson", "uniform", "oracle"))
    assert r.cumulative_regret[o, -1] == 0
    # in the last week the learning arm loses under 35% of what uniform loses to the oracle
    # (over the whole run, exploration days included, it closed 55% of the gap)
    last_week = r.cumulative_regret[:, -1] - r.cumulative_regret[:, -8]
    assert last_week[t] < 0.35 * last_week[u]
    for name in ("ips", "dr"):
        lo, hi = r.ope_uniform.interval_of(name)
        assert lo <= r.true_value_uniform <= hi
