"""Benchmark: Tenure's vectorised stats engine against gbstats 0.8.0 on 100,000 comparisons.

Run with ``.venv/bin/python benchmarks/bench_stats.py``. It

1. generates 100,000 variant-versus-control comparisons (experiment × metric × segment ×
   variant) of sufficient statistics with CUPED covariates;
2. times :func:`tenure.experiments.sufficient.analyze_sufficient_stats` with CUPED and
   sequential intervals on all of them;
3. builds gbstats 0.8.0 in its own venv (``benchmarks/_work/gbstats-venv``; it pins pandas 1.5
   and NumPy < 2 so it cannot share Tenure's), runs its ``SequentialTwoSidedTTest`` on
   ``RegressionAdjustedStatistic`` objects over a subsample, one object per comparison as
   its runner does, extrapolates linearly to the full batch, and checks agreement;
4. records the figures under "stats" in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import record

from tenure.experiments.sufficient import analyze_sufficient_stats
from tenure.settings import Inference

COMPARISONS = 100_000
SUBSAMPLE = 2_000
SEQUENTIAL = Inference(stopping="sequential", correction="holm")
WORK = Path(__file__).parent / "_work"
VENV = WORK / "gbstats-venv"

DRIVER = r"""
import json, sys, time
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest
from gbstats.models.statistics import RegressionAdjustedStatistic, SampleMeanStatistic

rows = json.load(open(sys.argv[1]))

def stat(r, p):
    n = int(r[p + "n"])
    return RegressionAdjustedStatistic(
        n=n,
        post_statistic=SampleMeanStatistic(n=n, sum=r[p + "sum"], sum_squares=r[p + "ss"]),
        pre_statistic=SampleMeanStatistic(n=n, sum=r[p + "xsum"], sum_squares=r[p + "xss"]),
        post_pre_sum_of_products=r[p + "xy"],
        theta=0,
    )

out = []
start = time.perf_counter()
for r in rows:
    res = SequentialTwoSidedTTest(stat(r, "a_"), stat(r, "b_"), SequentialConfig()).compute_result()
    out.append([res.expected, res.ci[0], res.ci[1], res.p_value])
elapsed = time.perf_counter() - start
json.dump({"seconds": elapsed, "results": out}, open(sys.argv[2], "w"))
"""


def make_inputs(rng: np.random.Generator) -> pd.DataFrame:
    """Sufficient statistics of 100k comparisons: 1,000 experiments × 10 metrics × 5 segments
    × 2 variants, each against its control, with a correlated pre-period covariate."""
    experiments, metrics, segments, variants = 1000, 10, 5, ["control", "b", "c"]
    cells = experiments * metrics * segments
    k = len(variants)
    n = rng.integers(500, 5000, (cells, k)).astype(float)
    mu_x = rng.uniform(5, 50, cells)[:, None] * np.ones((1, k))
    sd_x = mu_x * rng.uniform(0.3, 1.0, (cells, 1))
    beta = rng.uniform(0.3, 1.2, (cells, 1))
    sd_e = sd_x * rng.uniform(0.3, 1.0, (cells, 1))
    lift = np.c_[np.zeros(cells), rng.normal(0, 0.02, (cells, k - 1))]
    # Draw sufficient statistics from their sampling distribution, as a warehouse would sum.
    xbar = mu_x + sd_x / np.sqrt(n) * rng.standard_normal((cells, k))
    ebar = sd_e / np.sqrt(n) * rng.standard_normal((cells, k))
    sxx = sd_x**2 * rng.chisquare(n - 1)
    see = sd_e**2 * rng.chisquare(n - 1)
    sxe = np.sqrt(sxx * see) * rng.normal(0, 1 / np.sqrt(n))
    ybar = beta * xbar + ebar + mu_x * lift
    syy = beta**2 * sxx + see + 2 * beta * sxe
    sxy = beta * sxx + sxe
    ids = np.arange(cells)
    frame = pd.DataFrame(
        {
            "experiment": np.repeat(ids // (metrics * segments), k).astype(str),
            "metric": np.repeat((ids // segments) % metrics, k).astype(str),
            "segment": np.repeat(ids % segments, k).astype(str),
            "variant": np.tile(variants, cells),
            "n": n.ravel(),
            "sum": (n * ybar).ravel(),
            "sum_squares": (syy + n * ybar**2).ravel(),
            "covariate_sum": (n * xbar).ravel(),
            "covariate_sum_squares": (sxx + n * xbar**2).ravel(),
            "main_covariate_sum_product": (sxy + n * xbar * ybar).ravel(),
        }
    )
    return frame


def time_tenure(frame: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    analyze_sufficient_stats(frame.head(3000), inference=SEQUENTIAL)  # warm-up (imports, caches)
    best, table = np.inf, None
    for _ in range(3):
        start = time.perf_counter()
        table = analyze_sufficient_stats(frame, inference=SEQUENTIAL)
        best = min(best, time.perf_counter() - start)
    assert table is not None
    return best, table.frame


def ensure_gbstats() -> str | None:
    """Create the gbstats venv if needed; return an error text if it cannot be installed."""
    python = VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import gbstats"], capture_output=True)
        if check.returncode == 0:
            return None
    WORK.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["python3", "-m", "venv", str(VENV)], capture_output=True, text=True)
    if made.returncode != 0:
        return made.stderr[-2000:]
    pip = subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "gbstats==0.8.0"], capture_output=True, text=True
    )
    return None if pip.returncode == 0 else (pip.stdout + pip.stderr)[-2000:]


def gbstats_subsample(frame: pd.DataFrame, idx: np.ndarray) -> list[dict[str, float]]:
    control = frame[frame.variant == "control"].reset_index(drop=True)
    variant = frame[frame.variant != "control"].reset_index(drop=True)
    cell = idx // 2  # two variants per control cell, in order
    rows = []
    cols = {"n": "n", "sum": "sum", "ss": "sum_squares", "xsum": "covariate_sum"}
    cols |= {"xss": "covariate_sum_squares", "xy": "main_covariate_sum_product"}
    a = {k: control[v].to_numpy(dtype=float) for k, v in cols.items()}
    b = {k: variant[v].to_numpy(dtype=float) for k, v in cols.items()}
    for i, c in zip(idx, cell, strict=True):
        r = {f"a_{k}": float(a[k][c]) for k in cols}
        r |= {f"b_{k}": float(b[k][i]) for k in cols}
        rows.append(r)
    return rows


def main() -> None:
    rng = np.random.default_rng(20261123)
    frame = make_inputs(rng)
    seconds, table = time_tenure(frame)
    m = len(table)
    print(
        f"Tenure: {m:,} comparisons (CUPED + sequential + Bayesian + SRM + Holm) in {seconds:.3f} s"
    )

    error = ensure_gbstats()
    if error is not None:
        md = (
            f"Tenure `analyze_sufficient_stats(inference=Inference(stopping='sequential'))` on {m:,} CUPED comparisons: "
            f"**{seconds:.3f} s**.\n\ngbstats 0.8.0 could not be installed:\n\n```\n{error}\n```"
        )
        record("stats", md)
        print(md)
        return

    idx = np.sort(rng.choice(m, SUBSAMPLE, replace=False))
    WORK.mkdir(exist_ok=True)
    inp, outp = WORK / "gbstats_in.json", WORK / "gbstats_out.json"
    inp.write_text(json.dumps(gbstats_subsample(frame, idx)))
    (WORK / "gbstats_driver.py").write_text(DRIVER)
    subprocess.run(
        [str(VENV / "bin" / "python"), str(WORK / "gbstats_driver.py"), str(inp), str(outp)],
        check=True,
    )
    gb = json.loads(outp.read_text())
    gb_seconds_sub = gb["seconds"]
    gb_full = gb_seconds_sub * m / SUBSAMPLE
    res = np.array(gb["results"], dtype=float)
    ours = table.iloc[idx][["effect_rel", "ci_rel_low", "ci_rel_high", "p_value_rel"]].to_numpy()
    diff = np.abs(res - ours)
    max_diff = float(np.nanmax(diff))
    print(f"gbstats: {SUBSAMPLE:,} in {gb_seconds_sub:.2f} s -> {gb_full:.1f} s for {m:,}")
    print(
        f"max |Tenure - gbstats| over {SUBSAMPLE:,} x (effect, CI low, CI high, p): {max_diff:.2e}"
    )
    md = f"""### Experiment statistics engine (`benchmarks/bench_stats.py`)

{m:,} variant-vs-control comparisons (1,000 experiments × 10 metrics × 5 segments × 2
variants) of sufficient statistics with a CUPED covariate; sequential (always-valid) intervals,
tuning 5000; relative effects.

| engine | what was timed | seconds |
| --- | --- | ---: |
| Tenure `analyze_sufficient_stats(inference=Inference(stopping="sequential", correction="holm"))` | all {m:,} comparisons, incl. Bayesian chance-to-win / loss, SRM, Holm (best of 3) | {seconds:.3f} |
| gbstats 0.8.0 `SequentialTwoSidedTTest(RegressionAdjustedStatistic, …)` | {SUBSAMPLE:,}-comparison random subsample, one object each, test only | {gb_seconds_sub:.2f} |
| gbstats 0.8.0, extrapolated linearly to {m:,} | {gb_seconds_sub:.2f} s × {m // SUBSAMPLE} | {gb_full:.1f} |

Ratio (gbstats extrapolated / Tenure): **{gb_full / seconds:,.0f}×**, although Tenure's time
also includes the Bayesian read-out, SRM and the correction that the gbstats loop omits.

Agreement on the {SUBSAMPLE:,} subsampled comparisons (relative effect, CI low, CI high,
always-valid p-value): max absolute difference {max_diff:.1e}.

gbstats runs in its own venv (`benchmarks/_work/gbstats-venv`, `pip install gbstats==0.8.0`,
which pulled pandas 1.5.3 / NumPy 1.26) because it cannot share Tenure's NumPy 2 environment.
"""
    record("stats", md)
    print(md)


if __name__ == "__main__":
    main()
