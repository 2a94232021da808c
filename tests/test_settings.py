"""The inference settings value: validated once, overrides apply or are rejected."""

from __future__ import annotations

import pickle

import pytest

from tenure.errors import SpecError
from tenure.settings import Inference


def test_defaults_are_the_conventional_ones() -> None:
    inf = Inference()
    assert (inf.alpha, inf.alternative, inf.correction) == (0.05, "two-sided", "holm")
    assert inf.confidence == pytest.approx(0.95)
    assert inf.confidence_label == "95%"
    assert Inference(alpha=0.025).confidence_label == "97.5%"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alpha", 0.0),
        ("alpha", 0.5),
        ("alpha", "0.05"),
        ("power", 1.0),
        ("chance_to_win", 0.4),
        ("correction", "bonferroni"),
        ("alternative", "two_sided"),
        ("stopping", "adaptive"),
        ("tuning", -1.0),
    ],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(SpecError, match=rf"^{field}: "):
        Inference(**{field: value})  # type: ignore[arg-type]


def test_sequential_one_sided_is_refused() -> None:
    with pytest.raises(SpecError, match="alternative: a sequential design"):
        Inference(stopping="sequential", alternative="greater")


def test_overrides_apply_none_keeps_and_unknown_is_rejected() -> None:
    base = Inference(alpha=0.05, correction="bh")
    new = base.with_overrides(alpha=0.01, correction=None)
    assert (new.alpha, new.correction) == (0.01, "bh")
    assert base.with_overrides(alpha=None) is base
    with pytest.raises(SpecError, match="alhpa: not an inference setting"):
        base.with_overrides(alhpa=0.01)
    with pytest.raises(SpecError, match="alpha: must be in"):
        base.with_overrides(alpha=2.0)


def test_from_mapping_maps_legacy_keys_and_prefixes_errors() -> None:
    inf = Inference.from_mapping(
        {"horizon": "sequential", "inference": "bayesian", "alpha": 0.1, "max_days": 30}
    )
    assert (inf.stopping, inf.framework, inf.alpha) == ("sequential", "bayesian", 0.1)
    with pytest.raises(SpecError, match=r"^spec\.method\.alpha: "):
        Inference.from_mapping({"alpha": 3}, source="spec.method")


def test_value_semantics() -> None:
    a, b = Inference(alpha=0.01), Inference(alpha=0.01)
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.to_dict()["alpha"] == 0.01
    with pytest.raises(AttributeError):
        a.alpha = 0.2  # type: ignore[misc]
