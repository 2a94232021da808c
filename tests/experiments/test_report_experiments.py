"""The experiments report renders given results: an index plus one scorecard page per spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenure.report import experiments as report
from tenure.settings import Inference
from tenure.store import connect


def test_render_is_pure_and_complete(
    sim_world: Path, sim_truth: dict[str, Any], tmp_path: Path
) -> None:
    # The pipeline runs the analyses; the report only renders what it is given.
    from tenure.pipeline import _experiments, bundled_specs

    cards, surrogates, ease = _experiments(connect(sim_world), bundled_specs())
    sections = report.render(cards, truth=sim_truth, surrogates=surrogates, ease=ease)
    titles = [s.title for s in sections]
    assert titles[0] == "Experiments" and len(titles) == 5
    index = sections[0].body_html
    for name in ("value_messaging", "encourage_video", "cancel_flow_recap", "upsell_banner"):
        assert name in index
    vm = next(s for s in sections if s.anchor == "exp-value_messaging")
    assert "value_message: ship" in vm.summary
    assert "assumption doubtful" in vm.body_html and "<img" in vm.body_html
    assert any("video.stream" in s.body_html for s in sections[:1])
    # Labels come from the result's settings: adjusted p-values are labelled as adjusted.
    assert "95% interval" in vm.body_html and "p (holm-adjusted)" in vm.body_html


def test_confidence_label_follows_the_result(toy_world: Path, toy_spec) -> None:  # type: ignore[no-untyped-def]
    from tenure.experiments.analysis import analyze

    card = analyze(connect(toy_world), toy_spec, inference=Inference(alpha=0.01))
    (index, section) = report.render([card])
    assert "99% interval" in section.body_html and "95%" not in section.body_html
    assert "toy" in index.body_html
