"""The decision log exported as the contract's exposures table reads back as a dataset."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serve_support import WRITE
from serve_world import AS_OF
from typer.testing import CliRunner

from tenure.cli import app
from tenure.errors import SpecError
from tenure.serve.export import NOTHING_SHOWN, export_log
from tenure.store import connect

Make = Callable[..., TestClient]


def test_exported_exposures_conform_to_the_contract(
    make_client: Make, world: Path, tmp_path: Path
) -> None:
    log = tmp_path / "served.sqlite"
    client = make_client(log=log)
    ids = []
    for _ in range(4):  # the fourth cancel_flow decision is capped: nothing shown
        r = client.post(
            "/v1/decide", json={"member_id": "m003", "placement": "cancel_flow"}, headers=WRITE
        )
        ids.append(r.json()["decision_id"])
    client.post("/v1/outcomes", json={"decision_id": ids[0], "reward": 2.5}, headers=WRITE)
    client.post("/v1/outcomes", json={"decision_id": ids[1], "event": "stayed"}, headers=WRITE)

    folder = tmp_path / "dataset"
    shutil.copytree(world, folder)
    exposures, outcomes = export_log(log, folder)
    frame = pd.read_parquet(exposures)
    assert list(frame["decision_id"]) == ids
    assert list(frame["shown"]) == [True, True, True, False]
    assert frame["variant"].iloc[3] == NOTHING_SHOWN and frame["propensity"].iloc[3] == 1.0
    assert frame["country"].iloc[0] == "US"  # the member's attribute, promoted to a column
    results = pd.read_parquet(outcomes)
    assert results["reward"].iloc[0] == 2.5 and results["event"].iloc[1] == "stayed"
    # The folder, with the exported exposures, passes the data contract's checks.
    dataset = connect(folder, as_of=AS_OF)
    assert dataset.exposures is not None
    assert int(dataset.exposures.count().to_pyarrow().as_py()) == 4
    with pytest.raises(SpecError, match="exists; pass --overwrite"):
        export_log(log, folder)


def test_export_command(make_client: Make, tmp_path: Path) -> None:
    log = tmp_path / "cli.sqlite"
    client = make_client(log=log)
    client.post("/v1/decide", json={"member_id": "m001", "placement": "home"}, headers=WRITE)
    result = CliRunner().invoke(
        app, ["export-decisions", "--log", str(log), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "out" / "exposures.parquet")) == 1
