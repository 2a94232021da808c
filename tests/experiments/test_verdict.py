"""Verdict rules on hand-made scorecard rows: each rule fires with its reason."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from toy_world import TOY_SPEC

from tenure.experiments.spec import parse_spec
from tenure.experiments.verdict import decide

SPEC = parse_spec(TOY_SPEC)  # primary orders_7d, relative threshold 5%; guardrail retention_30


def _table(primary: dict[str, Any], guard: str = "ok") -> pd.DataFrame:
    base = {
        "segment": "all", "variant": "treatment", "n_baseline": 1000.0, "n_variant": 1000.0,
        "baseline_mean": 1.0, "baseline_variance": 4.0, "effect_abs": 0.1, "ci_abs_low": 0.05,
        "ci_abs_high": 0.15, "effect_rel": 0.1, "ci_rel_low": 0.05, "ci_rel_high": 0.15,
        "p_value": 0.001, "significant_good": True, "significant_bad": False, "threshold_met": True,
        "guardrail": "",
    }  # fmt: skip
    p = {**base, "metric": "orders_7d", "role": "primary", **primary}
    g = {**base, "metric": "retention_30", "role": "guardrail", "guardrail": guard,
         "effect_abs": -0.05, "effect_rel": -0.06, "margin": 0.01, "margin_relative": False}  # fmt: skip
    return pd.DataFrame([p, g])


EXPOSED = pd.Series({"control": 1000.0, "treatment": 1000.0})


def _decide(table: pd.DataFrame, srm: float = 0.5) -> Any:
    (v,) = decide(SPEC, table, srm_p_value=srm, exposed=EXPOSED, days_running=10.0)
    return v


def test_ship_when_threshold_met() -> None:
    v = _decide(_table({}))
    assert v.decision == "ship" and v.threshold_met and "clears the threshold" in v.reason


def test_srm_blocks_everything() -> None:
    v = _decide(_table({}), srm=1e-6)
    assert v.decision == "investigate" and "sample-ratio mismatch" in v.reason


@pytest.mark.parametrize(("wins", "decision"), [(True, "investigate"), (False, "do_not_ship")])
def test_guardrail_breach(wins: bool, decision: str) -> None:
    v = _decide(_table({"significant_good": wins, "threshold_met": wins}, guard="breach"))
    assert v.decision == decision and "guardrail retention_30" in v.reason


def test_real_but_below_threshold() -> None:
    v = _decide(_table({"effect_rel": 0.02, "ci_rel_low": 0.01, "threshold_met": False}))
    assert v.decision == "do_not_ship" and "below the threshold" in v.reason


def test_significantly_worse() -> None:
    row = {
        "effect_rel": -0.1,
        "ci_rel_low": -0.15,
        "ci_rel_high": -0.05,
        "significant_good": False,
        "significant_bad": True,
        "threshold_met": False,
    }
    assert _decide(_table(row)).decision == "do_not_ship"


def test_interval_rules_out_threshold() -> None:
    row = {
        "effect_rel": 0.0,
        "ci_rel_low": -0.03,
        "ci_rel_high": 0.03,
        "significant_good": False,
        "threshold_met": False,
    }
    v = _decide(_table(row))
    assert v.decision == "do_not_ship" and "rules out" in v.reason


def test_keep_running_says_how_long() -> None:
    row = {
        "effect_rel": 0.04,
        "ci_rel_low": -0.02,
        "ci_rel_high": 0.10,
        "significant_good": False,
        "threshold_met": False,
    }
    v = _decide(_table(row))
    assert v.decision == "keep_running"
    # n for a 5% relative effect on mean 1, variance 4: 2 * (1.96 + 0.84)^2 * 4 / 0.05^2 ≈ 25,116
    # per arm; 24,116 more at 100 a day per arm is 242 days, plus the 7-day window.
    assert v.days_needed == pytest.approx(249, abs=2)
    assert "more days" in v.reason
