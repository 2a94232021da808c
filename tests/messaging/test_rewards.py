"""Delayed rewards joined in the engine, checked decision by decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tenure.errors import DataContractError
from tenure.messaging import Catalogue
from tenure.messaging.rewards import join_rewards
from tenure.store import connect

AS_OF = datetime(2026, 3, 31, tzinfo=UTC)


def _world(tmp_path: Path, variants: list[str]) -> Path:
    members = pd.DataFrame(
        {"member_id": ["a", "b", "c", "d"],
         "signup_at": pd.to_datetime(["2026-01-01"] * 4, utc=True)}
    )  # fmt: skip
    t = [AS_OF - timedelta(days=d) for d in (20, 20, 20, 2)]
    exposures = pd.DataFrame(
        {
            "member_id": ["a", "b", "c", "d"],
            "ts": t,
            "experiment": "ts-1",
            "variant": variants,
            "decision_id": ["d1", "d2", "d3", "d4"],
            "placement": "home",
            "propensity": 0.1,
        }
    )
    events = pd.DataFrame(
        {
            "member_id": ["a", "b", "b", "c"],
            # a: streams 3 days after (joined); b: streams 9 days after and orders 1 day
            # after (wrong benefit): default; c: streams before the decision: default
            "ts": [t[0] + timedelta(days=3), t[1] + timedelta(days=9),
                   t[1] + timedelta(days=1), t[2] - timedelta(days=1)],
            "action": ["video.stream", "video.stream", "shipping.order", "video.stream"],
        }
    )  # fmt: skip
    members.to_parquet(tmp_path / "members.parquet")
    exposures.to_parquet(tmp_path / "exposures.parquet")
    events.to_parquet(tmp_path / "events.parquet")
    return tmp_path


def test_rewards_by_construction(tmp_path: Path, catalogue: Catalogue) -> None:
    v = "home:video_new:hero:try_now"
    out = join_rewards(connect(_world(tmp_path, [v] * 4), as_of=AS_OF), catalogue)
    got = out.set_index("decision_id")
    assert got.loc["d1", "status"] == "joined" and got.loc["d1", "reward"] == 1.0
    assert got.loc["d2", "status"] == "default" and got.loc["d2", "reward"] == 0.0
    assert got.loc["d3", "status"] == "default"
    assert got.loc["d4", "status"] == "pending" and got["reward"].isna()["d4"]
    assert got.loc["d1", "message"] == "video_new" and got.loc["d1", "cta"] == "try_now"
    # ages and first-use days by construction (whole days, rounded up)
    assert got["elapsed_days"].to_dict() == {"d1": 20.0, "d2": 20.0, "d3": 20.0, "d4": 2.0}
    assert got.loc["d1", "event_day"] == 3.0
    assert got[["event_day"]].drop(index="d1")["event_day"].isna().all()


def test_unknown_variant_is_an_error(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(DataContractError, match="not creatives of the catalogue"):
        join_rewards(connect(_world(tmp_path, ["nope"] * 4), as_of=AS_OF), catalogue)


def test_train_from_a_dataset_joins_rewards(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tenure.cli import app

    (tmp_path / "w").mkdir()
    folder = _world(tmp_path / "w", ["home:video_new:hero:try_now"] * 4)
    res = CliRunner().invoke(app, ["policy", "train", "--data", str(folder), "--context",
                                   "placement", "--out", str(tmp_path / "p.json"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    # the pending decision is learned from too, weighed by how much of its window has run
    assert json.loads(res.stdout)["decisions"] == 4
