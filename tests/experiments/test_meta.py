"""Cross-market pooling wires the scorecard rows into the random-effects model correctly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from tenure.experiments.comparison import Comparison
from tenure.experiments.meta import pool_segments
from tenure.settings import Inference

NAN = float("nan")
BASE = Comparison(
    "m", "primary", "all", None, None, "b", 100.0, 100.0, 0.5, 0.5, NAN, 0.0, NAN, NAN, 0.1,
    NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, False, False, False, False, "", NAN, False,
    True, "welch", "ok",
)  # fmt: skip


def _row(
    metric: str, country: str | None, effect: float, se: float, status: str = "ok"
) -> Comparison:
    label = "all" if country is None else f"country={country}"
    return dataclasses.replace(
        BASE, metric=metric, segment=label, segment_column=None if country is None else "country",
        segment_value=country, effect_abs=effect, se_abs=se, status=status,
    )  # fmt: skip


def test_pooling_matches_statsmodels() -> None:
    rows = [
        _row("m", "US", 0.1, 0.1), _row("m", "GB", 0.3, 0.12), _row("m", "DE", 0.2, 0.11),
        _row("m", None, 0.2, 0.05), _row("k", "US", 1.0, 0.5), _row("k", "GB", 2.0, 0.4),
        _row("k", "DE", 1.5, 0.3, status="too_few"), _row("k", None, 1.5, 0.2),
    ]  # fmt: skip
    pooled, shrunk = pool_segments(rows, "country", inference=Inference(alpha=0.1))
    m = {p.metric: p for p in pooled}
    ref = combine_effects(
        np.array([0.1, 0.3, 0.2]), np.square([0.1, 0.12, 0.11]), method_re="chi2", use_t=False
    )
    # Q < k - 1 here, so DerSimonian–Laird's tau² truncates to 0 and the random-effects pool is
    # the fixed-effect one (statsmodels leaves its tau² negative, so compare with its FE row).
    assert ref.tau2 < 0 and m["m"].tau2 == 0.0
    low, high = ref.summary_frame(alpha=0.1).loc["fixed effect", ["ci_low", "ci_upp"]]
    assert m["m"].pooled == pytest.approx(ref.mean_effect_fe, abs=1e-12) and m["m"].k == 3
    # The pooled interval is at the level of the inference settings passed in (90%).
    assert m["m"].ci_low == pytest.approx(low) and m["m"].ci_high == pytest.approx(high)
    assert m["k"].k == 2  # the "all" row and the degenerate cell are left out
    assert len(shrunk) == 5 and {s.segment for s in shrunk} <= {
        "country=US", "country=GB", "country=DE",
    }  # fmt: skip


def test_no_segments() -> None:
    pooled, shrunk = pool_segments([_row("m", None, 0.1, 0.1)], "country")
    assert pooled == () and shrunk == ()
