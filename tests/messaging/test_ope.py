"""Off-policy estimators on truth-known synthetic logs, and obp's own invariants as properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from tenure.errors import SpecError
from tenure.messaging.offpolicy import evaluate_tables
from tenure.stats.ope import OffPolicyEstimates, evaluate, weight_diagnostics


def _world(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """5 contexts x 4 actions; logging policy softmax(b), target softmax(t); Bernoulli rewards."""
    x = rng.integers(5, size=n)
    q = special.expit(rng.normal(-1.0, 0.8, size=(5, 4)))
    pb = special.softmax(np.random.default_rng(1).normal(size=(5, 4)), axis=1)
    pe = special.softmax(2 * np.random.default_rng(2).normal(size=(5, 4)), axis=1)
    u = rng.random(n)
    a = (u[:, None] > np.cumsum(pb[x], axis=1)).sum(axis=1)
    r = rng.binomial(1, q[x, a]).astype(float)
    return {"x": x, "a": a, "r": r, "q": q, "pb": pb, "pe": pe}


def _truth(w: dict[str, np.ndarray]) -> float:
    # contexts are uniform on 5 values: the true value averages over them
    return float(np.mean(np.sum(w["pe"] * w["q"], axis=1)))


def _estimate(w: dict[str, np.ndarray], q_model: np.ndarray) -> OffPolicyEstimates:
    x, a = w["x"], w["a"]
    return evaluate(
        w["r"],
        w["pb"][x, a],
        w["pe"][x, a],
        q_chosen=q_model[x, a],
        q_target=np.sum(w["pe"][x] * q_model[x], axis=1),
    )


def test_dm_equals_truth_when_reward_model_is_truth() -> None:
    w = _world(np.random.default_rng(5), 2000)
    est = _estimate(w, w["q"])
    exact = float(np.mean(np.sum(w["pe"][w["x"]] * w["q"][w["x"]], axis=1)))
    assert est.value_of("dm") == pytest.approx(exact, abs=1e-12)


def test_unbiased_and_intervals_cover_on_replications() -> None:
    """IPS, SNIPS and DR (with a wrong reward model) centre on the truth; CIs cover ~95%."""
    truth = None
    cover = {"ips": 0, "snips": 0, "dr": 0}
    means: dict[str, list[float]] = {"ips": [], "snips": [], "dr": []}
    reps = 300
    for seed in range(reps):
        w = _world(np.random.default_rng(100 + seed), 3000)
        truth = _truth(w)
        est = _estimate(w, np.full((5, 4), 0.5))  # a bad model: DR must still be unbiased
        for k in cover:
            lo, hi = est.interval_of(k)
            cover[k] += lo <= truth <= hi
            means[k].append(est.value_of(k))
    assert truth is not None
    for k in cover:
        m = np.asarray(means[k])
        assert abs(m.mean() - truth) < 4 * m.std(ddof=1) / np.sqrt(reps)
        # 95% coverage; 300 reps give sd 1.3 points, so [0.90, 0.99] is a ~4 sd band
        assert 0.90 <= cover[k] / reps <= 0.99, (k, cover[k] / reps)


def test_dm_with_wrong_model_is_biased_and_dr_is_not() -> None:
    w = _world(np.random.default_rng(9), 200_000)
    est = _estimate(w, np.full((5, 4), 0.5))
    truth = _truth(w)
    assert abs(est.value_of("dm") - truth) > 0.05
    lo, hi = est.interval_of("dr")
    assert lo < truth < hi


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 10), st.floats(0.01, 1), st.floats(0, 1)),
        min_size=2,
        max_size=50,
    )
)
def test_snips_within_reward_range(rows: list[tuple[float, float, float]]) -> None:
    r, p, t = (np.array(c) for c in zip(*rows, strict=True))
    est = evaluate(r, p, t)
    snips = est.value_of("snips")
    if np.sum(t) > 0:
        assert r.min() - 1e-9 <= snips <= r.max() + 1e-9
    assert est.diagnostics.ess <= len(r) + 1e-9
    assert est.value_of("ips") >= 0


def test_on_policy_ips_is_the_logged_mean() -> None:
    w = _world(np.random.default_rng(3), 5000)
    x, a = w["x"], w["a"]
    est = evaluate(w["r"], w["pb"][x, a], w["pb"][x, a])
    assert est.value_of("ips") == pytest.approx(w["r"].mean(), abs=1e-12)
    assert est.diagnostics.ess == pytest.approx(5000)


def test_wrong_propensities_are_flagged() -> None:
    w = _world(np.random.default_rng(4), 20_000)
    x, a = w["x"], w["a"]
    good = weight_diagnostics(w["pe"][x, a] / w["pb"][x, a])
    assert good.warnings == () and abs(good.mean_weight - 1) < 4 * good.mean_weight_se
    bad = weight_diagnostics(w["pe"][x, a] / (0.5 * w["pb"][x, a]))
    assert any("not 1" in m for m in bad.warnings)


def test_input_errors_name_the_field() -> None:
    with pytest.raises(SpecError, match="propensity"):
        evaluate([1.0, 0.0], [0.5, 0.0], [1.0, 0.0])
    with pytest.raises(SpecError, match="reward: expected 2 values"):
        evaluate([1.0], [0.5, 0.5], [1.0, 0.0])
    with pytest.raises(SpecError, match="both q_chosen and q_target"):
        evaluate([1.0, 0.0], [0.5, 0.5], [1.0, 0.0], q_chosen=[0.1, 0.1])


def test_table_evaluator_matches_arrays_and_checks_targets() -> None:
    w = _world(np.random.default_rng(6), 4000)
    x, a = w["x"], w["a"]
    log = pd.DataFrame({"segment": x, "action": a, "reward": w["r"], "propensity": w["pb"][x, a]})
    xs, acts = np.meshgrid(np.arange(5), np.arange(4), indexing="ij")
    target = pd.DataFrame({"segment": xs.ravel(), "action": acts.ravel(),
                           "prob": w["pe"].ravel()})  # fmt: skip
    est = evaluate_tables(log, target)
    ref = evaluate(w["r"], w["pb"][x, a], w["pe"][x, a])
    assert est.value_of("ips") == pytest.approx(ref.value_of("ips"), abs=1e-12)
    assert est.value_of("snips") == pytest.approx(ref.value_of("snips"), abs=1e-12)
    # rows with prob 0 may be omitted
    est2 = evaluate_tables(log, target[target["prob"] > 0.2].assign(
        prob=lambda f: f["prob"] / f.groupby("segment")["prob"].transform("sum")))  # fmt: skip
    assert np.isfinite(est2.value_of("dr"))
    with pytest.raises(SpecError, match="sum to 1"):
        evaluate_tables(log, target.assign(prob=target["prob"] * 0.9))
    with pytest.raises(SpecError, match="no probabilities for"):
        evaluate_tables(log, target[target["segment"] != 3])
    with pytest.raises(SpecError, match="no context column"):
        evaluate_tables(log.drop(columns="segment"), target)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.floats(0.01, 1), st.floats(0, 1), st.floats(0, 1),
                  st.floats(0, 1)),
        min_size=2,
        max_size=40,
    ),
    st.floats(0, 200),
)  # fmt: skip
def test_switch_dr_lies_between_dm_and_dr_terms(
    rows: list[tuple[float, float, float, float, float]], lam: float
) -> None:
    """Switch-DR is DM at λ = 0, DR once λ exceeds every weight, and each round's term is
    one of the two (so the estimate is DM plus a subset of DR's corrections)."""
    r, p, t, qc, qt = (np.array(c) for c in zip(*rows, strict=True))
    w = t / p

    def run(x: float) -> OffPolicyEstimates:
        return evaluate(r, p, t, q_chosen=qc, q_target=qt, switch_lambda=x)

    assert run(0.0).value_of("switch_dr") == pytest.approx(
        np.mean(qt + np.where(w <= 0, w * (r - qc), 0.0)), abs=1e-12
    )
    big = run(float(w.max()) + 1)
    assert big.value_of("switch_dr") == pytest.approx(big.value_of("dr"), abs=1e-12)
    est = run(lam)
    keep = w <= lam
    assert est.value_of("switch_dr") == pytest.approx(
        np.mean(qt) + np.sum(w[keep] * (r[keep] - qc[keep])) / len(r), abs=1e-12
    )
    assert est.params["switched_share"] == pytest.approx(np.mean(~keep))


def test_switch_dr_trades_variance_for_model_bias() -> None:
    """On a world with a sharp target, switch-DR's spread across replications is below DR's,
    and with the true reward model it is unbiased like DR."""
    dr, sw = [], []
    for seed in range(60):
        w = _world(np.random.default_rng(100 + seed), 400)
        x, a = w["x"], w["a"]
        est = evaluate(w["r"], w["pb"][x, a], w["pe"][x, a], q_chosen=w["q"][x, a],
                       q_target=np.sum(w["pe"][x] * w["q"][x], axis=1), switch_lambda=2.0)  # fmt: skip
        dr.append(est.value_of("dr") - _truth(w))
        sw.append(est.value_of("switch_dr") - _truth(w))
    assert np.std(sw) < np.std(dr)
    assert abs(np.mean(sw)) < 3 * np.std(sw) / np.sqrt(len(sw))


def test_switch_dr_needs_a_reward_model() -> None:
    with pytest.raises(SpecError, match="switch_lambda"):
        evaluate([1.0, 0.0], [0.5, 0.5], [1.0, 0.0], switch_lambda=5.0)
    with pytest.raises(SpecError, match="switch_lambda"):
        evaluate([1.0, 0.0], [0.5, 0.5], [1.0, 0.0], q_chosen=[0.5, 0.5], q_target=[0.5, 0.5],
                 switch_lambda=-1.0)  # fmt: skip
