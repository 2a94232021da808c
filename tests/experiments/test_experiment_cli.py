"""`tenure experiment …` end to end: scorecards, the --stats JSON, plans, assignment, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from toy_world import AS_OF, COMPARISON_KEYS, SPECS_DIR, TOY_SPEC
from typer.testing import CliRunner

from tenure.cli import app
from tenure.experiments.metrics import compute_metrics
from tenure.experiments.spec import parse_spec
from tenure.store import connect

runner = CliRunner()


@pytest.fixture(scope="module")
def toy_spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("specs") / "toy.yaml"
    path.write_text(yaml.safe_dump(TOY_SPEC))
    return path


def test_analyze_spec_json(toy_world: Path, toy_spec_file: Path) -> None:
    # The toy world's as_of is its latest timestamp, a little before AS_OF: same members qualify.
    result = runner.invoke(
        app, ["experiment", "analyze", str(toy_spec_file), "--data", str(toy_world), "--json"]
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["experiment"] == "toy" and d["verdicts"][0]["decision"] in ("ship", "investigate")
    assert {c["metric"] for c in d["comparisons"]} >= {"orders_7d", "retention_30"}


def test_analyze_spec_human(toy_world: Path, toy_spec_file: Path) -> None:
    result = runner.invoke(
        app, ["experiment", "analyze", str(toy_spec_file), "--data", str(toy_world)]
    )
    assert result.exit_code == 0, result.output
    assert "SRM p" in result.output and "treatment:" in result.output


def test_analyze_stats_json(toy_world: Path, tmp_path: Path) -> None:
    mf = compute_metrics(connect(toy_world, as_of=AS_OF), parse_spec(TOY_SPEC))
    csv = tmp_path / "stats.csv"
    mf.stats.to_csv(csv, index=False)
    result = runner.invoke(app, ["experiment", "analyze", "--stats", str(csv), "--json"])
    assert result.exit_code == 0, result.output
    comps = json.loads(result.output)["comparisons"]
    assert set(comps[0]) >= COMPARISON_KEYS
    assert len(comps) == 6 * 4  # six metrics × (all + three countries), one variant each
    human = runner.invoke(app, ["experiment", "analyze", "--stats", str(csv)])
    assert human.exit_code == 0 and "toy (SRM p = " in human.output


def test_bad_stats_row_is_named(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "experiment,metric,variant,n,sum,sum_squares\ne,m,control,10,5,5\ne,m,b,-3,5,5\n"
    )
    result = runner.invoke(app, ["experiment", "analyze", "--stats", str(csv), "--json"])
    assert result.exit_code == 2
    assert "line 3" in result.output and "n is negative" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"primary": {"name": "x", "kind": "retention", "threshold": {"value": 0.1}}},
            "horizon_days",
        ),
        ({"variants": [{"name": "control", "weight": 0}, {"name": "b"}]}, "variants[0].weight"),
    ],
)
def test_bad_spec_is_a_clear_error(
    tmp_path: Path, toy_world: Path, change: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TOY_SPEC, **change}))
    result = runner.invoke(app, ["experiment", "analyze", str(path), "--data", str(toy_world)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_missing_arguments(toy_world: Path) -> None:
    result = runner.invoke(app, ["experiment", "analyze", "--data", str(toy_world)])
    assert result.exit_code == 2 and "SPEC" in result.output


def test_plan_pilot() -> None:
    result = runner.invoke(
        app,
        [
            "experiment",
            "plan",
            "--baseline",
            "0.08",
            "--threshold-count",
            "500",
            "--traffic",
            "5000",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["n_per_arm"] == 3213 and d["days"] == 2.0


def test_assign(toy_world: Path) -> None:
    spec = str(SPECS_DIR / "value_messaging.yaml")
    result = runner.invoke(app, ["experiment", "assign", spec, "m1", "m2", "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert [a["member_id"] for a in d["assignments"]] == ["m1", "m2"]
    again = json.loads(
        runner.invoke(app, ["experiment", "assign", spec, "m1", "m2", "--json"]).output
    )
    assert again == d
    whole = runner.invoke(app, ["experiment", "assign", spec, "--data", str(toy_world), "--json"])
    assert sum(json.loads(whole.output)["counts"].values()) == 3000


def test_alpha_flag_applies_to_a_spec(toy_world: Path, toy_spec_file: Path) -> None:
    """`analyze SPEC --alpha 0.01` used to be silently ignored; now it is applied and recorded."""
    base = ["experiment", "analyze", str(toy_spec_file), "--data", str(toy_world), "--json"]
    d95 = json.loads(runner.invoke(app, base).output)
    d99 = json.loads(runner.invoke(app, [*base, "--alpha", "0.01", "--correction", "bh"]).output)
    assert d95["params"]["alpha"] == 0.05 and d99["params"]["alpha"] == 0.01
    assert d99["params"]["correction"] == "bh"
    w95 = {(c["metric"], c["segment"]): c["ci_abs"] for c in d95["comparisons"]}
    for c in d99["comparisons"]:
        lo, hi = w95[(c["metric"], c["segment"])]
        if lo is not None and c["ci_abs"][0] is not None:
            assert c["ci_abs"][1] - c["ci_abs"][0] > hi - lo  # 99% intervals are wider


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--alpha", "0.7"], "--alpha: must be in"),
        (["--correction", "bonferroni"], "--correction: must be one of"),
        (["--stopping", "weekly"], "--stopping: must be one of"),
        (["--stopping", "sequential", "--alternative", "greater"], "sequential design"),
    ],
)
def test_bad_inference_flags_are_refused(
    toy_world: Path, toy_spec_file: Path, flags: list[str], message: str
) -> None:
    cmd = ["experiment", "analyze", str(toy_spec_file), "--data", str(toy_world), *flags]
    result = runner.invoke(app, cmd)
    assert result.exit_code == 2 and message in result.output


def test_stats_path_takes_the_same_flags_and_exports(toy_world: Path, tmp_path: Path) -> None:
    mf = compute_metrics(connect(toy_world, as_of=AS_OF), parse_spec(TOY_SPEC))
    csv = tmp_path / "stats.csv"
    mf.stats.to_csv(csv, index=False)
    out = tmp_path / "comparisons.parquet"
    cmd = ["experiment", "analyze", "--stats", str(csv), "--method", "sequential", "--json"]
    result = runner.invoke(app, [*cmd, "--out", str(out)])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["params"]["stopping"] == "sequential"  # --method is the old name of --stopping
    assert {c["estimator"] for c in d["comparisons"]} <= {
        "welch+sequential", "cuped+sequential", "ratio+sequential",
    }  # fmt: skip
    import pandas as pd

    assert len(pd.read_parquet(out)) == len(d["comparisons"])
    wide = {"COLUMNS": "200"}
    human = runner.invoke(app, ["experiment", "analyze", "--stats", str(csv)], env=wide)
    assert "p (holm-adj.)" in human.output and "95% CI" in human.output


def test_plan_accounts_for_the_correction_with_more_arms() -> None:
    from scipy.stats import norm

    def n(arms: int, correction: str) -> int:
        cmd = ["experiment", "plan", "--baseline", "10", "--variance", "25", "--mde", "0.5"]
        cmd += ["--arms", str(arms), "--correction", correction, "--json"]
        r = runner.invoke(app, cmd)
        assert r.exit_code == 0, r.output
        return int(json.loads(r.output)["n_per_arm"])

    # Mean metric: n = 2 (z_{1-a/2} + z_{0.8})² σ² / δ², with a = 0.05 / (arms - 1) under Holm.
    def closed(a: float) -> int:
        return int(np.ceil(2 * (norm.ppf(1 - a / 2) + norm.ppf(0.8)) ** 2 * 25 / 0.25))

    assert n(2, "holm") == closed(0.05)
    assert n(3, "holm") == closed(0.025) > n(2, "holm")
    assert n(3, "none") == closed(0.05)
