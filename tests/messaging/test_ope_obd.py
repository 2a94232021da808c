"""Tenure's OPE equals Open Bandit Pipeline's on the real Open Bandit Dataset sample.

The reference numbers were computed by obp 0.5.7 itself and frozen with
``benchmarks/_work/obp-venv/bin/python benchmarks/obp_reference.py`` (see the provenance in
``tests/fixtures/obd/reference.json``). DM and DR were given the reward model described there,
which Tenure's table evaluator implements for a log with no context columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tenure.messaging.offpolicy import evaluate_tables, rename_log

FIXTURES = Path(__file__).parents[1] / "fixtures" / "obd"
REFERENCE: dict[str, Any] = json.loads((FIXTURES / "reference.json").read_text())
OBP_NAMES = {"ips": "ipw", "snips": "snipw", "dm": "dm", "dr": "dr"}


def _target(case: dict[str, Any]) -> pd.DataFrame:
    if case["target"] == "uniform":
        a, p = np.meshgrid(np.arange(case["n_actions"]), np.arange(1, case["len_list"] + 1))
        return pd.DataFrame(
            {"action": a.ravel(), "position": p.ravel(), "prob": 1.0 / case["n_actions"]}
        )
    return pd.read_csv(FIXTURES / case["target"])


def _log(case: dict[str, Any]) -> pd.DataFrame:
    raw = pd.read_csv(FIXTURES / case["log"])
    return rename_log(
        raw,
        {"action": "item_id", "reward": "click", "propensity": "propensity_score"},
    )


@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_ips_snips_dm_dr_equal_obp(name: str) -> None:
    case = REFERENCE["cases"][name]
    log = _log(case)
    assert len(log) == case["n_rounds"]
    est = evaluate_tables(
        log, _target(case), prior_strength=REFERENCE["reward_model"]["prior_strength"]
    )
    for ours, theirs in OBP_NAMES.items():
        assert est.value_of(ours) == pytest.approx(case["estimates"][theirs], abs=1e-9, rel=0)
    assert est.logged_value == pytest.approx(case["logged_value"], abs=1e-12)


WELL_BEHAVED = ["bts_on_random_all", "uniform_on_bts_all", "uniform_on_bts_men"]


@pytest.mark.parametrize("name", WELL_BEHAVED)
def test_normal_intervals_close_to_obp_bootstrap(name: str) -> None:
    """Independent check of the intervals: CLT vs obp's 10,000-sample bootstrap."""
    case = REFERENCE["cases"][name]
    est = evaluate_tables(_log(case), _target(case))
    assert est.diagnostics.warnings == ()
    for ours in ("ips", "snips", "dr"):
        lo, hi = case["bootstrap_95"][OBP_NAMES[ours]]
        our_lo, our_hi = est.interval_of(ours)
        width = hi - lo
        # normal vs percentile bootstrap on ~40 clicks: same width within 15%, ends within 20%
        assert our_hi - our_lo == pytest.approx(width, rel=0.15)
        assert abs(our_lo - lo) < 0.2 * width and abs(our_hi - hi) < 0.2 * width


def test_bts_target_sums_to_one_per_position() -> None:
    t = pd.read_csv(FIXTURES / "bts_policy_all.csv")
    np.testing.assert_allclose(t.groupby("position")["prob"].sum(), 1.0, atol=1e-12)


def test_women_log_weights_explode_and_say_so() -> None:
    """On the women campaign one logged click has weight ~21,700: ESS ~2 of 10,000 rows."""
    case = REFERENCE["cases"]["uniform_on_bts_women"]
    est = evaluate_tables(_log(case), _target(case))
    d = est.diagnostics
    assert d.ess < 10 and d.max_weight > 10_000
    assert any(w.startswith("weights explode") for w in d.warnings)
    assert est.to_dict()["warnings"] == list(d.warnings)


SWITCH: dict[str, Any] = json.loads(
    (Path(__file__).with_name("obd_switch_reference.json")).read_text()
)


@pytest.mark.parametrize("name", sorted(SWITCH["cases"]))
@pytest.mark.parametrize("lam", SWITCH["lambdas"])
def test_switch_dr_equals_obp(name: str, lam: float) -> None:
    """obp 0.5.7's SwitchDoublyRobust, frozen by ``benchmarks/obp_reference.py --switch``."""
    case = REFERENCE["cases"][name]
    est = evaluate_tables(
        _log(case), _target(case), prior_strength=REFERENCE["reward_model"]["prior_strength"],
        switch_lambda=lam,
    )  # fmt: skip
    expected = SWITCH["cases"][name][f"switch-dr-{lam:g}"]
    assert est.value_of("switch_dr") == pytest.approx(expected, abs=1e-9, rel=0)
