"""Shared fixtures. Seeds are fixed here so every run sees the same worlds.

``con`` runs one test body on every backend (DuckDB and Polars today; PySpark is to join):
a test that takes it is collected once per backend, and a known gap is declared with
``@pytest.mark.notyet(["polars"], reason=..., raises=...)``, which turns that backend's run
into a strict xfail (it must fail, with that exception, until the gap is closed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BACKENDS = ("duckdb", "polars")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "notyet(backends, reason, raises): a declared gap on those backends (strict xfail)",
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test; honours ``notyet`` markers on the test."""
    name: str = request.param
    marker = request.node.get_closest_marker("notyet")
    if marker is not None and name in marker.args[0]:
        request.applymarker(
            pytest.mark.xfail(
                reason=marker.kwargs.get("reason", f"not yet supported on {name}"),
                raises=marker.kwargs.get("raises", Exception),
                strict=True,
            )
        )
    return name


@pytest.fixture
def con(backend: str) -> Callable[..., Any]:
    """``con(source, **kw)``: :func:`tenure.store.connect` on the backend under test."""
    from tenure.store import connect

    def open_on(source: str | Path, **kw: Any) -> Any:
        return connect(source, backend=backend, **kw)  # type: ignore[arg-type]

    return open_on
