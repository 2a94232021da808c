"""Recovery of the planted workaround on a simulated world (``WorldConfig(product_bets=True)``).

The truth is what the simulator wrote (``truth_workarounds.json``): members, occurrences,
seconds per occurrence and variant counts. Base-world events interleave with the planted
ones, so recovery is checked within stated tolerances, not exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opp_data import open_folder

from tenure.opportunities import OpportunityResult, find_workarounds
from tenure.simulate import WorldConfig, simulate_world
from tenure.simulate.workarounds import WORKAROUND_STEPS

CONFIG = WorldConfig(n_members=6_000, seed=5, product_bets=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bets_world")
    simulate_world(out, CONFIG)
    return out


@pytest.fixture(scope="module")
def truth(world: Path) -> dict[str, Any]:
    return dict(json.loads((world / "truth_workarounds.json").read_text()))


@pytest.fixture(scope="module")
def result(world: Path) -> OpportunityResult:
    return find_workarounds(open_folder(world, CONFIG.as_of), top=400)


def test_the_planted_workaround_ranks_first(result: OpportunityResult) -> None:
    top = result.opportunities[0]
    assert top.steps == WORKAROUND_STEPS
    assert top.shape == "workaround"
    assert [o.steps for o in result.workarounds()] == [WORKAROUND_STEPS]


def test_members_occurrences_and_time_recovered(
    result: OpportunityResult, truth: dict[str, Any]
) -> None:
    top = result.opportunities[0]
    assert top.members == pytest.approx(truth["members"], rel=0.01)
    assert top.occurrences == pytest.approx(truth["occurrences"], rel=0.02)
    assert top.median_seconds == pytest.approx(truth["median_seconds"], rel=0.03)
    assert top.hours_per_week * result.weeks == pytest.approx(truth["total_hours"], rel=0.03)
    saved = (truth["total_hours"] - truth["occurrences"] * 30.0 / 3600.0) / result.weeks
    lo, hi = top.hours_saved_ci
    assert lo < top.hours_saved_per_week < hi
    assert lo * 0.98 <= saved <= hi * 1.02


def test_variants_are_merged_with_their_shares(
    result: OpportunityResult, truth: dict[str, Any]
) -> None:
    top = result.opportunities[0]
    assert top.merged_patterns > 1  # several mined patterns folded into one row
    n = truth["occurrences"]
    exits = top.variants["exit"]
    assert exits["background"] == pytest.approx(
        truth["variants"]["exit"]["background"] / n, abs=0.02
    )
    # Plain gaps are split by length into long gaps and session changes (>= 30 min).
    gap_like = exits.get("gap", 0.0) + exits.get("session", 0.0)
    assert gap_like == pytest.approx(truth["variants"]["exit"]["gap"] / n, abs=0.02)
    for route, count in truth["variants"]["reentry"].items():
        assert top.variants["reentry"][route] == pytest.approx(count / n, abs=0.02)
    # No variant appears as a separate row.
    steps = [o.steps for o in result.opportunities]
    assert ("video.download", "<exit>", "app.open", "video.upload") not in steps
    assert ("video.download", "video.upload") not in steps


def test_frequent_in_app_flows_are_found_but_rank_low(
    result: OpportunityResult, truth: dict[str, Any]
) -> None:
    by_steps = {o.steps: o for o in result.opportunities}
    top = result.opportunities[0]
    for decoy in truth["decoys"]:
        o = by_steps[tuple(decoy)]
        assert o.shape != "workaround"
        assert o.score < top.score / 10
    browse = by_steps[("feed.browse", "video.play", "video.like")]
    assert browse.shape == "in_app"
    assert browse.members > 5 * top.members  # far more frequent than the workaround


def test_retention_association_finds_no_effect_where_there_is_none(
    result: OpportunityResult, truth: dict[str, Any]
) -> None:
    ret = result.opportunities[0].retention
    assert ret is not None and ret["status"] == "ok"
    lo, hi = ret["ci"]
    assert lo < truth["retention_effect"] < hi
    assert ret["n_treated"] > 50


def test_publish_rate_association_recovers_the_planted_effect(
    result: OpportunityResult, truth: dict[str, Any]
) -> None:
    planted = truth["publish_rate_effect"]
    pub = result.opportunities[0].publish_rate
    assert pub is not None and pub["status"] == "ok"
    assert pub["publish_action"] == planted["action"]
    assert pub["window_days"] == planted["window_days"]
    effect = planted["per_member_week"]
    assert effect > 0
    lo, hi = pub["ci"]
    assert lo < effect < hi
    # Confounded by age band: the raw difference overstates it, its interval misses it.
    assert pub["naive_ci"][0] > effect
    assert pub["smd"]["age_band"]["before"] != 0.0


def test_json_document_has_the_issue_shape(result: OpportunityResult) -> None:
    doc = json.loads(json.dumps(result.to_dict()))
    first = doc["opportunities"][0]
    for key in (
        "steps",
        "members",
        "occurrences",
        "occurrences_per_week",
        "median_seconds",
        "hours_per_week",
        "hours_saved_per_week",
        "hours_saved_ci",
        "score",
    ):
        assert key in first
    assert list(first)[:9] == [
        "steps",
        "members",
        "occurrences",
        "occurrences_per_week",
        "median_seconds",
        "hours_per_week",
        "hours_saved_per_week",
        "hours_saved_ci",
        "score",
    ]
    assoc = first["publish_rate_association"]
    assert assoc["effect"] is not None and len(assoc["ci"]) == 2
    assert {"ess_treated", "smd", "warnings", "naive_effect"} <= set(assoc)
    scores = [o["score"] for o in doc["opportunities"]]
    assert scores == sorted(scores, reverse=True)
    assert "score_formula" in doc["params"] and "roles" in doc["params"]


def test_cli_json_and_a_bad_roles_file(world: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tenure.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["opportunities", "--data", str(world), "--json", "--top", "3"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["opportunities"][0]["steps"] == list(WORKAROUND_STEPS)
    assert len(doc["opportunities"]) == 3
    bad = tmp_path / "roles.yaml"
    bad.write_text("export: video.download\n")
    res = runner.invoke(app, ["opportunities", "--data", str(world), "--roles", str(bad)])
    assert res.exit_code == 2
    assert "export must be a list" in res.output and str(bad) in res.output


def test_report_section_renders_figures_with_units_and_the_truth(
    result: OpportunityResult, truth: dict[str, Any]
) -> None:
    from tenure.report.opportunities import render

    (section,) = render(result, truth=truth)
    assert section.anchor == "opportunities"
    assert "video.download → &lt;exit&gt; → video.upload" in section.body_html
    assert 'data-title="Hours members would save per week' in section.body_html
    assert "hours saved per week" in section.body_html  # the x axis says its unit
    assert f"{truth['members']:,} members" in section.body_html
    assert "Planted publish-rate effect: +0.30 per member-week" in section.body_html
    assert "after weighting" in section.body_html  # the balance diagnostics are shown
    assert "video.download" in section.summary


def test_report_ignores_a_truth_document_without_the_planted_workaround(
    result: OpportunityResult, world: Path
) -> None:
    from tenure.report.opportunities import render
    from tenure.simulate import load_truth

    (section,) = render(result, truth=load_truth(world))  # the world's main truth.json
    assert "Planted in the simulated world" not in section.body_html
