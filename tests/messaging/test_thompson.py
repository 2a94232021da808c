"""Pooled Thompson sampling: the fit against statsmodels, propensities against frequencies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special, stats

from tenure.errors import NotFittedError, SpecError
from tenure.messaging import Catalogue, load_policy
from tenure.messaging.policies.thompson import Prior, ThompsonPolicy
from tenure.messaging.snapshot import write_snapshot


def _log(
    rng: np.random.Generator, n: int
) -> tuple[pd.DataFrame, dict[tuple[str, str, str], float]]:
    """Messages × images × country with a true logistic model including an interaction."""
    msgs, imgs, ctry = ["m0", "m1", "m2"], ["i0", "i1"], ["US", "DE"]
    a = {"m0": 0.0, "m1": 0.6, "m2": -0.4}
    b = {"i0": 0.0, "i1": 0.3}
    inter = {("m2", "DE"): 1.2}
    m = rng.choice(msgs, n)
    i = rng.choice(imgs, n)
    c = rng.choice(ctry, n)
    truth = {
        (mm, ii, cc): float(special.expit(-2 + a[mm] + b[ii] + inter.get((mm, cc), 0.0)))
        for mm in msgs for ii in imgs for cc in ctry
    }  # fmt: skip
    p = np.array([truth[k] for k in zip(m, i, c, strict=True)])
    r = rng.binomial(1, p).astype(float)
    return pd.DataFrame({"message": m, "image": i, "country": c, "reward": r}), truth


def test_fit_matches_statsmodels_glm_with_a_flat_prior() -> None:
    """With vague priors the Laplace mean is the MLE: cell probabilities equal statsmodels'."""
    log, _ = _log(np.random.default_rng(1), 40_000)
    vague = Prior(intercept=1e3, context=1e3, main=1e3, interaction=1e3)
    pol = ThompsonPolicy(("message", "image"), ("country",), prior=vague).fit(log)
    cells = log.drop_duplicates(["message", "image", "country"]).drop(columns="reward")
    # statsmodels on a full-rank dummy coding of the same saturated-in-pairs model
    x = pd.get_dummies(log[["message", "image", "country"]], drop_first=True).astype(float)
    x["m1_DE"] = x["message_m1"] * x["country_US"].rsub(1)
    x["m2_DE"] = x["message_m2"] * x["country_US"].rsub(1)
    x["i1_DE"] = x["image_i1"] * x["country_US"].rsub(1)
    glm = sm.GLM(log["reward"], sm.add_constant(x), family=sm.families.Binomial()).fit()
    for row in cells.itertuples(index=False):
        mask = (
            (log["message"] == row.message)
            & (log["image"] == row.image)
            & (log["country"] == row.country)
        )
        ref = float(glm.predict(sm.add_constant(x)[mask].iloc[:1]).iloc[0])
        got = pol.expected_reward(
            {"country": str(row.country)},
            [{"message": str(row.message), "image": str(row.image)}],
        )[0]
        assert got == pytest.approx(ref, abs=2e-4)


def test_two_creatives_probability_is_the_normal_cdf() -> None:
    """P(score_a > score_b) for jointly normal scores is Φ(Δμ / sd(Δ)): exact reference."""
    log, _ = _log(np.random.default_rng(2), 3000)
    pol = ThompsonPolicy(("message", "image"), ("country",), exploration=0.0,
                         mc_draws=20_000).fit(log)  # fmt: skip
    ctx = {"country": "DE"}
    pair = [{"message": "m1", "image": "i0"}, {"message": "m2", "image": "i0"}]
    idx, unknown = pol.design_.creative_features(pair, ctx)
    assert unknown == []
    d = np.zeros(pol.design_.n_features)
    np.add.at(d, idx[0], 1.0)
    np.add.at(d, idx[1], -1.0)
    exact = stats.norm.cdf(d @ pol.coef_ / np.sqrt(d @ pol.cov_ @ d))
    got = pol.probabilities(ctx, pair)[0]
    assert got == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-9)


def test_logged_propensities_match_selection_frequencies(catalogue: Catalogue) -> None:
    rng = np.random.default_rng(3)
    creatives = catalogue.creatives("home")[:30]
    parts = [(c.message, c.image, c.cta) for c in creatives]
    rows = [parts[j] for j in rng.integers(len(parts), size=4000)]
    true = {p: 0.05 + 0.2 * (k % 3 == 0) for k, p in enumerate(parts)}
    log = pd.DataFrame(rows, columns=["message", "image", "cta"]).assign(
        placement="home", reward=[rng.binomial(1, true[r]) for r in rows]
    )
    pol = ThompsonPolicy(exploration=0.1).fit(log)
    picks = [pol.choose({"placement": "home"}, creatives, rng) for _ in range(20_000)]
    probs = dict(zip((c.id for c in creatives),
                     pol.probabilities({"placement": "home"}, creatives), strict=True))  # fmt: skip
    assert all(p.propensity == probs[p.creative.id] for p in picks)
    assert min(probs.values()) >= 0.1 / 30 - 1e-15
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    counts = Counter(p.creative.id for p in picks)
    expected = np.array([probs[c.id] for c in creatives]) * 20_000
    observed = np.array([counts.get(c.id, 0) for c in creatives])
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_pooling_learns_a_sparse_segment_from_parts() -> None:
    """A segment with little data still prefers the globally better message."""
    rng = np.random.default_rng(4)
    log, _ = _log(rng, 20_000)
    sparse = log[log["country"] == "DE"].head(30)
    log = pd.concat([log[log["country"] == "US"], sparse])
    pol = ThompsonPolicy(("message", "image"), ("country",), exploration=0.0).fit(log)
    cands = [{"message": m, "image": "i0"} for m in ("m0", "m1")]
    p = pol.probabilities({"country": "DE"}, cands)
    assert p[1] > 0.7  # m1 is better everywhere; DE's 30 rows cannot overturn it


def test_unknown_levels_draw_from_the_prior() -> None:
    log, _ = _log(np.random.default_rng(5), 5000)
    pol = ThompsonPolicy(("message", "image"), ("country",), exploration=0.0).fit(log)
    cands = [{"message": "m1", "image": "i0"}, {"message": "brand_new", "image": "i0"}]
    p = pol.probabilities({"country": "FR"}, cands)
    assert 0.02 < p[1] < 0.98  # a new creative is explored, not ignored or certain


def test_snapshot_round_trip_keeps_probabilities(tmp_path: Path, catalogue: Catalogue) -> None:
    log, _ = _log(np.random.default_rng(6), 5000)
    pol = ThompsonPolicy(("message", "image"), ("country",)).fit(log)
    path = write_snapshot(tmp_path / "ts.json", "thompson", pol.snapshot_state())
    back = load_policy(path)
    assert isinstance(back, ThompsonPolicy) and back.version == pol.version
    cands = [{"message": m, "image": "i1"} for m in ("m0", "m1", "m2")]
    np.testing.assert_array_equal(
        back.probabilities({"country": "US"}, cands), pol.probabilities({"country": "US"}, cands)
    )
    table = back.export()
    sums = table.groupby("country")["prob"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert set(table["action"]) == {f"{m}:{i}" for m in ("m0", "m1", "m2") for i in ("i0", "i1")}


def test_errors() -> None:
    with pytest.raises(NotFittedError):
        _ = ThompsonPolicy().version
    with pytest.raises(SpecError, match="no column"):
        ThompsonPolicy(("message",), ("plan",)).fit(pd.DataFrame({"message": ["a"], "reward": [1]}))
    with pytest.raises(SpecError, match="rewards in"):
        ThompsonPolicy(("message",), ()).fit(pd.DataFrame({"message": ["a"], "reward": [3.0]}))
    with pytest.raises(SpecError, match=r"prior\.main"):
        Prior(main=0)


def test_refit_is_idempotent_and_pickles(catalogue: Catalogue) -> None:
    import pickle

    log, _ = _log(np.random.default_rng(7), 3000)
    pol = ThompsonPolicy(("message", "image"), ("country",))
    first = pol.fit(log).version
    assert pol.fit(log).version == first  # fit returns self; refitting changes nothing
    back = pickle.loads(pickle.dumps(pol))
    cands = [{"message": m, "image": "i0"} for m in ("m0", "m1")]
    np.testing.assert_array_equal(
        back.probabilities({"country": "DE"}, cands), pol.probabilities({"country": "DE"}, cands)
    )


def test_serving_context_without_placement_uses_the_creatives(catalogue: Catalogue) -> None:
    """A server passes member attributes; the placement comes from the creatives themselves."""
    rng = np.random.default_rng(9)
    cs = catalogue.creatives("email")[:12]
    rows = [cs[j] for j in rng.integers(len(cs), size=2000)]
    log = pd.DataFrame(
        {"message": [c.message for c in rows], "image": [c.image for c in rows],
         "cta": [c.cta for c in rows], "placement": "email",
         "reward": rng.binomial(1, 0.2, size=2000).astype(float)}
    )  # fmt: skip
    pol = ThompsonPolicy(context=("placement",)).fit(log)
    with_place = pol.probabilities({"placement": "email"}, cs)
    np.testing.assert_array_equal(pol.probabilities({"country": "US"}, cs), with_place)


def test_gram_matrix_equals_the_sparse_product() -> None:
    """The listed-pairs Gram matrix is scipy's X^T diag(w) X, rows of unequal length included."""
    from scipy import sparse

    from tenure.messaging.policies.thompson import _Gram

    rng = np.random.default_rng(4)
    x = sparse.random(500, 40, density=0.15, format="lil", random_state=5)
    x[3] = 0  # an empty row
    x = x.tocsr()
    assert np.diff(x.indptr).min() == 0 and np.unique(np.diff(x.indptr)).size > 3
    w = rng.random(500)
    ref = (x.T @ sparse.diags(w) @ x).toarray()
    np.testing.assert_allclose(_Gram(x).weighted(w), ref, rtol=1e-12, atol=1e-12)


def test_rate_rewards_are_fitted_quasi_binomially_like_statsmodels() -> None:
    """Rewards that are rates (h0 + delta * adopted, as the surrogate reward is) get the
    Pearson dispersion and covariance of statsmodels' quasi-binomial GLM (scale="X2") under
    a vague prior; 0/1 rewards keep dispersion 1."""
    import statsmodels.api as sm

    rng = np.random.default_rng(9)
    n = 6000
    msg = rng.choice(["a", "b", "c"], n)
    p = np.select([msg == "a", msg == "b"], [0.3, 0.15], 0.05)
    reward = 0.55 + 0.08 * (rng.random(n) < p)
    frame = pd.DataFrame({"message": msg, "country": "US", "reward": reward})
    vague = Prior(intercept=1e4, context=1e4, main=1e4, interaction=1e4)
    pol = ThompsonPolicy(("message",), ("country",), prior=vague, pooling="fixed").fit(frame)
    x = pd.get_dummies(pd.Series(msg), drop_first=True, dtype=float)
    ref = sm.GLM(reward, sm.add_constant(x), family=sm.families.Binomial()).fit(scale="X2")
    assert pol.dispersion_ == pytest.approx(ref.scale, rel=1e-3)
    assert pol.dispersion_ < 0.02  # a Bernoulli of the same mean would say 1
    probs = pol.expected_reward({"country": "US"}, [{"message": m} for m in ("a", "b", "c")])
    means = [reward[msg == m].mean() for m in ("a", "b", "c")]
    np.testing.assert_allclose(probs, means, atol=1e-6)
    # the posterior sd of each message's log-odds: statsmodels' quasi-likelihood s.e.
    d = pol.design_
    rows = d.matrix(pd.DataFrame({"message": ["a", "b", "c"], "country": "US"})).toarray()
    sd_eta = np.sqrt(np.einsum("ij,jk,ik->i", rows, pol.cov_, rows))
    cov = ref.cov_params().to_numpy()
    ref_sd = [np.sqrt(cov[0, 0])] + [np.sqrt(cov[0, 0] + cov[k, k] + 2 * cov[0, k]) for k in (1, 2)]
    np.testing.assert_allclose(sd_eta, ref_sd, rtol=2e-3)
    binary = frame.assign(reward=(reward > 0.6).astype(float))
    assert ThompsonPolicy(("message",), ("country",)).fit(binary).dispersion_ == 1.0
