"""Learning before reward windows close, and learning how much to pool (issue 12 §4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from scipy import optimize, special

from tenure.messaging.policies import BasePolicy
from tenure.messaging.policies.thompson import Prior, ThompsonPolicy
from tenure.messaging.policies.uniform import UniformPolicy
from tenure.messaging.rewards import seen_share
from tenure.simulate.creatives import ADOPTION_DAY_HAZARD, adoption_day

WINDOW = 7


def _open_log(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Decisions 1..10 days old for two messages; first use on a truncated-geometric day."""
    truth = {"a": 0.30, "b": 0.12}
    msg = rng.choice(list(truth), n)
    success = rng.random(n) < np.array([truth[m] for m in msg])
    day = adoption_day(rng.random(n), WINDOW)
    elapsed = rng.integers(1, 11, n).astype(np.float64)
    visible = success & (day <= elapsed)
    frame = pd.DataFrame({"message": msg, "country": "US", "reward": visible.astype(float)})
    frame["elapsed"] = elapsed
    frame["event_day"] = np.where(visible, day, np.nan)
    return frame, truth


def test_seen_share_is_kaplan_meier_of_time_to_first_use() -> None:
    """F(e) = (1 - S(e)) / (1 - S(W)) with S from lifelines' Kaplan–Meier on the same rows."""
    frame, _ = _open_log(np.random.default_rng(3), 20_000)
    e, t = frame["elapsed"].to_numpy(), frame["event_day"].to_numpy()
    f = seen_share(e, t, WINDOW)
    km = KaplanMeierFitter().fit(np.where(np.isfinite(t), t, np.minimum(e, WINDOW)),
                                 event_observed=np.isfinite(t))  # fmt: skip
    surv = km.survival_function_at_times(np.arange(1, WINDOW + 1)).to_numpy()
    ref = (1 - surv) / (1 - surv[-1])
    for k in range(1, WINDOW):
        assert f[e == k][0] == pytest.approx(ref[k - 1], abs=1e-9)
    assert np.all(f[e >= WINDOW] == 1.0)


def test_seen_share_recovers_the_true_timing() -> None:
    frame, _ = _open_log(np.random.default_rng(4), 40_000)
    f = seen_share(frame["elapsed"], frame["event_day"], WINDOW)
    h = ADOPTION_DAY_HAZARD
    for k in (1, 3, 5):
        true = (1 - (1 - h) ** k) / (1 - (1 - h) ** WINDOW)
        assert f[frame["elapsed"].to_numpy() == k][0] == pytest.approx(true, abs=0.03)


def test_open_windows_fit_the_censored_likelihood() -> None:
    """With ``seen``, each message's rate is the MLE of P(seen success) = F·p (scipy on the
    rows), near the truth; counting every open "not yet" as a failure is biased low."""
    frame, truth = _open_log(np.random.default_rng(5), 30_000)
    frame["seen"] = seen_share(frame["elapsed"], frame["event_day"], WINDOW)
    vague = Prior(intercept=1e3, context=1e3, main=1e3, interaction=1e3)
    pol = ThompsonPolicy(("message",), ("country",), prior=vague, pooling="fixed").fit(
        frame[["message", "country", "reward", "seen"]]
    )
    naive = ThompsonPolicy(("message",), ("country",), prior=vague, pooling="fixed").fit(
        frame[["message", "country", "reward"]]
    )
    for m, p_true in truth.items():
        rows = frame[frame["message"] == m]
        y, f = rows["reward"].to_numpy(), rows["seen"].to_numpy()

        def nll(p: float, y: np.ndarray = y, f: np.ndarray = f) -> float:
            q = f * p
            return float(-(y * np.log(q) + (1 - y) * np.log1p(-q)).sum())

        ref = optimize.minimize_scalar(nll, bounds=(1e-6, 1 - 1e-6), method="bounded",
                                       options={"xatol": 1e-10}).x  # fmt: skip
        got = pol.expected_reward({"country": "US"}, [{"message": m}])[0]
        assert got == pytest.approx(ref, abs=1e-4)
        assert got == pytest.approx(p_true, abs=0.02)
        assert naive.expected_reward({"country": "US"}, [{"message": m}])[0] < 0.93 * p_true


def test_seen_of_one_is_the_plain_model() -> None:
    frame, _ = _open_log(np.random.default_rng(6), 3_000)
    a = ThompsonPolicy(("message",), ("country",)).fit(frame[["message", "country", "reward"]])
    b = ThompsonPolicy(("message",), ("country",)).fit(
        frame[["message", "country", "reward"]].assign(seen=1.0)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)
    np.testing.assert_allclose(a.cov_, b.cov_, atol=1e-10)


def _pooling_log(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Message × country interacts (+1.2 for m2 in DE); image × country does not."""
    m, i, c = (
        rng.choice(["m0", "m1", "m2"], n),
        rng.choice(["i0", "i1"], n),
        rng.choice(["US", "DE", "FR"], n),
    )
    eta = -2 + 0.6 * (m == "m1") + 0.3 * (i == "i1") + 1.2 * ((m == "m2") & (c == "DE"))
    r = (rng.random(n) < special.expit(eta)).astype(float)
    return pd.DataFrame({"message": m, "image": i, "country": c, "reward": r})


def test_empirical_pooling_shrinks_a_pair_with_no_interaction() -> None:
    pol = ThompsonPolicy(("message", "image"), ("country",)).fit(
        _pooling_log(np.random.default_rng(7), 20_000)
    )
    scales = dict(zip(pol.design_.group_names(), pol.scales_, strict=True))
    stated = Prior()
    assert scales["image|country"] < 0.5 * stated.interaction
    assert scales["message|country"] > 2 * scales["image|country"]
    assert scales["intercept"] == stated.intercept  # only factor groups are pooled
    fixed = ThompsonPolicy(("message", "image"), ("country",), pooling="fixed").fit(
        _pooling_log(np.random.default_rng(7), 20_000)
    )
    assert np.all(fixed.scales_[2:] == [stated.main] * 2 + [stated.interaction] * 2)


def test_learned_scales_survive_a_snapshot() -> None:
    pol = ThompsonPolicy(("message", "image"), ("country",)).fit(
        _pooling_log(np.random.default_rng(8), 4_000)
    )
    back = ThompsonPolicy.from_snapshot(pol.snapshot_state())
    np.testing.assert_array_equal(back.scales_, pol.scales_)
    ctx, parts = {"country": "DE"}, [{"message": "m2", "image": "i9"}, {"message": "m0",
                                                                       "image": "i0"}]  # fmt: skip
    np.testing.assert_array_equal(back.probabilities(ctx, parts), pol.probabilities(ctx, parts))


def test_policies_share_the_choosing_tail() -> None:
    """STYLE §4: a policy states its probabilities; the base class draws and logs them."""
    for cls in (ThompsonPolicy, UniformPolicy):
        assert issubclass(cls, BasePolicy)
        assert "choose" not in cls.__dict__
