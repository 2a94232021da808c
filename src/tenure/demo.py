"""`tenure demo`: simulate a world, ingest it, run every analysis and write the report.

The demo adds only what is particular to a simulated world — the simulation, the ingest with
the world's own ``as_of``, the bundled experiment specs, the read-out of the pilot the world
planted and the truth the report compares estimates with. Everything else is
:mod:`tenure.pipeline`, the same path ``tenure report`` takes on a user's data.

The world plants the product bets (``WorldConfig(product_bets=True)``): a workaround of known
size among frequent in-app flows, and a store pilot with abuse in it. They fall after each
member's early-adoption window, so the HVA section and ``truth.json`` are those of the
default world of the same seed.
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

__all__ = ["DEMO_MEMBERS", "DemoResult", "run_demo"]

DEMO_MEMBERS = 100_000
"""The demo world's size (see the README: large enough for every section's story to hold)."""
PILOT_THRESHOLD = 0.20
"""The pilot's pre-registered effect, from its idea (``data/ideas/qr_checkout.md``: +20%)."""


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
    members: int = DEMO_MEMBERS,
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
        config = WorldConfig(n_members=members, seed=seed, product_bets=True)
        simulate_world(world, config, progress=update)
    seconds["simulate"] = time.perf_counter() - start

    # Observation ends where the world says it does, not at the last event it happened to log.
    truth = json.loads((world / "truth.json").read_text())
    for key, name in (("workarounds", "truth_workarounds.json"), ("abuse", "truth_abuse.json")):
        truth[key] = json.loads((world / name).read_text())
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
    with bar("pilot read-out") as update:
        analyses = _with_pilot(analyses, truth["abuse"])
        update("read out", 1.0)
    seconds["pilot read-out"] = time.perf_counter() - start

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


def _with_pilot(analyses: Analyses, abuse: dict[str, Any]) -> Analyses:
    """Add the planted pilot's read-out against its pre-registered threshold.

    The pilot's name and outcome are the world's (``truth_abuse.json``), the threshold its
    idea's; the anomalies are found in the data, and the decision is taken without them.
    """
    from dataclasses import replace

    from tenure.errors import TenureError
    from tenure.experiments.anomalies import detect_anomalies
    from tenure.experiments.pilot import readout_pilot

    dataset = analyses.dataset
    name, outcome = str(abuse["experiment"]), str(abuse["outcome_action"])
    try:
        found = detect_anomalies(dataset, name, outcome_actions=[outcome])
        readout = readout_pilot(
            dataset,
            experiment=name,
            outcome_action=outcome,
            threshold=PILOT_THRESHOLD,
            anomalies=found,
        )
    except TenureError as exc:  # a world too small for its pilot: said, not hidden
        return replace(analyses, skipped={**analyses.skipped, "pilot read-out": str(exc)})
    return replace(analyses, extra={**analyses.extra, "pilot readout": (readout, found)})
