"""Spec + dataset → sufficient statistics → comparisons → scorecard with verdicts.

The raw-data path and the warehouse path meet here: :func:`analyze` computes the
sufficient-statistics frame in the engine (:func:`tenure.experiments.metrics.compute_metrics`)
and hands it to the very function the ``--stats FILE.csv`` path uses
(:func:`tenure.experiments.sufficient.analyze_sufficient_stats`). What this module adds is
what only a spec knows: which metric is primary, which way is better, the pre-registered
threshold, the guardrail margins, the designed split for the SRM check on exposures, and the
pooling across markets. It returns a :class:`Scorecard`, a value that renders to a table,
to JSON and to a report section.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from tenure.experiments.meta import pool_segments
from tenure.experiments.metrics import ALL_SEGMENT, MetricFrame, compute_metrics
from tenure.experiments.spec import ExperimentSpec, GuardrailSpec
from tenure.experiments.sufficient import analyze_sufficient_stats
from tenure.experiments.verdict import Verdict, decide
from tenure.stats.multiple import benjamini_hochberg, holm
from tenure.stats.srm import srm_test
from tenure.store import Dataset

__all__ = ["Scorecard", "analyze", "score"]

TABLE_COLUMNS = [
    "metric",
    "role",
    "segment",
    "variant",
    "n_baseline",
    "n_variant",
    "baseline_mean",
    "variant_mean",
    "effect_abs",
    "ci_abs_low",
    "ci_abs_high",
    "effect_rel",
    "ci_rel_low",
    "ci_rel_high",
    "p_value",
    "p_value_adjusted",
    "p_value_decision",
    "chance_to_win",
    "expected_loss",
    "significant_good",
    "significant_bad",
    "threshold_met",
    "guardrail",
    "method",
    "status",
]


@dataclass(frozen=True)
class Scorecard:
    """Everything one experiment's read-out says.

    ``table`` has one row per metric × variant × segment (columns :data:`TABLE_COLUMNS`);
    ``verdicts`` one decision per non-control variant; ``pooled`` / ``shrunk`` the
    cross-market random-effects read-out of each segment column.
    """

    spec: ExperimentSpec
    table: pd.DataFrame
    verdicts: tuple[Verdict, ...]
    srm_p_value: float
    exposed: pd.Series
    multi_arm: int
    first_exposure: datetime | None
    last_exposure: datetime | None
    as_of: datetime | None
    pooled: pd.DataFrame
    shrunk: pd.DataFrame
    stats: pd.DataFrame

    @property
    def outcome(self) -> str:
        """One line: each variant's decision."""
        return "; ".join(f"{v.variant}: {v.decision.replace('_', ' ')}" for v in self.verdicts)

    def to_frame(self) -> pd.DataFrame:
        """The comparison table (copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the spec summary, SRM, verdicts, comparisons and pooled markets."""
        comps = []
        for row in self.table.to_dict("records"):
            rec = {k: _py(v) for k, v in row.items() if not k.startswith("ci_")}
            rec["ci_abs"] = [_py(row["ci_abs_low"]), _py(row["ci_abs_high"])]
            rec["ci_rel"] = [_py(row["ci_rel_low"]), _py(row["ci_rel_high"])]
            rec["experiment"] = self.spec.name
            rec["srm_p_value"] = _py(self.srm_p_value)
            comps.append(rec)
        return {
            "experiment": self.spec.name,
            "hypothesis": self.spec.hypothesis,
            "doc": self.spec.doc,
            "primary_metric": self.spec.primary.name,
            "threshold": self.spec.primary.threshold.model_dump()
            if self.spec.primary.threshold
            else None,
            "srm_p_value": _py(self.srm_p_value),
            "exposed": {str(k): int(v) for k, v in self.exposed.items()},
            "multi_arm_members_dropped": self.multi_arm,
            "first_exposure": self.first_exposure.isoformat() if self.first_exposure else None,
            "last_exposure": self.last_exposure.isoformat() if self.last_exposure else None,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "comparisons": comps,
            "pooled": [{k: _py(v) for k, v in r.items()} for r in self.pooled.to_dict("records")],
        }


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def analyze(dataset: Dataset, spec: ExperimentSpec) -> Scorecard:
    """Compute `spec`'s metrics on `dataset` and score them.

    Examples
    --------
    >>> from tenure.store import connect  # doctest: +SKIP
    >>> from tenure.experiments.spec import load_spec  # doctest: +SKIP
    >>> card = analyze(connect("world"), load_spec("experiments/value_messaging.yaml"))  # doctest: +SKIP
    >>> card.outcome  # doctest: +SKIP
    'value_message: ship; discount_offer: do not ship'
    """
    mf = compute_metrics(dataset, spec)
    return score(spec, mf, as_of=dataset.as_of)


def score(spec: ExperimentSpec, mf: MetricFrame, *, as_of: datetime | None = None) -> Scorecard:
    """Score precomputed sufficient statistics against `spec` (no engine work)."""
    m = spec.method
    method = "sequential" if m.horizon == "sequential" else "fixed"
    correction = None if m.correction == "none" else m.correction
    stats = mf.stats[mf.stats["n"] > 0].reset_index(drop=True)
    frame = analyze_sufficient_stats(
        stats,
        alpha=m.alpha,
        method=method,
        correction=correction,
        weights={spec.name: spec.weights},
    ).frame
    units = mf.units[mf.units["segment"] == ALL_SEGMENT].set_index("variant")
    order = [v.name for v in spec.variants if v.name in units.index]
    exposed = units.loc[order, "exposed"].astype(float)
    srm = (
        float(srm_test(exposed.to_numpy(), [spec.weights[v] for v in order]))
        if len(order) > 1
        else 1.0
    )
    table = _annotate(spec, frame, stats)
    first = units["first_exposure"].min() if len(units) else None
    last = units["last_exposure"].max() if len(units) else None
    first_dt = (
        pd.Timestamp(first).to_pydatetime() if first is not None and pd.notna(first) else None
    )
    last_dt = pd.Timestamp(last).to_pydatetime() if last is not None and pd.notna(last) else None
    days = (last_dt - first_dt).total_seconds() / 86400 if first_dt and last_dt else 0.0
    verdicts = decide(spec, table, srm_p_value=srm, exposed=exposed, days_running=max(days, 1.0))
    pooled, shrunk = [], []
    for col in spec.segments:
        p, s = pool_segments(table, col, alpha=m.alpha)
        pooled.append(p)
        shrunk.append(s)
    return Scorecard(
        spec=spec,
        table=table[
            [c for c in TABLE_COLUMNS if c in table.columns] + ["baseline_variance", "margin"]
        ],
        verdicts=verdicts,
        srm_p_value=srm,
        exposed=exposed,
        multi_arm=mf.multi_arm,
        first_exposure=first_dt,
        last_exposure=last_dt,
        as_of=as_of,
        pooled=pd.concat(pooled, ignore_index=True) if pooled else pd.DataFrame(),
        shrunk=pd.concat(shrunk, ignore_index=True) if shrunk else pd.DataFrame(),
        stats=mf.stats,
    )


def _annotate(spec: ExperimentSpec, frame: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """Add role, direction-aware significance, threshold and guardrail status to each row."""
    m = spec.method
    t = frame.copy()
    by_name = {x.name: x for x in spec.metrics}
    roles = {spec.primary.name: "primary"}
    roles.update({x.name: "secondary" for x in spec.secondary})
    roles.update({x.name: "guardrail" for x in spec.guardrails})
    t["role"] = t["metric"].map(roles).fillna("secondary")
    sign = t["metric"].map(lambda k: 1.0 if by_name[k].higher_is_better else -1.0).to_numpy()

    # Control variance per (metric, segment), for planning how long an inconclusive test needs.
    base = stats[stats["variant"] == spec.control]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (base["sum_squares"] - base["sum"] ** 2 / base["n"]) / (base["n"] - 1)
    t = t.merge(
        base.assign(baseline_variance=var)[["metric", "segment", "baseline_variance"]],
        on=["metric", "segment"],
        how="left",
    )

    # The decision family: the primary metric's variants on the whole population.
    p = t["p_value"].to_numpy(dtype=float)
    fam = ((t["role"] == "primary") & (t["segment"] == ALL_SEGMENT)).to_numpy()
    decision_p = t["p_value_adjusted"].to_numpy(dtype=float).copy()
    if fam.any():
        adj = {"holm": holm, "bh": benjamini_hochberg}.get(m.correction)
        decision_p[fam] = adj(p[fam]) if adj else p[fam]
    guard = (t["role"] == "guardrail").to_numpy()
    decision_p[guard] = p[guard]  # guardrails are not corrected: missing harm costs more
    t["p_value_decision"] = decision_p

    eff = t["effect_abs"].to_numpy(dtype=float)
    if m.inference == "bayesian":
        ctw = t["chance_to_win"].to_numpy(dtype=float)
        good_ctw = np.where(sign > 0, ctw, 1.0 - ctw)
        sig_good = good_ctw >= m.chance_to_win
        sig_bad = good_ctw <= 1.0 - m.chance_to_win
    else:
        sig = decision_p < m.alpha
        sig_good = sig & (sign * eff > 0)
        sig_bad = sig & (sign * eff < 0)
    t["significant_good"] = sig_good
    t["significant_bad"] = sig_bad

    th = spec.primary.threshold
    assert th is not None
    prim = (t["role"] == "primary").to_numpy()
    measure = t["effect_rel"] if th.kind != "absolute" else t["effect_abs"]
    t["threshold_met"] = prim & sig_good & (sign * measure.to_numpy(dtype=float) >= th.value)

    status = np.full(len(t), "", dtype=object)
    margins = np.full(len(t), np.nan)
    rel_margin = np.zeros(len(t), dtype=bool)
    for i, name in enumerate(t["metric"]):
        g = by_name[name]
        if not isinstance(g, GuardrailSpec):
            continue
        r = t.iloc[i]
        rel = g.margin_relative
        e, lo, hi = (
            (r["effect_rel"], r["ci_rel_low"], r["ci_rel_high"])
            if rel
            else (r["effect_abs"], r["ci_abs_low"], r["ci_abs_high"])
        )
        s = sign[i]
        worse, worst = -s * float(e), max(-s * float(lo), -s * float(hi))
        margins[i], rel_margin[i] = g.margin, rel
        if not np.isfinite(worse):
            status[i] = "n/a"
        elif sig_bad[i] and worse > g.margin:
            status[i] = "breach"
        elif worst <= g.margin:
            status[i] = "ok"
        else:
            status[i] = "at_risk"
    t["guardrail"] = status
    t["margin"] = margins
    t["margin_relative"] = rel_margin
    role_order = t["role"].map({"primary": 0, "secondary": 1, "guardrail": 2})
    seg_order = (t["segment"] != ALL_SEGMENT).astype(int)
    t = t.assign(_r=role_order, _s=seg_order).sort_values(
        ["_s", "segment", "_r", "metric", "variant"], kind="stable"
    )
    return t.drop(columns=["_r", "_s"]).reset_index(drop=True)
