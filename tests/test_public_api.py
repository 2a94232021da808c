"""The public API is a deliberate list, every module's ``__all__`` is honest, and
``import tenure`` stays light (no engine, plotting or server code)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import tenure

PUBLIC = [
    "DataContractError",
    "Dataset",
    "HvaResult",
    "Inference",
    "Result",
    "RetentionResult",
    "Scorecard",
    "SpecError",
    "TenureError",
    "WorldConfig",
    "__version__",
    "analyse_retention",
    "analyze",
    "connect",
    "discover",
    "ingest",
    "load_spec",
    "plan_experiment",
    "simulate_world",
    "surrogate_index",
]
"""Pinned here: adding or removing a public name is a decision, made in review."""

HEAVY = ("ibis", "duckdb", "polars", "matplotlib", "scipy", "fastapi", "uvicorn", "pyspark")


def test_all_is_pinned_sorted_and_complete() -> None:
    assert tenure.__all__ == PUBLIC
    assert sorted(tenure.__all__) == tenure.__all__
    assert set(dir(tenure)) >= set(PUBLIC)


@pytest.mark.parametrize("name", [n for n in PUBLIC if n != "__version__"])
def test_every_public_name_is_the_defining_modules_object(name: str) -> None:
    value = getattr(tenure, name)
    module = importlib.import_module(value.__module__)
    assert getattr(module, value.__name__) is value


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tenure.nope  # noqa: B018


def test_import_tenure_is_light() -> None:
    code = f"import sys, tenure; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import tenure pulled in: {out.stdout.strip()}"


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(tenure.__path__, "tenure."))


@pytest.mark.parametrize("name", _modules())
def test_module_all_names_exist_and_are_unique(name: str) -> None:
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    if names is None:
        return
    assert len(names) == len(set(names)), f"{name}.__all__ has duplicates"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
