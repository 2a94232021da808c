"""The simulator's experiments get the verdicts their truth calls for; the two paths agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from toy_world import AS_OF, COMPARISON_KEYS, SPECS_DIR

from tenure.experiments.analysis import Scorecard, analyze, score
from tenure.experiments.metrics import compute_metrics
from tenure.experiments.spec import ExperimentSpec, load_spec
from tenure.experiments.sufficient import analyze_sufficient_stats
from tenure.store import Dataset, connect


@pytest.fixture(scope="module")
def sim(sim_world: Path) -> Dataset:
    return connect(sim_world)


def _card(sim: Dataset, name: str) -> Scorecard:
    return analyze(sim, load_spec(SPECS_DIR / f"{name}.yaml"))


def test_value_message_ships_discount_does_not(sim: Dataset, sim_truth: dict[str, Any]) -> None:
    card = _card(sim, "value_messaging")
    v = {x.variant: x for x in card.verdicts}
    assert v["value_message"].decision == "ship" and v["value_message"].threshold_met
    assert v["discount_offer"].decision in ("keep_running", "do_not_ship")
    truth = sim_truth["experiments"]["value_messaging"]["true_effects"]
    assert (
        truth["value_message"]["retention_180"] > 0.025 > truth["discount_offer"]["retention_180"]
    )
    # The estimate's interval covers the truth.
    row = card.table[
        (card.table.segment == "all")
        & (card.table.metric == "retention_180")
        & (card.table.variant == "value_message")
    ].iloc[0]
    assert row.ci_abs_low < truth["value_message"]["retention_180"] < row.ci_abs_high
    assert card.srm_p_value > 0.001


def test_cancel_flow_recap_is_investigated_for_srm(sim: Dataset) -> None:
    card = _card(sim, "cancel_flow_recap")
    assert card.srm_p_value < 0.001
    (v,) = card.verdicts
    assert v.decision == "investigate" and "sample-ratio mismatch" in v.reason


def test_upsell_breaks_its_retention_guardrail(sim: Dataset) -> None:
    card = _card(sim, "upsell_banner")
    (v,) = card.verdicts
    assert v.decision in ("investigate", "do_not_ship") and "guardrail retention_90" in v.reason
    t = card.table[card.table.segment == "all"].set_index("metric")
    assert t.loc["retention_90", "guardrail"] == "breach"
    assert bool(t.loc["shipping_orders_30d", "significant_good"])
    assert t.loc["shipping_orders_30d", "estimator"] == "cuped"


def test_encourage_video_ships_on_adoption(sim: Dataset, sim_truth: dict[str, Any]) -> None:
    card = _card(sim, "encourage_video")
    (v,) = card.verdicts
    assert v.decision == "ship"
    row = card.table[
        (card.table.segment == "all") & (card.table.metric == "video_adoption_7d")
    ].iloc[0]
    true = sim_truth["experiments"]["encourage_video"]["true_effects"]["promote_video"][
        "adoption_7d"
    ]["video.stream"]
    assert row.ci_abs_low < true < row.ci_abs_high


def test_cuped_narrows_the_interval(sim: Dataset) -> None:
    spec = load_spec(SPECS_DIR / "upsell_banner.yaml")
    mf = compute_metrics(sim, spec, metrics=[spec.primary], segments=())
    cuped = analyze_sufficient_stats(mf.stats).frame
    plain = analyze_sufficient_stats(
        mf.stats.drop(
            columns=["covariate_sum", "covariate_sum_squares", "main_covariate_sum_product"]
        )
    ).frame
    assert cuped.se_abs.iloc[0] < 0.95 * plain.se_abs.iloc[0]


def test_engine_and_warehouse_paths_agree(
    toy_world: Path, toy_spec: ExperimentSpec, tmp_path: Path
) -> None:
    from tenure.experiments.sufficient import read_sufficient_stats

    mf = compute_metrics(connect(toy_world, as_of=AS_OF), toy_spec)
    csv = tmp_path / "stats.csv"
    mf.stats.to_csv(csv, index=False)
    direct = analyze_sufficient_stats(mf.stats).to_records()
    via_csv = analyze_sufficient_stats(read_sufficient_stats(csv)).to_records()
    assert len(direct) == len(via_csv) > 0
    for a, b in zip(direct, via_csv, strict=True):
        assert a["metric"] == b["metric"] and a["segment"] == b["segment"]
        assert a["effect_abs"] == pytest.approx(b["effect_abs"], rel=1e-9)
        assert a["p_value"] == pytest.approx(b["p_value"], rel=1e-6)


def test_scorecard_json_round_trips(toy_world: Path, toy_spec: ExperimentSpec) -> None:
    card = score(toy_spec, compute_metrics(connect(toy_world, as_of=AS_OF), toy_spec), as_of=AS_OF)
    d = json.loads(json.dumps(card.to_dict()))
    assert d["experiment"] == "toy" and d["verdicts"][0]["variant"] == "treatment"
    assert set(d["comparisons"][0]) >= COMPARISON_KEYS
    assert d["multi_arm_members_dropped"] == 3
    assert np.isfinite(d["srm_p_value"])


@pytest.mark.parametrize(
    ("horizon", "inference"), [("sequential", "frequentist"), ("fixed", "bayesian")]
)
def test_other_methods_reach_the_same_verdict(
    toy_world: Path, toy_spec: ExperimentSpec, horizon: str, inference: str
) -> None:
    spec = toy_spec.model_copy(
        update={
            "method": toy_spec.method.model_copy(
                update={"stopping": horizon, "framework": inference}
            )
        }
    )
    card = score(spec, compute_metrics(connect(toy_world, as_of=AS_OF), spec), as_of=AS_OF)
    prim = card.table[(card.table.role == "primary") & (card.table.segment == "all")].iloc[0]
    assert prim.estimator == ("cuped+sequential" if horizon == "sequential" else "cuped")
    assert bool(prim.threshold_met)
    (v,) = card.verdicts
    if horizon == "sequential":
        # Always-valid intervals are wider: the guardrail's harm is no longer conclusive, and
        # an inconclusive guardrail is not a pass (non-inferiority, issue 11): keep running.
        assert v.decision == "keep_running" and "retention_30 can't tell yet" in v.reason
    else:
        assert v.decision == "investigate" and "guardrail retention_30" in v.reason


def test_small_demo_world_does_not_ship_past_an_inconclusive_guardrail(tmp_path: Path) -> None:
    """`tenure demo --members 2000` shipped upsell_banner with retention_90 at
    −0.078 [−0.160, +0.003]: a guardrail that cannot exclude a loss beyond its margin blocks."""
    from tenure.simulate import WorldConfig, simulate_world

    simulate_world(tmp_path, WorldConfig(n_members=2000, seed=7))
    card = analyze(connect(tmp_path), load_spec(SPECS_DIR / "upsell_banner.yaml"))
    (v,) = card.verdicts
    assert v.decision != "ship"
    guards = {c.metric: c for c in card.overall("guardrail")}
    for g in guards.values():
        _loss, worst = g.loss(relative=g.margin_relative)
        assert (g.guardrail == "ok") == (worst <= g.margin)
    if v.decision == "keep_running":
        assert "can't tell yet" in v.reason or "inconclusive" in v.reason
