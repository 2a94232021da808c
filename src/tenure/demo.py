"""`tenure demo`: simulate a world, ingest it, run every analysis and write the report.

The demo adds only what is particular to a simulated world — the simulation, the ingest with
the world's own ``as_of``, the bundled experiment specs and the truth the report compares
estimates with. Everything else is :mod:`tenure.pipeline`, the same path ``tenure report``
takes on a user's data.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tenure.pipeline import (
    Analyses,
    ProgressFactory,
    bundled_specs,
    run_analyses,
    write_html,
)
from tenure.store import connect, ingest

__all__ = ["DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """Where the report and memo are, what the analyses said, and how long each step took (s)."""

    report: Path
    memo: Path
    summary: list[str]
    seconds: dict[str, float]
    analyses: Analyses


def run_demo(
    out_dir: Path,
    *,
    members: int = 100_000,
    seed: int = 7,
    progress: ProgressFactory | None = None,
) -> DemoResult:
    """Run the whole pipeline on a simulated world and write ``out_dir/index.html``."""
    from contextlib import nullcontext

    from tenure.simulate import WorldConfig, simulate_world

    def silent(_label: str) -> Any:
        return nullcontext(lambda _detail, _fraction: None)

    bar = progress or silent
    seconds: dict[str, float] = {}
    world = out_dir / "world"
    db = out_dir / "tenure.duckdb"

    start = time.perf_counter()
    with bar("simulate") as update:
        simulate_world(world, WorldConfig(n_members=members, seed=seed), progress=update)
    seconds["simulate"] = time.perf_counter() - start

    # Observation ends where the world says it does, not at the last event it happened to log.
    truth = json.loads((world / "truth.json").read_text())
    start = time.perf_counter()
    with bar("ingest") as update:
        report = ingest(world, db, as_of=datetime.fromisoformat(truth["as_of"]), progress=update)
    seconds["ingest"] = time.perf_counter() - start

    analyses = run_analyses(
        connect(db),
        specs=bundled_specs(),
        ingest=report,
        progress=progress,
        source=f"simulated world ({members:,} members, seed {seed})",
        demo_dir=out_dir,
    )
    seconds.update(analyses.seconds)

    start = time.perf_counter()
    with bar("report") as update:
        files = write_html(
            analyses,
            out_dir,
            title="Tenure retention report",
            subtitle=f"Simulated world: {members:,} members, seed {seed}, as of {report.as_of:%Y-%m-%d}.",
            truth=truth,
        )
        update("written", 1.0)
    seconds["report"] = time.perf_counter() - start
    return DemoResult(files.index, files.memo, list(files.summary), seconds, analyses)
