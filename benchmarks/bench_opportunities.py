"""Benchmark workaround mining on one million members against pandas + the `prefixspan` package.

Run: ``.venv/bin/python benchmarks/bench_opportunities.py [--members N] [--peer-timeout S]``.
Builds (or reuses) ``benchmarks/_work/opportunities-<N>``: members whose 90 days of product
use carry the simulator's planted workaround and decoy flows
(:func:`tenure.simulate.workarounds.workaround_events`), then times, each in its own process
so peak memory is its own:

* **tenure** — `find_workarounds` end to end on DuckDB: the engine cut, episodes with exits,
  PrefixSpan with gap/span limits and member support, merging, sizing with bootstrap
  intervals and the adjusted retention association;
* **peer** — what a user would otherwise write: pandas reads and sorts the events, cuts
  sessions at one-hour gaps, and the `prefixspan` package (PyPI, pure Python) mines the
  session sequences at the same support and length (no time limits, no exits, no sizing: it
  does strictly less);
* **core** — the mining step alone on the *same* episode database: Tenure's vectorised
  PrefixSpan against the package's, same minimum support (in sequences) and length.

Records the section "opportunities" of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

WORK = Path(__file__).parent / "_work"
SPAN_DAYS = 90
MAX_LEN = 5
MIN_SUPPORT = 0.005


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process, every thread (DuckDB's too): user + system."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _load() -> float:
    return os.getloadavg()[0]


def build(n: int, folder: Path) -> None:
    """Members and planted events for `n` members, written once."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tenure.simulate.workarounds import workaround_events

    if (folder / "events.parquet").is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    day = 86_400 * 1_000_000
    start = 1_735_689_600 * 1_000_000  # 2025-01-01
    signup = start + (rng.random(n) * 270 * day).astype(np.int64)
    stop = signup + SPAN_DAYS * day
    planted = workaround_events(signup, stop, rng)
    ids = pa.array([f"m{i:07d}" for i in range(n)])
    ts = pa.timestamp("us", tz="UTC")
    pq.write_table(
        pa.table({"member_id": ids, "signup_at": pa.array(signup).cast(ts)}),
        folder / "members.parquet",
    )
    order = np.lexsort((planted.ts_us, planted.member))
    pq.write_table(
        pa.table(
            {
                "member_id": ids.take(pa.array(planted.member[order])),
                "ts": pa.array(planted.ts_us[order]).cast(ts),
                "action": pa.array(planted.action).take(pa.array(planted.code[order])),
            }
        ),
        folder / "events.parquet",
    )
    (folder / "truth_workarounds.json").write_text(json.dumps(planted.truth))


def run_tenure(folder: Path) -> dict[str, Any]:
    """`find_workarounds` end to end."""
    from tenure.opportunities import find_workarounds
    from tenure.store import connect

    load0, c0, t0 = _load(), _cpu(), time.perf_counter()
    result = find_workarounds(connect(folder), min_support=MIN_SUPPORT, max_len=MAX_LEN)
    seconds = time.perf_counter() - t0
    top = result.opportunities[0]
    pub = top.publish_rate or {}
    return {
        "seconds": seconds,
        "cpu_s": _cpu() - c0,
        "load": [load0, _load()],
        "publish_effect": pub.get("effect") if pub.get("status") == "ok" else None,
        "publish_ci": pub.get("ci"),
        "peak_mb": _peak_mb(),
        "top": list(top.steps),
        "members": top.members,
        "occurrences": top.occurrences,
        "patterns": result.params["patterns_mined"],
    }


def run_peer(folder: Path) -> dict[str, Any]:
    """pandas sessions + the `prefixspan` package, as a user would write it."""
    import pandas as pd
    from prefixspan import PrefixSpan  # type: ignore[import-untyped]

    load0, c0, t0 = _load(), _cpu(), time.perf_counter()
    ev = pd.read_parquet(folder / "events.parquet").sort_values(["member_id", "ts"])
    gap = ev.groupby("member_id")["ts"].diff().dt.total_seconds()
    ev["session"] = (gap.isna() | (gap > 3600)).cumsum()
    seqs = ev.groupby("session")["action"].agg(list).tolist()
    members = ev["member_id"].nunique()
    ps = PrefixSpan(seqs)
    ps.minlen, ps.maxlen = 2, MAX_LEN
    found = ps.frequent(max(int(MIN_SUPPORT * members), 2))
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_s": _cpu() - c0,
        "load": [load0, _load()],
        "peak_mb": _peak_mb(),
        "patterns": len(found),
    }


def run_core(folder: Path) -> dict[str, Any]:
    """The mining step alone on one episode database, both implementations."""
    from prefixspan import PrefixSpan

    from tenure.opportunities.prefixspan import prefixspan
    from tenure.opportunities.roles import StepRoles
    from tenure.opportunities.sequences import episodes, linked_events
    from tenure.store import connect

    ds = connect(folder)
    events = ds.table("events")
    n_members = int(events.member_id.nunique().to_pyarrow().as_py())
    need = max(int(MIN_SUPPORT * n_members), 2)
    linked = linked_events(events, max_gap=3600.0, min_members=need)
    db = episodes(
        linked, StepRoles(), max_gap=3600.0, exit_gap=120.0, session_gap=1800.0, max_len=20
    )
    # Support in episodes for both (the package has no notion of members): one member per episode.
    import dataclasses

    import numpy as np

    flat = dataclasses.replace(db, member=db.ep.copy())
    load0, c0, t0 = _load(), time.process_time(), time.perf_counter()
    ours = prefixspan(flat, min_members=need, max_len=MAX_LEN, max_gap=1e12, max_span=1e12)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    cuts = np.r_[db.start, db.n_rows]
    seqs = [db.sym[a:b].tolist() for a, b in itertools.pairwise(cuts)]
    c0, t0 = time.process_time(), time.perf_counter()
    ps = PrefixSpan(seqs)
    ps.minlen, ps.maxlen = 2, MAX_LEN
    theirs = [p for _, p in ps.frequent(need) if p[0] != db.exit_code and p[-1] != db.exit_code]
    t_theirs, c_theirs = time.perf_counter() - t0, time.process_time() - c0
    return {
        "episodes": db.n_episodes,
        "rows": db.n_rows,
        "tenure_s": t_ours,
        "package_s": t_theirs,
        "tenure_cpu_s": c_ours,
        "package_cpu_s": c_theirs,
        "load": [load0, _load()],
        "tenure_patterns": len(ours),
        "package_patterns": len(theirs),
    }


def _child(kind: str, folder: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--folder", str(folder)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timeout": timeout}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Build the data, run each tool in its own process, print and record the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--peer-timeout", type=float, default=1800.0)
    ap.add_argument("--child")
    ap.add_argument("--folder", type=Path)
    args = ap.parse_args()
    if args.child:
        fn = {"tenure": run_tenure, "peer": run_peer, "core": run_core}[args.child]
        print(json.dumps(fn(args.folder)))
        return
    folder = WORK / f"opportunities-{args.members}"
    build(args.members, folder)
    import pyarrow.parquet as pq

    n_events = pq.ParquetFile(folder / "events.parquet").metadata.num_rows
    truth = json.loads((folder / "truth_workarounds.json").read_text())
    tenure = _child("tenure", folder, 3600.0)
    peer = _child("peer", folder, args.peer_timeout)
    core = _child("core", folder, args.peer_timeout)
    print(json.dumps({"events": n_events, "tenure": tenure, "peer": peer, "core": core}, indent=2))
    peer_s = peer.get("seconds")
    ratio = (
        f"{float(peer_s) / float(tenure['seconds']):.1f}× faster"
        if peer_s is not None
        else f"peer did not finish in {args.peer_timeout:.0f} s"
    )
    core_ratio = float(core["package_s"]) / float(core["tenure_s"])
    core_cpu = float(core["package_cpu_s"]) / float(core["tenure_cpu_s"])
    loads = [x for r in (tenure, peer, core) for x in r.get("load", [])]
    busy = max(loads) if loads else float("nan")
    under = " — **under load**" if busy > 3 else ""
    pub = tenure.get("publish_effect")
    pub_txt = (
        f"; publish-rate association of the top workaround {float(pub):+.3f} per member-week "
        f"[{float(tenure['publish_ci'][0]):+.3f}, {float(tenure['publish_ci'][1]):+.3f}]"
        if pub is not None
        else ""
    )
    md = f"""## Workaround mining (`benchmarks/bench_opportunities.py --members {args.members}`)

{args.members:,} members, {n_events:,} events over {SPAN_DAYS} days each (the simulator's
planted workaround and decoy flows); support {MIN_SUPPORT:.1%} of members, patterns up to
{MAX_LEN} steps. 1-minute load average {min(loads):.1f}–{busy:.1f} during the runs{under}
(wall seconds are inflated when the machine is shared; CPU seconds count every thread).

| run | wall s | CPU s | peak MB | result |
| --- | ---: | ---: | ---: | --- |
| Tenure `find_workarounds` (engine cut + PrefixSpan with time limits + sizing + both associations) | {float(tenure["seconds"]):.1f} | {float(tenure["cpu_s"]):.1f} | {float(tenure["peak_mb"]):,.0f} | top {" → ".join(tenure["top"])}: {tenure["members"]:,} members (planted {truth["members"]:,}), {tenure["occurrences"]:,} occurrences (planted {truth["occurrences"]:,}){pub_txt} |
| pandas sessions + `prefixspan` 0.5.2 (no time limits, no exits, no sizing) | {"" if peer_s is None else f"{float(peer_s):.1f}"} | {"" if peer_s is None else f"{float(peer['cpu_s']):.1f}"} | {"" if peer_s is None else f"{float(peer['peak_mb']):,.0f}"} | {peer.get("patterns", "timed out")} patterns |

End to end, Tenure is {ratio} (wall) than the peer doing less.
Mining alone on the same {int(core["episodes"]):,} episodes ({int(core["rows"]):,} steps),
same support (counted in episodes for both), no time limits: Tenure's vectorised PrefixSpan
{float(core["tenure_s"]):.2f} s wall / {float(core["tenure_cpu_s"]):.2f} s CPU vs the
package's {float(core["package_s"]):.2f} s / {float(core["package_cpu_s"]):.2f} s
({core_ratio:.1f}× wall, {core_cpu:.1f}× CPU), {core["tenure_patterns"]} vs
{core["package_patterns"]} patterns.

The step that was 0.7× the package (session of 2026-12-01) spent 81% of its time in
`np.unique` of (symbol, member) pairs (cProfile at 100k members) — numpy 2 hashes integers
there, about 50× slower than a sort on 2M such keys; it now sorts (at 100k: 3.1 s → 0.56 s
CPU). Pruning covered embeddings (an earlier-ending one with a start at least as late that can
still reach every row the other reaches; exact for support and occurrence counts) was the
other candidate: it removes 40% of the embeddings of repetitive random episodes (15–25% less
CPU there) but 0.1% here (1,169,334 → 1,167,664 at 100k), where each embedding is already
one occurrence.
"""
    from _results import record

    record("opportunities", md)


if __name__ == "__main__":
    main()
