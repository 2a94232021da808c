"""The sufficient-statistics path: validation with file/line/reason, and one vectorised pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from statsmodels.stats.multitest import multipletests

from tenure.errors import DataContractError
from tenure.experiments.sufficient import (
    RECORD_KEYS,
    analyze_sufficient_stats,
    read_sufficient_stats,
)
from tenure.settings import Inference
from tenure.stats import CrossMoments, Moments, cuped_test, srm_test, welch_test

HEADER = "experiment,metric,segment,variant,n,sum,sum_squares\n"
GOOD = "e1,m,all,control,10,5,5\ne1,m,all,b,12,7,7\n"


def _write(tmp_path: Path, text: str, name: str = "stats.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("e1,m,all,b,-3,1,1\n", 4, "n is negative"),
        ("e1,m,all,b,10,5,1\n", 4, "variance is below zero"),
        ("e1,m,all,b,ten,5,5\n", 4, "'ten' is not a number"),
        ("e1,m,all,b,10,,5\n", 4, "sum is missing"),
        ("e1,m,all,b,2.5,1,1\n", 4, "not a whole number"),
        ("e1,m,all,b,0,1,1\n", 4, "non-zero with n = 0"),
        ("e1,m,all,b,10,5,5\n", 4, "duplicate row"),
        ("e2,m,all,control,10,5,5\n", 4, "no baseline to compare against"),
    ],
)
def test_bad_rows_name_file_line_and_reason(
    tmp_path: Path, body: str, line: int, reason: str
) -> None:
    path = _write(tmp_path, HEADER + GOOD + body)
    with pytest.raises(DataContractError, match=reason) as info:
        read_sufficient_stats(path)
    assert info.value.line == line
    assert info.value.file == str(path)
    assert f"stats.csv line {line}" in str(info.value)


def test_first_bad_line_is_reported_and_blank_lines_keep_numbering(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\n" + GOOD + "e1,m,all,c,10,5,1\ne1,m,all,d,-1,0,0\n")
    with pytest.raises(DataContractError) as info:
        read_sufficient_stats(path)
    assert info.value.line == 5


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        # A quoted newline inside a field: the row is reported where it starts (line 3).
        ('e1,m,all,control,10,5,3\n"e1",m,all,d,10,"1\n2",3\n', 3, "is not a number"),
        ("", 1, "header but no rows"),
        ('e1,m,all,control,10,"5,3\n', 2, "expected 7 fields, found 6"),
    ],
)
def test_stats_file_line_numbers_are_physical(
    tmp_path: Path, body: str, line: int, reason: str
) -> None:
    """Issue 10: the physical start line, a header-only file and an unterminated quote."""
    path = tmp_path / "stats.csv"
    path.write_text("experiment,metric,segment,variant,n,sum,sum_squares\n" + body)
    with pytest.raises(DataContractError, match=reason) as info:
        read_sufficient_stats(path)
    assert info.value.line == line and info.value.file == str(path)


def test_missing_column_and_partial_covariates(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match="missing required column"):
        read_sufficient_stats(_write(tmp_path, "experiment,metric,variant,n,sum\ne,m,a,1,1\n"))
    text = (
        "experiment,metric,variant,n,sum,sum_squares,"
        "covariate_sum,covariate_sum_squares,main_covariate_sum_product\n"
        "e,m,control,10,5,5,3,3,2\ne,m,b,10,5,5,3,,2\n"
    )
    with pytest.raises(DataContractError, match="covariate columns") as info:
        read_sufficient_stats(_write(tmp_path, text))
    assert info.value.line == 3


def test_float_roundoff_in_sum_squares_is_tolerated(tmp_path: Path) -> None:
    # 0/1 data with all ones: sum_squares - sum²/n is 0 up to round-off.
    frame = read_sufficient_stats(
        _write(tmp_path, HEADER + "e,m,all,control,3,0.3,0.030000000000000002\ne,m,all,b,3,1,1\n")
    )
    table = analyze_sufficient_stats(frame)
    assert table.frame["status"].tolist() == ["zero_variance"]


def _simulated(
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[tuple[str, str, str], np.ndarray]]:
    """Raw rows per cell and their sufficient statistics (2 experiments, CUPED on one metric)."""
    rows, raw = [], {}
    for e, variants in (("e1", ["control", "b"]), ("e2", ["a", "control", "c"])):
        for metric in ("revenue", "visits"):
            for v in variants:
                n = int(rng.integers(300, 400))
                x = rng.gamma(2, 3, n)
                y = x + rng.normal(0.3 if v != "control" else 0.0, 2, n)
                raw[(e, metric, v)] = np.c_[y, x]
                row: dict[str, Any] = {
                    "experiment": e, "metric": metric, "segment": "all", "variant": v,
                }  # fmt: skip
                row |= {"n": n, "sum": y.sum(), "sum_squares": (y * y).sum()}
                if metric == "revenue":
                    row |= {
                        "covariate_sum": x.sum(),
                        "covariate_sum_squares": (x * x).sum(),
                        "main_covariate_sum_product": (x * y).sum(),
                    }
                rows.append(row)
    return pd.DataFrame(rows), raw


def test_round_trip_and_analysis_match_the_direct_tests(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    frame, raw = _simulated(rng)
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    table = analyze_sufficient_stats(
        read_sufficient_stats(path), inference=Inference(correction="holm")
    )
    t = table.frame
    # Baseline is 'control' even when listed second (e2), and every non-baseline is compared.
    assert sorted(zip(t.experiment, t.variant, strict=True)) == sorted(
        [("e1", "b")] * 2 + [("e2", "a")] * 2 + [("e2", "c")] * 2
    )
    for row in t.itertuples():
        exp, metric, variant = str(row.experiment), str(row.metric), str(row.variant)
        c, v = raw[(exp, metric, "control")], raw[(exp, metric, variant)]
        if row.metric == "visits":
            assert row.estimator == "welch"
            ref = scipy.stats.ttest_ind(v[:, 0], c[:, 0], equal_var=False).pvalue
            assert row.p_value == pytest.approx(ref, abs=1e-9)
        else:
            assert row.estimator == "cuped"
            direct = cuped_test(
                CrossMoments.from_values(c[:, 0], c[:, 1]),
                CrossMoments.from_values(v[:, 0], v[:, 1]),
            )
            assert row.effect_abs == pytest.approx(float(direct.effect_abs), rel=1e-9)
            assert row.p_value == pytest.approx(float(direct.p_value), rel=1e-9)
    for e, sub in t.groupby("experiment"):
        expected = multipletests(sub.p_value, method="holm")[1]
        np.testing.assert_allclose(sub.p_value_adjusted, expected, atol=1e-12)
        first = frame[(frame.experiment == e) & (frame.metric == "revenue")]
        assert sub.srm_p_value.iloc[0] == pytest.approx(float(srm_test(first.n.to_numpy())))


def test_records_shape_and_json(rng: np.random.Generator) -> None:
    frame, _ = _simulated(rng)
    records = analyze_sufficient_stats(
        frame, inference=Inference(stopping="sequential", correction="bh")
    ).to_records()
    assert all(list(r) == RECORD_KEYS for r in records)
    assert {r["estimator"] for r in records} == {"welch+sequential", "cuped+sequential"}
    assert all(len(r["ci_abs"]) == 2 and r["ci_abs"][0] <= r["effect_abs"] for r in records)
    json.dumps(records, allow_nan=False)  # NaN is rendered as null


def test_first_listed_is_baseline_without_control_and_ratio_metrics() -> None:
    rng = np.random.default_rng(3)
    d = [rng.poisson(3, 200) + 1.0 for _ in range(2)]
    m = [di * rng.gamma(2, 1, 200) for di in d]
    rows = [
        {
            "experiment": "e",
            "metric": "rev_per_session",
            "variant": name,
            "n": 200,
            "sum": mi.sum(),
            "sum_squares": (mi * mi).sum(),
            "denominator_sum": di.sum(),
            "denominator_sum_squares": (di * di).sum(),
            "main_denominator_sum_product": (mi * di).sum(),
        }
        for name, mi, di in zip(["old", "new"], m, d, strict=True)
    ]
    t = analyze_sufficient_stats(pd.DataFrame(rows)).frame
    assert t.variant.tolist() == ["new"] and t.estimator.tolist() == ["ratio"]
    assert t.effect_abs.iloc[0] == pytest.approx(m[1].sum() / d[1].sum() - m[0].sum() / d[0].sum())
    assert t.segment.tolist() == ["all"]


def test_degenerate_group_is_a_status_and_srm_weights() -> None:
    frame = pd.DataFrame(
        {
            "experiment": ["e"] * 4,
            "metric": ["m", "m", "k", "k"],
            "variant": ["control", "b"] * 2,
            "n": [1000.0, 2000.0, 1000.0, 2000.0],
            "sum": [500.0, 1000.0, 0.0, 0.0],
            "sum_squares": [500.0, 1000.0, 0.0, 0.0],
        }
    )
    t = analyze_sufficient_stats(frame, weights={"e": {"control": 1, "b": 2}}).frame
    assert t.status.tolist() == ["ok", "zero_variance"]
    assert t.srm_p_value.iloc[0] == pytest.approx(1.0)
    equal = analyze_sufficient_stats(frame).frame
    assert equal.srm_p_value.iloc[0] < 1e-10
    assert np.isnan(t.p_value_adjusted.iloc[1])
    assert t.p_value_adjusted.iloc[0] == t.p_value.iloc[0]  # one non-NaN p-value in the family


def test_welch_path_agrees_with_welch_test_on_a_large_batch(rng: np.random.Generator) -> None:
    k = 500
    n = rng.integers(50, 500, (k, 2)).astype(float)
    mean = rng.normal(1, 0.2, (k, 2))
    s = n * mean
    ss = n * (mean**2 + rng.uniform(0.5, 2, (k, 2)))
    frame = pd.DataFrame(
        {
            "experiment": np.repeat(np.arange(k) // 10, 2).astype(str),
            "metric": np.repeat(np.arange(k) % 10, 2).astype(str),
            "variant": np.tile(["control", "b"], k),
            "n": n.ravel(),
            "sum": s.ravel(),
            "sum_squares": ss.ravel(),
        }
    )
    t = analyze_sufficient_stats(frame, inference=Inference(correction="none")).frame
    r = welch_test(Moments(n[:, 0], s[:, 0], ss[:, 0]), Moments(n[:, 1], s[:, 1], ss[:, 1]))
    np.testing.assert_allclose(t.p_value, r.p_value, atol=1e-12)
