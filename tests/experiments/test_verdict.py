"""Verdict rules on hand-made comparisons: each rule fires with its reason."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from toy_world import TOY_SPEC

from tenure.experiments.analysis import _guardrail_status
from tenure.experiments.comparison import Comparison
from tenure.experiments.spec import parse_spec
from tenure.experiments.verdict import Verdict, decide
from tenure.settings import Inference

SPEC = parse_spec(TOY_SPEC)  # primary orders_7d, relative threshold 5%; guardrail retention_30
NAN = float("nan")
BASE = Comparison(
    metric="orders_7d", role="primary", segment="all", segment_column=None, segment_value=None,
    variant="treatment", n_baseline=1000.0, n_variant=1000.0, baseline_mean=1.0,
    variant_mean=1.1, baseline_variance=4.0, effect_abs=0.1, ci_abs_low=0.05, ci_abs_high=0.15,
    se_abs=0.025, effect_rel=0.1, ci_rel_low=0.06, ci_rel_high=0.15, se_rel=0.025,
    p_value=0.001, p_value_adjusted=0.001, p_value_decision=0.001, chance_to_win=0.999,
    expected_loss=0.0, significant_good=True, significant_bad=False, threshold_met=True,
    threshold_clear=True, guardrail="", margin=NAN, margin_relative=False,
    higher_is_better=True, estimator="cuped", status="ok",
)  # fmt: skip
GUARD = dataclasses.replace(
    BASE, metric="retention_30", role="guardrail", guardrail="ok", effect_abs=0.0,
    ci_abs_low=-0.005, ci_abs_high=0.005, effect_rel=0.0, significant_good=False,
    threshold_met=False, threshold_clear=False, margin=0.01, baseline_mean=0.8,
    baseline_variance=0.16, p_value=0.9,
)  # fmt: skip
EXPOSED = {"control": 1000, "treatment": 1000}


def _decide(
    primary: dict[str, Any], guard: dict[str, Any] | None = None, srm: float = 0.5
) -> Verdict:
    rows = [dataclasses.replace(BASE, **primary), dataclasses.replace(GUARD, **(guard or {}))]
    (v,) = decide(SPEC, rows, srm_p_value=srm, exposed=EXPOSED, days_running=10.0)
    return v


def test_ship_when_threshold_clear_and_guardrail_non_inferior() -> None:
    v = _decide({})
    assert v.decision == "ship" and v.threshold_met and "clears the threshold" in v.reason
    assert "point estimate only" not in v.reason


def test_point_estimate_only_clear_is_said() -> None:
    v = _decide({"ci_rel_low": 0.03, "threshold_clear": False})
    assert v.decision == "ship" and "by its point estimate only" in v.reason
    assert "+3.0%" in v.reason  # the lower bound that falls short is named


def test_srm_blocks_everything() -> None:
    v = _decide({}, srm=1e-6)
    assert v.decision == "investigate" and "sample-ratio mismatch" in v.reason


@pytest.mark.parametrize(("wins", "decision"), [(True, "investigate"), (False, "do_not_ship")])
def test_guardrail_breach(wins: bool, decision: str) -> None:
    v = _decide(
        {"significant_good": wins, "threshold_met": wins},
        {"guardrail": "breach", "effect_abs": -0.05, "p_value": 1e-4},
    )
    assert v.decision == decision and "guardrail retention_30" in v.reason


def test_guardrail_that_cannot_tell_blocks_shipping() -> None:
    """The demo's upsell case: −0.078 [−0.160, +0.003] against a 0.01 margin is not a pass."""
    g = {"guardrail": "cant_tell", "effect_abs": -0.078, "ci_abs_low": -0.160,
         "ci_abs_high": 0.003, "p_value": 0.06}  # fmt: skip
    v = _decide({}, g)
    assert v.decision == "keep_running" and v.threshold_met
    assert "can't tell yet" in v.reason and "margin +0.01" in v.reason
    assert v.days_needed is not None and v.days_needed > 0


def test_guardrail_status_is_non_inferiority_against_the_margin() -> None:
    def status(lo: float, hi: float, *, bad: bool = False, higher: bool = True) -> str:
        e = (lo + hi) / 2
        row = dataclasses.replace(
            GUARD, effect_abs=e, ci_abs_low=lo, ci_abs_high=hi, significant_bad=bad,
            higher_is_better=higher,
        )  # fmt: skip
        return _guardrail_status(row)

    assert status(-0.008, 0.004) == "ok"  # worst loss 0.008 within the 0.01 margin
    assert status(-0.160, 0.003) == "cant_tell"  # not significant, yet not non-inferior
    assert status(-0.05, -0.03, bad=True) == "breach"
    assert status(-0.012, -0.004, bad=True) == "cant_tell"  # harm, but maybe within margin
    assert status(-0.004, 0.008, higher=False) == "ok"  # lower-is-better: loss is +0.008
    assert status(NAN, NAN) == "n/a"


def test_real_but_below_threshold() -> None:
    v = _decide({"effect_rel": 0.02, "ci_rel_low": 0.01, "threshold_met": False})
    assert v.decision == "do_not_ship" and "below the threshold" in v.reason


def test_significantly_worse() -> None:
    row = {"effect_rel": -0.1, "ci_rel_low": -0.15, "ci_rel_high": -0.05,
           "significant_good": False, "significant_bad": True, "threshold_met": False}  # fmt: skip
    assert _decide(row).decision == "do_not_ship"


def test_interval_rules_out_threshold() -> None:
    row = {"effect_rel": 0.0, "ci_rel_low": -0.03, "ci_rel_high": 0.03,
           "significant_good": False, "threshold_met": False}  # fmt: skip
    v = _decide(row)
    assert v.decision == "do_not_ship" and "rules out" in v.reason


def test_missing_interval_says_why() -> None:
    row = {"effect_rel": NAN, "ci_rel_low": NAN, "ci_rel_high": NAN, "status": "too_few",
           "significant_good": False, "threshold_met": False}  # fmt: skip
    v = _decide(row)
    assert "fewer than 2 units" in v.reason and "nan" not in v.reason


INCONCLUSIVE: dict[str, Any] = {"effect_rel": 0.04, "ci_rel_low": -0.02, "ci_rel_high": 0.10,
                "significant_good": False, "threshold_met": False}  # fmt: skip


def test_keep_running_says_how_long() -> None:
    v = _decide(INCONCLUSIVE)
    assert v.decision == "keep_running"
    # n for a 5% relative effect on mean 1, variance 4: 2 * (1.96 + 0.84)^2 * 4 / 0.05^2 ≈ 25,116
    # per arm; 24,116 more at 100 a day per arm is 242 days, plus the 7-day window.
    assert v.days_needed == pytest.approx(249, abs=2)
    assert "more days" in v.reason


def test_keep_running_plans_at_the_corrected_level_with_more_arms() -> None:
    spec = parse_spec({**TOY_SPEC, "variants": [{"name": "control"}, {"name": "treatment"},
                                                 {"name": "other"}]})  # fmt: skip
    rows = [dataclasses.replace(BASE, **INCONCLUSIVE),
            dataclasses.replace(BASE, **INCONCLUSIVE, variant="other")]  # fmt: skip
    exposed = {"control": 1000, "treatment": 1000, "other": 1000}
    holm3, none3 = (
        decide(
            spec,
            rows,
            srm_p_value=0.5,
            exposed=exposed,
            days_running=10.0,
            inference=Inference(correction=c),
        )[0]
        for c in ("holm", "none")
    )
    # Holm over two variants plans at alpha 0.025: (2.241 + 0.842)² / (1.96 + 0.842)² ≈ 1.21×.
    assert none3.days_needed == pytest.approx(249, abs=2)
    assert holm3.days_needed is not None and holm3.days_needed > 1.15 * 242
