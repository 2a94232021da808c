"""Every analysis result in the package follows the one protocol of ``tenure.results``.

Two layers. *Statically*, every subclass of :class:`~tenure.results.Result` found anywhere in
the package (so a new area's result is checked the day it lands) is a frozen dataclass with
a ``params`` field, its own ``kind``, its own ``to_frame`` and the base's short ``__repr__``.
*Dynamically*, results built on small worlds go through the round trip a user does: JSON
with no NaN, a table, CSV and Parquet export, a notebook rendering and a short repr.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tenure
from tenure.results import Result, json_safe

sys.path.insert(0, str(Path(__file__).parent / "experiments"))
from toy_world import AS_OF, TOY_SPEC, make_toy_world


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _all_result_types() -> list[type[Result]]:
    for m in pkgutil.walk_packages(tenure.__path__, "tenure."):
        importlib.import_module(m.name)
    found = [c for c in set(_subclasses(Result)) if issubclass(c, Result)]
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


RESULT_TYPES = _all_result_types()


def test_the_package_has_result_types() -> None:
    names = {c.__name__ for c in RESULT_TYPES}
    assert {"Scorecard", "ComparisonTable", "RetentionResult", "SurrogateResult"} <= names


@pytest.mark.parametrize("cls", RESULT_TYPES, ids=lambda c: c.__qualname__)
def test_static_shape(cls: type[Result]) -> None:
    assert dataclasses.is_dataclass(cls), "mix Result into a @dataclass(frozen=True, repr=False)"
    assert cls.__dataclass_params__.frozen, "results are values: frozen=True"
    assert "params" in {f.name for f in dataclasses.fields(cls)}, "a params field (settings)"
    assert cls.kind != Result.kind, "name the result: kind = '...'"
    assert cls.to_frame is not Result.to_frame, "implement to_frame()"
    assert cls.__repr__ is Result.__repr__, "keep the base's short repr: repr=False"


# --- instances built on small worlds -------------------------------------------------------


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tenure.store import connect

    return connect(make_toy_world(tmp_path_factory.mktemp("protocol_toy")), as_of=AS_OF)


def _scorecard(ds: Any) -> Result:
    from tenure.experiments import analyze, parse_spec

    return analyze(ds, parse_spec(TOY_SPEC))


def _comparisons(ds: Any) -> Result:
    from tenure.experiments import compute_metrics, parse_spec
    from tenure.experiments.sufficient import analyze_sufficient_stats

    return analyze_sufficient_stats(compute_metrics(ds, parse_spec(TOY_SPEC)).stats)


def _assignment(_ds: Any) -> Result:
    from tenure.experiments import assign, parse_spec

    return assign(parse_spec(TOY_SPEC), [f"m{i}" for i in range(20)])


def _plan(_ds: Any) -> Result:
    from tenure.experiments import plan_experiment

    return plan_experiment(baseline=0.08, mde=0.02, arms=3, daily_traffic=1000)


def _retention(ds: Any) -> Result:
    from tenure.retention import analyse_retention

    return analyse_retention(ds, by="country")


BUILDERS: dict[str, Callable[[Any], Result]] = {
    "scorecard": _scorecard,
    "comparisons": _comparisons,
    "assignment": _assignment,
    "plan": _plan,
    "retention": _retention,
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_round_trip(name: str, toy: Any, tmp_path: Path) -> None:
    result = BUILDERS[name](toy)
    assert result.kind == name
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.params = {}
    doc = result.to_dict()
    text = json.dumps(doc, allow_nan=False)  # one NaN policy: NaN/inf are null
    assert doc["kind"] == name and doc["params"] == json_safe(result.params)
    assert json.loads(text) == doc
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    for suffix in (".csv", ".parquet"):
        path = result.export(tmp_path / f"out{suffix}")
        back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        assert len(back) == len(frame) and list(back.columns) == [str(c) for c in frame.columns]
    assert result._repr_html_().startswith(f"<p><b>{name}</b>")
    assert len(repr(result)) < 600 and type(result).__name__ in repr(result)


def test_settings_recorded_are_the_ones_used(toy: Any) -> None:
    from tenure.experiments import analyze, parse_spec
    from tenure.settings import Inference

    card = analyze(toy, parse_spec(TOY_SPEC), inference=Inference(alpha=0.01, correction="bh"))
    assert card.params["alpha"] == 0.01 and card.inference.correction == "bh"
    loose = analyze(toy, parse_spec(TOY_SPEC))
    # A 99% interval is wider than a 95% one on the same comparison.
    tight = {(c.metric, c.segment): c for c in card.comparisons}
    for c in loose.comparisons:
        if c.status == "ok":
            wide = tight[(c.metric, c.segment)]
            assert wide.ci_abs_high - wide.ci_abs_low > c.ci_abs_high - c.ci_abs_low
