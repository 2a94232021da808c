"""Spark as a Tenure backend: the session, the Ibis connection and tables read where they live.

Tenure's analyses are Ibis expressions, so running them on Spark needs only a connection and
tables; nothing outside `tenure.store` imports PySpark. Two ways in:

- ``connect(folder, backend="pyspark")`` checks the folder with ingest's own rules (in DuckDB,
  as for every backend) and hands the typed tables to Spark: the tested path, small data.
- ``connect("spark:///abs/path/folder")`` has Spark read the folder's Parquet in place
  (``members.parquet`` or a ``members/`` part folder, and likewise ``events``, ``exposures``):
  data that never fits one machine. The contract's rules then run in Spark as Ibis
  expressions (:mod:`tenure.store.lake`), and a folder that breaks any of them is refused.

The session is created once per process (``getOrCreate``) with settings for one machine
unless a session already exists (a cluster's, or the test suite's): ``local[2]`` (override
with ``TENURE_SPARK_MASTER``), 4 shuffle partitions, no UI, UTC session time zone, Arrow
transfers. Each dataset's tables are temporary views under names unique to that dataset,
so two datasets open in one session never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from tenure.errors import BackendError, DataContractError

__all__ = [
    "SMALL_DATA_CONF",
    "BackendNotInstalledError",
    "JavaNotFoundError",
    "UnsupportedOnBackendError",
    "read_folder",
    "register_arrow",
    "spark_backend",
    "spark_session",
]

INSTALL_HINT = "pip install 'tenure[spark]'"
JAVA_HINT = "run scripts/java.sh (or apt-get install openjdk-17-jre-headless)"


class BackendNotInstalledError(BackendError, ImportError):
    """The backend's package is not installed; the message names the extra to install."""


class JavaNotFoundError(BackendError):
    """Spark needs a Java runtime and none is on the PATH (nor in ``JAVA_HOME``)."""


class UnsupportedOnBackendError(BackendError, NotImplementedError):
    """The backend runs, but lacks an operation this analysis needs; says which and what to use."""

    def __init__(self, backend: str, what: str, instead: str = "the duckdb backend") -> None:
        self.backend = backend
        self.what = what
        super().__init__(f"the {backend} backend cannot {what}; use {instead}")


SMALL_DATA_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}
"""Settings for data of a few thousand rows (tests, demos), where Spark's fixed cost per query
dominates: one shuffle partition, no adaptive re-planning, expressions interpreted rather than
compiled to Java (compiling each query costs more than running it on small data), and the
JVM's quick compiler only. Wrong for real data: pass it to :func:`spark_session` only for
small worlds."""


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and Path(home, "bin", "java").exists())


def spark_session(conf: Mapping[str, str] | None = None) -> Any:
    """The process's SparkSession, created with one-machine settings when none exists yet.

    `conf` adds or overrides settings of a session created here (e.g. `SMALL_DATA_CONF`);
    an existing session is returned as it is.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BackendNotInstalledError(
            f"the pyspark backend is not installed: {INSTALL_HINT}"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if not _java_available():
        raise JavaNotFoundError(
            f"the pyspark backend needs Java 17 and none was found: {JAVA_HINT}"
        )
    scratch = Path(tempfile.gettempdir()) / "tenure-spark"
    builder = (
        SparkSession.builder.master(os.environ.get("TENURE_SPARK_MASTER", "local[2]"))
        .appName("tenure")
        .config("spark.sql.shuffle.partitions", os.environ.get("TENURE_SPARK_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.driver.memory", os.environ.get("TENURE_SPARK_DRIVER_MEMORY", "2g"))
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _backend_class() -> type[Any]:
    import ibis
    from ibis.backends.pyspark import Backend

    _ = ibis.pyspark  # loading it through ibis registers its options (ibis.options.pyspark)

    class TenureSparkBackend(Backend):  # type: ignore[misc]
        """Ibis 12's PySpark backend, with in-memory tables registered before a ``cache()``.

        Ibis registers the in-memory tables (``ibis.memtable``) an expression refers to
        before executing it, but not before caching it: ``expr.cache()`` on an expression
        that joins a memtable fails in Spark with TABLE_OR_VIEW_NOT_FOUND. The HVA landmark
        population does exactly that (a memtable of candidate actions, then ``cache()``).
        """

        def _create_cached_table(self, name: str, expr: ir.Table) -> ir.Table:
            self._run_pre_execute_hooks(expr)
            return super()._create_cached_table(name, expr)

    return TenureSparkBackend


def spark_backend() -> Any:
    """An Ibis PySpark connection on :func:`spark_session` (see ``TenureSparkBackend``)."""
    session = spark_session()
    return _backend_class()().connect(session)


def _view_name(table: str) -> str:
    return f"tenure_{table}_{uuid.uuid4().hex[:12]}"


def register_arrow(con: Any, name: str, data: pa.Table) -> ir.Table:
    """`data` as a temporary Spark view unique to this call, as an Ibis table.

    The frame is cached: `data` came from the driver's memory, so it is small, and every
    analysis reads it many times (decoding the Arrow batches again on each read otherwise).
    """
    frame = con._session.createDataFrame(data).cache()
    view = _view_name(name)
    frame.createOrReplaceTempView(view)
    return con.table(view)


def _table_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.parquet", folder / name, folder / f"{name}.pq"):
        if candidate.exists():
            return candidate
    return None


def read_folder(folder: Path) -> tuple[Any, dict[str, ir.Table]]:
    """Spark reads each contract table's Parquet in `folder` in place (no copy, no DuckDB).

    Returns the Ibis connection and the tables found (``members`` always; a missing events
    or exposures table is simply absent, as for a folder read by DuckDB).
    """
    if not folder.is_dir():
        raise DataContractError(
            f"spark://{folder} is not a folder (expected spark:///absolute/path/to/folder "
            "holding members.parquet or a members/ folder of Parquet parts)"
        )
    con = spark_backend()
    tables: dict[str, ir.Table] = {}
    for name in ("members", "events", "exposures"):
        path = _table_path(folder, name)
        if path is None:
            continue
        if path.is_dir() and not any(path.rglob("*.parquet")):
            raise DataContractError(
                f"{path} holds no Parquet files: spark:// reads Parquet only "
                f"(for CSV, use the folder itself with --backend duckdb or ingest it first)"
            )
        tables[name] = con.read_parquet(str(path), table_name=_view_name(name))
    if "members" not in tables:
        raise DataContractError(
            f"{folder} has no members table (expected members.parquet or members/)"
        )
    return con, tables
