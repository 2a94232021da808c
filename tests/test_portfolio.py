"""The portfolio view: KPIs per cell by hand, the stated score, ranking and small-cell rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tenure.errors import DataContractError
from tenure.portfolio import ExperimentEvidence, portfolio_view
from tenure.store import connect

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)
# (plan, country) -> (members, share adopting in week one, share retained at day 90)
CELLS = {
    ("monthly", "US"): (200, 0.50, 0.60),
    ("monthly", "GB"): (120, 0.25, 0.50),
    ("annual", "US"): (150, 0.80, 0.90),
    ("annual", "GB"): (100, 0.40, 0.70),
    ("annual", "DE"): (20, 0.10, 0.20),  # below min_n: shown, never ranked
}
FEE = {"monthly": 10.0, "annual": 8.0}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every member signed up 120 days before as_of; adoption and churn set exactly per cell."""
    folder = tmp_path_factory.mktemp("portfolio")
    signup = AS_OF - timedelta(days=120)
    members, events = [], []
    for (plan, country), (n, adopt, keep) in CELLS.items():
        for i in range(n):
            mid = f"{plan}-{country}-{i}"
            kept = i < round(keep * n)
            ended = None if kept else signup + timedelta(days=40)
            members.append((mid, signup, ended, plan, country, "organic", FEE[plan]))
            # Adopters spread over kept and churned members (a permutation of 0..n-1).
            adopter = (i * 7919) % n < round(adopt * n)
            if adopter:
                events.append((mid, signup + timedelta(days=2), "video.stream"))
            events.append((mid, signup + timedelta(hours=1), "app.open"))
    pd.DataFrame(
        members,
        columns=["member_id", "signup_at", "ended_at", "plan", "country", "channel", "fee"],
    ).assign(ended_at=lambda f: pd.to_datetime(f["ended_at"], utc=True)).to_parquet(
        folder / "members.parquet"
    )
    pd.DataFrame(events, columns=["member_id", "ts", "action"]).to_parquet(
        folder / "events.parquet"
    )
    return folder


def _cells(frame: pd.DataFrame) -> dict[tuple[str, str], dict[Any, Any]]:
    """The cell-level rows keyed by (line, geography)."""
    rows: list[dict[Any, Any]] = frame[frame["level"] == "cell"].to_dict("records")
    return {(str(r["line"]), str(r["geography"])): r for r in rows}


def test_cell_kpis_and_the_stated_score(world: Path) -> None:
    effect = 0.05
    res = portfolio_view(
        connect(world, as_of=AS_OF), activation=["video.stream"], activation_effect=effect
    )
    cells = _cells(res.to_frame())
    for key, (n, adopt, keep) in CELLS.items():
        row = cells[key]
        assert row["members"] == n
        assert row["hva_adoption"] == pytest.approx(round(adopt * n) / n)
        assert row["retention"] == pytest.approx(round(keep * n) / n)
        assert row["retention_low"] < row["retention"] < row["retention_high"]
        assert row["monthly_fees"] == pytest.approx(n * FEE[key[0]])
    big = [k for k, v in CELLS.items() if v[0] >= 50]
    adoption = np.array([round(CELLS[k][1] * CELLS[k][0]) / CELLS[k][0] for k in big])
    target = float(np.quantile(adoption, 0.75))
    assert res.params["target_adoption"] == pytest.approx(target)
    for k, a in zip(big, adoption, strict=True):
        expected = CELLS[k][0] * max(0.0, target - a) * effect * FEE[k[0]]
        assert cells[k]["score"] == pytest.approx(expected)
    ranked = res.ranked()
    assert list(ranked["score"]) == sorted(ranked["score"], reverse=True)
    assert ("annual", "DE") not in set(zip(ranked["line"], ranked["geography"], strict=True))
    assert "not ranked" in cells[("annual", "DE")]["reason"]
    top = ranked.iloc[0]
    assert (top["line"], top["geography"]) == ("monthly", "GB")  # lowest adoption, most members
    assert "25%" in top["reason"] and "monthly fees" in top["reason"]


def test_without_an_hva_effect_the_score_is_the_retention_gap(world: Path) -> None:
    res = portfolio_view(connect(world, as_of=AS_OF), activation=["video.stream"])
    cells = _cells(res.to_frame())
    gap = (0.90 - 0.70) * 100 * FEE["annual"]  # annual GB vs annual US, the best annual market
    assert cells[("annual", "GB")]["score"] == pytest.approx(gap)
    assert cells[("annual", "US")]["score"] == 0.0


def test_experiments_reach_the_cells_of_their_markets(world: Path) -> None:
    ev = ExperimentEvidence(
        "value_messaging", "retention_180", "value_message", "keep_running", True,
        (0.02, 0.0, 0.04, 0.1), {"US": 0.03, "DE": -0.01},
    )  # fmt: skip
    res = portfolio_view(
        connect(world, as_of=AS_OF), activation=["video.stream"], activation_effect=0.05,
        experiments=[ev],
    )  # fmt: skip
    cells = _cells(res.to_frame())
    assert "value_messaging" in cells[("monthly", "US")]["experiments"]
    assert "+0.03" in cells[("monthly", "US")]["experiments"]
    assert cells[("monthly", "US")]["in_flight"] == "value_messaging"
    assert cells[("monthly", "GB")]["experiments"] == ""


def test_segments_inside_cells_add_up(world: Path) -> None:
    res = portfolio_view(connect(world, as_of=AS_OF), activation=["video.stream"])
    f = res.to_frame()
    seg = f[f["level"] == "segment"].groupby(["line", "geography"])["members"].sum()
    cell = f[f["level"] == "cell"].set_index(["line", "geography"])["members"]
    pd.testing.assert_series_equal(seg.sort_index(), cell.sort_index(), check_names=False)


def test_a_missing_axis_column_names_the_column(world: Path) -> None:
    with pytest.raises(DataContractError, match=r"'region'.*geography"):
        portfolio_view(connect(world, as_of=AS_OF), activation=None, geography="region")
