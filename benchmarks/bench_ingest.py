"""Ingest throughput: Tenure's validating load into DuckDB vs the same checks in pandas.

The pandas script is what an analyst would write to validate the same contract: parse
timestamps, find duplicates, unknown members, events before signup and rows after as_of.
It returns only the bad-row mask; Tenure also writes the accepted rows and the quarantine.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import record

from tenure.simulate import WorldConfig, simulate_world
from tenure.store import ingest

MEMBERS = int(os.environ.get("TENURE_BENCH_MEMBERS", "300000"))
AS_OF = datetime(2026, 3, 31, tzinfo=UTC)


def pandas_checks(world: Path) -> int:
    """The contract checks in pandas; returns how many rows fail."""
    members = pd.read_parquet(world / "members.parquet")
    events = pd.read_parquet(world / "events.parquet")
    signup = pd.to_datetime(members["signup_at"], utc=True, errors="coerce")
    ended = pd.to_datetime(members["ended_at"], utc=True, errors="coerce")
    bad_members = (
        members["member_id"].isna()
        | signup.isna()
        | (signup > AS_OF)
        | (ended < signup)
        | members["member_id"].duplicated()
    )
    ts = pd.to_datetime(events["ts"], utc=True, errors="coerce")
    joined = events[["member_id"]].merge(
        pd.DataFrame({"member_id": members["member_id"], "signup": signup}), how="left"
    )
    bad_events = (
        events["member_id"].isna()
        | events["action"].isna()
        | ts.isna()
        | (ts > AS_OF)
        | joined["signup"].isna().to_numpy()
        | (ts.to_numpy() < joined["signup"].to_numpy())
    )
    return int(bad_members.sum() + bad_events.sum())


def _cpu() -> float:
    """CPU seconds of this process so far (DuckDB's threads included): robust to load."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        summary = simulate_world(world, WorldConfig(n_members=MEMBERS, seed=7))
        rows = summary.members + summary.events + summary.exposures

        load_start = os.getloadavg()[0]
        start, cpu = time.perf_counter(), _cpu()
        report = ingest(world, Path(tmp) / "w.duckdb", as_of=AS_OF)
        tenure_s, tenure_cpu = time.perf_counter() - start, _cpu() - cpu
        tenure_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        start, cpu = time.perf_counter(), _cpu()
        bad = pandas_checks(world)
        pandas_s, pandas_cpu = time.perf_counter() - start, _cpu() - cpu
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        load_end = os.getloadavg()[0]

    quarantined = sum(c.quarantined for c in report.tables)
    print(f"tenure ingest: {tenure_s:.1f} s for {rows:,} rows ({rows / tenure_s:,.0f} rows/s)")
    print(f"pandas checks: {pandas_s:.1f} s; ratio {pandas_s / tenure_s:.1f}x")
    print(f"CPU seconds: tenure {tenure_cpu:.1f}, pandas {pandas_cpu:.1f}")
    loaded = " — **under load**" if max(load_start, load_end) > 3 else ""
    record(
        "ingest",
        f"""### Validating ingest (`benchmarks/bench_ingest.py`)

A simulated world of {MEMBERS:,} members: {summary.events:,} events, {summary.exposures:,}
exposures ({rows:,} rows), Parquet.

| what | seconds | CPU seconds | rows/s | bad rows found |
| --- | ---: | ---: | ---: | ---: |
| Tenure `ingest` (every contract check, load accepted rows, write quarantine) | {tenure_s:.1f} | {tenure_cpu:.1f} | {rows / tenure_s:,.0f} | {quarantined} |
| pandas: the same checks only (read, parse, duplicates, merge), no load | {pandas_s:.1f} | {pandas_cpu:.1f} | {rows / pandas_s:,.0f} | {bad} |

Ratio (pandas / Tenure): **{pandas_s / tenure_s:.1f}×** in wall time, {pandas_cpu / tenure_cpu:.1f}× in CPU
time{loaded}. CPU seconds are the process's user + system time (DuckDB's threads included),
which a busy machine inflates far less than wall time. Peak RSS after the Tenure ingest
{tenure_rss:,.0f} MB; after the pandas checks {peak_rss:,.0f} MB (same process). Load average
{load_start:.1f} at the start, {load_end:.1f} at the end (a shared machine inflates both
timings; the ratio is measured in the same run). Command:
`TENURE_BENCH_MEMBERS={MEMBERS} .venv/bin/python benchmarks/bench_ingest.py`.""",
    )


if __name__ == "__main__":
    main()
