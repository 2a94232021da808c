"""Load benchmark of `tenure serve`: decisions/s and p50/p99 latency, durable logging on.

The server is the real command (uvicorn, group commit) in a subprocess on 127.0.0.1; the
load generator is `wrk` (Debian's package) at a fixed concurrency for a fixed time, each
request a `POST /v1/decide` for a member of a simulated world. Every configuration is run
in the same session, so the ratios are like for like:

* the embedded SQLite log (the default) and DuckDB, with group commit;
* PostgreSQL (a throwaway cluster from `scripts/postgres.sh`), with group commit;
* the peer a user would otherwise write: the same service committing each request on its
  own (`--max-batch 1`, one fsync per decision), on SQLite.

Besides the wall-clock figures (which depend on what else the 2 cores run) it reports the
server's CPU time per decision (user+system from /proc), and the in-process cost of the
decision itself (eligibility, policy, row) without HTTP or the log.

Run: `.venv/bin/python benchmarks/bench_serve.py [--seconds 8] [--connections 16]`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _results import record

ROOT = Path(__file__).resolve().parents[1]
TENURE = str(Path(sys.executable).with_name("tenure"))
KEY = "bench-key-0123456789abcdef"


def world(folder: Path, members: int) -> tuple[Path, list[str]]:
    from tenure.simulate import WorldConfig, simulate_world

    simulate_world(folder, WorldConfig(n_members=members, seed=7))
    import pandas as pd

    ids = pd.read_parquet(folder / "members.parquet", columns=["member_id"])["member_id"]
    return folder, [str(i) for i in ids]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(data: Path, log: str, keys: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    args = [TENURE, "serve", "--data", str(data), "--log", log, "--api-keys", str(keys)]
    args += ["--port", "0", "--clock", "data", "--seed", "1", *extra]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return proc, found.group(1)
    raise RuntimeError(f"tenure serve did not start ({log})")


def wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": float(total.group(1)) if total else float("nan"),
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def run_one(
    label: str, data: Path, log: str, keys: Path, script: Path, args: argparse.Namespace,
    *extra: str,
) -> dict[str, float | str]:  # fmt: skip
    proc, url = serve(data, log, keys, *extra)
    try:
        wrk(url, script, 1.0, args.connections)  # warm-up
        before = cpu_seconds(proc.pid)
        figures = wrk(url, script, args.seconds, args.connections)
        used = cpu_seconds(proc.pid) - before
        ready = httpx.get(f"{url}/readyz", timeout=30).json()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, f"{label}: exit {code}"
    print(
        f"{label:<34} {figures['rate']:>8,.0f} dec/s  p50 {figures['p50']:6.1f} ms  "
        f"p99 {figures['p99']:6.1f} ms  CPU {used / figures['requests'] * 1e6:6.0f} µs/dec  "
        f"rows/commit {ready['mean_batch']:.1f}  non-2xx {figures['errors']:.0f}"
    )
    return {"label": label, **figures, "cpu_us": used / figures["requests"] * 1e6,
            "batch": ready["mean_batch"]}  # fmt: skip


def decision_cost(data: Path, n: int = 5000) -> float:
    """Microseconds of CPU per in-process decision (no HTTP, no log)."""
    import numpy as np

    from tenure.messaging import Catalogue, MemberIndex, UniformPolicy
    from tenure.serve.decider import Decider
    from tenure.serve.policy_slot import PolicySlot
    from tenure.serve.recent import RecentDecisions
    from tenure.store import connect

    ds = connect(data)
    cat = Catalogue.default()
    idx = MemberIndex.from_dataset(ds, catalogue=cat)
    dec = Decider(cat, idx, PolicySlot(UniformPolicy(cat)), RecentDecisions(timedelta(days=7)),
                  rng=np.random.default_rng(0))  # fmt: skip
    ids = list(idx.states)[:1000]
    places = ("in_context", "home", "email", "cancel_flow")
    start = time.process_time()
    for i in range(n):
        dec.decide(ids[i % len(ids)], places[i % 4], {}, now=ds.as_of + timedelta(seconds=i))
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_serve needs wrk: apt-get install wrk")

    tmp = Path(tempfile.mkdtemp(prefix="tenure-bench-serve-"))
    data, ids = world(tmp / "world", args.members)
    keys = tmp / "keys.txt"
    keys.write_text(f"{KEY} write\n")
    script = tmp / "decide.lua"
    script.write_text(_lua(ids))
    rows = [
        run_one("SQLite, group commit (default)", data, str(tmp / "a.sqlite"), keys, script, args),
        run_one("DuckDB, group commit", data, str(tmp / "b.duckdb"), keys, script, args),
        run_one(
            "SQLite, a commit per request (peer)",
            data,
            str(tmp / "c.sqlite"),
            keys,
            script,
            args,
            "--max-batch",
            "1",
        ),
    ]
    pg_dir = None
    if not args.no_postgres:
        pg_dir = Path(tempfile.mkdtemp(prefix="tenure-pg-"))
        url = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh"), "start", str(pg_dir)],
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        try:
            rows.append(run_one("PostgreSQL, group commit", data, url, keys, script, args))
        finally:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop", str(pg_dir)])
    load = os.getloadavg()
    inproc = decision_cost(data)
    print(f"in-process decision: {inproc:.0f} µs CPU")
    peer = next(r for r in rows if "peer" in str(r["label"]))
    lines = [
        f"`tenure serve` under `wrk -t1 -c{args.connections} -d{args.seconds:g}s` on 127.0.0.1, "
        f"`POST /v1/decide` for members of a simulated {args.members:,}-member world, every "
        "decision committed before it is answered (SQLite `synchronous=FULL`, DuckDB WAL, "
        "PostgreSQL `synchronous_commit=on`). Load generator and server share the 2 cores "
        "with whatever else runs (1-minute load average at the end of this run: "
        f"{load[0]:.1f} on {os.cpu_count()} cores); CPU µs/decision is the server's own "
        "user+system time, which contention inflates less than latency.",
        "",
        "| log store | decisions/s | p50 ms | p99 ms | server CPU µs/decision | rows/commit | vs peer (decisions/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {r['label']} | {float(r['rate']):,.0f} | {float(r['p50']):.1f} | "
        f"{float(r['p99']):.1f} | {float(r['cpu_us']):,.0f} | {float(r['batch']):.1f} | "
        f"{float(r['rate']) / float(peer['rate']):.2f}× |"
        for r in rows
    )
    lines += [
        "",
        f"In-process decision (eligibility over a placement's creatives, uniform policy, the "
        f"log row; no HTTP, no commit): {inproc:.0f} µs of CPU.",
        "Target of the issue: ≥ 3,000 decisions/s with p99 < 15 ms on the embedded store.",
        "Reproduce: `.venv/bin/python benchmarks/bench_serve.py`.",
    ]
    record("serve", "## Decision service (`tenure serve`)\n\n" + "\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)
    if pg_dir is not None:
        shutil.rmtree(pg_dir, ignore_errors=True)


def _lua(ids: list[str]) -> str:
    """The wrk script, with the member ids inlined (a Lua table)."""
    sample = ids[:2000]
    table = ",".join(f'"{i}"' for i in sample)
    return f"""
local ids = {{{table}}}
local placements = {{"in_context", "home", "email", "cancel_flow"}}
local n = 0
request = function()
  n = n + 1
  local body = '{{"member_id":"' .. ids[(n * 7919) % #ids + 1] .. '","placement":"' ..
    placements[(n % 4) + 1] .. '"}}'
  return wrk.format("POST", "/v1/decide",
    {{["Content-Type"]="application/json", ["Authorization"]="Bearer {KEY}"}}, body)
end
"""


if __name__ == "__main__":
    main()
