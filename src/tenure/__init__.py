"""Tenure: a retention engine for subscription products.

The public API is this short list; everything else lives in its area's module
(``tenure.stats``, ``tenure.experiments``…). Names load on first use, so ``import tenure``
stays cheap and pulls in no engine (Ibis, DuckDB), no plotting and no server code::

    import tenure

    ds = tenure.connect("world/")
    result = tenure.analyse_retention(ds, by="channel")
    card = tenure.analyze(ds, tenure.load_spec("experiments/value_messaging.yaml"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tenure._version import __version__

# name -> the module that defines it (imported on first attribute access).
_EXPORTS: dict[str, str] = {
    "DataContractError": "tenure.errors",
    "Dataset": "tenure.store",
    "HvaResult": "tenure.hva",
    "Inference": "tenure.settings",
    "Result": "tenure.results",
    "RetentionResult": "tenure.retention",
    "Scorecard": "tenure.experiments.analysis",
    "SpecError": "tenure.errors",
    "TenureError": "tenure.errors",
    "WorldConfig": "tenure.simulate",
    "analyse_retention": "tenure.retention",
    "analyze": "tenure.experiments.analysis",
    "connect": "tenure.store",
    "discover": "tenure.hva",
    "ingest": "tenure.store",
    "load_spec": "tenure.experiments.spec",
    "plan_experiment": "tenure.experiments.plan",
    "simulate_world": "tenure.simulate",
    "surrogate_index": "tenure.experiments.surrogate",
}

__all__ = [
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

if TYPE_CHECKING:
    from tenure.errors import DataContractError, SpecError, TenureError
    from tenure.experiments.analysis import Scorecard, analyze
    from tenure.experiments.plan import plan_experiment
    from tenure.experiments.spec import load_spec
    from tenure.experiments.surrogate import surrogate_index
    from tenure.hva import HvaResult, discover
    from tenure.results import Result
    from tenure.retention import RetentionResult, analyse_retention
    from tenure.settings import Inference
    from tenure.simulate import WorldConfig, simulate_world
    from tenure.store import Dataset, connect, ingest


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tenure' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
