"""How cost grows with members: time and peak memory per stage, DuckDB out of core, Spark at 1M.

Run: ``nice .venv/bin/python benchmarks/bench_scale.py [--sizes 0.1,0.3,1,3,10] [--spark-at 1]``
(sizes in millions of members). Each (size, stage) runs in its own process, so each peak RSS
is that stage's own (for Spark: the Python driver plus its JVM, sampled from /proc). Stages:

* **simulate** / **prepare** — 0.1M, 3M and 10M are simulated (``simulate_world``, seed 7,
  truth on 20,000 members; the simulator streams chunks of 100,000 members to one Parquet
  file, a row group per chunk); 0.3M is a uniform member sample of the 1M seed-7 world
  (``prepare_world``), and 1M is that world;
* **checks** — the contract's rules on the typed Parquet (`tenure.store.lake.rule_counts`):
  what ``connect("spark:///…")`` runs before an analysis;
* **ingest** — ``tenure.store.ingest`` (text-safe validation, quarantine, load into a DuckDB
  file) with ``memory_limit`` and a spill folder, events checked and loaded in chunks of
  about 50M rows (whole row groups), up to ``--ingest-max`` millions;
* **retention**, **hva**, **experiments** — ``analyse_retention(by="channel")``,
  ``discover(window=7, horizon=90)`` and ``compute_metrics`` of the ``value_messaging`` spec,
  on the Parquet read in place (DuckDB ``read_parquet`` views, no copy).

DuckDB runs with ``memory_limit`` (default 4GB) and a ``temp_directory`` to spill to; the
limit is applied to every DuckDB connection the stage opens (ingest's included) by wrapping
``duckdb.connect`` in the stage process. Results go to ``<work>/scale-results.json`` as they
finish; ``--report`` rewrites the "scale" section of RESULTS.md (table, fitted exponent of
time vs members per stage, PNG plot) from whatever has finished.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

WORK = Path(__file__).parent / "_work" / "scale"
RESULTS_JSON = WORK / "scale-results.json"
PLOT = Path(__file__).parent / "scale.png"
SPEC = Path(__file__).resolve().parents[1] / "src/tenure/data/experiments/value_messaging.yaml"
STAGES = ("simulate", "prepare", "checks", "ingest", "retention", "hva", "experiments")
SPARK_STAGES = ("checks", "retention", "hva", "experiments")


SESSION_NOTE = (
    "This session (2026-12-02, 13:00–14:45 UTC): the 10M, 3M and 0.1M worlds were simulated "
    "again (seed 7; 10M: 629.8M events in 316 s from a quiet start, 1.4 GB peak) and HVA was "
    "re-measured at every size on the same code (d32346a), one size after the other, load "
    "1.3–1.4: the events pass stays cached in DuckDB (spilled under the 4 GB limit) and the "
    "window uses are read back in batches of whole members, the count tables summed batch by "
    "batch. 10M members: 155 s wall / 233 CPU s at a 9.0 GB process peak — the engine's 4 GB "
    "plus Python's per-member arrays (about 0.5 KB a member: ids, strata, outcomes, activity "
    "counts), which grow with members and not with events; the per-use columns never exist at "
    "once. An earlier run at ba28c46, before the events pass, models and checks were made "
    "cheaper, took 415 s / 265 CPU s at 8.7 GB (load 5.4), and one before the counts were "
    "summed as packed keys 878 s / 531 CPU s at 12.1 GB (load 3.7). HVA's cost from 1M up "
    "grows as members^0.97. Retention, experiments and the lake checks were re-measured at "
    "every size too (load 0.3–1.6), and every stage on Spark `local[2]` at 1M: checks 23.4 s "
    "(DuckDB 2.5), retention 4.5 (1.8), HVA 68.6 (16.5), experiments 17.2 (1.2; it had timed "
    "out after 900 s in an earlier session); Spark's CPU is in its JVM, not measured. The lake "
    "checks' jump from 1M to 3M (2.5 s to 32 s) follows the files: the 1M world is a DuckDB "
    "rewrite in 1M-row groups, 3M and 10M the simulator's own files. Rows marked *earlier "
    "session* are the previous sessions' figures (other code, often under load), kept until "
    "re-measured."
)


def _load() -> float:
    return os.getloadavg()[0]


class _TreeRss:
    """Peak RSS of this process and all its descendants (a Spark driver's JVM), sampled."""

    def __init__(self, every: float = 0.25) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_kb(self) -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
                status = (d / "status").read_text()
            except OSError:
                continue
            pid, ppid = int(d.name), int(stat[1])
            children.setdefault(ppid, []).append(pid)
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    rss[pid] = int(line.split()[1])
        total, todo = 0, [os.getpid()]
        while todo:
            p = todo.pop()
            total += rss.get(p, 0)
            todo += children.get(p, [])
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_kb())
            self._stop.wait(self._every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._tree_kb())
        return self.peak / 1024


def _limit_duckdb(limit: str, spill: Path) -> None:
    """Every DuckDB connection this process opens gets `limit` and a spill folder."""
    import duckdb

    spill.mkdir(parents=True, exist_ok=True)
    original = duckdb.connect

    def limited(
        database: Any = ":memory:", read_only: bool = False, config: Any = None, **kw: Any
    ) -> Any:
        cfg: dict[str, Any] = {
            "memory_limit": limit,
            "temp_directory": str(spill),
            "preserve_insertion_order": "false",
        }
        cfg.update(config or {})
        return original(database, read_only=read_only, config=cfg, **kw)

    duckdb.connect = limited


def world_dir(millions: float) -> Path:
    return WORK / f"world-{int(millions * 1_000_000)}"


BASE = Path(__file__).parent / "_work" / "world-1m"
"""The 1M-member seed-7 world (``bench_hva``/``bench_simulate``'s), the source of every size."""


def prepare_world(millions: float) -> dict[str, Any]:
    """Write the world of `millions` members (at most 1M) as a sample of the 1M base world.

    A uniform sample of the members (by a hash of ``member_id``) and their rows, so each
    size spans the whole signup year like the base world. Larger worlds are simulated
    (stage ``simulate``), never copied.
    """
    import duckdb

    n = int(millions * 1_000_000)
    if n > 1_000_000:
        raise ValueError(f"{millions}M is simulated, not cut from the 1M world")
    out = world_dir(millions)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("members", "events", "exposures"):
        src = f"read_parquet('{BASE / (name + '.parquet')}')"
        keep = f"hash(member_id) % 1000000 < {n}"  # a uniform sample of members
        con.execute(
            f"COPY (SELECT * FROM {src} WHERE {keep}) TO '{out / (name + '.parquet')}' "
            "(FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
    (out / "truth.json").write_text((BASE / "truth.json").read_text())
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'events.parquet'}')").fetchone()
    return {"events": int(rows[0]) if rows else 0}


def _simulated(millions: float) -> bool:
    """Sizes simulated from scratch (seed 7): 0.1M, and every size above the 1M base world."""
    return millions < 0.2 or millions > 1.0


def _dataset(engine: str, folder: Path) -> Any:
    """The world's Parquet read in place: DuckDB views, or Spark (``spark://``, unchecked)."""
    from tenure.store.connect import _dataset as make

    if engine == "pyspark":
        from tenure.store.spark import read_folder

        con, tables = read_folder(folder)
    else:
        import ibis

        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
        names = ("members", "events", "exposures")
        tables = {n: con.read_parquet(folder / f"{n}.parquet", table_name=n) for n in names}
    as_of = datetime(2026, 3, 31, tzinfo=UTC)
    return make(con, tables, as_of=as_of, source=str(folder), benefits=None)


def run_stage(stage: str, millions: float, engine: str) -> dict[str, Any]:
    """One stage in this process; returns seconds and figures (peak RSS added by the caller)."""
    folder = world_dir(millions)
    n = int(millions * 1_000_000)
    t0 = time.perf_counter()
    cpu0 = _cpu()
    out: dict[str, Any] = {}
    if stage == "prepare":
        out.update(prepare_world(millions))
    elif stage == "simulate":
        from tenure.simulate import WorldConfig, simulate_world

        s = simulate_world(folder, WorldConfig(n_members=n, seed=7, truth_members=20_000))
        out["events"] = s.events
    elif stage == "ingest":
        from tenure.store import ingest

        db = WORK / f"ingest-{n}.duckdb"
        limit = os.environ.get("TENURE_BENCH_MEMORY_LIMIT", "4GB")
        report = ingest(
            folder,
            db,
            as_of=datetime(2026, 4, 1, tzinfo=UTC),
            memory_limit=limit,
            temp_directory=WORK / "spill",
        )
        out["rows"] = sum(t.read for t in report.tables)
        out["quarantined"] = sum(t.quarantined for t in report.tables)
        db.unlink(missing_ok=True)
    else:
        ds = _dataset(engine, folder)
        if stage == "checks":
            from tenure.store.lake import rule_counts

            tables = {"members": ds.members, "events": ds.events, "exposures": ds.exposures}
            broken = rule_counts(tables, as_of=datetime(2026, 4, 1, tzinfo=UTC))
            out["broken_rows"] = sum(b.rows for b in broken)
        elif stage == "retention":
            from tenure.retention import analyse_retention

            r = analyse_retention(ds, by="channel")
            out["retained_90"] = next(
                p.retained for p in r.points if p.segment is None and p.day == 90
            )
        elif stage == "hva":
            from tenure.hva import discover

            h = discover(ds, window=7, horizon=90)
            out["candidates"] = len(h.to_frame())
        elif stage == "experiments":
            from tenure.experiments.metrics import compute_metrics
            from tenure.experiments.spec import load_spec

            mf = compute_metrics(ds, load_spec(SPEC))
            out["stat_rows"] = len(mf.stats)
    out["seconds"] = time.perf_counter() - t0
    if engine != "pyspark":  # Spark's work is in its JVM, a child process: not this one's CPU
        out["cpu_seconds"] = _cpu() - cpu0
    return out


def _cpu() -> float:
    """User + system CPU seconds of this process so far (every DuckDB thread included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child(args: argparse.Namespace) -> None:
    tracker = _TreeRss()
    if args.engine == "duckdb":
        _limit_duckdb(args.memory_limit, WORK / "spill")
    stages = args.stage.split(",")
    results = []
    if args.engine == "pyspark":
        t0 = time.perf_counter()
        from tenure.store.spark import spark_session

        spark_session()
        results.append({"stage": "spark start", "seconds": time.perf_counter() - t0})
    for stage in stages:
        load0 = _load()
        got = run_stage(stage, args.millions, args.engine)
        got.update(stage=stage, load_start=load0, load_end=_load())
        results.append(got)
        self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # Peak so far of the process (Spark: driver + JVM, over every stage run so far).
        got["peak_rss_mb"] = max(tracker.peak / 1024, self_peak)
        print("RESULT " + json.dumps(got), flush=True)
    tracker.stop()


def _saved() -> list[dict[str, Any]]:
    return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else []


def _save(rows: list[dict[str, Any]]) -> None:
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(rows, indent=1))


def _spawn(
    stages: str, millions: float, engine: str, memory_limit: str, timeout: float
) -> list[dict[str, Any]]:
    cmd = [sys.executable, __file__, "--child", "--stage", stages, "--millions", str(millions),
           "--engine", engine, "--memory-limit", memory_limit]  # fmt: skip
    env = dict(os.environ, TENURE_BENCH_MEMORY_LIMIT=memory_limit)
    if engine == "pyspark":
        env.setdefault("TENURE_SPARK_DRIVER_MEMORY", "4g")
        env.setdefault("TENURE_SPARK_PARTITIONS", "8")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    why = ""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        why = f"timed out after {timeout:.0f} s"
    rows = [
        json.loads(ln.removeprefix("RESULT "))
        for ln in out.splitlines()
        if ln.startswith("RESULT ")
    ]
    if not why and proc.returncode != 0:
        why = (err.strip().splitlines() or ["?"])[-1][:200]
    done = {r["stage"] for r in rows}
    rows += [{"stage": s, "error": why or "no result"} for s in stages.split(",") if s not in done]
    return rows


def run(args: argparse.Namespace) -> None:
    sizes = [float(s) for s in args.sizes.split(",")]
    deadline = time.time() + args.budget_minutes * 60
    for millions in sizes:
        plan: list[tuple[str, str]] = []
        if not (world_dir(millions) / "truth.json").exists():
            plan.append(("simulate" if _simulated(millions) else "prepare", "duckdb"))
        stages = ["retention", "ingest", "hva", "experiments", "checks"]
        if millions > args.ingest_max:
            stages.remove("ingest")
        plan += [(s, "duckdb") for s in stages]
        done = (
            set()
            if args.remeasure
            else {(r["members"], r["engine"], r["stage"]) for r in _saved() if "seconds" in r}
        )
        n = int(millions * 1_000_000)
        plan = [(s, e) for s, e in plan if (n, e, s) not in done]
        for stage, engine in plan:
            if time.time() > deadline:
                print(f"budget spent; stopping before {stage} at {millions}M", flush=True)
                return
            rows = _spawn(stage, millions, engine, args.memory_limit, deadline - time.time())
            _record_rows(rows, millions, engine, args.memory_limit)
        if (
            args.spark_at
            and abs(millions - args.spark_at) < 1e-9
            and (n, "pyspark", "hva") not in done
        ):
            left = min(deadline - time.time(), args.spark_minutes * 60)
            rows = _spawn(",".join(SPARK_STAGES), millions, "pyspark", "-", left)
            _record_rows(rows, millions, "pyspark", "driver 4g")


def _record_rows(rows: list[dict[str, Any]], millions: float, engine: str, limit: str) -> None:
    saved = _saved()
    for r in rows:
        r.update(members=int(millions * 1_000_000), engine=engine, memory_limit=limit)
        saved = [
            s
            for s in saved
            if (s["members"], s["engine"], s["stage"]) != (r["members"], engine, r["stage"])
        ]
        saved.append(r)
        print(json.dumps(r), flush=True)
    _save(saved)


def seed_from_markdown(text: str, session: str) -> list[dict[str, Any]]:
    """Rows of the "scale" table already in RESULTS.md, for a fresh checkout's empty JSON.

    ``scale-results.json`` lives in the untracked work folder; without it ``--report`` would
    drop every row measured earlier. Each parsed row keeps its seconds, peak RSS and load and
    is marked ``measured`` = `session`, so the table says it was not re-measured here.
    """
    section = text.split("<!-- bench:scale -->", 1)[-1].split("<!-- /bench:scale -->", 1)[0]
    events: dict[int, int] = {}
    for n, e in _EVENTS_RE.findall(section):
        events[int(n.replace(",", ""))] = int(e.replace(",", ""))
    rows: list[dict[str, Any]] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) not in (7, 8) or not cells[0].replace(",", "").isdigit():
            continue
        cpu = cells.pop(4) if len(cells) == 8 else "–"  # the CPU s column, when present
        members, stage, engine, secs, rss, load, note = cells
        row: dict[str, Any] = {
            "members": int(members.replace(",", "")),
            "stage": stage,
            "engine": engine,
            "memory_limit": "driver 4g" if engine == "pyspark" else "4GB",
            "measured": session,
        }
        if secs not in ("–", ""):
            row["seconds"] = float(secs)
        if cpu not in ("–", ""):
            row["cpu_seconds"] = float(cpu)
        if rss not in ("–", ""):
            row["peak_rss_mb"] = float(rss.replace(",", ""))
        if load:
            row["load_start"] = float(load)
        error = note.split(";")[0].replace("under load", "").replace("earlier session", "")
        error = error.strip()
        if error or "seconds" not in row:
            row["error"] = error or "no result"
        if stage in ("simulate", "prepare") and row["members"] in events:
            row["events"] = events[row["members"]]
        rows.append(row)
    return rows


_EVENTS_RE = re.compile(r"([\d,]+) members → ([\d,]+) events")


def _exponent(points: list[tuple[int, float]]) -> float | None:
    pts = [(n, s) for n, s in points if s > 0]
    if len(pts) < 3:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def report() -> None:
    from _results import record

    rows = [r for r in _saved() if "seconds" in r or "error" in r]
    duck = [r for r in rows if r["engine"] == "duckdb"]
    lines = [
        "### Scaling (`benchmarks/bench_scale.py`)",
        "",
        "Seconds and peak RSS per stage, each stage in its own process. DuckDB with "
        f"`memory_limit={duck[0]['memory_limit'] if duck else '4GB'}` and a spill folder, reading the world's "
        "Parquet in place (ingest writes its own DuckDB file). Seed 7 worlds from "
        "`tenure.simulate` (about 63 events per member). Load = 1-minute load average at the "
        "stage's start; above 3 the figure is *under load* (five engineers share two cores). "
        "CPU s = the stage process's user + system time (every DuckDB thread), which a busy "
        "machine inflates far less than wall time; rows from an earlier session have none.",
        "",
        "| members | stage | engine | seconds | CPU s | peak RSS MB | load | note |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    events = {r["members"]: r["events"] for r in rows if "events" in r}
    lines[-3:-3] = [
        "Events per size: "
        + ", ".join(f"{n:,} members → {e:,} events" for n, e in sorted(events.items()))
        + ".",
        "",
    ]
    order = {s: i for i, s in enumerate(("spark start", *STAGES))}
    for r in sorted(
        rows, key=lambda r: (r["members"], r["engine"] != "duckdb", order.get(r["stage"], 99))
    ):
        load = r.get("load_start")
        note = r.get("error", "")
        if load is not None and load > 3:
            note = (note + " under load").strip()
        if r.get("measured"):
            note = f"{note}; {r['measured']}" if note else str(r["measured"])
        secs = f"{r['seconds']:.1f}" if "seconds" in r else "–"
        rss = f"{r['peak_rss_mb']:,.0f}" if "peak_rss_mb" in r else "–"
        cpu = f"{r['cpu_seconds']:.1f}" if "cpu_seconds" in r else "–"
        lines.append(
            f"| {r['members']:,} | {r['stage']} | {r['engine']} | {secs} | {cpu} | {rss} | "
            f"{'' if load is None else f'{load:.1f}'} | {note} |"
        )
    lines += [
        "",
        "Fitted exponent *b* of seconds ∝ members^b (least squares on logs, DuckDB). Small sizes "
        "carry a fixed cost (process start, imports, query planning: seconds under load), so *b* "
        "over every size understates the growth; *b* from 1M up is the marginal one:",
        "",
    ]
    lines += ["| stage | b (all sizes) | b (≥ 1M) | sizes fitted |", "| --- | ---: | ---: | --- |"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for stage in STAGES:
        pts = sorted(
            (r["members"], r["seconds"]) for r in duck if r["stage"] == stage and "seconds" in r
        )
        if not pts or stage == "prepare":  # copying the base world is not a cost of Tenure
            continue
        b = _exponent(pts)
        big = [(n, t) for n, t in pts if n >= 1_000_000]
        b_big = _exponent(big)
        if len(big) == 2:
            b_big = float(np.log(big[1][1] / big[0][1]) / np.log(big[1][0] / big[0][0]))
        shown = ["–" if v is None else f"{v:.2f}" for v in (b, b_big)]
        sizes_fitted = ", ".join(f"{n / 1e6:g}M" for n, _ in pts)
        lines.append(f"| {stage} | {shown[0]} | {shown[1]} | {sizes_fitted} |")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=stage)
    spark = [
        r
        for r in rows
        if r["engine"] == "pyspark" and "seconds" in r and r["stage"] != "spark start"
    ]
    for r in spark:
        ax.scatter([r["members"]], [r["seconds"]], marker="x", color="black")
    if spark:
        ax.scatter([], [], marker="x", color="black", label="Spark local[2] (per stage)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("members")
    ax.set_ylabel("seconds")
    ax.set_title("Tenure stages on DuckDB (memory_limit, spill) vs members")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    lines += ["", f"![time per stage vs members]({PLOT.name})", ""]
    lines += [
        "Notes. 0.1M, 3M and 10M are worlds simulated from scratch (seed 7); 0.3M is a "
        "uniform member sample of the 1M seed-7 world and 1M that world itself. *Ingest* "
        "checks members in one statement and events in chunks of about 50M rows (whole "
        "row groups) under the same memory limit; its peak RSS is the stage's process. Spark "
        "rows are one process (driver + JVM), `local[2]`, 8 shuffle partitions, 4 GB driver. "
        "Rows measured in an earlier session are kept until re-measured (marked so).",
        "",
        SESSION_NOTE,
        "",
    ]
    analysed = sorted(
        {r["members"] for r in duck if "seconds" in r and r["stage"] in ("retention", "hva")}
    )
    if analysed:
        lines.append(f"Sizes with an analysis finished: {', '.join(f'{s:,}' for s in analysed)}.")
    lines.append(
        "Command: `nice .venv/bin/python benchmarks/bench_scale.py --sizes 0.1,0.3,1,3,10 "
        "--spark-at 1 --remeasure --budget-minutes 240` (worlds already on disk are reused; "
        "`--report` alone redraws this section)."
    )
    record("scale", "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="0.1,0.3,1,3,10")
    p.add_argument("--spark-at", type=float, default=1.0)
    p.add_argument("--ingest-max", type=float, default=10.0)
    p.add_argument("--memory-limit", default="4GB")
    p.add_argument("--budget-minutes", type=float, default=90)
    p.add_argument("--spark-minutes", type=float, default=20)
    p.add_argument("--report", action="store_true")
    p.add_argument(
        "--seed",
        metavar="SESSION",
        help="fill an absent scale-results.json from the RESULTS.md table, rows marked SESSION",
    )
    p.add_argument(
        "--remeasure",
        action="store_true",
        help="run every stage again (default: skip stages already in scale-results.json)",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--stage", default="")
    p.add_argument("--millions", type=float, default=0.1)
    p.add_argument("--engine", default="duckdb")
    args = p.parse_args()
    if args.child:
        _child(args)
    elif args.seed:
        if RESULTS_JSON.exists():
            raise SystemExit(f"{RESULTS_JSON} exists; --seed only fills an empty work folder")
        from _results import RESULTS

        _save(seed_from_markdown(RESULTS.read_text(), args.seed))
        print(f"seeded {len(_saved())} rows into {RESULTS_JSON}")
    elif args.report:
        report()
    else:
        run(args)
        report()


if __name__ == "__main__":
    main()
