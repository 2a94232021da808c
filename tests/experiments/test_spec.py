"""Spec validation: every repository spec loads; each kind of mistake names its field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from toy_world import SPECS_DIR, TOY_SPEC

from tenure.errors import SpecError
from tenure.experiments.spec import load_spec, load_specs, parse_spec


def test_repository_specs_load() -> None:
    specs = load_specs(SPECS_DIR)
    names = {s.name for s in specs}
    assert names == {"value_messaging", "encourage_video", "cancel_flow_recap", "upsell_banner"}
    for s in specs:
        assert s.hypothesis.endswith(".") and s.hypothesis.count(". ") == 0  # one sentence
        assert s.primary.threshold is not None
        assert s.control == "control"


def _with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(TOY_SPEC)
    node: Any = spec
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return spec


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("hypothesis", _DELETE, "hypothesis"),
        ("variants", [{"name": "control"}], "variants"),
        ("variants.1.weight", -1, "variants[1].weight"),
        ("variants.1.name", "control", "variants"),
        ("primary.kind", "median", "primary.kind"),
        ("primary.threshold", _DELETE, "primary.threshold"),
        ("primary.threshold", {"kind": "percent", "value": 1}, "primary.threshold.kind"),
        ("primary.actions", [], "actions"),
        ("guardrails.0.horizon_days", _DELETE, "horizon_days"),
        ("guardrails.0.margin", -0.1, "guardrails[0].margin"),
        ("method", {"stopping": "weekly"}, "method.stopping"),
        ("method", {"horizon": "weekly"}, "method.stopping"),
        ("method", {"stopping": "sequential", "alternative": "less"}, "a sequential design"),
        ("method", {"alpha": 2}, "method.alpha"),
        ("name", "has space", "name"),
        ("unexpected", 1, "unexpected"),
    ],
)
def test_invalid_spec_names_the_field(path: str, value: Any, field: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(_with(path, value), source="toy.yaml")
    assert "toy.yaml" in str(info.value)
    assert field in str(info.value)


def test_load_spec_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)
    bad.write_text("- a list\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(bad)


def test_spec_properties() -> None:
    spec = parse_spec(TOY_SPEC)
    assert spec.experiment_name == "toy" and spec.hash_salt == "toy"
    assert spec.metrics[0].name == "orders_7d"
    assert spec.weights == {"control": 1.0, "treatment": 1.0}
    assert spec.metrics[-1].span_days == 30


def _infinite_weight(spec: dict[str, Any]) -> None:
    # An infinite weight gives every other arm a zero share and switches the SRM check off.
    spec["variants"][1]["weight"] = float("inf")


def _boolean_days(spec: dict[str, Any]) -> None:
    # YAML's `true` is not a number of days (pydantic's lax mode would read it as 1).
    spec["primary"] = {**spec["primary"], "kind": "retention", "horizon_days": True}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_infinite_weight, "variants[1].weight: Input should be a finite number"),
        (_boolean_days, "primary.horizon_days: Input should be a valid integer"),
    ],
)
def test_values_yaml_accepts_but_the_spec_forbids_are_refused(
    tmp_path: Path, change: Any, expected: str
) -> None:
    """Issue 10: each is an error naming the file and the field, never a silent value."""
    import yaml

    spec = copy.deepcopy(TOY_SPEC)
    change(spec)
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError, match=r"hostile\.yaml") as err:
        load_spec(path)
    assert expected in str(err.value)


def test_duplicate_key_is_refused_not_last_wins(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(TOY_SPEC, sort_keys=False) + "name: other\n")
    with pytest.raises(SpecError, match=r"dup\.yaml.*key 'name' is written twice"):
        load_spec(path)


def test_non_utf8_spec_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin1\.yaml.*UTF-8"):
        load_spec(path)
