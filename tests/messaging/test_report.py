"""The messaging report renders the loop and the discount question from their results."""

from __future__ import annotations

from tenure.messaging.loop import LoopResult
from tenure.report.messaging import render
from tenure.report.page import render as render_page


def test_render_sections(small_loop: LoopResult) -> None:
    assert small_loop.discount is not None  # the loop's own cancel-flow test is rendered
    sections = render(small_loop)
    anchors = [s.anchor for s in sections]
    assert anchors == ["messaging-loop", "messaging-winners", "messaging-ope", "messaging-discount"]
    page = render_page(sections, title="t")
    assert "Cumulative regret" in page and "data:image/png;base64" in page
    assert "value recap" in page and "covers" in page
    assert all(s.summary for s in sections if s.anchor != "messaging-winners")
