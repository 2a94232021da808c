"""HVA graded on worlds its authors did not tune to (issue 9 §3).

* **Parla** (``tests/worlds/stranger.py``): an independent generator written blind to the HVA
  code, with every action a benefit, busy heavy-tailed first weeks, pre-signup history,
  churn only at billing boundaries and continuous attributes. Graded on its ``truth.json``.
* **Basketly** (``tests/worlds/basket.py``): a second blind generator — CSV, events in time
  order, sparse first weeks, a mixed benefit convention, cancellation on any day, attributes
  the contract does not name (one continuous) and true HVAs nearly every heavy user does.
* **Tenure's simulator under other conventions** (``WorldConfig`` knobs): every action a
  benefit, no ``benefit`` column, small and large first sessions, churn only at renewals,
  heavy-tailed activity, an unobserved frailty, a cohort trend.

The grading bar: decoys' intervals cover 0, the harmful action's adjusted effect is
negative, true HVAs rank above every decoy, >= 90% coverage of single-action intervals.
``make test`` runs two seeds of 30,000 members per world; more seeds under ``-m slow``.
The full table per world and seed is ``benchmarks/bench_hva.py --grade`` (RESULTS.md).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tenure.hva import HvaResult, discover
from tenure.store import connect

WORLDS = Path(__file__).parent / "worlds"
MEMBERS = 30_000
SEEDS = (1, 2)
_CACHE: dict[tuple[str, int], tuple[HvaResult, dict[str, Any]]] = {}


def _world(name: str) -> Any:
    """The generator module ``tests/worlds/<name>.py``."""
    spec = importlib.util.spec_from_file_location(name, WORLDS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worlds")


def stranger_result(seed: int, root: Path) -> tuple[HvaResult, dict[str, Any]]:
    key = ("stranger", seed)
    if key not in _CACHE:
        out = root / f"stranger-{seed}"
        truth = _world("stranger").generate(out, members=MEMBERS, seed=seed)
        result = discover(
            connect(out), window=truth["window_days"], horizon=truth["horizon_days"],
            by="country",
        )  # fmt: skip
        _CACHE[key] = (result, truth)
    return _CACHE[key]


def _rows(result: HvaResult, truth: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(truth effect, matching estimate) for every graded candidate."""
    kinds = {"action": "action", "pair_both_vs_neither": "pair_both_vs_neither",
             "pair_both_vs_one": "pair_both_vs_one"}  # fmt: skip
    out = []
    for eff in truth["effects"]:
        seg = None if eff["segment"] is None else eff["segment"]["value"]
        acts = tuple(sorted(eff["candidate"].split("+")))
        for e in result.estimates:
            same_seg = (
                (e.segment is None)
                if seg is None
                else (e.segment is not None and e.segment.value == seg)
            )
            if (
                same_seg
                and e.candidate.kind == kinds.get(eff["kind"])
                and e.candidate.actions == acts
            ):
                out.append((eff, e))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_stranger_true_hvas_rank_above_every_decoy(seed: int, root: Path) -> None:
    result, truth = stranger_result(seed, root)
    rows = [
        (t, e) for t, e in _rows(result, truth) if t["segment"] is None and t["kind"] == "action"
    ]
    rank = {e.candidate.name: i for i, e in enumerate(result.overall())}
    decoys = [rank[e.candidate.name] for t, e in rows if t["role"] == "decoy"]
    hvas = [(e.candidate.name, rank[e.candidate.name]) for t, e in rows if t["role"] == "true_hva"]
    assert len(decoys) == 3 and len(hvas) == 3
    for name, r in hvas:
        assert r < min(decoys), f"{name} ranks {r}, a decoy ranks {min(decoys)}"
        assert result.overall()[r].is_hva


@pytest.mark.parametrize("seed", SEEDS)
def test_stranger_adjustment_moves_toward_the_truth(seed: int, root: Path) -> None:
    """For every single action the adjusted effect is nearer the truth than the naive lift."""
    result, truth = stranger_result(seed, root)
    for t, e in _rows(result, truth):
        if t["segment"] is None and t["kind"] == "action":
            assert abs(e.adjusted_diff - t["effect"]) < abs(e.naive_diff - t["effect"]), t
    warnings = " ".join(result.warnings)
    assert "constant covariate" not in warnings  # every action is a benefit: still adjusted


RESIDUAL = pytest.mark.xfail(
    strict=False,
    reason="Parla seed 2's residual confounding: a member-level regression on the same "
    "observables misses the same decoys (leaderboard.view +0.026, lesson.complete +0.023 "
    "where the truth is 0), and Tenure's intervals hold that regression's estimate for every "
    "action (benchmarks/RESULTS.md, hva-grading)",
)


@pytest.mark.parametrize(
    "seed", [pytest.param(s, marks=[RESIDUAL] if s == 2 else []) for s in SEEDS]
)
def test_stranger_grading_bar(seed: int, root: Path) -> None:
    """The issue's bar, on the candidates Tenure's own diagnostics let it score.

    A candidate whose adjustment Tenure flags (imbalance after weighting, thin positivity) is
    "flag, not score": it must not be an HVA, and is left out of coverage. On Parla that is
    ``lesson.start`` (97% of members do it: the world's positivity trap).
    """
    result, truth = stranger_result(seed, root)
    singles = [
        (t, e) for t, e in _rows(result, truth) if t["segment"] is None and t["kind"] == "action"
    ]
    scored = [(t, e) for t, e in singles if e.balanced and e.overlap]
    assert len(scored) >= len(singles) - 2
    for t, e in singles:
        if (t, e) not in scored:
            assert not e.is_hva, t["candidate"]
    for t, e in scored:
        if t["role"] == "decoy":
            assert e.adjusted_low <= 0 <= e.adjusted_high, t["candidate"]
        if t["role"] == "harmful":
            assert e.naive_diff > 0 > e.adjusted_diff
    hit = sum(e.adjusted_low <= t["effect"] <= e.adjusted_high for t, e in scored)
    assert hit / len(scored) >= 0.9, f"coverage {hit}/{len(scored)}"


KNOBS: dict[str, dict[str, Any]] = {
    "every-action-a-benefit": {"benefit_labels": "all"},
    "no-benefit-column": {"benefit_labels": "absent"},
    "small-first-sessions": {"first_session_scale": 0.25},
    "large-first-sessions": {"first_session_scale": 5.0},
    "renewals-only": {"renewals": True},
    "heavy-tailed-activity": {"activity_tail": 1.4},
    "unobserved-frailty": {"frailty_sd": 1.0},
    "cohort-trend": {"cohort_trend": 1.0},
}


def variant_result(name: str, seed: int, root: Path) -> tuple[HvaResult, dict[str, Any]]:
    key = (name, seed)
    if key not in _CACHE:
        from tenure.simulate import WorldConfig, simulate_world

        out = root / f"{name}-{seed}"
        simulate_world(out, WorldConfig(n_members=MEMBERS, seed=seed, **KNOBS[name]))
        result = discover(connect(out), window=7, horizon=90, pair_days=1)
        _CACHE[key] = (result, json.loads((out / "truth.json").read_text()))
    return _CACHE[key]


def _grade_variant(result: HvaResult, truth: dict[str, Any]) -> tuple[int, int]:
    overall = {e.candidate.name: e for e in result.overall()}
    decoy = overall["music.play"]
    assert decoy.adjusted_low <= 0 <= decoy.adjusted_high, "the decoy's interval covers 0"
    rank = {c: i for i, c in enumerate(overall)}
    for action in ("shipping.order", "video.stream"):
        assert rank[action] < rank["music.play"], action
    hit = total = 0
    for action, v in truth["actions"].items():
        row = overall.get(action)
        if row is None:
            continue
        hit += int(row.adjusted_low <= v["effect"]["90"] <= row.adjusted_high)
        total += 1
    return hit, total


@pytest.mark.parametrize(
    "name", ["every-action-a-benefit", "no-benefit-column", "large-first-sessions"]
)
def test_simulator_conventions(name: str, root: Path) -> None:
    result, truth = variant_result(name, 1, root)
    hit, total = _grade_variant(result, truth)
    assert total >= 12 and hit / total >= 0.75, f"coverage {hit}/{total}"
    if name == "no-benefit-column":
        assert not any(e.candidate.kind == "distinct" for e in result.estimates)


# The simulator's decoy keeps a residual after adjustment on every world (about +0.01 of a
# naive +0.08 to +0.11): its engagement proxy measures the latent engagement only up to
# noise. A member-level regression on the same observables (``_reference_adjustment``, with
# the simulator's age_band) leaves more: +0.024 on both cells below, where Tenure gives
# +0.015 [+0.002, +0.028] and +0.014 [+0.000, +0.027]. The world's residual confounding,
# not the estimator's: shown, expected to fail until the proxy is better. (The heavy-tailed
# cell, also listed here before, passes since the member-level within-stratum term,
# tenure.hva.within.)
_DECOY_RESIDUAL = {("small-first-sessions", 2)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(KNOBS))
@pytest.mark.parametrize("seed", SEEDS)
def test_simulator_conventions_every_knob(
    name: str, seed: int, root: Path, request: pytest.FixtureRequest
) -> None:
    if (name, seed) in _DECOY_RESIDUAL:
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="the decoy's residual confounding (see above)")
        )
    result, truth = variant_result(name, seed, root)
    hit, total = _grade_variant(result, truth)
    assert hit / total >= 0.75, f"coverage {hit}/{total}"


def _reference_adjustment(folder: Path, truth: dict[str, Any]) -> dict[str, float]:
    """Each action's effect by a member-level logistic outcome regression (statsmodels).

    Independent of Tenure's code: one row per landmark member read straight from the files,
    the member columns, the log volume of the *other* actions in days 0-6 (cubic) and the
    log pre-signup history; standardised over the landmark (g-computation). It uses the
    same observables as Tenure, so where the two disagree it is Tenure's estimator, not the
    world's residual confounding.
    """
    import duckdb
    import numpy as np
    import pandas as pd

    sm = pytest.importorskip("statsmodels.api")
    as_of = truth["as_of"]
    m, e = folder / "members.parquet", folder / "events.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    actions = [r[0] for r in con.execute(f"SELECT DISTINCT action FROM '{e}'").fetchall()]
    per_action = ", ".join(f"count(*) FILTER (WHERE action = '{a}') AS \"{a}\"" for a in actions)
    df = con.execute(
        f"""
        WITH lm AS (
            SELECT * FROM '{m}' WHERE signup_at + INTERVAL 7 DAY <= ?::TIMESTAMPTZ
              AND (ended_at IS NULL OR ended_at > signup_at + INTERVAL 7 DAY)),
        ev AS (SELECT e.member_id, e.action, e.ts >= lm.signup_at AS inside FROM '{e}' e
               JOIN lm USING (member_id) WHERE e.ts < lm.signup_at + INTERVAL 7 DAY)
        SELECT lm.*, (ended_at IS NULL OR ended_at > signup_at + INTERVAL 90 DAY)::INT AS y,
               signup_at + INTERVAL 90 DAY <= ?::TIMESTAMPTZ AS known,
               coalesce(h.pre, 0) AS pre, w.* EXCLUDE (member_id)
        FROM lm
        LEFT JOIN (SELECT member_id, count(*) AS pre FROM ev WHERE NOT inside GROUP BY 1) h
          USING (member_id)
        LEFT JOIN (SELECT member_id, {per_action} FROM ev WHERE inside GROUP BY 1) w
          USING (member_id)
        """,
        [as_of, as_of],
    ).df()
    df[actions] = df[actions].fillna(0)
    base = pd.get_dummies(df[["country", "plan", "channel"]], drop_first=True).astype(float)
    base["age"], base["fee"], base["pre"] = df["age"], df["fee"], np.log1p(df["pre"])
    known = df["known"].to_numpy(bool)
    out = {}
    for a in actions:
        x = base.copy()
        other = np.log1p(df[[b for b in actions if b != a]].sum(axis=1))
        for power in (1, 2, 3):
            x[f"v{power}"] = other**power
        x["t"] = (df[a] > 0).astype(float)
        x = sm.add_constant(x.astype(np.float64))
        fit = sm.GLM(df["y"][known], x[known], family=sm.families.Binomial()).fit()
        out[a] = float(np.mean(fit.predict(x.assign(t=1.0)) - fit.predict(x.assign(t=0.0))))
    return out


def test_stranger_adjustment_agrees_with_a_member_level_regression(root: Path) -> None:
    """Tenure's interval holds an independent regression's estimate on the same observables.

    This separates the estimator's error from the world's: Parla's engagement proxy recovers
    its latent engagement only up to Poisson noise, so even a correct adjustment misses the
    truth by about one standard error for the most engagement-driven actions; an adjustment
    that did nothing (or too little) would miss this reference as well.
    """
    result, truth = stranger_result(1, root)
    reference = _reference_adjustment(root / "stranger-1", truth)
    rows = {e.candidate.actions[0]: e for e in result.overall() if e.candidate.kind == "action"}
    scored = {a: e for a, e in rows.items() if e.balanced and e.overlap}
    assert len(scored) >= len(rows) - 2
    missed = {
        a: (round(reference[a], 3), round(e.adjusted_low, 3), round(e.adjusted_high, 3))
        for a, e in scored.items()
        if not e.adjusted_low <= reference[a] <= e.adjusted_high
    }
    assert missed == {}


# Basketly (``tests/worlds/basket.py``): a third world, written blind from a spec of its causal
# structure, with conventions neither of the others has: CSV files, events in global time
# order, sparse first weeks, a mixed benefit convention (``app.open``, ``recipe.browse`` and
# ``wishlist.add`` carry none, so with the benefit column they are not candidates), continuous
# churn, and two attributes the contract does not name (``household_size``; ``distance_km``,
# continuous, which drives ``express.delivery``).


def basket_result(seed: int, root: Path, *, benefit: bool) -> tuple[HvaResult, dict[str, Any]]:
    """HVA on Basketly as written, or on a copy without the benefit column (every action,
    the decoys included, is then a candidate)."""
    key = (f"basket-{'benefit' if benefit else 'plain'}", seed)
    if key not in _CACHE:
        import duckdb

        out = root / f"basket-{seed}"
        if not (out / "truth.json").exists():
            _world("basket").generate(out, members=MEMBERS, seed=seed)
        truth = json.loads((out / "truth.json").read_text())
        folder = out
        if not benefit:
            folder = root / f"basket-{seed}-plain"
            folder.mkdir()
            (folder / "members.csv").write_bytes((out / "members.csv").read_bytes())
            duckdb.sql(
                f"COPY (SELECT * EXCLUDE (benefit) FROM read_csv('{out / 'events.csv'}', "
                f"all_varchar = true)) TO '{folder / 'events.csv'}' (HEADER)"
            )
        result = discover(
            connect(folder), window=truth["window_days"], horizon=truth["horizon_days"]
        )
        _CACHE[key] = (result, truth)
    return _CACHE[key]


def test_basketly_adjusts_for_every_attribute_read_from_csv(root: Path) -> None:
    result, truth = basket_result(1, root, benefit=True)
    assert not any("not adjusted for" in w for w in result.warnings), result.warnings
    covariates = {b.covariate for e in result.estimates for b in e.balance}
    assert set(truth["adjust_for"]) <= covariates
    names = {e.candidate.name for e in result.overall()}
    assert "slot.reserve" in names and "app.open" not in names  # no benefit: not a candidate


@pytest.mark.parametrize("seed", SEEDS)
def test_basketly_grading_bar(seed: int, root: Path) -> None:
    """The issue's bar on every single action, those Tenure flags included.

    Basketly's flags are thin positivity (below): the estimate is still shown, with its
    interval, and graded here; it is never called an HVA.
    """
    result, truth = basket_result(seed, root, benefit=False)
    rows = {e.candidate.name: e for e in result.overall()}
    rank = {name: i for i, name in enumerate(rows)}
    singles = [(t, rows[t["candidate"]]) for t in truth["effects"] if t["kind"] == "action"]
    assert len(singles) == 10
    hit = sum(e.adjusted_low <= t["effect"] <= e.adjusted_high for t, e in singles)
    assert hit / len(singles) >= 0.9, f"coverage {hit}/{len(singles)}"
    decoys = [e for t, e in singles if t["role"] == "decoy"]
    assert all(e.adjusted_low <= 0 <= e.adjusted_high for e in decoys)
    (harmful,) = [e for t, e in singles if t["role"] == "harmful"]
    assert harmful.naive_diff > 0 > harmful.adjusted_high
    worst_decoy = min(rank[e.candidate.name] for e in decoys)
    for t, e in singles:
        if t["role"] == "true_hva":
            assert rank[e.candidate.name] < worst_decoy, t["candidate"]
    (k3,) = [t for t in truth["effects"] if t["kind"] == "threshold"]
    e3 = rows[f"{k3['candidate']}>={k3['k']}"]
    assert e3.adjusted_low <= k3["effect"] <= e3.adjusted_high
    assert all(abs(e.adjusted_diff - t["effect"]) < abs(e.naive_diff - t["effect"])
               for t, e in singles if t["role"] in ("decoy", "harmful", "true_hva"))  # fmt: skip


def test_basketly_positivity_is_flagged_where_the_data_has_no_controls(root: Path) -> None:
    """``slot.reserve`` is done by nearly every heavy user: no comparison exists there.

    Read from the files, not from Tenure: among landmark members with more than 40 other
    events in days 0-6, the share who reserved a slot. Tenure must say positivity is thin
    and not call it an HVA, though its estimate is right (graded above).
    """
    import duckdb

    result, _ = basket_result(1, root, benefit=False)
    out = root / "basket-1"
    (share,) = duckdb.sql(
        f"""
        WITH m AS (SELECT member_id, signup_at::TIMESTAMPTZ AS s, ended_at::TIMESTAMPTZ AS e
                   FROM read_csv('{out / "members.csv"}', all_varchar = true)),
        w AS (SELECT member_id, count(*) FILTER (WHERE action <> 'slot.reserve') AS other,
                     bool_or(action = 'slot.reserve') AS used
              FROM read_csv('{out / "events.csv"}', all_varchar = true) JOIN m USING (member_id)
              WHERE ts::TIMESTAMPTZ < s + INTERVAL 7 DAY GROUP BY 1)
        SELECT avg(used::INT) FROM w JOIN m USING (member_id)
        WHERE other > 40 AND (e IS NULL OR e > s + INTERVAL 7 DAY)
        """
    ).fetchone() or (None,)
    assert share is not None and share > 0.99
    e = next(e for e in result.overall() if e.candidate.name == "slot.reserve")
    assert not e.overlap and not e.is_hva
    assert any("thin positivity" in w for w in e.warnings)


@pytest.mark.slow
def test_basketly_at_scale_the_strata_leave_no_residue(root: Path) -> None:
    """At 300,000 members the intervals are narrow enough to show what the bins leave.

    Basketly seed 3 as written (CSV, read in place): the seven single actions. Without the
    member-level within-stratum term (``tenure.hva.within``) 4 of 7 covered the truth, with
    a mean error of 0.0048 (``refund.claim`` off by 0.0071, ``express.delivery`` by 0.0096);
    with it 6 of 7 and 0.0027.
    """
    out = root / "basket-300k-3"
    truth = _world("basket").generate(out, members=300_000, seed=3)
    result = discover(connect(out), window=truth["window_days"], horizon=truth["horizon_days"])
    rows = {e.candidate.name: e for e in result.overall()}
    singles = [
        (t["effect"], rows[t["candidate"]])
        for t in truth["effects"]
        if t["kind"] == "action" and t["candidate"] in rows
    ]
    assert len(singles) == 7
    hit = sum(e.adjusted_low <= t <= e.adjusted_high for t, e in singles)
    error = sum(abs(e.adjusted_diff - t) for t, e in singles) / len(singles)
    assert hit >= 6 and error < 0.0035, f"coverage {hit}/7, mean error {error:.4f}"
    assert any(abs(e.within_stratum) > 0.003 for _, e in singles)  # the term did the work
