"""Profile HVA's one pass over events against the engine's own floor, on the Parla world.

Run: ``.venv/bin/python benchmarks/bench_events_pass.py [--members N]``. Uses (or creates)
``benchmarks/_work/stranger-<N>-1``, the independent Parla world of ``bench_hva.py
--stranger``, and times (best of :data:`ROUNDS` interleaved rounds, each on a fresh DuckDB
connection with its default threads) the pass as Tenure runs it (:func:`tenure.hva.window.window_pass`, cached in the
engine) against plain SQL on the same Parquet files that does less and less of its work:

* **scan** — read the columns the pass reads (the maximum of each, so every value is read);
* **join** — join them to the members on ``member_id`` and keep those before the window's end;
* **group (text key)** — and count them per (member, action);
* **group (one integer key)** — the same with the action coded by ``CASE`` and packed with the
  member's index into one ``BIGINT``, which one would expect to be the cheapest key (it is
  not: the ``CASE`` costs more than hashing the short text saves).

This is a profile, not a comparison with a peer: the pandas analyst's time on the same world
is in the section "hva-stranger". It shows how much of the pass no rewrite of its query can
remove: the grouping of the window's events into member × action groups costs what it costs
on two cores. Records the section "events-pass" of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis.expr.types as ir

sys.path.insert(0, str(Path(__file__).parent))

WINDOW = 7

ROUNDS = 3
"""Every step runs once per round, the rounds one after another, and its best round is kept:
on a shared machine a slow spell then slows one round of every step, not all of one."""

Timed = tuple[float, float]


def _timed(run: Callable[[], object]) -> Timed:
    """Wall and CPU seconds (this process's, the engine's threads included) of ``run``."""
    t0, c0 = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - t0, time.process_time() - c0


def _sql_queries(world: Path, actions: list[str]) -> dict[str, str]:
    """The plain-SQL steps, each doing more of the pass's work than the one before."""
    ev, mem = world / "events.parquet", world / "members.parquet"
    members = (
        f"(select member_id, (row_number() over () - 1)::bigint mi, signup_at, "
        f"signup_at + interval {WINDOW} day day_end from '{mem}')"
    )
    joined = f"'{ev}' e join {members} m using (member_id) where e.ts < m.day_end"
    code = " ".join(f"when action = '{a}' then {i}" for i, a in enumerate(actions))
    return {
        "scan": f"select max(member_id), max(ts), max(action), max(benefit) from '{ev}'",
        "join": f"select count(*), sum((ts < signup_at)::int) from {joined}",
        "group (text key)": f"select mi, action, count(*) c from {joined} group by all",
        "group (one integer key)": (
            f"select mi * 64 + (case {code} else 63 end) k, count(*) c from {joined} group by all"
        ),
    }


def _sql_step(query: str) -> Callable[[], Timed]:
    def run() -> Timed:
        con = duckdb.connect()
        try:
            con.execute("set enable_progress_bar = false")
            return _timed(lambda: con.execute(f"create temp table out as {query}"))
        finally:
            con.close()

    return run


def _tenure_pass(world: Path) -> Timed:
    """Tenure's pass on a freshly opened folder (opening and checking it not timed)."""
    from tenure.hva.window import member_index, window_pass
    from tenure.retention.spans import member_spans
    from tenure.store import connect

    ds = connect(world)
    spans = member_spans(ds.members, ds.as_of)
    index = member_index(spans, window=WINDOW, activity_days=WINDOW, early_days=1)
    keyed = spans.join(index, "member_id").cache()
    events = ds.table("events")
    got: list[ir.Table] = []
    timed = _timed(
        lambda: got.append(
            window_pass(keyed, events, window=WINDOW, activity_days=WINDOW, early_days=1)
        )
    )
    got[0].release()
    return timed


def main() -> None:
    """Time each step, print and record."""
    from bench_hva import _stranger_world

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    world = _stranger_world(args.members, 1)
    con = duckdb.connect()
    ev = world / "events.parquet"
    actions = [
        r[0] for r in con.execute(f"select distinct action from '{ev}' order by 1").fetchall()
    ]
    total, in_window, groups = con.execute(
        f"""select count(*), count(*) filter (where e.ts < m.signup_at + interval {WINDOW} day),
        count(distinct (m.member_id, e.action)) filter (where e.ts < m.signup_at + interval {WINDOW} day)
        from '{ev}' e join '{world / "members.parquet"}' m using (member_id)"""
    ).fetchone() or (0, 0, 0)
    con.close()
    os.environ["TENURE_CHECK_CACHE"] = "0"
    tenure = "Tenure's pass (`window_pass`, cached)"
    steps: dict[str, Callable[[], Timed]] = {
        name: _sql_step(sql) for name, sql in _sql_queries(world, actions).items()
    }
    steps[tenure] = lambda: _tenure_pass(world)
    best = dict.fromkeys(steps, (float("inf"), float("inf")))
    for _ in range(ROUNDS):
        for name, step in steps.items():
            best[name] = min(best[name], step())
    lines = [
        f"HVA's one pass over events on the Parla world, {args.members:,} members: {total:,} "
        f"events, {in_window:,} before the end of the {WINDOW}-day window, {groups:,} member × "
        f"action groups (`.venv/bin/python benchmarks/bench_events_pass.py`). Best of {ROUNDS} "
        "interleaved rounds, "
        "fresh DuckDB connections, default threads. A profile, not a peer comparison (the "
        'pandas analyst is in "hva-stranger"): each plain-SQL row does less of the pass\'s '
        "work than the next.",
        "",
        "| step | wall s | CPU s |",
        "| --- | ---: | ---: |",
    ]
    for name, (wall, cpu) in best.items():
        lines.append(f"| {name} | {wall:.1f} | {cpu:.1f} |")
        print(f"{name:45s} {wall:6.2f} s {cpu:6.2f} CPU s", flush=True)
    floor = best["group (text key)"][0]
    lines += [
        "",
        f"Tenure's pass takes {best[tenure][0] / floor:.2f}× the bare grouping's time; it also "
        "counts the signup day's and the pre-signup events and dates each group's first use.",
        f"1-minute load average at the end: {os.getloadavg()[0]:.1f} (2 cores, shared).",
    ]
    from _results import record

    record("events-pass", "\n".join(lines))


if __name__ == "__main__":
    main()
