"""Ease of encouraging: the measured adoption uplift of the promoted action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from toy_world import SPECS_DIR

from tenure.experiments.encouragement import adoption_metric, ease_of_encouraging
from tenure.experiments.spec import load_spec, load_specs
from tenure.store import connect


def test_ease_matches_truth(sim_world: Path, sim_truth: dict[str, Any]) -> None:
    ease = ease_of_encouraging(connect(sim_world), load_specs(SPECS_DIR))
    assert set(ease) == {"video.stream"}
    true = sim_truth["experiments"]["encourage_video"]["true_effects"]["promote_video"][
        "adoption_7d"
    ]["video.stream"]
    assert ease["video.stream"] == pytest.approx(true, abs=0.03)


def test_adoption_metric_reuses_the_spec_window() -> None:
    spec = load_spec(SPECS_DIR / "encourage_video.yaml")
    m = adoption_metric(spec)
    assert m.name == "video_adoption_7d" and m.window_days == 7
