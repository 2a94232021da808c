"""The decision log as data-contract tables, for the analyses that read a dataset.

:func:`export_log` writes ``exposures.parquet`` (the contract's columns: ``member_id``,
``ts``, ``experiment`` = policy version, ``variant`` = creative id, ``placement``,
``propensity``, ``decision_id``, plus ``eligible``, ``shown`` and the context columns) and
``outcomes.parquet``. Put them in a dataset folder beside ``members`` and ``events`` and
``tenure experiment analyze`` or ``tenure policy train --data`` read them like any other
exposures. A decision where nothing was eligible has ``variant = "none"`` and
``shown = false`` (the contract's ``variant`` is required), so "showed nothing" rows stay
in the log that off-policy evaluation reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from tenure.errors import SpecError
from tenure.serve.stores import open_log
from tenure.serve.stores.base import CONTEXT_COLUMNS

__all__ = ["NOTHING_SHOWN", "export_log"]

NOTHING_SHOWN = "none"
"""The ``variant`` of a decision with no eligible creative."""


def export_log(
    log: str | Path, out_dir: str | Path, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write the log's exposures and outcomes as Parquet into ``out_dir``; return both paths.

    Existing ``exposures.parquet``/``outcomes.parquet`` files are refused unless
    ``overwrite`` (a dataset's own exposures are not replaced by accident).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    targets = out / "exposures.parquet", out / "outcomes.parquet"
    for t in targets:
        if t.exists() and not overwrite:
            raise SpecError(f"--out {out}: {t.name} exists; pass --overwrite to replace it")
    store = open_log(log)
    try:
        rows = store.since(datetime(1970, 1, 1, tzinfo=UTC))
        outcomes = store.outcomes()
    finally:
        store.close()
    exposures = pd.DataFrame(
        {
            "member_id": [r.member_id for r in rows],
            "ts": pd.to_datetime([r.ts for r in rows], utc=True),
            "experiment": [r.experiment for r in rows],
            "variant": [r.variant or NOTHING_SHOWN for r in rows],
            "placement": [r.placement for r in rows],
            "propensity": [r.propensity for r in rows],
            "decision_id": [r.decision_id for r in rows],
            "shown": [r.variant is not None for r in rows],
            "eligible": [list(r.eligible) for r in rows],
            **{c: [r.context.get(c) for r in rows] for c in CONTEXT_COLUMNS},
        }
    )
    results = pd.DataFrame(
        {
            "decision_id": [o.decision_id for o in outcomes],
            "ts": pd.to_datetime([o.ts for o in outcomes], utc=True),
            "reward": pd.array([o.reward for o in outcomes], dtype="Float64"),
            "event": pd.array([o.event for o in outcomes], dtype="string"),
        }
    )
    exposures.to_parquet(targets[0], index=False)
    results.to_parquet(targets[1], index=False)
    return targets
