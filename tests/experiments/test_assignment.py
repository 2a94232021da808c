"""Assignment: deterministic, balanced by weight, stable under weight changes, exclusive layers."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from scipy import stats
from toy_world import TOY_SPEC

from tenure.errors import SpecError
from tenure.experiments.assignment import assign, unit_hash, variant_index
from tenure.experiments.spec import ExperimentSpec, parse_spec

IDS = [f"member-{i}" for i in range(30_000)]


def _spec(**changes: Any) -> ExperimentSpec:
    d = copy.deepcopy(TOY_SPEC)
    d.update(changes)
    return parse_spec(d)


def test_deterministic_and_salted() -> None:
    spec = _spec()
    a, b = assign(spec, IDS[:1000]), assign(spec, IDS[:1000])
    assert (a.variant == b.variant).all()
    other = assign(_spec(salt="another"), IDS[:1000])
    assert (a.variant != other.variant).mean() > 0.3


@pytest.mark.parametrize("weights", [(1, 1), (1, 2, 1), (0.1, 0.3, 0.6)])
def test_balance_chi_square(weights: tuple[float, ...]) -> None:
    idx = variant_index("exp", IDS, weights)
    observed = np.bincount(idx, minlength=len(weights))
    expected = np.asarray(weights) / sum(weights) * len(IDS)
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_hash_is_uniform() -> None:
    u = unit_hash("salt", IDS)
    assert stats.kstest(u, "uniform").pvalue > 0.001


def test_weight_change_moves_members_only_to_or_from_that_arm() -> None:
    before = variant_index("exp", IDS, [1, 1, 1])
    after = variant_index("exp", IDS, [1, 1, 2])  # arm 2 grows
    moved = before != after
    assert moved.any()
    assert (after[moved] == 2).all()  # nobody moves between arms 0 and 1
    appended = variant_index("exp", IDS, [1, 1, 1, 1])
    changed = before != appended
    assert (appended[changed] == 3).all()  # a new arm only takes members


def test_layers_are_mutually_exclusive_and_holdout_sees_nothing() -> None:
    a = _spec(name="a", layer={"name": "home", "range": [0.0, 0.4]}, holdout={"fraction": 0.05})
    b = _spec(name="b", layer={"name": "home", "range": [0.4, 1.0]}, holdout={"fraction": 0.05})
    ra, rb = assign(a, IDS), assign(b, IDS)
    in_a, in_b = ra.variant != "", rb.variant != ""
    assert not (in_a & in_b).any()
    held = ra.reason == "holdout"
    assert (rb.reason[held] == "holdout").all()
    assert abs(held.mean() - 0.05) < 0.01
    assert abs(in_a.mean() - 0.95 * 0.4) < 0.015
    assert set(ra.counts()) == {"control", "treatment", "(holdout)", "(layer)"}


def test_bad_weights() -> None:
    with pytest.raises(SpecError, match="weights"):
        variant_index("exp", IDS[:3], [1, 0])
