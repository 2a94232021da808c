r"""Declarative metrics computed in the engine as sufficient statistics per variant and segment.

The pipeline is three Ibis steps and one materialisation:

1. **Units** — the experiment's exposures, one row per member: first exposure time and arm.
   Members logged in more than one arm are dropped (and counted), since they cannot be
   attributed.
2. **Per-member values** — one join of units with the events in the span any metric needs
   (before exposure for CUPED covariates, after it for outcomes), reduced with conditional
   sums to one row per member: a column per metric part.
3. **Moments** — per (variant, segment), for every metric at once: ``n``, ``sum``,
   ``sum_squares`` and the covariate / denominator sums and cross-products, counting only
   members whose metric window (or retention horizon) has fully elapsed by ``as_of``.

The result is the warehouse-path frame of :mod:`tenure.experiments.sufficient` — one row per
experiment × metric × variant × segment — so raw data and warehouse summaries share one
analysis. No window function is used (Ibis's Polars backend lacks them).

For a member with exposure time :math:`t_0`:

- ``binary``  :math:`y = 1\{\exists\ \text{action} \in [t_0, t_0 + W)\}`
- ``count``   :math:`y = \#\{\text{action} \in [t_0, t_0 + W)\}`
- ``sum``     :math:`y = \sum \text{value}` over those events
- ``mean``    value per event: ratio of ``sum`` to ``count`` (delta method across members)
- ``ratio``   ``numerator`` over ``denominator`` (delta method)
- ``retention`` :math:`y = 1\{\text{ended\_at} \text{ null or } > t_0 + H\}`, only for
  :math:`t_0 + H \le \text{as\_of}` (never counting censored members as churned)

A CUPED covariate is the same quantity over :math:`[t_0 - W, t_0)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tenure.errors import DataContractError
from tenure.experiments.spec import ExperimentSpec, MetricSpec
from tenure.store import Dataset

__all__ = [
    "ALL_SEGMENT",
    "EventFeature",
    "MetricFrame",
    "compute_metrics",
    "exposed_units",
    "member_values",
]

ALL_SEGMENT = "all"
"""Segment label of the whole population."""

STAT_COLUMNS = (
    "n",
    "sum",
    "sum_squares",
    "covariate_sum",
    "covariate_sum_squares",
    "main_covariate_sum_product",
    "denominator_sum",
    "denominator_sum_squares",
    "main_denominator_sum_product",
)


@dataclass(frozen=True)
class MetricFrame:
    """What the engine returns for one experiment.

    ``stats`` is the sufficient-statistics frame (columns ``experiment, metric, variant,
    segment, n, sum, sum_squares`` and the covariate / denominator columns, NaN where a
    metric has none). ``units`` has, per variant and segment, the members exposed
    (``exposed``), and over all segments the first and last exposure (for SRM and duration).
    ``multi_arm`` counts members dropped for being logged in more than one arm.
    """

    stats: pd.DataFrame
    units: pd.DataFrame
    multi_arm: int


def exposed_units(dataset: Dataset, spec: ExperimentSpec) -> ir.Table:
    """One row per exposed member: ``member_id, variant, exposed_at, n_arms`` plus attributes.

    Attributes come from the members table (``ended_at`` and the spec's segment columns).
    """
    exposures = dataset.table("exposures")
    e = exposures.filter(exposures.experiment == spec.experiment_name)
    if spec.exposure.placement is not None:
        if "placement" not in e.columns:
            raise DataContractError("exposure.placement is set but exposures has no placement")
        e = e.filter(e.placement == spec.exposure.placement)
    units = e.group_by("member_id").agg(
        exposed_at=e.ts.min(), variant=e.variant.min(), n_arms=e.variant.nunique()
    )
    m = dataset.members
    missing = [s for s in spec.segments if s not in m.columns]
    if missing:
        raise DataContractError(f"segments: members has no column {missing[0]!r}")
    keep = ["member_id", *(c for c in ("ended_at",) if c in m.columns), *spec.segments]
    attrs = m.select(*dict.fromkeys(keep))
    joined = units.left_join(attrs, "member_id")
    joined = joined.drop(*(c for c in joined.columns if c.endswith("_right")))
    if "ended_at" not in m.columns:
        joined = joined.mutate(ended_at=ibis.null("timestamp('UTC')"))
    return joined


@dataclass(frozen=True, slots=True)
class EventFeature:
    """One per-member event feature: count or value-sum of `actions` in [lo, hi) days."""

    column: str
    actions: tuple[str, ...]
    lo_days: int
    hi_days: int
    what: str  # "count" | "value"


def _parts(metric: MetricSpec, key: str) -> dict[str, tuple[EventFeature | None, str]]:
    """Per-member columns a metric needs: role → (event feature, transform)."""
    if metric.kind == "retention":
        return {}
    if metric.kind == "ratio":
        assert metric.numerator is not None and metric.denominator is not None
        num = _parts(metric.numerator, f"{key}__num")["main"]
        den = _parts(metric.denominator, f"{key}__den")["main"]
        return {"main": num, "denominator": den}
    w = metric.window_days
    what = "value" if metric.kind in ("sum", "mean") else "count"
    transform = "binary" if metric.kind == "binary" else "identity"
    out: dict[str, tuple[EventFeature | None, str]] = {
        "main": (EventFeature(f"{key}__y", metric.actions, 0, w, what), transform)
    }
    if metric.kind == "mean":
        out["denominator"] = (EventFeature(f"{key}__d", metric.actions, 0, w, "count"), "identity")
    if metric.cuped:
        out["covariate"] = (EventFeature(f"{key}__x", metric.actions, -w, 0, what), transform)
    return out


def _days(n: int) -> ir.IntervalScalar:
    return ibis.interval(days=n)


def member_values(
    units: ir.Table, events: ir.Table | None, parts: Sequence[EventFeature]
) -> ir.Table:
    """`units` with one column per event feature (0 for members without such events)."""
    if not parts:
        return units
    if events is None:
        raise DataContractError("these metrics need an events table, and the dataset has none")
    actions = sorted({a for p in parts for a in p.actions})
    lo = min(p.lo_days for p in parts)
    hi = max(p.hi_days for p in parts)
    ev = events.filter(events.action.isin(actions))
    value = ev.value if "value" in ev.columns else ibis.literal(0.0)
    ev = ev.select("member_id", "ts", "action", value=value.cast("float64").fill_null(0.0))
    u = units.select("member_id", t0=units.exposed_at)
    j = u.join(ev, "member_id")
    j = j.filter((j.ts >= j.t0 + _days(lo)) & (j.ts < j.t0 + _days(hi)))
    aggs: dict[str, ir.Value] = {}
    for p in parts:
        cond = j.action.isin(list(p.actions)) & (j.ts >= j.t0 + _days(p.lo_days))
        cond &= j.ts < j.t0 + _days(p.hi_days)
        val = j.value if p.what == "value" else ibis.literal(1.0)
        aggs[p.column] = cond.ifelse(val, 0.0).sum()
    per_member = j.group_by("member_id").agg(**aggs)
    out = units.left_join(per_member, "member_id")
    out = out.drop(*(c for c in out.columns if c.endswith("_right")))
    return out.mutate(**{p.column: out[p.column].fill_null(0.0) for p in parts})


def _value(t: ir.Table, part: tuple[EventFeature | None, str]) -> ir.FloatingValue:
    feature, transform = part
    assert feature is not None
    v = t[feature.column]
    return (v > 0).ifelse(1.0, 0.0) if transform == "binary" else v.cast("float64")


def _metric_aggs(
    t: ir.Table, metric: MetricSpec, key: str, as_of: datetime
) -> dict[str, ir.Scalar]:
    """Moments of one metric over the members whose window has elapsed."""
    span = metric.span_days
    ok = t.exposed_at + _days(span) <= ibis.literal(as_of, type="timestamp('UTC')")
    okf = ok.ifelse(1.0, 0.0)
    if metric.kind == "retention":
        horizon = t.exposed_at + _days(span)
        y = (t.ended_at.isnull() | (t.ended_at > horizon)).ifelse(1.0, 0.0)
        parts: dict[str, tuple[EventFeature | None, str]] = {}
    else:
        parts = _parts(metric, key)
        y = _value(t, parts["main"])
    out: dict[str, ir.Scalar] = {
        f"{key}__n": okf.sum(),
        f"{key}__sum": (okf * y).sum(),
        f"{key}__sum_squares": (okf * y * y).sum(),
    }
    for role in ("covariate", "denominator"):
        if role in parts:
            x = _value(t, parts[role])
            out[f"{key}__{role}_sum"] = (okf * x).sum()
            out[f"{key}__{role}_sum_squares"] = (okf * x * x).sum()
            out[f"{key}__main_{role}_sum_product"] = (okf * y * x).sum()
    return out


def compute_metrics(
    dataset: Dataset,
    spec: ExperimentSpec,
    *,
    metrics: Sequence[MetricSpec] | None = None,
    segments: Sequence[str] | None = None,
) -> MetricFrame:
    """Sufficient statistics of `spec`'s metrics (or `metrics`) per variant and segment.

    Runs as one engine query: an aggregation per segment column (plus the overall one),
    unioned and materialised once; the result has a few rows per variant.

    Examples
    --------
    >>> from tenure.store import connect  # doctest: +SKIP
    >>> from tenure.experiments.spec import load_spec  # doctest: +SKIP
    >>> mf = compute_metrics(connect("world"), load_spec("experiments/upsell_banner.yaml"))  # doctest: +SKIP
    >>> mf.stats.columns[:7].tolist()  # doctest: +SKIP
    ['experiment', 'metric', 'variant', 'segment', 'n', 'sum', 'sum_squares']
    """
    chosen = tuple(spec.metrics if metrics is None else metrics)
    segs = tuple(spec.segments if segments is None else segments)
    units = exposed_units(dataset, spec)
    units = units.filter(units.n_arms == 1)
    keys = {m.name: f"m{i}" for i, m in enumerate(chosen)}
    parts = [p for m in chosen for p, _ in _parts(m, keys[m.name]).values() if p is not None]
    t = member_values(units, dataset.events, parts)

    def aggs(tab: ir.Table) -> dict[str, ir.Scalar]:
        out: dict[str, ir.Scalar] = {}
        for m in chosen:
            out.update(_metric_aggs(tab, m, keys[m.name], dataset.as_of))
        out["__exposed"] = tab.count().cast("float64")
        out["__first"] = tab.exposed_at.min()
        out["__last"] = tab.exposed_at.max()
        return out

    pieces = [t.group_by("variant").agg(**aggs(t)).mutate(segment=ibis.literal(ALL_SEGMENT))]
    for s in segs:
        seg = t.mutate(segment=ibis.literal(f"{s}=") + t[s].cast("string").fill_null("(missing)"))
        pieces.append(seg.group_by(["variant", "segment"]).agg(**aggs(seg)))
    names = list(aggs(t))
    pieces = [p.select("variant", "segment", *names) for p in pieces]
    union = pieces[0]
    for p in pieces[1:]:
        union = union.union(p)
    wide = union.to_pyarrow().to_pandas()
    multi = units_multi_arm(dataset, spec)
    return MetricFrame(_long(wide, spec.name, chosen, keys), _units(wide), multi)


def units_multi_arm(dataset: Dataset, spec: ExperimentSpec) -> int:
    """Members logged in more than one arm of `spec` (dropped from the analysis)."""
    units = exposed_units(dataset, spec)
    return int(units.filter(units.n_arms > 1).count().to_pyarrow().as_py())


def _long(
    wide: pd.DataFrame, experiment: str, metrics: Sequence[MetricSpec], keys: dict[str, str]
) -> pd.DataFrame:
    """Reshape the one-row-per-(variant, segment) aggregate to one row per metric too."""
    frames = []
    for m in metrics:
        k = keys[m.name]
        f = pd.DataFrame(
            {
                "experiment": experiment,
                "metric": m.name,
                "variant": wide["variant"].astype(str),
                "segment": wide["segment"].astype(str),
            }
        )
        for col in STAT_COLUMNS:
            src = f"{k}__{col}"
            f[col] = wide[src].astype(np.float64) if src in wide else np.nan
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["metric", "segment", "variant"], kind="stable").reset_index(drop=True)


def _units(wide: pd.DataFrame) -> pd.DataFrame:
    out = wide[["variant", "segment", "__exposed", "__first", "__last"]].rename(
        columns={"__exposed": "exposed", "__first": "first_exposure", "__last": "last_exposure"}
    )
    return out.sort_values(["segment", "variant"]).reset_index(drop=True)
