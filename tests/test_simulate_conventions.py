"""Each convention knob of `WorldConfig` does what it says, and the default world is today's.

Worlds are small (6k members, two chunks) and built once per variant; checks read the written
files as a user would, or compare a variant with the default world of the same seed, which
shares every random stream the knob does not touch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tenure.errors import SpecError
from tenure.simulate import WorldConfig, load_truth, simulate_world
from tenure.simulate import catalogue as cat
from tenure.simulate import experiments as ex
from tenure.simulate.cohort import Cohort, simulate_cohort
from tenure.simulate.config import VARIANTS
from tenure.store import ingest

N, SEED = 6_000, 3
DAY_US = 86_400 * 10**6

# Provenance: digests of WorldConfig(n_members=3000, seed=5, chunk_size=1500) written by
# `simulate_world` at commit 77eafd3, before any convention knob existed (table contents via
# pandas.util.hash_pandas_object, so Parquet writer versions do not matter; files byte-exact).
GOLDEN = {
    "members": "82e8d6ade80d03dc",
    "events": "8575c9d6d752b1d0",
    "exposures": "77823d3a6b2df476",
    "truth": "058f5d0ed3a2f308",
    "benefits": "0619c4d08eaaa50d",
}


def _digest(out: Path) -> dict[str, str]:
    h = {}
    for name in ("members", "events", "exposures"):
        df = pq.read_table(out / f"{name}.parquet").to_pandas()
        raw = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
        h[name] = hashlib.sha256(raw).hexdigest()[:16]
    h["truth"] = hashlib.sha256((out / "truth.json").read_bytes()).hexdigest()[:16]
    h["benefits"] = hashlib.sha256((out / "benefits.csv").read_bytes()).hexdigest()[:16]
    return h


def _config(name: str, **overrides: Any) -> WorldConfig:
    return WorldConfig.variant(
        name, **{"n_members": N, "seed": SEED, "chunk_size": 3_000} | overrides
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``world(name)``: the folder of variant `name` (built on first use)."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            out = tmp_path_factory.mktemp(name)
            simulate_world(out, _config(name))
            built[name] = out
        return built[name]

    return get


def _sql(query: str, *params: Any) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(query, list(params)).df()


def _day0_opens(out: Path) -> npt.NDArray[np.float64]:
    df = _sql(
        f"SELECT count(e.ts) AS n FROM '{out}/members.parquet' m LEFT JOIN "
        f"'{out}/events.parquet' e ON e.member_id = m.member_id AND e.action = 'app.open' "
        "AND e.ts < m.signup_at + INTERVAL 1 DAY GROUP BY m.member_id"
    )
    return df["n"].to_numpy(np.float64)


def test_default_world_is_todays_world(tmp_path: Path) -> None:
    simulate_world(tmp_path, WorldConfig(n_members=3_000, seed=5, chunk_size=1_500))
    assert _digest(tmp_path) == GOLDEN
    assert "conventions" not in load_truth(tmp_path)
    assert WorldConfig.variant("default") == WorldConfig() and WorldConfig().conventions == {}


def test_presets_and_validation() -> None:
    assert set(VARIANTS) >= {
        "all_benefits",
        "no_benefit_column",
        "small_first_sessions",
        "large_first_sessions",
        "renewals",
        "heavy_tail",
        "frailty",
        "cohort_trend",
    }
    for name, knobs in VARIANTS.items():
        config = WorldConfig.variant(name, n_members=10)
        assert config.conventions == knobs and config.n_members == 10
    with pytest.raises(SpecError, match="unknown world variant 'nope'; choose from default"):
        WorldConfig.variant("nope")
    for bad in (
        {"benefit_labels": "some"},
        {"first_session_scale": 0.0},
        {"activity_tail": 1.0},
        {"frailty_sd": -1.0},
        {"renewals": True, "product_bets": True},
        {"benefit_labels": "all", "product_bets": True},
    ):
        with pytest.raises(SpecError):
            WorldConfig(**bad)


@pytest.mark.parametrize("name", ["all_benefits", "no_benefit_column"])
def test_benefit_conventions_change_only_the_benefit_column(
    world: Callable[[str], Path], name: str
) -> None:
    base, out = world("default"), world(name)
    assert pq.read_table(out / "members.parquet").equals(pq.read_table(base / "members.parquet"))
    events, reference = (
        pq.read_table(out / "events.parquet"),
        pq.read_table(base / "events.parquet"),
    )
    kept = [c for c in reference.column_names if c != "benefit"]
    assert events.select(kept).equals(reference.select(kept))
    truth, base_truth = load_truth(out), load_truth(base)
    assert truth["actions"] == base_truth["actions"]  # the causal world is the same
    assert truth["conventions"]["benefit_labels"] == VARIANTS[name]["benefit_labels"]
    if name == "no_benefit_column":
        assert "benefit" not in events.column_names
        return
    benefit = events.column("benefit").to_pandas()
    action = events.column("action").to_pandas()
    assert benefit.notna().all()
    assert set(benefit[action == "app.open"]) == {"app"}
    old = reference.column("benefit").to_pandas()
    assert (benefit[action != "app.open"] == old[action != "app.open"]).all()
    assert (out / "benefits.csv").read_text().splitlines()[1].startswith("app,")


@pytest.mark.parametrize("name", ["all_benefits", "no_benefit_column", "renewals", "heavy_tail"])
def test_ingest_accepts_the_variants_that_change_the_files(
    world: Callable[[str], Path], name: str, tmp_path: Path
) -> None:
    out = world(name)
    as_of = WorldConfig().as_of
    report = ingest(out, tmp_path / "w.duckdb", as_of=as_of)
    assert all(t.quarantined == 0 for t in report.tables), report.to_dict()
    assert {t.table: t.accepted for t in report.tables}["members"] == N


def test_first_session_size(world: Callable[[str], Path]) -> None:
    d0 = {
        k: _day0_opens(world(k))
        for k in ("small_first_sessions", "default", "large_first_sessions")
    }
    assert (
        np.median(d0["small_first_sessions"]) == 0
        and (d0["small_first_sessions"] >= 6).mean() < 0.01
    )
    assert np.median(d0["large_first_sessions"]) >= 5
    assert (d0["large_first_sessions"] >= 6).mean() > 0.4 > (d0["default"] >= 6).mean()
    # Adoption reads min(d0 / scale, 6), so adoption rates stay those of today's world ...
    rates = {
        k: np.array([a["adoption_rate_7d"] for a in load_truth(world(k))["actions"].values()])
        for k in d0
    }
    assert np.abs(rates["large_first_sessions"] - rates["default"]).max() < 0.03
    assert np.abs(rates["small_first_sessions"] - rates["default"]).max() < 0.03
    assert "/ 5, 6)" in load_truth(world("large_first_sessions"))["adjustment_note"]


def test_large_first_sessions_saturate_a_fixed_cap(world: Callable[[str], Path]) -> None:
    """Above six day-0 opens adoption still rises with activity: a cap of 6 loses the confounder."""
    out = world("large_first_sessions")
    df = _sql(
        f"""
        WITH d AS (SELECT m.member_id, m.signup_at,
                          count(e.ts) FILTER (WHERE e.action = 'app.open'
                              AND e.ts < m.signup_at + INTERVAL 1 DAY) AS d0,
                          max((e.action = 'shipping.order'
                              AND e.ts < m.signup_at + INTERVAL 7 DAY)::INT) AS ship
                   FROM '{out}/members.parquet' m
                   LEFT JOIN '{out}/events.parquet' e USING (member_id) GROUP BY ALL)
        SELECT d0, coalesce(ship, 0) AS ship FROM d WHERE d0 >= 6
        """
    )
    low = df.ship[df.d0 <= 9].mean()
    high = df.ship[df.d0 >= 20].mean()
    assert high > low + 0.1, (low, high)


def test_renewals_end_only_on_renewal_days(world: Callable[[str], Path]) -> None:
    out = world("renewals")
    df = _sql(f"SELECT * FROM '{out}/members.parquet' WHERE ended_at IS NOT NULL")
    days = (df.ended_at - df.signup_at).dt.total_seconds() / 86_400
    period = np.where(df.plan == "annual", 84.0, 28.0)
    trial = (df.channel == "free_trial").to_numpy()
    since_first = days - np.where(trial, 14.0, period)
    assert days.min() == 14.0 and len(df) > 1_000
    assert np.all(since_first >= 0) and np.all(since_first % period == 0)
    assert np.all(trial[days.to_numpy() == 14.0])  # day 14 only ends trials
    assert {28.0, 84.0, 14.0} <= set(days)
    # The cancel-flow visit comes 5-8 days before a renewal on the member's own schedule.
    x = _sql(
        f"SELECT m.plan, m.channel, (epoch(x.ts) - epoch(m.signup_at)) / 86400 AS day "
        f"FROM '{out}/exposures.parquet' x JOIN '{out}/members.parquet' m USING (member_id) "
        f"WHERE x.experiment = '{ex.CANCEL_FLOW_RECAP.name}'"
    )
    length = np.where(x.plan == "annual", 84.0, 28.0)
    first = np.where(x.channel == "free_trial", 14.0, length)
    to_next = first + length * np.ceil((x.day - first) / length) - x.day
    assert len(x) > 20 and np.all((to_next >= 5) & (to_next <= 8))


def test_renewal_truth_differs_from_monthly_only_through_the_schedule(
    world: Callable[[str], Path],
) -> None:
    base, out = load_truth(world("default")), load_truth(world("renewals"))
    for action, t in out["actions"].items():
        if t["kind"] in ("decoy", "null"):
            assert t["effect"]["90"] == 0.0, action
        else:
            assert t["effect"]["90"] > 0, action
    # Annual members renew every 84 days: almost all are still members at day 90.
    assert out["truth_sample"]["active_at_day7"] == out["truth_sample"]["members"]
    assert base["truth_sample"]["active_at_day7"] < base["truth_sample"]["members"]


def test_heavy_tail_concentrates_activity(world: Callable[[str], Path]) -> None:
    def top_share(out: Path) -> float:
        n = _sql(f"SELECT count(*) AS n FROM '{out}/events.parquet' GROUP BY member_id")["n"]
        v = np.sort(n.to_numpy(np.float64))[::-1]
        return float(v[: len(v) // 100].sum() / v.sum())

    heavy, base = top_share(world("heavy_tail")), top_share(world("default"))
    assert heavy > 1.8 * base, (heavy, base)
    d0 = _day0_opens(world("heavy_tail"))
    assert np.quantile(d0, 0.999) > 2 * np.quantile(_day0_opens(world("default")), 0.999)


def _cohort(name: str, n_members: int = N) -> Cohort:
    """The whole world as one chunk (so its signups span the year)."""
    return simulate_cohort(_config(name, n_members=n_members, chunk_size=n_members), 0)


def test_frailty_changes_churn_and_nothing_else() -> None:
    base, frail = _cohort("default"), _cohort("frailty")
    assert np.array_equal(base.d0, frail.d0) and np.array_equal(base.adopted, frail.adopted)
    assert np.array_equal(base.members.z, frail.members.z)
    assert frail.members.churn_shift is not None and base.members.churn_shift is None
    assert abs(np.corrcoef(frail.members.churn_shift, frail.members.z)[0, 1]) < 0.05
    assert frail.members.churn_shift.std() == pytest.approx(1.0, rel=0.05)
    assert (base.end != frail.end).mean() > 0.2


def test_cohort_trend_biases_the_observable_horizon_population() -> None:
    """Later cohorts retain worse; members whose horizon is observable misstate the effect."""
    j = cat.action_index("shipping.order")

    def gap(name: str) -> tuple[float, float]:
        c = _cohort(name, n_members=40_000)
        rows = np.flatnonzero(c.end > 7)
        y = []
        for value in (True, False):
            forced = c.adopted[rows].copy()
            forced[:, j] = value
            y.append(c.end_under(rows, forced, c.assign.take(rows)) > 365)
        d = y[0].astype(float) - y[1].astype(float)
        seen = c.as_of_day[rows] >= 365
        late = c.members.signup_us[rows] > np.quantile(c.members.signup_us, 0.75)
        early = c.members.signup_us[rows] < np.quantile(c.members.signup_us, 0.25)
        kept = c.end[rows] > 90
        return float(d[seen].mean() - d.mean()), float(kept[early].mean() - kept[late].mean())

    (bias_trend, drop_trend), (bias_flat, drop_flat) = gap("cohort_trend"), gap("default")
    assert drop_trend > 0.08 and abs(drop_flat) < 0.03
    assert abs(bias_trend) > 0.012 and abs(bias_trend) > 2.5 * abs(bias_flat)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_truth_machinery_reproduces_the_factual_world(name: str) -> None:
    """Under every knob, re-simulating factual adoption gives the ends the files were built on."""
    c = _cohort(name)
    rows = np.arange(len(c))
    again = c.end_under(rows, c.adoption(rows, c.assign), c.assign)
    assert np.array_equal(again, c.end)
    assert np.array_equal(c.adoption(rows, c.assign), c.adopted)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["large_first_sessions", "heavy_tail", "renewals", "frailty"])
def test_adjustment_set_still_identifies_the_truth(name: str, tmp_path: Path) -> None:
    """IPW on the adjustment set (with the world's own day-0 encoding) lands on the truth."""
    config = replace(_config(name), n_members=120_000, chunk_size=60_000, seed=21)
    simulate_world(tmp_path, config)
    truth = load_truth(tmp_path)
    actions = ("shipping.order", "video.stream", "music.play")
    flags = ", ".join(f"max((e.action = '{a}')::int) AS \"{a}\"" for a in actions)
    df = _sql(
        f"""
        WITH m AS (SELECT * FROM '{tmp_path}/members.parquet'),
        w AS (SELECT e.member_id, {flags},
                     count(*) FILTER (WHERE e.action = 'app.open'
                                      AND e.ts < m.signup_at + INTERVAL 1 DAY) AS d0
              FROM '{tmp_path}/events.parquet' e JOIN m USING (member_id)
              WHERE e.ts < m.signup_at + INTERVAL 7 DAY GROUP BY e.member_id)
        SELECT m.channel, m.country, m.plan, m.age_band, coalesce(w.d0, 0) AS d0,
               {", ".join(f'coalesce(w."{a}", 0) AS "{a}"' for a in actions)},
               (m.ended_at IS NULL OR m.ended_at > m.signup_at + INTERVAL 90 DAY)::INT AS r90
        FROM m LEFT JOIN w USING (member_id)
        WHERE (m.ended_at IS NULL OR m.ended_at > m.signup_at + INTERVAL 7 DAY)
          AND m.signup_at + INTERVAL 90 DAY <= ?
        """,
        config.as_of,
    )
    cols = [np.ones(len(df))]
    for c in ("channel", "country", "plan", "age_band"):
        cols += [(df[c] == level).to_numpy(float) for level in sorted(df[c].unique())[1:]]
    cols.append(np.minimum(df.d0.to_numpy(float) / config.first_session_scale, 6))
    x, y = np.column_stack(cols), df.r90.to_numpy(float)
    for action in actions:
        a = df[action].to_numpy(float)
        beta = np.zeros(x.shape[1])
        for _ in range(30):  # Newton-Raphson logistic regression of adoption
            p = 1.0 / (1.0 + np.exp(-x @ beta))
            beta += np.linalg.solve(x.T @ (x * (p * (1 - p))[:, None]), x.T @ (a - p))
        p = np.clip(1.0 / (1.0 + np.exp(-x @ beta)), 0.01, 0.99)
        ipw = np.sum(a * y / p) / np.sum(a / p) - np.sum((1 - a) * y / (1 - p)) / np.sum(
            (1 - a) / (1 - p)
        )
        true = truth["actions"][action]["effect"]["90"]
        assert abs(ipw - true) < 0.015, (name, action, ipw, true)
    assert json.loads(json.dumps(truth["conventions"]))["notes"]
