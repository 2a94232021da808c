"""Benchmark `tenure.simulate.simulate_world` on a one-million-member world.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--members N] [--out DIR]``. Prints wall
seconds, events written, events per second and peak resident memory, and records them in
``benchmarks/RESULTS.md`` under the "simulate" section.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _results import record

from tenure.simulate import WorldConfig, simulate_world


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 2**20


def main() -> None:
    """Simulate, measure, print and record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    config = WorldConfig(n_members=args.members, seed=args.seed)
    load = os.getloadavg()[0]  # the machine is shared; say how busy it was
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "world"
        t0 = time.perf_counter()
        summary = simulate_world(out, config)
        seconds = time.perf_counter() - t0
        size = _size_mb(out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = summary.events / seconds
    lines = [
        f"`simulate_world` — {summary.members:,} members, seed {args.seed}, "
        f"chunk {config.chunk_size:,} (`.venv/bin/python benchmarks/bench_simulate.py`)",
        "",
        "| members | events | events/member | exposures | seconds | events/s | peak RSS | output |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {summary.members:,} | {summary.events:,} | {summary.events / summary.members:.1f} "
        f"| {summary.exposures:,} | {seconds:.1f} | {rate:,.0f} | {peak_mb:,.0f} MB "
        f"| {size:,.0f} MB |",
        "",
        f"1-minute load average when the run started: {load:.1f} (2 cores).",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        record("simulate", text)


if __name__ == "__main__":
    main()
