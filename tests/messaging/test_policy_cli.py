"""`tenure policy train|export|evaluate` end to end, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.cli import app
from tenure.messaging import Catalogue

FIXTURES = Path(__file__).parents[1] / "fixtures" / "obd"


@pytest.fixture
def log_file(tmp_path: Path, catalogue: Catalogue) -> Path:
    rng = np.random.default_rng(8)
    cs = catalogue.creatives("home")[:40]
    pick = rng.integers(len(cs), size=3000)
    frame = pd.DataFrame(
        {
            "message": [cs[j].message for j in pick],
            "image": [cs[j].image for j in pick],
            "cta": [cs[j].cta for j in pick],
            "placement": "home",
            "country": rng.choice(["US", "DE"], size=3000),
            "propensity": 1 / len(cs),
            "reward": rng.binomial(1, 0.1 + 0.2 * (pick % 5 == 0)).astype(float),
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_train_export_evaluate(tmp_path: Path, log_file: Path) -> None:
    runner = CliRunner()
    snap = tmp_path / "policy.json"
    res = runner.invoke(app, ["policy", "train", "--log", str(log_file), "--context",
                              "placement,country", "--out", str(snap), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["decisions"] == 3000 and summary["version"].startswith("ts-")
    table = tmp_path / "policy.csv"
    res = runner.invoke(app, ["policy", "export", str(snap), "--out", str(table)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(table)
    np.testing.assert_allclose(t.groupby(["placement", "country"])["prob"].sum(), 1.0)
    # evaluate the snapshot on its own training log: the log names creatives by their parts
    res = runner.invoke(app, ["policy", "evaluate", "--log", str(log_file), "--target",
                              str(snap), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["estimator"] for r in doc["rows"]] == ["ips", "snips", "dm", "dr"]
    # the exported table gives the same estimates as the snapshot
    log = pd.read_csv(log_file)
    log["action"] = log[["message", "image", "cta"]].astype(str).agg(":".join, axis=1)
    log_path = tmp_path / "log_actions.parquet"
    log.to_parquet(log_path)
    t.drop(columns=["message", "image", "cta"]).to_csv(tmp_path / "target.csv", index=False)
    res2 = runner.invoke(app, ["policy", "evaluate", "--log", str(log_path), "--target",
                               str(tmp_path / "target.csv"), "--json"])  # fmt: skip
    assert res2.exit_code == 0, res2.output
    ips = [r["value"] for r in json.loads(res2.stdout)["rows"] if r["estimator"] == "ips"]
    assert ips[0] == pytest.approx(doc["rows"][0]["value"], abs=1e-12)


def test_evaluate_obd_with_column_mapping() -> None:
    ref = json.loads((FIXTURES / "reference.json").read_text())["cases"]["bts_on_random_all"]
    res = CliRunner().invoke(app, [
        "policy", "evaluate", "--log", str(FIXTURES / "random_all.csv.gz"), "--target",
        str(FIXTURES / "bts_policy_all.csv"),
        "--columns", "action=item_id,reward=click,propensity=propensity_score", "--json",
        "--switch-lambda", "10",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = {r["estimator"]: r["value"] for r in json.loads(res.stdout)["rows"]}
    assert rows["ips"] == pytest.approx(ref["estimates"]["ipw"], abs=1e-9)
    assert rows["snips"] == pytest.approx(ref["estimates"]["snipw"], abs=1e-9)
    switch = json.loads((Path(__file__).with_name("obd_switch_reference.json")).read_text())
    assert rows["switch_dr"] == pytest.approx(
        switch["cases"]["bts_on_random_all"]["switch-dr-10"], abs=1e-9
    )


def test_errors_are_one_line_exit_2(tmp_path: Path, log_file: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["policy", "train", "--log", str(log_file), "--context",
                              "placement,planet", "--out", str(tmp_path / "p.json")])  # fmt: skip
    assert res.exit_code == 2 and "--context" in res.output and "planet" in res.output
    res = runner.invoke(app, ["policy", "evaluate", "--log", str(log_file), "--target",
                              str(tmp_path / "none.csv")])  # fmt: skip
    assert res.exit_code == 2 and "no such file" in res.output
    res = runner.invoke(app, ["policy", "evaluate", "--log", str(log_file), "--target",
                              str(log_file), "--columns", "acton=item"])  # fmt: skip
    assert res.exit_code == 2 and "unknown name" in res.output
