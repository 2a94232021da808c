"""The estimator contract (scikit-learn's), run on every learner in the package.

``__init__`` stores its parameters untouched; ``fit`` returns ``self``; learned state is in
attributes ending in ``_`` (and none exists before ``fit``); refitting on the same data gives
the same model; a fitted model survives a pickle round trip with identical predictions.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tenure.stats.ipw import GroupedLogistic
from tenure.stats.survival import KaplanMeier


@dataclass(frozen=True)
class Case:
    """An estimator, data to fit it on, and how to read its predictions."""

    name: str
    make: Callable[[], Any]
    fit: Callable[[Any], Any]
    predict: Callable[[Any], Any]


def _km_case() -> Case:
    rng = np.random.default_rng(5)
    t, e = rng.exponential(30, 300).round(), rng.random(300) < 0.7
    grid = np.arange(0, 120, 5.0)
    return Case(
        "KaplanMeier",
        lambda: KaplanMeier(alpha=0.1),
        lambda est: est.fit(t, e),
        lambda est: est.predict(grid),
    )


def _logistic_case() -> Case:
    x = np.column_stack([np.ones(6), np.eye(6)[:, 1:3].sum(axis=1), np.arange(6) % 2])
    k = np.array([[3, 10, 4, 12, 5, 14], [1, 2, 3, 4, 5, 6]], dtype=float)
    n = np.full_like(k, 20.0)
    return Case(
        "GroupedLogistic",
        lambda: GroupedLogistic(ridge=0.5, max_iter=40),
        lambda est: est.fit(x, k, n),
        lambda est: est.predict_proba(x),
    )


def _thompson_case() -> Case:
    from tenure.messaging.policies.thompson import ThompsonPolicy

    log = pd.DataFrame(
        {
            "message": ["a", "a", "b", "b"],
            "image": ["x", "y", "x", "y"],
            "country": "US",
            "n": [100, 100, 100, 100],
            "reward": [30.0, 32.0, 5.0, 4.0],
        }
    )
    creatives = [{"message": "a", "image": "x"}, {"message": "b", "image": "y"}]
    return Case(
        "ThompsonPolicy",
        lambda: ThompsonPolicy(factors=("message", "image"), context=("country",)),
        lambda est: est.fit(log),
        lambda est: est.probabilities({"country": "US"}, creatives),
    )


CASES = [_km_case(), _logistic_case(), _thompson_case()]


def _public(est: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(est).items() if not k.startswith("_")}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_init_stores_parameters_untouched(case: Case) -> None:
    est = case.make()
    params = [p for p in inspect.signature(type(est).__init__).parameters if p != "self"]
    for p in params:
        assert hasattr(est, p), f"__init__ parameter {p} is not stored as an attribute"
    assert not [k for k in _public(est) if k.endswith("_")], "learned state before fit"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fit_returns_self_and_fitted_attributes_end_in_underscore(case: Case) -> None:
    est = case.make()
    before = set(_public(est))
    assert case.fit(est) is est
    learned = set(_public(est)) - before
    assert learned, "fit learned nothing visible"
    assert all(k.endswith("_") for k in learned), sorted(learned)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_refit_is_idempotent(case: Case) -> None:
    est = case.fit(case.make())
    first = np.asarray(case.predict(est), dtype=float)
    case.fit(est)
    np.testing.assert_allclose(np.asarray(case.predict(est), dtype=float), first, rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pickle_round_trip(case: Case) -> None:
    est = case.fit(case.make())
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        np.asarray(case.predict(back), dtype=float),
        np.asarray(case.predict(est), dtype=float),
        rtol=1e-12,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_predicting_before_fit_is_a_clear_error(case: Case) -> None:
    from tenure.errors import NotFittedError

    with pytest.raises(NotFittedError):
        case.predict(case.make())
