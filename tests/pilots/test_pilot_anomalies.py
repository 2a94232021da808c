"""Recovery of the planted abuse, and a read-out that records what it excluded."""

from __future__ import annotations

from datetime import date
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
