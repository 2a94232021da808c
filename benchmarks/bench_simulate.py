"""Benchmark `tenure.simulate.simulate_world` on a one-million-member world.

Run: ``.venv/bin/python benchmarks/bench_simulate.py [--members N] [--out DIR]``. Prints wall
seconds, events written, events per second and peak resident memory, and records them in
``benchmarks/RESULTS.md`` under the "simulate" section.

``--conventions`` instead times every `WorldConfig.variant` preset and the independent stranger
world (``tests/worlds/stranger.py``) at ``--members`` (default 100k there), each as a ratio to
the default world in the same run, and records the "simulate-conventions" section.
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "worlds"))

from _results import record

from tenure.simulate import WorldConfig, simulate_world


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 2**20


def _world_facts(out: Path) -> tuple[int, float, float, float]:
    """Events, share of events without a benefit, median day-0 events, 90-day retention."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    e, m = out / "events.parquet", out / "members.parquet"
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{e}'").fetchall()]
    null_share = "avg((benefit IS NULL)::INT)" if "benefit" in cols else "NULL"
    n, share = con.execute(f"SELECT count(*), {null_share} FROM '{e}'").fetchone() or (0, 0.0)
    (d0,) = con.execute(
        f"SELECT median(n) FROM (SELECT count(e.ts) AS n FROM '{m}' m LEFT JOIN '{e}' e "
        "ON e.member_id = m.member_id AND e.ts >= m.signup_at "
        "AND e.ts < m.signup_at + INTERVAL 1 DAY GROUP BY m.member_id)"
    ).fetchone() or (0.0,)
    (r90,) = con.execute(
        f"SELECT avg((ended_at IS NULL OR ended_at > signup_at + INTERVAL 90 DAY)::INT) "
        f"FROM '{m}' WHERE signup_at + INTERVAL 90 DAY <= (SELECT max(signup_at) FROM '{m}')"
    ).fetchone() or (0.0,)
    return int(n), float("nan") if share is None else float(share), float(d0), float(r90)


def conventions(members: int, seed: int, record_it: bool) -> None:
    """Time every preset and the stranger world against the default world, same run."""
    from tenure.simulate.config import VARIANTS

    stranger = importlib.import_module("stranger")  # tests/worlds, not a package
    load = os.getloadavg()[0]
    rows, base = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # Warm up imports and caches so the first timed world is not charged for them.
        simulate_world(Path(tmp) / "warm", WorldConfig(n_members=1_000, seed=seed))
        stranger.generate(Path(tmp) / "warm-stranger", members=1_000, seed=seed)
        for name in [*VARIANTS, "stranger (tests/worlds)"]:
            out = Path(tmp) / name.split()[0]
            t0 = time.perf_counter()
            if name in VARIANTS:
                simulate_world(out, WorldConfig.variant(name, n_members=members, seed=seed))
            else:
                stranger.generate(out, members=members, seed=seed)
            seconds = time.perf_counter() - t0
            base = base or seconds
            n, share, d0, r90 = _world_facts(out)
            no_benefit = "no column" if share != share else f"{share:.1%}"
            rows.append(
                f"| {name} | {n:,} | {n / members:.1f} | {no_benefit} | {d0:g} | {r90:.3f} "
                f"| {seconds:.1f} | {seconds / base:.2f}x |"
            )
    lines = [
        f"Convention presets and the stranger world — {members:,} members, seed {seed} "
        "(`.venv/bin/python benchmarks/bench_simulate.py --conventions`)",
        "",
        "| world | events | events/member | events without benefit | median day-0 events "
        "| 90-day retention | seconds | vs default |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"1-minute load average when the run started: {load:.1f} (2 cores, shared).",
    ]
    text = "\n".join(lines)
    print(text)
    if record_it:
        record("simulate-conventions", text)


def main() -> None:
    """Simulate, measure, print and record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--conventions", action="store_true")
    args = parser.parse_args()
    if args.conventions:
        conventions(args.members or 100_000, args.seed, not args.no_record)
        return
    args.members = args.members or 1_000_000
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
