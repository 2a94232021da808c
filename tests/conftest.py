"""Shared fixtures. Seeds are fixed here so every run sees the same worlds.

``con`` runs one test body on every backend (DuckDB, Polars and PySpark): a test that takes
it is collected once per backend, and a known gap is declared with
``@pytest.mark.notyet(["polars"], reason=..., raises=...)``, which turns that backend's run
into a strict xfail (it must fail, with that exception, until the gap is closed).

Spark starts once per test run (the session-scoped ``spark`` fixture, ``local[2]``, the
small-data settings of ``tenure.store.spark.SMALL_DATA_CONF``, no UI), and only when a PySpark case is collected and run; Java is
installed by ``scripts/java.sh`` when the machine has none.

``demo_run`` is one ``tenure demo`` on a 4,000-member world, shared by the CLI and browser
tests: the whole pipeline is the slowest thing the suite runs, so it runs once.

The commands' console fixes its width when ``tenure.commands`` is first imported, from
``COLUMNS`` (80 when the output is not a terminal). Which test imports it first depends on the
order tests run in, so the width is set here, before any import: 120, as the README smoke test
gives its commands.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shared import DemoRun

os.environ.setdefault("COLUMNS", "120")

BACKENDS = ("duckdb", "polars", "pyspark")
ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "notyet(backends, reason, raises): a declared gap on those backends (strict xfail)",
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``tenure demo --members 4000 --seed 3``, run once through the CLI for the whole session."""
    from typer.testing import CliRunner

    from tenure.cli import app

    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--members", "4000", "--seed", "3", "--out", str(out)]
    )
    return DemoRun(out, result.exit_code, result.output)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole run (Java installed first when missing)."""
    import os

    script = ROOT / "scripts" / "java.sh"
    found = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.fail(f"scripts/java.sh could not provide Java for Spark:\n{found.stderr}")
    java = Path(found.stdout.strip().splitlines()[-1])
    if "JAVA_HOME" not in os.environ:
        os.environ["JAVA_HOME"] = str(java.resolve().parents[1])
    from tenure.store.spark import SMALL_DATA_CONF, spark_session

    session = spark_session(SMALL_DATA_CONF)  # the test worlds have 2,000 members
    yield session
    session.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test; honours ``notyet`` markers on the test."""
    name: str = request.param
    if name == "pyspark":
        request.getfixturevalue("spark")
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


_OPENED: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}


@pytest.fixture
def con(backend: str) -> Callable[..., Any]:
    """``con(source, **kw)``: :func:`tenure.store.connect` on the backend under test."""
    from tenure.store import connect

    def open_on(source: str | Path, **kw: Any) -> Any:
        key = (backend, str(source), tuple(sorted((k, repr(v)) for k, v in kw.items())))
        if key not in _OPENED:  # a dataset is immutable: open each (backend, source) once
            _OPENED[key] = connect(source, backend=backend, **kw)  # type: ignore[arg-type]
        return _OPENED[key]

    return open_on
