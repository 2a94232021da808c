"""`tenure demo`: simulate a world, ingest it, run every analysis and write the report.

Each analysis contributes a step `(label, "module:function")`; the function takes a
`DemoContext` and returns report sections and summary lines. Steps are imported lazily
so one area's dependencies never slow another's command.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tenure.report.figures import table_html
from tenure.report.page import Section, write_report
from tenure.store import Dataset, IngestReport, connect, ingest

Update = Callable[[str, float], None]
ProgressFactory = Callable[[str], AbstractContextManager[Update]]

STEPS: tuple[tuple[str, str], ...] = (
    ("retention", "tenure.report.retention:demo_step"),
    ("high-value actions", "tenure.report.hva:demo_step"),
    ("experiments", "tenure.report.experiments:demo_step"),
)
"""Analyses run by the demo, in report order: (progress label, "module:function")."""


@dataclass(frozen=True)
class DemoContext:
    """What a demo step gets: the ingested dataset, where to write, and the world's truth."""

    dataset: Dataset
    out_dir: Path
    truth: dict[str, Any] | None


@dataclass(frozen=True)
class DemoOutput:
    """What a demo step gives back: report sections and lines for the terminal summary."""

    sections: list[Section]
    summary: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DemoResult:
    """Where the report is, what each step said, and how long each took (seconds)."""

    report: Path
    summary: list[str]
    seconds: dict[str, float]


def run_demo(
    out_dir: Path,
    *,
    members: int = 100_000,
    seed: int = 7,
    progress: ProgressFactory | None = None,
) -> DemoResult:
    """Run the whole pipeline on a simulated world and write `out_dir/index.html`."""
    from tenure.simulate import WorldConfig, simulate_world

    bar = progress or _silent
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

    ctx = DemoContext(connect(db), out_dir, truth)
    sections = [_data_section(report)]
    summary = [_data_line(report)]
    for label, target in STEPS:
        start = time.perf_counter()
        with bar(label) as update:
            update("running", 0.1)
            output = _load(target)(ctx)
        seconds[label] = time.perf_counter() - start
        sections += output.sections
        summary += output.summary

    start = time.perf_counter()
    with bar("report") as update:
        path = write_report(
            sections,
            out_dir,
            title="Tenure retention report",
            subtitle=f"Simulated world: {members:,} members, seed {seed}, as of {report.as_of:%Y-%m-%d}.",
        )
        update("written", 1.0)
    seconds["report"] = time.perf_counter() - start
    return DemoResult(path, summary, seconds)


def _load(target: str) -> Callable[[DemoContext], DemoOutput]:
    module, _, name = target.partition(":")
    step: Callable[[DemoContext], DemoOutput] = getattr(importlib.import_module(module), name)
    return step


def _data_section(report: IngestReport) -> Section:
    counts = pd.DataFrame([asdict(c) for c in report.tables])
    reasons = pd.DataFrame(report.top_reasons, columns=["table", "reason", "rows"])
    body = table_html(counts)
    body += table_html(reasons) if len(reasons) else "<p>No row was quarantined.</p>"
    return Section("Data", "data", body, summary=_data_line(report))


def _data_line(report: IngestReport) -> str:
    parts = [f"{c.accepted:,} {c.table}" for c in report.tables]
    bad = sum(c.quarantined for c in report.tables)
    return f"Loaded {', '.join(parts)}; {bad:,} rows quarantined."


def _silent(_label: str) -> AbstractContextManager[Update]:
    return nullcontext(lambda _detail, _fraction: None)
