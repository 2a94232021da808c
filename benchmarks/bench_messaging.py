"""Benchmark: one messaging decision, training on 1M logged decisions, OPE on 1M rows vs obp.

Run with ``.venv/bin/python benchmarks/bench_messaging.py`` (``--quick`` for a smoke run). It

1. fits pooled Thompson sampling on a synthetic log over the default catalogue, then times
   one decision at the 240-creative ``signup`` placement — eligibility, the policy's
   selection probabilities and one draw — warm (a context already seen by this policy
   version) and cold (the first decision in a context: its Monte Carlo scores);
2. times ``ThompsonPolicy.fit`` on 1,000,000 logged decisions (grouping included);
3. times IPS, SNIPS, DM and DR with intervals on 1,000,000 rounds, Tenure's array API and the
   table API (join of log and target included), and — when
   ``benchmarks/_work/obp-venv`` exists (see ``benchmarks/obp_reference.py``) — Open Bandit
   Pipeline 0.5.7's ``OffPolicyEvaluation`` on the same number of rounds and actions, in
   the same run;
4. records the figures under "messaging" in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# One BLAS thread (for obp's run too): on a shared machine, threads only fight each other.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import record

from tenure.messaging import Catalogue, MemberState, eligible
from tenure.messaging.offpolicy import evaluate_tables
from tenure.messaging.policies import BasePolicy
from tenure.messaging.policies.thompson import ThompsonPolicy
from tenure.messaging.policies.uniform import UniformPolicy
from tenure.stats.ope import evaluate

WORK = Path(__file__).parent / "_work"
OBP_PYTHON = WORK / "obp-venv" / "bin" / "python"
COUNTRIES = ("US", "GB", "DE", "FR", "JP", "BR")
PLANS = ("monthly", "annual", "student", "family")


def synthetic_log(cat: Catalogue, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` uniform-random decisions over every placement's creatives, Bernoulli rewards."""
    creatives = [c for p in cat.placements for c in cat.creatives(p)]
    pick = rng.integers(len(creatives), size=n)
    msg = np.array([c.message for c in creatives])[pick]
    img = np.array([c.image for c in creatives])[pick]
    cta = np.array([c.cta for c in creatives])[pick]
    place = np.array([c.placement for c in creatives])[pick]
    country = np.array(COUNTRIES)[rng.integers(len(COUNTRIES), size=n)]
    plan = np.array(PLANS)[rng.integers(len(PLANS), size=n)]
    base = rng.normal(-2.0, 0.4, size=len(creatives))[pick]
    reward = (rng.random(n) < 1 / (1 + np.exp(-base))).astype(float)
    return pd.DataFrame({"message": msg, "image": img, "cta": cta, "placement": place,
                         "country": country, "plan": plan, "propensity": 1 / len(creatives),
                         "reward": reward})  # fmt: skip


def per_call(fn: object, repeat: int) -> float:
    """CPU seconds per call (process time: on a shared machine wall time measures the queue)."""
    assert callable(fn)
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def bench_decision(cat: Catalogue, pol: ThompsonPolicy, repeat: int) -> dict[str, float]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    state = MemberState("m1", {"country": "US", "plan": "monthly", "channel": "organic"},
                        datetime(2026, 2, 1, tzinfo=UTC), now, uses_30d={"video": 5},
                        uses_7d={"video": 2}, saved_30d_by_benefit={"shipping": 12.0})  # fmt: skip
    ctx = {"placement": "signup", "country": "US", "plan": "monthly"}
    rng = np.random.default_rng(0)
    full = cat.creatives("signup")

    def decide() -> None:
        e = eligible(cat, state, placement="signup", context=state.attributes, now=now)
        pol.choose(ctx, e.creatives, rng)

    decide()  # warm this context
    elig_s = per_call(lambda: eligible(cat, state, placement="signup", context=ctx, now=now),
                      repeat)  # fmt: skip
    warm = per_call(decide, repeat)
    cold = []
    for country in COUNTRIES[1:]:
        for plan in PLANS:
            c = {"placement": "signup", "country": country, "plan": plan}
            t0 = time.process_time()
            pol.choose(c, full, rng)
            cold.append(time.process_time() - t0)
    return {"eligibility_us": elig_s * 1e6, "warm_us": warm * 1e6,
            "cold_ms": float(np.median(cold)) * 1e3, "n_creatives": len(full)}  # fmt: skip


def bench_uniform(cat: Catalogue, repeat: int) -> dict[str, float]:
    """A uniform decision at ``signup``, and its draw alone: the direct index draw of
    ``UniformPolicy.choose`` against the base class's probabilities + running sums +
    ``searchsorted`` (what it used before), same run, same eligible set."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    state = MemberState("m1", {"country": "US", "plan": "monthly", "channel": "organic"},
                        datetime(2026, 2, 1, tzinfo=UTC), now, uses_30d={"video": 5},
                        uses_7d={"video": 2}, saved_30d_by_benefit={"shipping": 12.0})  # fmt: skip
    pol = UniformPolicy(cat)
    rng = np.random.default_rng(1)
    elig = eligible(cat, state, placement="signup", context=state.attributes, now=now).creatives

    def decide() -> None:
        e = eligible(cat, state, placement="signup", context=state.attributes, now=now)
        pol.choose({}, e.creatives, rng)

    return {
        "uniform_decision_us": per_call(decide, repeat) * 1e6,
        "uniform_draw_us": per_call(lambda: pol.choose({}, elig, rng), repeat) * 1e6,
        "uniform_base_draw_us": per_call(
            lambda: BasePolicy._draw(pol, {}, elig, rng.random()), repeat
        )
        * 1e6,
        "uniform_n": len(elig),
    }


def bench_ope(n: int, n_actions: int, rng: np.random.Generator) -> dict[str, float]:
    action = rng.integers(n_actions, size=n)
    reward = rng.binomial(1, 0.1, size=n).astype(float)
    pscore = np.full(n, 1.0 / n_actions)
    dist = rng.dirichlet(np.ones(n_actions), size=n)
    with Clock() as arrays:
        target = dist[np.arange(n), action]
        q = np.full((n, n_actions), 0.1)
        evaluate(reward, pscore, target, q_chosen=q[np.arange(n), action],
                 q_target=np.einsum("ij,ij->i", dist, q))  # fmt: skip
    # the table API: 1M-row log joined to a target table of 20 contexts x n_actions
    ctx = rng.integers(20, size=n)
    probs = rng.dirichlet(np.ones(n_actions), size=20)
    log = pd.DataFrame({"segment": ctx, "action": action, "reward": reward, "propensity": pscore})
    s, a = np.meshgrid(np.arange(20), np.arange(n_actions), indexing="ij")
    table = pd.DataFrame({"segment": s.ravel(), "action": a.ravel(), "prob": probs.ravel()})
    with Clock() as tables:
        evaluate_tables(log, table)
    return {"arrays_s": arrays.wall, "arrays_cpu": arrays.cpu, "tables_s": tables.wall,
            "tables_cpu": tables.cpu}  # fmt: skip


def bench_obp(n: int, n_actions: int) -> dict[str, float] | None:
    if not OBP_PYTHON.exists():
        return None
    out = subprocess.run(
        [str(OBP_PYTHON), str(Path(__file__).with_name("obp_reference.py")), "--time", str(n),
         "--actions", str(n_actions)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return {"wall": float(doc["seconds"]), "cpu": float(doc["cpu"])}


def main() -> None:
    quick = "--quick" in sys.argv
    n_train = 100_000 if quick else 1_000_000
    n_ope = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(7)
    cat = Catalogue.default()
    log = synthetic_log(cat, n_train, rng)
    with Clock() as train:
        pol = ThompsonPolicy(("message", "image", "cta"), ("placement", "country", "plan")).fit(log)
    dec = bench_decision(cat, pol, 2_000 if quick else 20_000)
    uni = bench_uniform(cat, 2_000 if quick else 20_000)
    ope = bench_ope(n_ope, 10, rng)
    obp = bench_obp(n_ope, 10)
    load = os.getloadavg()[0]
    print(json.dumps({"train_s": train.wall, "train_cpu": train.cpu, **dec, **uni, **ope, "obp": obp,
                      "load": load}))  # fmt: skip
    ratio = f"Tenure {obp['cpu'] / ope['arrays_cpu']:.1f}× less CPU" if obp else "obp not installed"
    obp_cell = (
        f"obp 0.5.7 `OffPolicyEvaluation`: {obp['cpu']:.2f} s CPU ({obp['wall']:.2f} s wall); {ratio}"
        if obp
        else "obp not installed"
    )
    md = f"""## Messaging (`benchmarks/bench_messaging.py`)

| what | Tenure | peer |
| --- | --- | --- |
| one decision, {dec["n_creatives"]} creatives, warm context (eligibility + probabilities + draw) | {dec["warm_us"]:.0f} µs CPU (eligibility alone {dec["eligibility_us"]:.0f} µs) | — |
| one uniform-policy decision, {uni["uniform_n"]} eligible (eligibility + draw) | {uni["uniform_decision_us"]:.0f} µs CPU; the choice alone {uni["uniform_draw_us"]:.2f} µs (direct index draw) vs the base's running-sums draw alone {uni["uniform_base_draw_us"]:.2f} µs (same run) | — |
| first decision in a context (Monte Carlo scores, {pol.mc_draws} draws) | {dec["cold_ms"]:.1f} ms CPU (median of 20 contexts) | — |
| train pooled Thompson sampling on {n_train:,} logged decisions ({pol.design_.n_features} coefficients) | {train.cpu:.2f} s CPU ({train.wall:.2f} s wall) | — |
| IPS + SNIPS + DM + DR with intervals, {n_ope:,} rounds × 10 actions (arrays) | {ope["arrays_cpu"]:.3f} s CPU ({ope["arrays_s"]:.3f} s wall) | {obp_cell} |
| same, from tables (log joined to a 20-context target) | {ope["tables_cpu"]:.3f} s CPU ({ope["tables_s"]:.3f} s wall) | — |

No peer tool offers pooled Thompson sampling over factorised creatives with stated
propensities, so the decision and training rows have no ratio. The machine was shared by
eight sessions (1-minute load average {load:.1f} on its cores while this ran), so figures are
CPU time of this process (one BLAS thread); wall times under that load are larger.
"""
    if not quick:
        record("messaging", md)
    print(md)


if __name__ == "__main__":
    main()
