"""Recovery of the planted abuse, and a read-out that records what it excluded."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pilot_world import pilot_world

from tenure.errors import DataContractError
from tenure.experiments.anomalies import AnomalyResult, detect_anomalies
from tenure.experiments.pilot import readout_pilot
from tenure.simulate.abuse import OUTCOME, PILOT
from tenure.store import Dataset


@pytest.fixture(scope="module")
def world() -> tuple[Dataset, dict[str, Any]]:
    return pilot_world()


@pytest.fixture(scope="module")
def found(world: tuple[Dataset, dict[str, Any]]) -> AnomalyResult:
    return detect_anomalies(world[0], PILOT, outcome_actions=[OUTCOME])


def test_every_planted_abuse_is_found_with_counts(
    found: AnomalyResult, world: tuple[Dataset, dict[str, Any]]
) -> None:
    truth = world[1]
    dup = found.check("duplicate_exposures")
    assert dup.count == truth["duplicate_exposures"]
    shared = found.check("shared_key")
    assert shared.count == 1
    assert shared.examples[0]["key"] == truth["shared_code"]["code"]
    assert len(shared.members) == truth["shared_code"]["members"]
    burst = found.check("burst")
    assert sorted(burst.members) == sorted(truth["bursts"]["members"])
    assert all(e["fast_events"] == truth["bursts"]["events_each"] - 1 for e in burst.examples)
    assert found.spike_days() == (date.fromisoformat(truth["spike"]["day"]),)


def test_no_false_alarms_on_a_clean_experiment(world: tuple[Dataset, dict[str, Any]]) -> None:
    ds = world[0]
    x = ds.exposures
    assert x is not None
    # Only the rows each member was given: their own code, logged once, on an ordinary day.
    clean = x.filter(x.code != "QR-SCREENSHOT").distinct()
    bots = world[1]["bursts"]["members"]
    ev = ds.table("events")
    spike_day = date.fromisoformat(world[1]["spike"]["day"])
    ev = ev.filter(~ev.member_id.isin(bots) & (ev.ts.date() != spike_day))
    clean_ds = Dataset(con=ds.con, members=ds.members, events=ev, exposures=clean, as_of=ds.as_of)
    r = detect_anomalies(clean_ds, PILOT, outcome_actions=[OUTCOME])
    assert [c.count for c in r.checks] == [0, 0, 0, 0]


def test_readout_with_and_without_exclusions(
    found: AnomalyResult, world: tuple[Dataset, dict[str, Any]]
) -> None:
    ds, truth = world
    r = readout_pilot(ds, experiment=PILOT, outcome_action=OUTCOME, threshold=0.2, anomalies=found)
    raw, clean = r.table.iloc[0], r.table.iloc[1]
    true_rel = truth["rate_per_day"]["pilot"] / truth["rate_per_day"]["comparison"] - 1
    # The bots and the spike inflate the pilot site's payments; excluding them recovers truth.
    assert raw["effect_rel"] > clean["effect_rel"]
    # About three standard errors (the interval's half-width is ~0.06 here).
    assert abs(clean["effect_rel"] - true_rel) < 0.1
    assert abs(raw["effect_rel"] - true_rel) > 0.3
    assert r.params["decided_on"] == "excluding anomalies"
    ex = r.exclusions
    assert ex["applied"] is True
    assert ex["members_excluded"] == len(found.excluded_members())
    assert ex["spike_days_excluded"] == [truth["spike"]["day"]]
    assert ex["duplicate_exposures_ignored"] == truth["duplicate_exposures"]
    assert r.verdicts[0].variant == "pilot" and r.verdicts[0].decision == r.decision
    doc = r.to_dict()
    assert [row["reading"] for row in doc["readings"]] == ["all data", "excluding anomalies"]


def test_unknown_experiment_or_variant_is_a_clear_error(
    world: tuple[Dataset, dict[str, Any]],
) -> None:
    with pytest.raises(DataContractError, match=r"no exposures .*qr_checkout_pilot"):
        detect_anomalies(world[0], "nope")
    with pytest.raises(DataContractError, match="no variant 'treatment'"):
        readout_pilot(
            world[0],
            experiment=PILOT,
            outcome_action=OUTCOME,
            threshold=0.1,
            pilot_variant="treatment",
        )


def test_cli_plan_and_anomalies_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tenure.cli import app
    from tenure.simulate import WorldConfig, simulate_world

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "pilot", "plan", "--baseline", "0.08", "--threshold-count", "500", "--traffic",
            "5000", "--pilot-traffic", "5000", "--comparison-traffic", "12000", "--json",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["threshold_per_day"] == pytest.approx(500.0)
    res = runner.invoke(app, ["pilot", "plan", "--baseline", "0.08", "--pilot-traffic", "1",
                              "--comparison-traffic", "1"])  # fmt: skip
    assert res.exit_code == 2 and "--mde" in res.output
    world = tmp_path / "w"
    simulate_world(world, WorldConfig(n_members=4_000, seed=2, product_bets=True))
    truth = json.loads((world / "truth_abuse.json").read_text())
    res = runner.invoke(
        app,
        ["anomalies", "--data", str(world), "--experiment", PILOT, "--outcome", OUTCOME, "--json"],
    )
    assert res.exit_code == 0, res.output
    checks = {c["name"]: c for c in json.loads(res.stdout)["checks"]}
    assert checks["duplicate_exposures"]["count"] == truth["duplicate_exposures"]
    assert checks["shared_key"]["members"] == truth["shared_code"]["members"]
    assert sorted(checks["burst"]["member_ids"]) == sorted(truth["bursts"]["members"])


def test_report_section_records_exclusions_and_decision(
    found: AnomalyResult, world: tuple[Dataset, dict[str, Any]]
) -> None:
    from tenure.experiments.pilot import plan_pilot
    from tenure.report.pilots import render

    ds, truth = world
    r = readout_pilot(ds, experiment=PILOT, outcome_action=OUTCOME, threshold=0.2, anomalies=found)
    plan = plan_pilot(baseline=0.2, mde=0.2, relative=True, variance=0.2, pilot_daily_traffic=30,
                      comparison_daily_traffic=70)  # fmt: skip
    (section,) = render(r, truth=truth, plan=plan, anomalies=found)
    body = section.body_html
    assert "QR-SCREENSHOT" in body
    assert f"Excluded {len(found.excluded_members()):,} members" in body
    assert "Decision:" in body and r.decision.replace("_", " ") in section.summary


def test_report_lists_anomalies_of_several_experiments(found: AnomalyResult) -> None:
    from tenure.report.pilots import render

    (section,) = render((found,), truth={"world": "other"})
    assert section.anchor == "anomalies"
    assert "QR-SCREENSHOT" in section.body_html
    assert section.summary == f"anomalies in {PILOT}"
