"""Experiment statistics on sufficient statistics: pure numpy/scipy, vectorised.

Arrays in, frozen dataclasses out; no I/O. Every function broadcasts over many comparisons.
"""

from __future__ import annotations

from tenure.stats.bayesian import BayesianResult, GaussianPrior, bayesian_test, gaussian_posterior
from tenure.stats.frequentist import compare_arms, cuped_test, cuped_theta, ratio_test, welch_test
from tenure.stats.meta import MetaResult, random_effects_meta
from tenure.stats.moments import CrossMoments, Moments
from tenure.stats.multiple import benjamini_hochberg, holm
from tenure.stats.power import duration_days, minimum_detectable_effect, sample_size
from tenure.stats.result import STATUS_CODES, ComparisonResult
from tenure.stats.sequential import (
    DEFAULT_TUNING,
    always_valid_p_value,
    confidence_sequence_halfwidth,
    sequential_rho,
)
from tenure.stats.srm import srm_test

__all__ = [
    "DEFAULT_TUNING",
    "STATUS_CODES",
    "BayesianResult",
    "ComparisonResult",
    "CrossMoments",
    "GaussianPrior",
    "MetaResult",
    "Moments",
    "always_valid_p_value",
    "bayesian_test",
    "benjamini_hochberg",
    "compare_arms",
    "confidence_sequence_halfwidth",
    "cuped_test",
    "cuped_theta",
    "duration_days",
    "gaussian_posterior",
    "holm",
    "minimum_detectable_effect",
    "random_effects_meta",
    "ratio_test",
    "sample_size",
    "sequential_rho",
    "srm_test",
    "welch_test",
]
