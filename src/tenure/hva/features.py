"""The landmark population, its strata and outcomes, and each member's window uses.

The engine reads events once (:mod:`tenure.hva.window`): joined to the members on
``member_id`` (each member carrying a dense integer index), filtered to the window and grouped
to a few rows per member and action, and cached in the engine. Python reads back one row per
member (the activity counts) and then the uses in batches of whole members
(:mod:`tenure.hva.uses`). The members' attribute factors are small Ibis scans of the members.
Everything else — strata, outcomes, per-use columns — is numpy, indexed by the member index.

Landmark design: only members still active at the end of the action window (``tenure_days >=
window``, with the window observed) are compared, so the window never overlaps the outcome.
For each such member the engine derives

* ``sid``: an integer stratum id over the adjustment factors and the segment column
  (:class:`tenure.hva.design.LandmarkDesign` decodes it);
* ``obs_h``: 1 when the horizon is observable (``observed_days >= horizon``);
* ``retained``: 1 when still a member at the horizon (``tenure_days >= horizon``);
* ``t``, ``event``: days from the landmark to churn or censoring, clipped at the horizon
  (``event`` = churned before the horizon), for Kaplan–Meier from the landmark.

**The engagement covariates** are two readings of how active a member is early on, from *any*
action — no ``benefit`` column and no convention about which actions are benefits is needed:
``early_activity``, the number of events in days ``[0, activity_days)`` (the window by
default), and ``day0_activity``, the number on the signup day (the first session). A
candidate's own events are kept from adjusting the treatment away: for a candidate about
action *a*, every member's activity is counted *without* their events of *a* (for a pair,
without both actions; for "≥ k distinct benefits", without any benefit action). Each
member's window uses therefore carry a second stratum id, ``sid_a``, with the activity levels
recomputed without that action. The levels are quantile bins of the landmark's distribution
(at most ``max_bins``), so busy and quiet first sessions are both resolved. The assumption
this rests on: one action does not cause the *volume* of the others in the window
(otherwise part of an effect is adjusted away; ``activity_days=1`` reads the signup day only).

**Pre-signup history** (``presignup_events``): events with ``ts < signup_at`` (kept by ingest
as history) are never counted as window actions; when any exist, their count per member is
an adjustment covariate (quantile bins, like activity).

**Member attributes**: by default every member column except the identifier and timestamps;
text with at most ``max_levels`` values and numbers with at most 10 values are categories,
other numbers are continuous (quantile bins entering the models as numbers).

**Within a stratum**: what the bins leave (a member high or low in their activity bin, or in
a continuous attribute's) enters the retention model through one member-level index, fitted
here on the landmark (:mod:`tenure.hva.within`); each use carries it recomputed without the
action's own events, as its stratum is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from tenure._types import FloatArray, IntArray
from tenure.errors import DataContractError, SpecError
from tenure.hva.design import ACTIVITY, DAY0, HISTORY, Factor, LandmarkDesign
from tenure.hva.uses import (
    USE_COLUMNS,
    WindowUses,
    candidate_benefits,
    codes,
    int_column,
    member_sums,
)
from tenure.hva.window import epoch_us, member_index, window_pass
from tenure.hva.within import WithinStratum, fit_within
from tenure.retention.curves import MISSING
from tenure.retention.spans import member_spans

__all__ = ["LANDMARK_COLUMNS", "Landmark", "landmark"]

LANDMARK_COLUMNS = ("sid", "sid_nb", "d0", "d1", "obs_h", "retained", "t", "event", "seg")
"""Per-member columns of the landmark population (``Landmark.members``)."""

_RESERVED = {"member_id", "signup_at", "ended_at", "tenure_days", "ended", "observed_days"}
_MAX_CATEGORY_NUMBERS = 10


@dataclass(frozen=True)
class Landmark:
    """The landmark population, its window uses and the pure design, as numpy columns.

    ``members`` holds one entry per landmark member for each of :data:`LANDMARK_COLUMNS`
    (``member_ids`` gives their identifiers, in the same order); ``uses`` reads the window
    uses (one row per member and benefit action used in the window) in batches of whole
    members, :class:`tenure.hva.uses.WindowUses`; they stay in the engine until
    :meth:`release`.

    The engine's whole part is one pass over events (see :func:`landmark`); every count
    table is then built from these columns in numpy (:mod:`tenure.hva.aggregate`).
    ``within`` is the member-level outcome term's fit (:mod:`tenure.hva.within`) and
    ``within_index`` its per-member values: ``z`` with every event counted, ``z_nb`` without
    benefit actions'.

    """

    members: Mapping[str, IntArray]
    uses: WindowUses
    member_ids: pa.Array
    actions: tuple[str, ...]
    benefits: dict[str, str]
    has_benefit: bool
    thresholds: tuple[int, ...]
    design: LandmarkDesign
    notes: tuple[str, ...]
    latest_horizon: int
    within: WithinStratum
    within_index: Mapping[str, FloatArray]

    def release(self) -> None:
        """Drop the cached events pass from the engine (after the count tables are built)."""
        self.uses.release()

    def members_frame(self) -> pd.DataFrame:
        """``member_id`` and :data:`LANDMARK_COLUMNS`, one row per landmark member."""
        frame = pd.DataFrame({c: self.members[c] for c in LANDMARK_COLUMNS})
        for c, v in self.within_index.items():
            frame[c] = v
        frame.insert(0, "member_id", self.member_ids.to_numpy(zero_copy_only=False))
        return frame

    def uses_frame(self) -> pd.DataFrame:
        """The window uses with ``member_id`` and the member's landmark columns."""
        batches = list(self.uses.batches(1 << 20))
        empty = np.zeros(0, dtype=np.int64)
        cols = {c: np.concatenate([empty, *(b[c] for b in batches)]) for c in USE_COLUMNS}
        m = cols.pop("m")
        frame = pd.DataFrame(cols)
        for c in LANDMARK_COLUMNS:
            frame[c] = self.members[c][m]
        frame.insert(
            0, "member_id", self.member_ids.take(pa.array(m)).to_numpy(zero_copy_only=False)
        )
        return frame


def _release(*tables: ir.Table) -> None:
    """Drop engine-cached intermediate tables (backends without caching have no release)."""
    for t in tables:
        release = getattr(t, "release", None)
        if release is not None:
            release()


def _code(value: ir.NumericValue, edges: Sequence[float]) -> ir.IntegerValue:
    out: ir.IntegerValue = ibis.literal(0, type="int64")
    for e in edges:
        out = out + (value >= e).cast("int64")
    return out


def _count_factor(name: str, values: np.ndarray, weights: np.ndarray, max_bins: int) -> Factor:
    """Quantile bins of a count distribution (``values`` distinct, ``weights`` members)."""
    order = np.argsort(values)
    v, w = values[order].astype(np.float64), weights[order].astype(np.float64)
    edges: list[float] = []
    lo_v, lo_w = v, w
    if v.size > 1 and w[0] / w.sum() > 1.0 / max_bins:
        # Zero-inflated (most members have no pre-signup history): the smallest value is its
        # own level and the quantiles are taken among the others.
        edges.append(float(v[1]))
        lo_v, lo_w = v[1:], w[1:]
        max_bins -= 1
    cum = np.cumsum(lo_w) / lo_w.sum()
    for q in np.arange(1, max(max_bins, 1)) / max(max_bins, 1):
        cut = float(lo_v[np.searchsorted(cum, q, side="right").clip(0, lo_v.size - 1)])
        if cut > v[0] and (not edges or cut > edges[-1]):
            edges.append(cut)
    code = np.searchsorted(np.asarray(edges), v, side="right")
    n_lv = len(edges) + 1
    rep = np.zeros(n_lv)
    for k in range(n_lv):
        sel = code == k
        rep[k] = np.average(np.log1p(v[sel]), weights=w[sel]) if w[sel].sum() else 0.0
    bounds = [v[0], *edges]
    labels = [
        f"{int(lo)}" if k + 1 < n_lv and edges[k] == lo + 1 else f">={int(lo)}"
        for k, lo in enumerate(bounds)
    ]
    return Factor(name, "count", tuple(labels), tuple(rep.tolist()), tuple(edges))


def _allocate_bins(
    n_cat: int,
    numbers: Sequence[str],
    history: bool,
    *,
    day0: bool = False,
    max_bins: int,
    number_bins: int,
    max_strata: int,
) -> dict[str, int]:
    """Bins per binned factor so the possible strata stay within ``max_strata``."""
    bins = {ACTIVITY: max_bins, **dict.fromkeys(numbers, number_bins)}
    if day0:
        bins[DAY0] = max_bins
    if history:
        bins[HISTORY] = number_bins
    secondary = [*numbers, *([HISTORY] if history else [])]
    order = [*secondary, *([DAY0] if day0 else []), ACTIVITY]

    def total() -> float:
        return float(n_cat) * float(np.prod([float(b) for b in bins.values()]))

    # Shrink the secondary factors first (round-robin down to 3 levels), then the signup
    # day's count down to 3, then activity — the engagement proxy, which carries most of the
    # confounding: on the Parla world a 5-bin activity left a decoy at +0.026 where a
    # continuous adjustment gives +0.001 — down to 4, then all to 2.
    steps = ((3, secondary), (3, [DAY0] if day0 else []), (4, [ACTIVITY]), (2, order))
    for floor, names in steps:
        while total() > max_strata:
            shrinkable = [c for c in names if bins[c] > floor]
            if not shrinkable:
                break
            bins[max(shrinkable, key=lambda c: bins[c])] -= 1
    return bins


def _number_factor(t: ir.Table, col: str, max_bins: int) -> Factor:
    x = t[col].cast("float64")
    qs = [float(q) for q in np.arange(1, max_bins) / max_bins]
    row = t.aggregate(**{f"q{i}": x.quantile(q) for i, q in enumerate(qs)}, _nmiss=x.isnull().sum())
    got = row.to_pyarrow().to_pylist()[0]
    edges: list[float] = []
    for i in range(len(qs)):
        # Rounded to 12 significant digits: engines interpolate quantiles differently in the
        # last bit (DuckDB 14.990000000000002, Polars 14.99), which would put members priced
        # exactly at an edge in different bins on different backends.
        c = None if got[f"q{i}"] is None else float(f"{float(got[f'q{i}']):.12g}")
        if c is not None and (not edges or c > edges[-1]):
            edges.append(c)
    lo = t.aggregate(_lo=x.min()).to_pyarrow().to_pylist()[0]["_lo"]
    edges = [e for e in edges if lo is None or e > float(lo)]
    code = _code(x, edges)
    means = t.filter(x.notnull()).group_by(_c=code).agg(_m=x.mean(), _n=x.count())
    m = means.to_pyarrow().to_pydict()
    rep = np.zeros(len(edges) + 1)
    rep[np.asarray(m["_c"], dtype=np.int64)] = np.asarray(m["_m"], dtype=np.float64)
    labels = [f"<{edges[0]:g}" if edges else "all"]
    labels += [f">={e:g}" for e in edges]
    values = rep.tolist()
    missing = bool(got["_nmiss"])
    if missing:
        labels.append(MISSING)
        mean = float(np.average(rep, weights=np.asarray(m["_n"], dtype=np.float64)))
        values.append(mean)
    return Factor(col, "number", tuple(labels), tuple(values), tuple(edges), missing)


def _attribute_factors(
    lm: ir.Table,
    adjust_for: Sequence[str] | None,
    segment: str | None,
    max_levels: int,
) -> tuple[list[Factor], list[str], list[str], list[str]]:
    """Factors for member attributes: the explicit set, or every eligible column."""
    notes: list[str] = []
    schema = lm.schema()
    explicit = adjust_for is not None
    names = (
        list(adjust_for)
        if adjust_for is not None
        else [c for c in lm.columns if c not in _RESERVED and not c.startswith("_")]
    )
    for c in names:
        if c not in lm.columns or c in _RESERVED:
            raise DataContractError(
                f"--adjust-for {c!r}: members has no such attribute column "
                f"(columns: {', '.join(c for c in lm.columns if c not in _RESERVED)})"
            )
    wanted = [*names, *([segment] if segment and segment not in names else [])]
    usable = [c for c in wanted if not schema[c].is_temporal()]
    counts = (
        lm.aggregate(**{c: lm[c].nunique() for c in usable}).to_pyarrow().to_pylist()[0]
        if usable
        else {}
    )
    factors: list[Factor] = []
    covs: list[str] = []
    numbers: list[str] = []
    for c in wanted:
        dtype = schema[c]
        is_seg_only = c == segment and c not in names
        if dtype.is_temporal():
            if explicit and not is_seg_only:
                raise DataContractError(f"--adjust-for {c!r}: a timestamp cannot be adjusted for")
            notes.append(f"{c}: timestamp, not adjusted for")
            continue
        k = int(counts[c] or 0)
        numeric = dtype.is_numeric() and not dtype.is_boolean()
        if numeric and k > _MAX_CATEGORY_NUMBERS and not is_seg_only:
            numbers.append(c)
            covs.append(c)
            continue
        if k > max_levels and not is_seg_only:
            if explicit:
                raise DataContractError(
                    f"--adjust-for {c!r}: {k} distinct values (at most {max_levels} for a "
                    "category); drop it or bin it"
                )
            notes.append(f"{c}: {k} distinct values, not adjusted for (more than {max_levels})")
            continue
        col = lm[c].cast("string").fill_null(MISSING)
        values = lm.select(col.name(c)).distinct().to_pyarrow().column(0).to_pylist()
        factors.append(Factor(c, "category", tuple(sorted(str(v) for v in values))))
        if not is_seg_only:
            covs.append(c)
    return factors, covs, numbers, notes


def landmark(
    members: ir.Table,
    events: ir.Table,
    as_of: datetime,
    *,
    window: int,
    horizon: int,
    adjust_for: Sequence[str] | None = None,
    segment: str | None = None,
    early_days: int = 1,
    thresholds: Sequence[int] = (1, 2, 3, 5),
    max_levels: int = 20,
    max_bins: int = 16,
    number_bins: int = 5,
    max_strata: int = 100_000,
    activity_days: int | None = None,
) -> Landmark:
    """Build the landmark population, its design and the window uses.

    The engine runs one pass over events (:func:`~tenure.hva.window.window_pass`, keyed by a dense integer
    member index so nothing downstream joins on strings) and small scans of the members for
    the attribute factors; the strata, outcomes and per-use columns are then numpy.

    Parameters
    ----------
    members, events
        The dataset's tables.
    as_of
        End of observation.
    window, horizon
        Days: actions counted in ``[0, window)``; retention at ``horizon`` (> window).
    adjust_for
        Member attributes to adjust for; default every eligible member column.
    segment
        Attribute to report per-segment results by.
    early_days
        Pairs are actions both first used in days ``[0, early_days)``.
    thresholds
        The *k* of "at least *k* uses" (1 is the action itself).
    max_levels
        Largest category adjusted for.
    max_bins, number_bins, max_strata
        Most quantile bins of the activity count and of a continuous attribute or the
        history count; bins are reduced (continuous attributes first, activity last) until
        the possible strata are at most ``max_strata``, which bounds the models' cost.
    activity_days
        Activity is counted in days ``[0, activity_days)`` (default: the window); with more
        than one day, the signup day's count is a second covariate.

    Raises
    ------
    SpecError
        When no landmark member's horizon is observable (names the latest observable one).
    """
    activity_days = window if activity_days is None else activity_days
    spans = member_spans(members, as_of)
    lm0 = spans.filter((spans.tenure_days >= window) & (spans.observed_days >= window))
    stats = lm0.aggregate(_n=lm0.count(), _obs=lm0.observed_days.max()).to_pyarrow().to_pylist()[0]
    if not stats["_n"]:
        raise DataContractError(f"no member is still active on day {window} (the window's end)")
    latest = int(stats["_obs"])
    if latest < horizon:
        raise SpecError(
            f"--horizon {horizon}: no member can be observed that long; the latest observable "
            f"horizon is {latest} days (use --horizon {latest} or less)"
        )
    ks = tuple(sorted({1, *(int(k) for k in thresholds if k >= 1)}))
    # Every member (landmark or not: their uses name the candidate actions, as they always
    # have) gets a dense integer index, joined in the engine and materialised once: the events
    # pass returns it instead of the string id, and the attribute scans read the same rows.
    # (A plain table of ids rather than ``row_number()``, which not every backend compiles.)
    index = member_index(spans, window=window, activity_days=activity_days, early_days=early_days)
    keyed = spans.join(index, "member_id")
    alive = (keyed.tenure_days >= window) & (keyed.observed_days >= window)
    keyed = keyed.mutate(_lm=alive.cast("int64")).cache()
    acts: ir.Table | None = None
    try:
        acts = window_pass(
            keyed, events, window=window, activity_days=activity_days, early_days=early_days
        )
        lm = keyed.filter(keyed._lm == 1)
        cats, covs, numbers, notes = _attribute_factors(lm, adjust_for, segment, max_levels)
        n_cat = int(np.prod([f.n_levels for f in cats], dtype=np.float64))
        # Per-member sums over the window pass, by member index, then the landmark's.
        size = int(index.count().to_pyarrow().as_py())
        sums = member_sums(acts, size)
        all_d0, all_d0nb, all_d1, all_d1nb, all_pre = (
            sums[c] for c in ("d0", "d0nb", "d1", "d1nb", "pre")
        )
        benefits = candidate_benefits(acts)
        lm_mi = int_column(lm.select("_mi").to_pyarrow(), "_mi")
        d0, d1, pre = all_d0[lm_mi], all_d1[lm_mi], all_pre[lm_mi]
        pre_v, pre_k = np.unique(pre, return_counts=True)
        has_history = bool((pre_v > 0).any())
        bins = _allocate_bins(
            n_cat,
            numbers,
            has_history,
            max_bins=max_bins,
            number_bins=number_bins,
            max_strata=max_strata,
            day0=activity_days > 1,
        )
        by_name = {f.name: f for f in cats}
        by_name.update({c: _number_factor(lm, c, bins[c]) for c in numbers})
        act = _count_factor(ACTIVITY, *np.unique(d0, return_counts=True), bins[ACTIVITY])
        if activity_days > 1:
            d1f = _count_factor(DAY0, *np.unique(d1, return_counts=True), bins[DAY0])
        else:  # activity is the signup day already: no second reading of it
            d1f = Factor(DAY0, "count", ("all",), (0.0,), ())
        attr = [by_name[c] for c in (*covs, *(f.name for f in cats if f.name not in covs))]
        factors = [*attr, act, d1f]
        covariates = [*covs, ACTIVITY, *((DAY0,) if activity_days > 1 else ())]
        hf: Factor | None = None
        if has_history:
            hf = _count_factor(HISTORY, pre_v, pre_k, bins[HISTORY])
            factors.append(hf)
            covariates.append(HISTORY)
        design = LandmarkDesign(window, horizon, tuple(factors), tuple(covariates), segment)
        if design.n_strata >= 2**62:
            raise SpecError(
                f"the adjustment set has {design.n_strata:.3g} possible strata; adjust for "
                "fewer columns (--adjust-for)"
            )
        radix = design.radix
        base: ir.IntegerValue = ibis.literal(0, type="int64")
        for f in design.factors:
            if f.name in (ACTIVITY, DAY0, HISTORY):
                continue
            if f.kind == "category":
                col = lm[f.name].cast("string").fill_null(MISSING)
                code = ibis.cases(*((col == v, i) for i, v in enumerate(f.levels)), else_=0)
            else:
                x = lm[f.name].cast("float64")
                code = ibis.cases((x.isnull(), f.n_levels - 1), else_=_code(x, f.edges))
            base = base + code.cast("int64") * radix[f.name]
        seg_expr: ir.IntegerValue = ibis.literal(0, type="int64")
        if segment is not None:
            sf = design.factor(segment)
            col = lm[segment].cast("string").fill_null(MISSING)
            seg_expr = ibis.cases(*((col == v, i) for i, v in enumerate(sf.levels)), else_=0).cast(
                "int64"
            )
        rows = lm.select(
            "_mi",
            "member_id",
            "signup_at",
            _base=base,
            obs_h=(lm.observed_days >= horizon).cast("int64"),
            retained=(lm.tenure_days >= horizon).cast("int64"),
            t=ibis.least(lm.tenure_days, horizon) - window,
            event=((lm.ended == 1) & (lm.tenure_days < horizon)).cast("int64"),
            seg=seg_expr,
            **{f"_x{i}": lm[c].cast("float64") for i, c in enumerate(numbers)},
        ).to_pyarrow()
    except BaseException:
        if acts is not None:
            _release(acts)
        raise
    finally:
        _release(keyed)
    r_mi = int_column(rows, "_mi")
    d0, d0nb, d1, d1nb, pre = (v[r_mi] for v in (all_d0, all_d0nb, all_d1, all_d1nb, all_pre))
    base_v = int_column(rows, "_base")
    if hf is not None:
        base_v = base_v + codes(pre, hf.edges) * radix[HISTORY]
    r_act, r_d1 = radix[ACTIVITY], radix[DAY0]
    sid = base_v + codes(d0, act.edges) * r_act + codes(d1, d1f.edges) * r_d1
    cols: dict[str, IntArray] = {
        "sid": sid,
        "sid_nb": base_v + codes(d0nb, act.edges) * r_act + codes(d1nb, d1f.edges) * r_d1,
        "d0": d0,
        "d1": d1,
        **{c: int_column(rows, c) for c in ("obs_h", "retained", "t", "event", "seg")},
    }
    fixed = {c: _standardised(rows.column(f"_x{i}")) for i, c in enumerate(numbers)}
    if hf is not None:
        fixed[HISTORY] = np.log1p(pre.astype(np.float64))
    within = fit_within(
        sid, cols["retained"], cols["obs_h"], d0=d0, d1=d1 if activity_days > 1 else None,
        fixed=fixed,
    )  # fmt: skip
    every = np.arange(sid.size)
    z = {"z": within.index(every, d0, d1), "z_nb": within.index(every, d0nb, d1nb)}
    member_ids = rows.column("member_id").combine_chunks()
    actions = tuple(sorted(benefits))
    row_of = np.full(size, -1, dtype=np.int64)  # member row of each index (-1: not landmark)
    row_of[r_mi] = np.arange(r_mi.size)
    uses = WindowUses(
        acts,
        row_of=row_of,
        n_uses=int(sums["uses"].sum()),
        actions=actions,
        thresholds=ks,
        sid=sid,
        d0=d0,
        d1=d1,
        shifts=((act.edges, r_act), (d1f.edges, r_d1)),
        signup=epoch_us(rows.column("signup_at")),
        window=window,
        early_days=early_days,
        within=within,
    )
    has_benefit = "benefit" in events.columns
    if not has_benefit:
        notes.append(
            "no benefit column: every action is a candidate; distinct-benefit counts are not offered"
        )
    if act.n_levels == 1:
        notes.append(
            f"constant covariate: {ACTIVITY} is {act.levels[0]} for every member — engagement is not adjusted for"
        )
    for f in attr:
        if f.n_levels == 1 and f.name in covs:
            notes.append(
                f"constant covariate: {f.name} has one value ({f.levels[0]}) — it adjusts nothing"
            )
    return Landmark(
        cols, uses, member_ids, actions, benefits, has_benefit, ks, design, tuple(notes), latest,
        within, z,
    )  # fmt: skip


def _standardised(values: pa.ChunkedArray) -> FloatArray:
    """A continuous attribute as z-scores over the landmark (missing values at the mean, 0)."""
    v = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return np.zeros(v.size)
    mean, sd = float(v[ok].mean()), float(v[ok].std())
    out: FloatArray = np.where(ok, (v - mean) / (sd if sd > 0 else 1.0), 0.0)
    return out
