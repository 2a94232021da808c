r"""Naive and adjusted effects of every candidate, overall and per segment, from counts alone.

Inputs are :class:`tenure.hva.aggregate.HvaCounts` and the pure
:class:`tenure.hva.design.LandmarkDesign`; no engine object is needed. For each candidate
:math:`c` (and segment) the two arms of its contrast (see :mod:`tenure.hva.candidates`) are
built from the counts, in each stratum whose activity level leaves out the candidate's own
events. Then:

* **naive lift** — Kaplan–Meier retention at the horizon from the landmark, arm against arm;
  members whose horizon is not yet observed are censored at ``as_of``. The interval is
  Newcombe's score interval on the arms' effective sizes :math:`\hat S(1-\hat S)/\mathrm{Var}`
  (Greenwood; the arm's size where that is 0), so an all-retained arm of 32 members is not
  "100% ± 0".
* **adjusted effect** — AIPW with inverse-probability-of-censoring weights
  (:func:`tenure.stats.ipw.aipw_grouped`): standardised over *every* landmark member,
  including recent cohorts whose horizon is not yet observable, with observability modelled
  on the covariates (so a drift in who signs up does not bias the effect).
* **diagnostics** — standardised mean differences of each covariate before and after
  weighting, effective sample sizes, the share of members at the propensity bound;
* **q-value** — Benjamini–Hochberg over the candidates of one segment;
* **E-value** — of the adjusted risk ratio and of its interval limit nearer 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from tenure._types import FloatArray, IntArray
from tenure.hva.aggregate import HvaCounts
from tenure.hva.candidates import Candidate, Segment
from tenure.hva.design import LandmarkDesign
from tenure.hva.result import Balance, Guards, HvaEstimate
from tenure.stats.evalue import e_values
from tenure.stats.ipw import AdjustedEffect, EffectMethod, Status, StrataDesign, aipw_grouped
from tenure.stats.multiple import benjamini_hochberg
from tenure.stats.proportion import effective_n, newcombe
from tenure.stats.survival import km_grid

__all__ = ["Arms", "build_arms", "estimate_effects"]

MODEL_BUDGET_BYTES = 256 * 2**20
"""Working memory of the candidates' models at once (see :func:`_aipw_batched`)."""

MODEL_THREADS = 2
"""Most threads fitting batches of candidates at once (see :func:`_aipw_batched`)."""

# The models hold about this many (candidates × strata) float64 arrays at once: the two-arm
# fits' working arrays (2 S wide) and the AIPW sums; tracemalloc measured a peak of 23 on the
# 1M-member Parla world, plus the design's Hessian products, held once for all batches.
_MODEL_ARRAYS = 32


@dataclass(frozen=True)
class Arms:
    """Each candidate's population and treated arm as dense counts.

    ``pop`` and ``treated`` are (C, 5, S): members, members with the horizon observable,
    retained among those, and the within-stratum index summed over the members and over
    the observable ones (:data:`LAYERS`), per stratum ``sids``; ``pop_curve``/``treated_curve``
    are (C, G, T, 2): members per segment code, day since the landmark and churned.
    """

    candidates: list[Candidate]
    sids: IntArray
    pop: FloatArray
    treated: FloatArray
    pop_curve: FloatArray
    treated_curve: FloatArray


class _StrataIndex:
    """The distinct stratum ids of the count tables, and each id's position among them.

    Stratum ids are small integers (below the design's possible strata, at most
    ``max_strata``), so a presence table and a position table do in one pass over the rows
    what sorting every row's id (``np.unique``) and a binary search per row
    (``np.searchsorted``) did: on the 1M-member Parla world that is 5.6M pair cells in four
    stratum columns. Ids spanning more than :data:`_LOOKUP_IDS` fall back to the sort.
    """

    def __init__(self, columns: Sequence[IntArray]) -> None:
        top = max((int(c.max()) + 1 for c in columns if c.size), default=0)
        if top > _LOOKUP_IDS:
            self.sids: IntArray = np.unique(np.concatenate(columns))
            self._position: IntArray | None = None
            return
        seen = np.zeros(top, dtype=bool)
        for c in columns:
            seen[c] = True
        self.sids = np.flatnonzero(seen).astype(np.int64)
        self._position = np.full(top, -1, dtype=np.int64)
        self._position[self.sids] = np.arange(self.sids.size)

    def position(self, ids: IntArray) -> IntArray:
        """Each id's index in :attr:`sids` (every id is one of them)."""
        if self._position is None:
            out: IntArray = np.searchsorted(self.sids, ids)
            return out
        return self._position[ids]


_LOOKUP_IDS = 1 << 24
"""Widest span of stratum ids given a position table (128 MB of int64; see :class:`_StrataIndex`)."""


LAYERS = 5
"""The layers of a candidate's counts per stratum: members, members whose horizon is
observable, retained among those, and the sum of the within-stratum index over all of them
and over the observable (:mod:`tenure.hva.within`)."""


def _column(frame: pd.DataFrame, name: str, rows: IntArray | None, dtype: type) -> npt.NDArray[Any]:
    """A table's column as numpy, at ``rows`` only when given.

    Selecting rows column by column, rather than the frame's, copies only the columns read
    (a frame's row selection also consolidated the count tables' column-per-block frames).
    """
    values = frame[name].to_numpy(dtype)
    return values if rows is None else values[rows]


def _strata(
    frame: pd.DataFrame,
    sid_col: str,
    index: _StrataIndex,
    groups: IntArray,
    n_groups: int,
    rows: IntArray | None = None,
) -> FloatArray:
    """(G, 5, S) counts (:data:`LAYERS`) of ``frame``'s rows (``rows`` when given).

    ``groups`` holds one group per row counted; the index sum is the column of ``sid_col``'s index.
    """
    s = index.sids.size
    if groups.size == 0:
        return np.zeros((n_groups, LAYERS, s))
    # One bincount per layer over the flat (group, stratum) index: np.add.at is ~20× slower
    # on the millions of rows a 1M-member world gives. The layers weight the counts by
    # 0/1 rather than select rows, which would copy the index once per layer.
    flat = groups * s + index.position(_column(frame, sid_col, rows, np.int64))
    n = _column(frame, "n", rows, np.float64)
    seen = _column(frame, "obs_h", rows, np.int64) == 1
    obs = n * seen
    both = obs * (_column(frame, "retained", rows, np.int64) == 1)
    z = _column(frame, "z" + sid_col.removeprefix("sid"), rows, np.float64)
    weights = (n, obs, both, z, z * seen)
    layers = [np.bincount(flat, w, n_groups * s).reshape(n_groups, s) for w in weights]
    return np.stack(layers, axis=1)


def _curves(
    frame: pd.DataFrame,
    groups: IntArray,
    n_groups: int,
    g: int,
    days: int,
    rows: IntArray | None = None,
) -> FloatArray:
    """(G, segments, days, churned) counts over ``frame`` (its ``rows`` when given)."""
    if groups.size == 0:
        return np.zeros((n_groups, g, days, 2))
    flat = (groups * g + _column(frame, "seg", rows, np.int64)) * days
    flat += _column(frame, "t", rows, np.int64)
    flat *= 2
    flat += _column(frame, "event", rows, np.int64)
    n = _column(frame, "n", rows, np.float64)
    out = np.asarray(np.bincount(flat, n, n_groups * g * days * 2), dtype=np.float64)
    return out.reshape(n_groups, g, days, 2)


def _rev_cumsum(a: FloatArray, axis: int) -> FloatArray:
    """``out[k] = sum(a[k:])`` along `axis`: "at least level k" from "at level k"."""
    return np.flip(np.cumsum(np.flip(a, axis), axis), axis)


def build_arms(
    counts: HvaCounts,
    design: LandmarkDesign,
    actions: Sequence[str],
    thresholds: Sequence[int],
    *,
    pairs: bool = True,
    max_distinct: int = 12,
    min_support: float = 0.0,
) -> Arms:
    """Population and treated counts of every candidate (see :mod:`tenure.hva.candidates`)."""
    ks = list(thresholds)
    n_a, n_k = len(actions), len(ks)
    frames = [counts.totals["sid"], counts.totals_nb["sid"], counts.uses["sid"],
              counts.uses["sid_a"], counts.distinct["sid"]]  # fmt: skip
    frames += [counts.pairs[c] for c in ("sid", "sid_i", "sid_j", "sid_ij")]
    index = _StrataIndex([f.to_numpy(np.int64) for f in frames])
    sids = index.sids
    g = len(design.factor(design.segment).levels) if design.segment else 1
    days = design.horizon - design.window + 1
    tot = _strata(counts.totals, "sid", index, np.zeros(len(counts.totals), np.int64), 1)[0]
    tot_c = _curves(counts.curve, np.zeros(len(counts.curve), np.int64), 1, g, days)[0]
    u = counts.uses
    a_idx = u["a"].to_numpy(np.int64)
    lv = u["level"].to_numpy(np.int64)
    by_level = _strata(u, "sid_a", index, a_idx * n_k + lv, n_a * n_k)
    by_level = by_level.reshape(n_a, n_k, LAYERS, -1)
    at_sid = _strata(u, "sid", index, a_idx, n_a)
    at_sid_a = by_level.sum(axis=1)
    uc = counts.uses_curve
    curve_lv = _curves(uc, uc["a"].to_numpy(np.int64) * n_k + uc["level"].to_numpy(np.int64),
                       n_a * n_k, g, days).reshape(n_a, n_k, g, days, 2)  # fmt: skip
    cands: list[Candidate] = []
    pop: list[FloatArray] = []
    trt: list[FloatArray] = []
    pop_c: list[FloatArray] = []
    trt_c: list[FloatArray] = []
    n_land = tot[0].sum()

    def add(c: Candidate, p: FloatArray, t: FloatArray, pc: FloatArray, tc: FloatArray) -> None:
        if t[0].sum() <= 0 or t[0].sum() < min_support * n_land:
            return
        cands.append(c)
        pop.append(p)
        trt.append(t)
        pop_c.append(pc)
        trt_c.append(tc)

    treated_lv = _rev_cumsum(by_level, 1)
    curve_ge = _rev_cumsum(curve_lv, 1)
    for a, action in enumerate(actions):
        population = tot - at_sid[a] + at_sid_a[a]
        for i, k in enumerate(ks):
            c = Candidate("action", (action,)) if k == 1 else Candidate("threshold", (action,), k)
            add(c, population, treated_lv[a, i], tot_c, curve_ge[a, i])
    if not counts.first.empty:  # timing: first used on day k vs not in the window
        w = design.window
        f, fc = counts.first, counts.first_curve
        fd, fcd = f["first"].to_numpy(np.int64), fc["first"].to_numpy(np.int64)
        ok, okc = np.flatnonzero(fd < w), np.flatnonzero(fcd < w)
        on_day = _strata(f, "sid_a", index, f["a"].to_numpy(np.int64)[ok] * w + fd[ok],
                         n_a * w, ok).reshape(n_a, w, LAYERS, -1)  # fmt: skip
        day_c = _curves(fc, fc["a"].to_numpy(np.int64)[okc] * w + fcd[okc], n_a * w,
                        g, days, okc).reshape(n_a, w, g, days, 2)  # fmt: skip
        for a, action in enumerate(actions):
            never, never_c = tot - at_sid[a], tot_c - curve_lv[a].sum(axis=0)
            for k in range(w):
                add(Candidate("first_day", (action,), k), never + on_day[a, k], on_day[a, k],
                    never_c + day_c[a, k], day_c[a, k])  # fmt: skip
    if pairs and n_a > 1 and not counts.pairs.empty:
        early = np.flatnonzero(u["early"].to_numpy() == 1)
        e_sid = _strata(u, "sid", index, a_idx[early], n_a, early)
        e_sa = _strata(u, "sid_a", index, a_idx[early], n_a, early)
        ucm = np.flatnonzero(uc["early"].to_numpy() == 1)
        e_curve = _curves(uc, uc["a"].to_numpy(np.int64)[ucm], n_a, g, days, ucm)
        pr = counts.pairs
        pid = pr["i"].to_numpy(np.int64) * n_a + pr["j"].to_numpy(np.int64)
        present = np.unique(pid)
        code = np.searchsorted(present, pid)
        n_p = present.size
        b_ij = _strata(pr, "sid_ij", index, code, n_p)
        b_sid = _strata(pr, "sid", index, code, n_p)
        b_si = _strata(pr, "sid_i", index, code, n_p)
        b_sj = _strata(pr, "sid_j", index, code, n_p)
        pcv = counts.pairs_curve
        pc_code = np.searchsorted(
            present, pcv["i"].to_numpy(np.int64) * n_a + pcv["j"].to_numpy(np.int64)
        )
        b_curve = _curves(pcv, pc_code, n_p, g, days)
        for q, p_id in enumerate(present):
            i, j = divmod(int(p_id), n_a)
            acts = (actions[i], actions[j])
            neither = tot - e_sid[i] - e_sid[j] + b_sid[q]
            one = (e_sa[i] - b_si[q]) + (e_sa[j] - b_sj[q])
            neither_c = tot_c - e_curve[i] - e_curve[j] + b_curve[q]
            one_c = e_curve[i] + e_curve[j] - 2 * b_curve[q]
            add(Candidate("pair_both_vs_neither", acts), b_ij[q] + neither, b_ij[q],
                b_curve[q] + neither_c, b_curve[q])  # fmt: skip
            add(Candidate("pair_both_vs_one", acts), b_ij[q] + one, b_ij[q],
                b_curve[q] + one_c, b_curve[q])  # fmt: skip
    if not counts.distinct.empty:
        top = min(max_distinct, n_a)
        d = counts.distinct
        lv_d = d["level"].to_numpy(np.int64) - 1
        at_lv = _strata(d, "sid", index, lv_d, top)
        tot_nb = _strata(
            counts.totals_nb, "sid", index, np.zeros(len(counts.totals_nb), np.int64), 1
        )[0]
        dc = counts.distinct_curve
        d_curve = _curves(dc, dc["level"].to_numpy(np.int64) - 1, top, g, days)
        ge, ge_c = _rev_cumsum(at_lv, 0), _rev_cumsum(d_curve, 0)
        for k in range(2, top + 1):  # "≥ 1 distinct" is "used any benefit", rarely a question
            add(Candidate("distinct", (), k), tot_nb, ge[k - 1], tot_c, ge_c[k - 1])
    empty = np.zeros((0, LAYERS, sids.size))
    emptyc = np.zeros((0, g, days, 2))
    return Arms(
        cands,
        sids,
        np.stack(pop) if pop else empty,
        np.stack(trt) if trt else empty,
        np.stack(pop_c) if pop_c else emptyc,
        np.stack(trt_c) if trt_c else emptyc,
    )


def _aipw_batched(
    x: FloatArray,
    trt: FloatArray,
    pop: FloatArray,
    *,
    method: EffectMethod,
    alpha: float,
    guards: Guards,
    budget: int = MODEL_BUDGET_BYTES,
    threads: int | None = None,
) -> AdjustedEffect:
    """:func:`aipw_grouped` over batches of candidates, the results concatenated.

    ``trt`` and ``pop`` are the candidates' treated and population counts (C, 5, S).

    Every candidate's models are fitted on their own (the fits share nothing across
    candidates but the design), so batching changes no figure; it bounds the (candidates ×
    strata) working arrays — 200 candidates × 20,000 strata is 1.2 GB at once — to about
    ``budget`` bytes in all. The batches run on up to ``threads`` threads (default: the
    cores this process may use, at most :data:`MODEL_THREADS`), each with a share of the
    budget: NumPy releases the GIL in the (batch × strata) array work that dominates a fit,
    and two fits on two cores gain more than BLAS threads inside one product do (see
    :func:`estimate_effects`).
    """
    n = trt.shape[0]
    threads = threads or min(len(os.sched_getaffinity(0)), MODEL_THREADS)
    threads = max(1, min(threads, n))
    fits = int(budget // threads // (max(x.shape[0], 1) * 8 * _MODEL_ARRAYS))
    step = max(1, min(-(-n // threads), fits))
    design = StrataDesign(x)  # its Hessian products are built once, not once per batch

    def fit(i: int) -> AdjustedEffect:
        # The control arm is the population less the treated, made batch by batch: a whole
        # (candidates x layers x strata) copy of it was the largest array of the models.
        t = trt[i : i + step]
        return _aipw_batch(design, t, pop[i : i + step] - t, method=method,
                           alpha=alpha, guards=guards)  # fmt: skip

    starts = range(0, n, step)
    if threads == 1 or len(starts) == 1:
        parts = [fit(i) for i in starts]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(fit, starts))
    if len(parts) == 1:
        return parts[0]
    joined = {f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(parts[0])}
    return AdjustedEffect(**joined)


def _aipw_batch(
    design: StrataDesign,
    t: FloatArray,
    c: FloatArray,
    *,
    method: EffectMethod,
    alpha: float,
    guards: Guards,
) -> AdjustedEffect:
    """One batch: treated ``t`` and control ``c`` counts (C, 5, S) into :func:`aipw_grouped`."""
    return aipw_grouped(
        design, t[:, 1], t[:, 2], c[:, 1], c[:, 2], all1=t[:, 0], all0=c[:, 0],
        within=(t[:, 3], t[:, 4], c[:, 3], c[:, 4]),
        method=method, alpha=alpha, clip=1e-3, max_weight=guards.max_weight,
        min_arm=guards.min_arm, min_events=guards.min_events,
    )  # fmt: skip


def _status(value: object) -> Status:
    text = str(value)
    if text == "too_few":
        return "too_few"
    return "few_events" if text == "few_events" else "ok"


def _landmark_km(curve: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Retention at the horizon, its Greenwood variance and the arm's size at the landmark."""
    total = curve.sum(axis=-1)
    at_risk = np.cumsum(total[..., ::-1], axis=-1)[..., ::-1]
    s, g = km_grid(at_risk[..., :-1], curve[..., :-1, 1])
    return s[..., -1], s[..., -1] ** 2 * g[..., -1], at_risk[..., 0]


def _smd(
    n1: FloatArray, n0: FloatArray, e: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """SMD of each balance column, (C, q), before and after inverse-propensity weighting."""

    def moments(w: FloatArray) -> tuple[FloatArray, FloatArray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            tot = w.sum(1, keepdims=True)
            m = (w @ b) / tot
            v = (w @ (b * b)) / tot - m * m
        return m, np.maximum(v, 0.0)

    m1, v1 = moments(n1)
    m0, v0 = moments(n0)
    sd = np.sqrt((v1 + v0) / 2.0)
    wm1, _ = moments(n1 / e)
    wm0, _ = moments(n0 / (1.0 - e))
    with np.errstate(divide="ignore", invalid="ignore"):
        before = np.where(sd > 0, (m1 - m0) / sd, 0.0)
        after = np.where(sd > 0, (wm1 - wm0) / sd, 0.0)
    return before, after


def _per_covariate(smd: FloatArray, owner: Sequence[str], names: Sequence[str]) -> FloatArray:
    """(C, F): each covariate's signed SMD of largest magnitude over its columns."""
    out = np.zeros((smd.shape[0], len(names)))
    own = np.asarray(owner)
    for f, name in enumerate(names):
        cols = smd[:, own == name]
        if cols.shape[1]:
            pick = np.argmax(np.abs(cols), axis=1)
            out[:, f] = cols[np.arange(cols.shape[0]), pick]
    return out


def estimate_effects(
    arms: Arms,
    design: LandmarkDesign,
    *,
    alpha: float = 0.05,
    min_support: float = 0.005,
    method: EffectMethod = "aipw",
    guards: Guards | None = None,
) -> list[HvaEstimate]:
    """One estimate per (segment, candidate) with support, effects, diagnostics, q and E.

    Candidates below ``min_support`` (share of the landmark population, within the segment)
    are left out of that segment's rows.

    BLAS runs on one thread here: the models' products are (batch × strata) by at most a few
    hundred columns, too small to gain from a second thread, and on a shared two-core
    machine the threads' waiting cost many times the CPU of one (on the Parla world at load
    6, a (14 × 36,306) score product took 80 ms of CPU threaded against 2.6 ms on one).
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate_effects(arms, design, alpha, min_support, method, guards or Guards())


def _estimate_effects(
    arms: Arms,
    design: LandmarkDesign,
    alpha: float,
    min_support: float,
    method: EffectMethod,
    guards: Guards,
) -> list[HvaEstimate]:
    z = float(special.ndtri(1.0 - alpha / 2.0))
    x, _ = design.matrix(arms.sids)
    bal, owner = design.balance_columns(arms.sids)
    covs = list(design.covariates)
    constant = {f.name for f in design.factors if f.name in covs and f.n_levels == 1}
    groups: list[tuple[Segment | None, np.ndarray, list[int]]] = [
        (None, np.ones(arms.sids.size, bool), [])
    ]
    if design.segment is not None:
        seg_code = design.segment_codes(arms.sids)
        levels = design.factor(design.segment).levels
        groups += [(Segment(design.segment, v), seg_code == k, [k]) for k, v in enumerate(levels)]
    out: list[HvaEstimate] = []
    for segment, mask, seg_idx in groups:
        gi = seg_idx or list(range(arms.pop_curve.shape[1]))
        whole = bool(mask.all())  # no segment: the (C, 5, S) counts are used as they are
        pop = arms.pop if whole else arms.pop[:, :, mask]
        trt = arms.treated if whole else arms.treated[:, :, mask]
        n_land = pop[:, 0].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            support = trt[:, 0].sum(axis=1) / n_land
        keep = np.flatnonzero(
            (n_land > 0) & (support >= min_support) & (support > 0) & (support < 1)
        )
        if keep.size == 0:
            continue
        if keep.size < pop.shape[0]:
            pop, trt = pop[keep], trt[keep]
        ctl = pop[:, 0] - trt[:, 0]
        adj = _aipw_batched(x[mask], trt, pop, method=method, alpha=alpha, guards=guards)
        before, after = _smd(trt[:, 0], ctl, adj.propensity, bal[mask])
        smd_b = _per_covariate(before, owner, covs)
        smd_a = _per_covariate(after, owner, covs)
        tc = arms.treated_curve[keep][:, gi].sum(axis=1)
        pc = arms.pop_curve[keep][:, gi].sum(axis=1)
        s1, v1, r1 = _landmark_km(tc)
        s0, v0, r0 = _landmark_km(pc - tc)
        n_lo, n_hi = newcombe(s1, effective_n(s1, v1, r1), s0, effective_n(s0, v0, r0), z=z)
        ev = e_values(adj.ratio, adj.ratio_low, adj.ratio_high)
        q = benjamini_hochberg(np.where(np.isnan(adj.p_value), 1.0, adj.p_value))
        q = np.where(np.isnan(adj.p_value), np.nan, q)
        for r, ci in enumerate(keep):
            cand = arms.candidates[ci]
            balance = tuple(
                Balance(name, float(smd_b[r, f]), float(smd_a[r, f])) for f, name in enumerate(covs)
            )
            warns: list[str] = []
            worst = max(balance, key=lambda b: abs(b.after), default=None)
            balanced = worst is None or abs(worst.after) <= guards.max_smd
            if not balanced and worst is not None:
                warns.append(
                    f"imbalance: {worst.covariate} |SMD| {abs(worst.after):.2f} after weighting"
                )
            overlap = bool(adj.clipped[r] <= guards.max_clipped)
            if not overlap:
                warns.append(
                    f"thin positivity: {adj.clipped[r]:.0%} of members at the propensity bound"
                )
            ess_min = float(min(adj.ess1[r], adj.ess0[r]))
            small = bool(ess_min < guards.small_ess)
            if small:
                warns.append(f"small sample: effective n {ess_min:.0f} in one arm")
            if not adj.converged[r]:
                warns.append(
                    "not converged: a model's fit stopped at its iteration limit — do not read "
                    "this adjusted effect"
                )
            if adj.status[r] != "ok":
                warns.append(
                    f"{adj.status[r]}: {int(adj.events1[r])} / {int(adj.events0[r])} events in the arms"
                )
            warns.extend(
                f"constant covariate: {c} does not vary — it adjusts nothing"
                for c in sorted(constant)
            )
            out.append(
                HvaEstimate(
                    candidate=cand,
                    segment=segment,
                    landmark=int(n_land[ci]),
                    treated=int(trt[r, 0].sum()),
                    control=int(ctl[r].sum()),
                    support=float(support[ci]),
                    naive_treated=float(s1[r]),
                    naive_control=float(s0[r]),
                    naive_diff=float(s1[r] - s0[r]),
                    naive_low=float(n_lo[r]),
                    naive_high=float(n_hi[r]),
                    adjusted_treated=float(adj.mean1[r]),
                    adjusted_control=float(adj.mean0[r]),
                    adjusted_diff=float(adj.estimate[r]),
                    adjusted_low=float(adj.ci_low[r]),
                    adjusted_high=float(adj.ci_high[r]),
                    adjusted_ratio=float(adj.ratio[r]),
                    p_value=float(adj.p_value[r]),
                    q_value=float(q[r]),
                    e_value=float(ev.point[r]),
                    e_value_ci=float(ev.ci[r]),
                    n_observable=int(adj.n_observed[r]),
                    ess_treated=float(adj.ess1[r]),
                    ess_control=float(adj.ess0[r]),
                    clipped=float(adj.clipped[r]),
                    events_treated=int(adj.events1[r]),
                    events_control=int(adj.events0[r]),
                    balance=balance,
                    status=_status(adj.status[r]),
                    balanced=bool(balanced),
                    overlap=overlap,
                    small_sample=small,
                    warnings=tuple(warns),
                    within_stratum=float(adj.within[r]),
                )
            )
    return out
