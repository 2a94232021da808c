"""Surrogate index vs the simulator's truth: close where surrogacy holds, flagged where not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from toy_world import SPECS_DIR

from tenure.errors import SpecError
from tenure.experiments.spec import load_spec
from tenure.experiments.surrogate import surrogate_index
from tenure.store import Dataset, connect


@pytest.fixture(scope="module")
def sim(sim_world: Path) -> Dataset:
    return connect(sim_world)


def _effects(truth: dict[str, Any], name: str) -> dict[str, float]:
    return {a: e["retention_180"] for a, e in truth["experiments"][name]["true_effects"].items()}


def test_value_messaging(sim: Dataset, sim_truth: dict[str, Any]) -> None:
    res = surrogate_index(sim, load_spec(SPECS_DIR / "value_messaging.yaml"))
    arms = {a.variant: a for a in res.arms}
    true = _effects(sim_truth, "value_messaging")
    # value_message acts through early adoption: the index recovers the 180-day effect.
    vm, do = arms["value_message"], arms["discount_offer"]
    assert vm.predicted_effect == pytest.approx(true["value_message"], abs=0.012)
    assert vm.ci_low < true["value_message"] < vm.ci_high
    assert not vm.doubtful
    # discount_offer acts at the first renewal only: invisible to the index, and flagged.
    assert abs(do.predicted_effect) < 0.01 < true["discount_offer"]
    assert do.doubtful
    assert "disagrees" in do.reason
    assert res.n_historical > 10_000


def test_encourage_video(sim: Dataset, sim_truth: dict[str, Any]) -> None:
    res = surrogate_index(sim, load_spec(SPECS_DIR / "encourage_video.yaml"))
    (row,) = res.arms
    true = _effects(sim_truth, "encourage_video")["promote_video"]
    assert row.variant == "promote_video"
    assert row.predicted_effect == pytest.approx(true, abs=0.006)
    assert not row.doubtful
    assert res.to_dict()["variants"][0]["variant"] == "promote_video"


def test_needs_a_surrogate_section(sim: Dataset) -> None:
    with pytest.raises(SpecError, match="surrogate"):
        surrogate_index(sim, load_spec(SPECS_DIR / "upsell_banner.yaml"))
