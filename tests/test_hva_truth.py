"""HVA discovery recovers the simulator's truth (truth.json) on several seeds.

Each world has 60,000 members; a heavier set of seeds runs under ``-m slow``. Checks, per the
issue: the decoy (``music.play``) has a large naive lift but an adjusted interval covering 0
and is not an HVA; the true HVAs rank above it; the synergy pair is found; the segment-only
effect (``grocery.order``, US) shows in its segment and not elsewhere; and adjusted 95%
intervals cover the true effects of single actions for about 90% of them across seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tenure.hva import HvaResult, discover
from tenure.store import connect

HORIZON = 90
SEEDS = (1, 2, 3)
SLOW_SEEDS = (4, 5, 6, 7, 8)
DECOY = "music.play"
PAIR = "shipping.order+video.stream"
SEGMENT_ACTION, SEGMENT = "grocery.order", "US"

_CACHE: dict[int, tuple[HvaResult, dict[str, Any]]] = {}


def _world(seed: int, root: Path, members: int = 60_000) -> tuple[HvaResult, dict[str, Any]]:
    if seed not in _CACHE:
        from tenure.simulate import WorldConfig, simulate_world

        out = root / f"world-{seed}"
        simulate_world(out, WorldConfig(n_members=members, seed=seed))
        result = discover(connect(out), window=7, horizon=HORIZON, by="country")
        _CACHE[seed] = (result, json.loads((out / "truth.json").read_text()))
    return _CACHE[seed]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("truth")


def _overall(result: HvaResult) -> pd.DataFrame:
    t = result.table
    return t[t["segment"].isna()].set_index("candidate")


def _check_world(result: HvaResult, truth: dict[str, Any]) -> None:
    overall = _overall(result)
    decoy = overall.loc[DECOY]
    assert decoy["naive_low"] > 0.05, "the decoy should look good naively"
    assert decoy["adjusted_low"] <= 0 <= decoy["adjusted_high"]
    assert not decoy["is_hva"]

    # True HVAs: effect >= 0.02 at the horizon and worth more than they cost per member.
    fee = 12 * 14.0
    costs = {a: v.get("cost_per_use", 0.0) for a, v in truth["actions"].items()}
    true_hvas = [
        a
        for a, v in truth["actions"].items()
        if v["kind"] == "causal"
        and v["effect"][str(HORIZON)] >= 0.02
        and v["effect"][str(HORIZON)] * fee > costs.get(a, 0.0)
    ]
    assert {"shipping.order", "video.stream"} <= set(true_hvas)
    rank = {c: i for i, c in enumerate(overall.index)}
    for action in true_hvas:
        assert rank[action] < rank[DECOY], f"{action} should rank above the decoy"
        assert overall.loc[action, "is_hva"]

    # Synergy: the day-0 pair is an HVA, beats either action alone, and is the best-scored pair.
    pair = overall.loc[PAIR]
    assert pair["is_hva"]
    singles = overall.loc[PAIR.split("+"), "adjusted_diff"].max()
    assert pair["adjusted_diff"] > singles
    pairs = overall[overall["kind"] == "pair"]
    assert pairs["score"].idxmax() == PAIR

    # Segment-only effect: established in the US; elsewhere smaller than the US lower limit and
    # intervals covering 0. Five countries are five 5%-level tests, so one miss is tolerated
    # (seed 3 has one: FR, z = 2.5 against a true 0).
    seg = result.table[result.table["candidate"] == SEGMENT_ACTION].set_index("segment")
    us = seg.loc[SEGMENT]
    assert us["adjusted_low"] > 0 and us["q_value"] < 0.05 and us["is_hva"]
    others = seg[seg.index.notna() & (seg.index != SEGMENT)]
    assert len(others) == 5
    assert (others["adjusted_diff"] < us["adjusted_low"]).all()
    covers = (others["adjusted_low"] <= 0) & (others["adjusted_high"] >= 0)
    assert covers.sum() >= 4
    assert others["is_hva"].sum() <= 1


def _coverage(results: list[tuple[HvaResult, dict[str, Any]]]) -> tuple[int, int]:
    hit = total = 0
    for result, truth in results:
        overall = _overall(result)
        for action, v in truth["actions"].items():
            effect = v["effect"][str(HORIZON)]
            row = overall.loc[action]
            hit += int(row["adjusted_low"] <= effect <= row["adjusted_high"])
            total += 1
    return hit, total


@pytest.mark.parametrize("seed", SEEDS)
def test_recovers_truth(seed: int, root: Path) -> None:
    _check_world(*_world(seed, root))


def test_adjusted_intervals_cover_truth(root: Path) -> None:
    hit, total = _coverage([_world(s, root) for s in SEEDS])
    assert total == 12 * len(SEEDS)
    assert hit / total >= 0.88, f"coverage {hit}/{total}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_recovers_truth_more_seeds(seed: int, root: Path) -> None:
    _check_world(*_world(seed, root))


@pytest.mark.slow
def test_coverage_more_seeds(root: Path) -> None:
    hit, total = _coverage([_world(s, root) for s in SEEDS + SLOW_SEEDS])
    assert hit / total >= 0.88, f"coverage {hit}/{total}"
