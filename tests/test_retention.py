"""Retention: spans, KM curves against lifelines, cohort censoring, churn, JSON and CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.retention import analyse_retention
from tenure.retention.spans import member_spans
from tenure.store import connect

AS_OF = datetime(2025, 4, 1, tzinfo=UTC)


def _ts(values: list[str | None]) -> pd.Series:
    return pd.to_datetime(pd.Series(values), utc=True, format="ISO8601")


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Six members: three ended, three censored at 2025-04-01."""
    members = pd.DataFrame(
        {
            "member_id": ["a", "b", "c", "d", "e", "f"],
            "signup_at": _ts(
                [
                    "2025-01-01T10:00",
                    "2025-01-15T00:00",
                    "2025-02-01T00:00",
                    "2025-02-20T00:00",
                    "2025-03-01T00:00",
                    "2025-01-05T00:00",
                ]
            ),
            "ended_at": _ts(
                ["2025-01-31T09:00", None, "2025-03-05T00:00", None, "2025-03-02T12:00", None]
            ),
            "channel": ["x", "x", "y", "y", None, "x"],
        }
    )
    members.to_parquet(tmp_path / "members.parquet")
    return tmp_path


def test_spans_by_hand(small: Path) -> None:
    ds = connect(small, as_of=AS_OF)
    spans = member_spans(ds.members, ds.as_of).to_pyarrow().to_pandas().set_index("member_id")
    # a: 2025-01-01 10:00 -> 2025-01-31 09:00 is 29 days 23 h -> 29 whole days.
    assert spans.loc["a", "tenure_days"] == 29 and spans.loc["a", "ended"] == 1
    # b: censored at as_of: 2025-01-15 -> 2025-04-01 = 76 days.
    assert spans.loc["b", "tenure_days"] == 76 and spans.loc["b", "ended"] == 0
    assert spans.loc["b", "observed_days"] == 76
    assert spans.loc["c", "observed_days"] == 59 and spans.loc["c", "tenure_days"] == 32
    assert spans.loc["e", "tenure_days"] == 1


def test_curve_matches_lifelines_by_hand(small: Path) -> None:
    from lifelines import KaplanMeierFitter

    result = analyse_retention(connect(small, as_of=AS_OF), by="channel")
    overall = result.curves[None]
    ref = KaplanMeierFitter().fit([29, 76, 32, 40, 1, 86], [1, 0, 1, 0, 1, 0])
    t = ref.survival_function_.index.to_numpy()
    np.testing.assert_allclose(overall.at(t), ref.survival_function_.iloc[:, 0], atol=1e-12)
    # Hand: S(1) = 5/6, S(29) = 5/6 * 4/5 = 2/3, S(32) = 2/3 * 3/4 = 1/2.
    np.testing.assert_allclose(overall.survival[:3], [5 / 6, 2 / 3, 1 / 2], atol=1e-15)
    assert overall.median == 32.0
    assert set(result.curves) == {None, "x", "y", "(missing)"}


def test_cohorts_leave_unobservable_cells_empty(small: Path) -> None:
    cohorts = analyse_retention(connect(small, as_of=AS_OF)).cohorts.set_index(["cohort", "period"])
    # January: a, b, f signed up; all observable at 60 days; a left at 29 -> 2 of 3 at period 2.
    assert cohorts.loc[("2025-01", 2), "members"] == 3
    assert cohorts.loc[("2025-01", 2), "retained"] == 2
    # February's d (signed 2025-02-20, 40 days observed) is not observable at period 2 (60 d).
    assert cohorts.loc[("2025-02", 1), "members"] == 2
    assert ("2025-02", 2) not in cohorts.index
    # March's e (31 days observed) is observable at period 1 and had left on day 1.
    assert cohorts.loc[("2025-03", 1), "members"] == 1
    assert cohorts.loc[("2025-03", 1), "retained"] == 0
    assert ("2025-03", 2) not in cohorts.index  # nobody observable: absent, not zero


def test_churn_by_channel_counts(small: Path) -> None:
    churn = analyse_retention(connect(small, as_of=AS_OF)).churn_by_channel
    x = churn[churn["segment"] == "x"].set_index("period")
    assert x.loc["0-6", "at_risk"] == 3
    assert x.loc["7-29", "events"] == 1  # a ended on day 29
    assert x.loc["7-29", "churn"] == pytest.approx(1 / 3)


def test_json_shape(small: Path) -> None:
    d = analyse_retention(connect(small, as_of=AS_OF), by="channel").to_dict()
    assert set(d) == {
        "kind", "params", "as_of", "unit", "convention", "points", "survival", "median",
        "cohorts", "churn_by_channel",
    }  # fmt: skip
    assert d["unit"] == "day" and "d whole days after signup" in d["convention"]
    row = d["survival"][0]
    assert set(row) == {"segment", "day", "at_risk", "left", "censored", "retained", "ci"}
    assert row["segment"] is None and len(row["ci"]) == 2
    # The first step is e's exit on tenure day 1: still a member on day 1, not on day 2.
    assert row["day"] == 2 and row["retained"] == pytest.approx(5 / 6)
    assert d["params"]["alpha"] == 0.05 and d["params"]["points"] == [30, 90, 180, 365]
    assert {"segment", "median"} == set(d["median"][0])
    assert {"cohort", "period", "members", "retained", "rate"} == set(d["cohorts"][0])
    json.dumps(d)


def test_points_use_the_day_convention_and_never_extrapolate(small: Path) -> None:
    """Retained at day d = tenure >= d; past the longest observed tenure (86) it is missing."""
    result = analyse_retention(connect(small, as_of=AS_OF), points=(29, 30, 33, 86, 87, 200))
    pts = {p.day: p for p in result.points if p.segment is None}
    # Tenures 29 (ended), 76, 32 (ended), 40, 1 (ended), 86. Hand KM: S(1)=5/6, S(29)=2/3, S(32)=1/2.
    assert pts[29].retained == pytest.approx(5 / 6)  # a is still a member on day 29
    assert pts[30].retained == pytest.approx(2 / 3)  # ...and gone by day 30
    assert pts[33].retained == pytest.approx(1 / 2)
    assert pts[87].retained == pytest.approx(1 / 2)  # f's tenure 86 reaches day 87
    assert np.isnan(pts[200].retained) and "beyond follow-up" in pts[200].note
    assert pts[30].ci_low <= pts[30].retained <= pts[30].ci_high
    # The cohort table's "retained at period k" is the same rule at d = 30 k.
    from lifelines import KaplanMeierFitter

    ref = KaplanMeierFitter().fit([29, 76, 32, 40, 1, 86], [1, 0, 1, 0, 1, 0])
    assert pts[30].retained == pytest.approx(float(ref.survival_function_at_times(29).iloc[0]))


def test_units_scale_the_time_points(small: Path) -> None:
    weeks = analyse_retention(connect(small, as_of=AS_OF), points=(1, 4), unit="weeks")
    assert [p.day for p in weeks.points if p.segment is None] == [7, 28]
    months = analyse_retention(connect(small, as_of=AS_OF), points=(1,), unit="months")
    assert [p.day for p in months.points] == [30]
    from tenure.errors import SpecError

    with pytest.raises(SpecError, match="unit"):
        analyse_retention(connect(small, as_of=AS_OF), unit="years")  # type: ignore[arg-type]


def test_export_writes_the_survival_rows(small: Path, tmp_path: Path) -> None:
    result = analyse_retention(connect(small, as_of=AS_OF))
    back = pd.read_csv(result.export(tmp_path / "r.csv"))
    assert list(back.columns) == list(result.to_frame().columns)
    assert back["retained"].iloc[0] == pytest.approx(5 / 6)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tenure.simulate import WorldConfig, simulate_world

    out = tmp_path_factory.mktemp("ret") / "world"
    simulate_world(out, WorldConfig(n_members=4_000, seed=11))
    return out


def test_simulated_curves_match_lifelines(world: Path) -> None:
    """Per channel, survival and intervals equal lifelines' on member durations (1e-9)."""
    from lifelines import KaplanMeierFitter

    ds = connect(world)
    result = analyse_retention(ds, by="channel")
    spans = member_spans(ds.members, ds.as_of).to_pyarrow().to_pandas()
    for channel, part in spans.groupby("channel"):
        ref = KaplanMeierFitter().fit(part["tenure_days"], part["ended"])
        curve = result.curves[str(channel)]
        t = ref.survival_function_.index.to_numpy()
        np.testing.assert_allclose(curve.at(t), ref.survival_function_.iloc[:, 0], atol=1e-9)
        ci = ref.confidence_interval_survival_function_
        idx = np.searchsorted(curve.time, t, side="right") - 1
        ok = idx >= 0
        np.testing.assert_allclose(curve.ci_low[idx[ok]], ci.iloc[ok, 0], atol=1e-9)
        np.testing.assert_allclose(curve.ci_high[idx[ok]], ci.iloc[ok, 1], atol=1e-9)
        assert curve.median == ref.median_survival_time_


def test_cli_json(world: Path) -> None:
    from tenure.cli import app

    out = CliRunner().invoke(app, ["retention", "--data", str(world), "--by", "plan", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert {r["segment"] for r in d["median"]} >= {None, "monthly"}


def test_cli_table_and_bad_column(world: Path) -> None:
    from tenure.cli import app

    out = CliRunner().invoke(app, ["retention", "--data", str(world)])
    assert out.exit_code == 0 and "Survival" in out.stdout
    assert "95% intervals" in out.stdout and "Cohort retention" in out.stdout
    months = CliRunner().invoke(
        app, ["retention", "--data", str(world), "--at", "1,3,120", "--unit", "months"]
    )
    assert months.exit_code == 0, months.output
    assert "month 3" in months.stdout and "not extrapolated" in months.stdout
    bad = CliRunner().invoke(app, ["retention", "--data", str(world), "--by", "nope"])
    assert bad.exit_code == 2
    for flags in (["--unit", "years"], ["--at", "1,x"], ["--alpha", "2"]):
        refused = CliRunner().invoke(app, ["retention", "--data", str(world), *flags])
        assert refused.exit_code == 2 and flags[0] in refused.output


def test_report_renders_the_result_it_is_given(small: Path) -> None:
    from tenure.report.retention import render
    from tenure.settings import Inference

    result = analyse_retention(connect(small, as_of=AS_OF), inference=Inference(alpha=0.1))
    sections = render(result)
    assert [s.anchor for s in sections] == ["survival", "cohorts", "churn"]
    assert "90% Greenwood" in sections[0].body_html and "95%" not in sections[0].body_html
    # Follow-up here ends at day 87: the summary says so instead of extrapolating to day 90.
    assert "follow-up ends before day 90" in sections[0].summary


@pytest.mark.parametrize("column", ["signup_at", "ended_at", "member_id"])
def test_split_by_a_timestamp_or_id_is_refused(small: Path, column: str) -> None:
    from tenure.errors import SpecError

    with pytest.raises(SpecError, match=f"--by {column}: split by a member attribute"):
        analyse_retention(connect(small, as_of=AS_OF), by=column)
