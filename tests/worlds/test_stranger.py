"""The stranger world against its own spec: determinism, the data contract, and its truth.

Every check reads the written files (as a user of the world would) or re-derives a figure by
a second route; none compares a function with a copy of itself.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pytest
import stranger
from stranger import ACTIONS, COUNTRIES, NAMES, PAIR, SEGMENT_ACTION, generate

from tenure.store import ingest

KINDS = {"action", "pair_both_vs_neither", "pair_both_vs_one", "threshold", "first_use_day"}
ROLES = {"true_hva", "decoy", "harmful", "segment_only", "synergy", "understated", "null"}
EFFECT_KEYS = {"candidate", "kind", "k", "segment", "effect", "role"}
TRUTH_KEYS = {"world", "seed", "as_of", "window_days", "horizon_days", "adjust_for", "effects"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("stranger30k")
    return out, generate(out, members=30_000, seed=11)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("stranger4k")
    return out, generate(out, members=4_000, seed=5)


def _singles(truth: dict[str, Any]) -> dict[str, float]:
    return {
        e["candidate"]: e["effect"]
        for e in truth["effects"]
        if e["kind"] == "action" and e["segment"] is None
    }


def _observed(
    folder: Path, as_of: datetime
) -> tuple[list[str], dict[str, npt.NDArray[np.float64]]]:
    """Naive inputs from the files: landmark members whose day-90 status is known."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    m, e = folder / "members.parquet", folder / "events.parquet"
    flags = ", ".join(
        f"max(CASE WHEN e.action = '{a}' THEN 1 ELSE 0 END) AS \"{a}\"" for a in NAMES
    )
    rows = con.execute(
        f"""
        WITH lm AS (
            SELECT member_id, signup_at,
                   (ended_at IS NULL OR ended_at > signup_at + INTERVAL 90 DAY)::INT AS y
            FROM '{m}'
            WHERE signup_at + INTERVAL 90 DAY <= ?
              AND (ended_at IS NULL OR ended_at > signup_at + INTERVAL 7 DAY))
        SELECT lm.member_id, lm.y, {flags}
        FROM lm LEFT JOIN '{e}' e
          ON e.member_id = lm.member_id AND e.ts >= lm.signup_at
         AND e.ts < lm.signup_at + INTERVAL 7 DAY
        GROUP BY lm.member_id, lm.y
        """,
        [as_of],
    ).fetchnumpy()
    ids = [str(i) for i in rows.pop("member_id")]
    return ids, {k: np.asarray(v, dtype=np.float64) for k, v in rows.items()}


def _naive(folder: Path, truth: dict[str, Any]) -> dict[str, float]:
    _, cols = _observed(folder, datetime.fromisoformat(truth["as_of"]))
    y = cols["y"]
    return {a: float(y[cols[a] == 1].mean() - y[cols[a] == 0].mean()) for a in NAMES}


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, members=1_500, seed=4)
    generate(b, members=1_500, seed=4)
    generate(c, members=1_500, seed=5)
    for name in ("members.parquet", "events.parquet", "truth.json", "benefits.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "events.parquet").read_bytes() != (c / "events.parquet").read_bytes()


def test_truth_json_has_the_agreed_format(small: tuple[Path, dict[str, Any]]) -> None:
    folder, truth = small
    assert json.loads((folder / "truth.json").read_text()) == truth
    assert set(truth) == TRUTH_KEYS
    assert (truth["window_days"], truth["horizon_days"], truth["seed"]) == (7, 90, 5)
    assert truth["adjust_for"] == ["country", "plan", "channel", "age", "fee"]
    datetime.fromisoformat(truth["as_of"])
    for e in truth["effects"]:
        assert set(e) == EFFECT_KEYS
        assert e["kind"] in KINDS and e["role"] in ROLES
        assert isinstance(e["effect"], float) and -1 <= e["effect"] <= 1
    assert set(_singles(truth)) == set(NAMES)
    pair = {e["kind"] for e in truth["effects"] if e["candidate"] == "+".join(PAIR)}
    assert pair == {"pair_both_vs_neither", "pair_both_vs_one"}
    segments = [e["segment"] for e in truth["effects"] if e["segment"] is not None]
    assert segments == [{"column": "country", "value": c} for c in COUNTRIES]


def test_ingest_accepts_everything_but_the_pre_signup_history(
    small: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, truth = small
    report = ingest(folder, tmp_path / "w.duckdb", as_of=datetime.fromisoformat(truth["as_of"]))
    counts = {t.table: t for t in report.tables}
    assert counts["members"].quarantined == 0 and counts["members"].accepted == 4_000
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    (pre,) = con.execute(
        f"SELECT count(*) FROM '{folder / 'events.parquet'}' e "
        f"JOIN '{folder / 'members.parquet'}' m USING (member_id) WHERE e.ts < m.signup_at"
    ).fetchone() or (0,)
    assert pre > 0
    # Before the contract extension lands ingest quarantines exactly these rows; after it, none.
    assert counts["events"].quarantined in (0, pre)
    db = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    reasons = {r for (r,) in db.execute("SELECT DISTINCT reason FROM quarantine").fetchall()}
    assert reasons <= {"ts is before the member's signup_at"}


def test_every_event_is_a_benefit_and_first_weeks_are_busy_and_heavy_tailed(
    world: tuple[Path, dict[str, Any]],
) -> None:
    folder, _ = world
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    e, m = folder / "events.parquet", folder / "members.parquet"
    (nulls, per_action) = con.execute(
        f"SELECT count(*) FILTER (WHERE benefit IS NULL), "
        f"max(n) FROM (SELECT action, count(DISTINCT benefit) n, any_value(benefit) b "
        f"FROM '{e}' GROUP BY action) JOIN '{e}' USING (action)"
    ).fetchone() or (None, None)
    assert nulls == 0 and per_action == 1
    volume = con.execute(
        f"SELECT coalesce(n, 0) FROM '{m}' m LEFT JOIN (SELECT e.member_id, count(*) n "
        f"FROM '{e}' e JOIN '{m}' m USING (member_id) WHERE e.ts >= m.signup_at "
        f"AND e.ts < m.signup_at + INTERVAL 7 DAY GROUP BY 1) USING (member_id)"
    ).fetchnumpy()
    v = np.asarray(next(iter(volume.values())), dtype=np.float64)
    q25, q50, q99 = np.quantile(v, [0.25, 0.5, 0.99])
    assert q25 >= 10 and q50 <= 60, (q25, q50)
    assert q99 > 8 * q50  # heavy right tail
    (share,) = con.execute(
        f"SELECT count(DISTINCT e.member_id) / 30000 FROM '{e}' e JOIN '{m}' m USING (member_id) "
        "WHERE e.ts < m.signup_at"
    ).fetchone() or (0,)
    assert 0.15 < share < 0.4


def test_the_roles_hold_in_the_data(world: tuple[Path, dict[str, Any]]) -> None:
    folder, truth = world
    naive, true = _naive(folder, truth), _singles(truth)
    role = {a.name: a.role for a in ACTIONS}
    for name in NAMES:
        if role[name] in ("decoy", "null"):
            assert true[name] == 0.0, name  # no effect by construction, CRN gives exact 0
    for name in ("lesson.complete", "leaderboard.view"):
        assert naive[name] > 0.1, (name, naive[name])
    assert naive["hardmode.challenge"] > 0.05 and true["hardmode.challenge"] < -0.03
    assert naive["tutorial.watch"] < true["tutorial.watch"] - 0.08
    hvas = sorted(true[a.name] for a in ACTIONS if a.role == "true_hva")
    assert hvas[0] > 0.02 and np.all(np.diff(hvas) > 0.015)  # three different positive effects


def test_segment_only_and_synergy_effects() -> None:
    m = stranger.simulate(30_000, 11)
    seg = {
        e["segment"]["value"]: e["effect"]
        for e in stranger.truth_effects(m)
        if e["segment"] is not None
    }
    assert seg.pop(stranger.SEGMENT_COUNTRY) > 0.05
    assert set(seg.values()) == {0.0}
    lm = stranger._landmark(m)
    g, r = PAIR

    def contrast(one: dict[str, bool], zero: dict[str, bool]) -> float:
        return stranger._contrast(m, lm, one, zero)

    neither = {g: False, r: False}
    both = contrast({g: True, r: True}, neither)
    alone = contrast({g: True, r: False}, neither) + contrast({g: False, r: True}, neither)
    assert both > alone + 0.03


def test_first_use_timing_effect_fades_and_the_files_show_the_first_day(
    small: tuple[Path, dict[str, Any]],
) -> None:
    folder, truth = small
    timing = [e for e in truth["effects"] if e["kind"] == "first_use_day"]
    assert [e["k"] for e in timing] == list(range(7))
    assert {e["candidate"] for e in timing} == {stranger.TIMED_ACTION}
    effects = np.array([e["effect"] for e in timing])
    assert np.all(np.diff(effects) < 0) and effects[-1] > 0
    assert effects[0] > _singles(truth)[stranger.TIMED_ACTION] > effects[-1]
    # The first use in the files falls on the day the re-simulation uses.
    m = stranger.simulate(4_000, 5)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        f"SELECT member_id, floor((epoch(min(e.ts)) - epoch(any_value(m.signup_at))) / 86400) "
        f"FROM '{folder / 'events.parquet'}' e JOIN '{folder / 'members.parquet'}' m "
        f"USING (member_id) WHERE e.action = '{stranger.TIMED_ACTION}' AND e.ts >= m.signup_at "
        "AND e.ts < m.signup_at + INTERVAL 7 DAY AND m.ended_at IS NULL GROUP BY member_id"
    ).fetchall()
    row = {member_id: i for i, member_id in enumerate(stranger._member_ids(4_000, 5))}
    t = NAMES.index(stranger.TIMED_ACTION)
    drawn = np.floor([m.first_day[row[i], t] for i, _ in rows])
    assert len(rows) > 300
    np.testing.assert_array_equal(drawn, [d for _, d in rows])


def test_re_simulation_matches_the_closed_form_and_reproduces_the_files(
    small: tuple[Path, dict[str, Any]],
) -> None:
    folder, truth = small
    m = stranger.simulate(4_000, 5)
    lm = stranger._landmark(m)
    for name in (SEGMENT_ACTION, "tutor.book", "hardmode.challenge"):
        on = stranger._set(m.adopted, lm, {name: True})
        off = stranger._set(m.adopted, lm, {name: False})
        by_crn = stranger.resimulated_survival(m, on, lm) - stranger.resimulated_survival(
            m, off, lm
        )
        exact = stranger.expected_survival(m, on, lm) - stranger.expected_survival(m, off, lm)
        draws = (1 + m.extra_u.shape[2]) * lm.size
        assert by_crn.mean() == pytest.approx(exact.mean(), abs=4 / np.sqrt(draws))
    # Replicate 0 of the re-simulation under the factual actions is the world in the files.
    ids, cols = _observed(folder, datetime.fromisoformat(truth["as_of"]))
    row = {member_id: i for i, member_id in enumerate(stranger._member_ids(4_000, 5))}
    members = np.asarray([row[i] for i in ids], dtype=np.int64)
    k = stranger._horizon_boundaries()
    logit = stranger._renew_logit(m, m.adopted[members], members)
    p = 1 / (1 + np.exp(-(stranger._renew_base(k)[None, :] + logit[:, None])))
    alive = (m.renew_u[members, :k] < p).all(axis=1)
    np.testing.assert_array_equal(alive.astype(np.float64), cols["y"])
    # ... and the landmark the truth averages over is the one a user sees in the files.
    horizon_us = int(stranger.AS_OF.timestamp() - stranger.HORIZON_DAYS * 86_400) * 10**6
    assert set(members) == set(lm[m.signup_us[lm] <= horizon_us])
    adopted = np.column_stack([cols[a] for a in NAMES]) == 1
    np.testing.assert_array_equal(adopted, m.adopted[members])


def test_truth_is_stable_across_seeds() -> None:
    runs = [
        _singles({"effects": stranger.truth_effects(stranger.simulate(30_000, s))}) for s in (1, 2)
    ]
    for name in NAMES:
        assert runs[0][name] == pytest.approx(runs[1][name], abs=0.015), name


@pytest.mark.slow
def test_an_outcome_regression_on_the_observables_recovers_the_truth(
    world: tuple[Path, dict[str, Any]],
) -> None:
    """The world is solvable: its identification assumption holds closely enough.

    A plain logistic outcome regression, standardised over the landmark population, using
    only what a method may see (member columns; volume of the *other* actions in days 0-6;
    pre-signup history), must remove most of every decoy's naive bias and land near the truth.
    ``lesson.start`` (97% of members, the activity itself) is the positivity trap and is left out.
    """
    sm = pytest.importorskip("statsmodels.api")
    folder, truth = world
    as_of = datetime.fromisoformat(truth["as_of"])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    m, e = folder / "members.parquet", folder / "events.parquet"
    counts = ", ".join(f"count(*) FILTER (WHERE e.action = '{a}') AS \"{a}\"" for a in NAMES)
    df = con.execute(
        f"""
        SELECT m.*, (m.ended_at IS NULL OR m.ended_at > m.signup_at + INTERVAL 90 DAY)::INT y,
               m.signup_at + INTERVAL 90 DAY <= ? AS known,
               coalesce(h.pre, 0) AS pre, w.*
        FROM '{m}' m LEFT JOIN (
            SELECT e.member_id AS hid, count(*) AS pre FROM '{e}' e JOIN '{m}' mm
            USING (member_id) WHERE e.ts < mm.signup_at GROUP BY 1
        ) h ON h.hid = m.member_id LEFT JOIN (
            SELECT e.member_id AS mid, {counts} FROM '{e}' e JOIN '{m}' mm USING (member_id)
            WHERE e.ts >= mm.signup_at AND e.ts < mm.signup_at + INTERVAL 7 DAY GROUP BY 1
        ) w ON w.mid = m.member_id
        WHERE m.signup_at + INTERVAL 7 DAY <= ?
          AND (m.ended_at IS NULL OR m.ended_at > m.signup_at + INTERVAL 7 DAY)
        """,
        [as_of, as_of],
    ).df()
    df[list(NAMES)] = df[list(NAMES)].fillna(0)
    import pandas as pd

    base = pd.get_dummies(df[["country", "plan", "channel"]], drop_first=True).astype(float)
    base["age"], base["fee"] = df["age"], df["fee"]
    base["pre"] = np.log1p(df["pre"])
    known = df["known"].to_numpy(bool)
    naive, true = _naive(folder, truth), _singles(truth)
    for name in NAMES[1:]:
        x = base.copy()
        other = np.log1p(df[[n for n in NAMES if n != name]].sum(axis=1))
        for power in (1, 2, 3):
            x[f"v{power}"] = other**power
        x["t"] = (df[name] > 0).astype(float)
        x = sm.add_constant(x.astype(np.float64))
        fit = sm.GLM(df["y"][known], x[known], family=sm.families.Binomial()).fit()
        adjusted = float(np.mean(fit.predict(x.assign(t=1.0)) - fit.predict(x.assign(t=0.0))))
        assert adjusted == pytest.approx(true[name], abs=0.035), name
        if true[name] == 0.0 and abs(naive[name]) > 0.05:
            assert abs(adjusted) < 0.25 * abs(naive[name]), name
