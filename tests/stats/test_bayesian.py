"""Bayesian read-out: closed forms against Monte Carlo and conjugate updating."""

from __future__ import annotations

import numpy as np
import pytest

from tenure.stats.bayesian import GaussianPrior, gaussian_posterior


def test_chance_to_win_and_risks_match_monte_carlo() -> None:
    rng = np.random.default_rng(5)
    mu, sd = np.array([0.03, -0.01, 0.0]), np.array([0.02, 0.015, 0.01])
    r = gaussian_posterior(mu, sd)
    draws = rng.normal(mu, sd, (400_000, 3))
    np.testing.assert_allclose(r.chance_to_win, (draws > 0).mean(0), atol=3e-3)
    np.testing.assert_allclose(r.risk_control, np.maximum(draws, 0).mean(0), atol=2e-4)
    np.testing.assert_allclose(r.risk_variant, np.maximum(-draws, 0).mean(0), atol=2e-4)
    # identity: E[max(d,0)] - E[max(-d,0)] = E[d]
    np.testing.assert_allclose(r.risk_control - r.risk_variant, mu, atol=1e-15)


def test_proper_prior_is_precision_weighted_and_inverse_swaps() -> None:
    prior = GaussianPrior(mean=0.1, variance=0.04, proper=True)
    r = gaussian_posterior(0.3, 0.1, prior=prior)
    assert float(r.posterior_mean) == pytest.approx((0.3 / 0.01 + 0.1 / 0.04) / (100 + 25))
    assert float(r.posterior_sd) == pytest.approx(np.sqrt(1 / 125))
    inv = gaussian_posterior(0.3, 0.1, prior=prior, inverse=True)
    assert float(inv.chance_to_win) == pytest.approx(1 - float(r.chance_to_win))
    assert float(inv.risk_control) == pytest.approx(float(r.risk_variant))


def test_nan_propagates() -> None:
    r = gaussian_posterior([np.nan, 0.1], [0.1, 0.1])
    assert np.isnan(r.chance_to_win[0]) and not np.isnan(r.chance_to_win[1])
