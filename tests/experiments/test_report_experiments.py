"""The demo's experiments step: an index plus one scorecard page per spec, within budget."""

from __future__ import annotations

import time
from pathlib import Path

from tenure.demo import STEPS, DemoContext
from tenure.report.experiments import demo_step
from tenure.store import connect


def test_demo_step(sim_world: Path, sim_truth: dict, tmp_path: Path) -> None:
    start = time.perf_counter()
    out = demo_step(DemoContext(connect(sim_world), tmp_path, sim_truth))
    elapsed = time.perf_counter() - start
    titles = [s.title for s in out.sections]
    assert titles[0] == "Experiments" and len(titles) == 5
    index = out.sections[0].body_html
    for name in ("value_messaging", "encourage_video", "cancel_flow_recap", "upsell_banner"):
        assert name in index
    vm = next(s for s in out.sections if s.anchor == "exp-value_messaging")
    assert "value_message: ship" in vm.summary
    assert "assumption doubtful" in vm.body_html and "<img" in vm.body_html
    assert any("video.stream" in s.body_html for s in out.sections[:1])
    assert elapsed < 30  # the demo budget is ~15 s on the demo machine; leave room for CI
    assert ("experiments", "tenure.report.experiments:demo_step") in STEPS
