"""Benchmark the experiments pipeline on a simulated world: engine metrics, scorecards, surrogate.

Run: ``.venv/bin/python benchmarks/bench_experiments.py [--members N]``. Simulates a world,
ingests it into DuckDB, then times, per spec in ``experiments/``, the engine's sufficient
statistics plus scoring, the surrogate index where the spec has one, and the whole demo step.
Records the figures and each verdict (with the simulator's truth) in ``benchmarks/RESULTS.md``
under the "experiments" section.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _results import record

from tenure.experiments.analysis import analyze
from tenure.experiments.surrogate import surrogate_index
from tenure.pipeline import _experiments, bundled_specs
from tenure.report.experiments import render
from tenure.simulate import WorldConfig, simulate_world
from tenure.store import connect, ingest


def main() -> None:
    """Simulate, ingest, time each step, print and record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        world, db = Path(tmp) / "world", Path(tmp) / "world.duckdb"
        simulate_world(world, WorldConfig(n_members=args.members, seed=args.seed))
        ingest(world, db)
        truth = json.loads((world / "truth.json").read_text())
        ds = connect(db)
        rows = []
        for spec in bundled_specs():
            start = time.perf_counter()
            card = analyze(ds, spec)
            t_card = time.perf_counter() - start
            t_sur = float("nan")
            sur = None
            if spec.surrogate is not None:
                start = time.perf_counter()
                sur = {a.variant: a for a in surrogate_index(ds, spec).arms}
                t_sur = time.perf_counter() - start
            eff = truth["experiments"].get(spec.name, {}).get("true_effects", {})
            for v in card.verdicts:
                true = eff.get(v.variant, {}).get(
                    f"retention_{spec.surrogate.horizon_days}" if spec.surrogate else "",
                    float("nan"),
                )
                pred = sur[v.variant].predicted_effect if sur is not None else float("nan")
                doubt = sur[v.variant].doubtful if sur is not None else None
                rows.append((spec.name, v.variant, v.decision, t_card, t_sur, pred, true, doubt))
        start = time.perf_counter()
        cards, surrogates, ease = _experiments(ds, bundled_specs())
        render(cards, truth=truth, surrogates=surrogates, ease=ease)
        t_demo = time.perf_counter() - start
    lines = [
        "### Experiments pipeline (`benchmarks/bench_experiments.py`)",
        "",
        f"{args.members:,}-member simulated world (seed {args.seed}), ingested into DuckDB; "
        f"load average {load:.1f} at start.",
        "",
        "| experiment | variant | verdict | scorecard s | surrogate s | surrogate 180-day effect | true 180-day effect | doubtful |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, arm, d, tc, ts, pred, true, doubt in rows:
        lines.append(
            f"| {name} | {arm} | {d.replace('_', ' ')} | {tc:.2f} | {ts:.2f} | {pred:+.4f} | {true:+.4f} | "
            f"{'' if doubt is None else ('yes' if doubt else 'no')} |"
        )
    lines += [
        "",
        f"Whole demo step (four scorecards, two surrogate fits, ease of encouraging, report HTML): **{t_demo:.1f} s**.",
    ]
    text = "\n".join(lines).replace("+nan", "–").replace("| nan |", "| – |")
    print(text)
    if not args.no_record:
        record("experiments", text)


if __name__ == "__main__":
    main()
