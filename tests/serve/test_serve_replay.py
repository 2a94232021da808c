"""The demo's replay through the real service, and its report section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenure.messaging import MemberIndex
from tenure.report.serve import render
from tenure.serve.replay import ReplayResult, replay_demo
from tenure.store import Dataset


@pytest.fixture(scope="module")
def replay(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> ReplayResult:
    return replay_demo(dataset, tmp_path_factory.mktemp("replay"), seconds=1.0, concurrency=4)


def test_the_log_holds_every_answered_decision(replay: ReplayResult) -> None:
    # Each replayed request is one decision; the final cancel-flow example is one more.
    assert replay.requests > 0 and replay.errors == 0
    assert replay.total_decisions == replay.requests + 1
    assert set(replay.placement) <= {"signup", "in_context", "home", "cancel_flow"}
    assert (replay.shown + replay.empty == replay.decisions).all()
    shown = replay.mean_propensity[replay.shown > 0]
    assert ((shown > 0) & (shown <= 1)).all()
    assert Path(replay.log).is_file()


def test_the_cancel_flow_recap_is_the_members_own(
    replay: ReplayResult, members: MemberIndex
) -> None:
    assert replay.cancel_member is not None and replay.cancel_recap is not None
    state = members.get(replay.cancel_member)
    assert state is not None and state.saved_30d > 0  # a member with savings is chosen
    assert replay.cancel_recap["saved_30d"] == pytest.approx(state.saved_30d)
    assert replay.cancel_decision is not None
    assert replay.cancel_decision["placement"] == "cancel_flow"


def test_the_result_follows_the_result_protocol(replay: ReplayResult) -> None:
    doc = json.loads(json.dumps(replay.to_dict()))
    assert doc["kind"] == "serve_replay" and doc["params"]["seconds"] == 1.0
    assert [r["placement"] for r in doc["rows"]] == list(replay.placement)
    assert len(replay.to_frame()) == len(replay.placement)


def test_the_report_section_shows_placements_and_the_recap(replay: ReplayResult) -> None:
    (section,) = render(replay)
    assert section.anchor == "serve" and f"{replay.total_decisions:,} decisions" in section.summary
    for placement in replay.placement:
        assert placement in section.body_html
    assert replay.cancel_recap is not None
    assert "Cancel flow, as member" in section.body_html
    assert f"{float(replay.cancel_recap['saved_30d']):,.2f}" in section.body_html
