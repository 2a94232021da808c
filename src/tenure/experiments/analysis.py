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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tenure.experiments.comparison import Comparison, GuardrailStatus, Role
from tenure.experiments.meta import PooledEffect, ShrunkEffect, pool_segments
from tenure.experiments.metrics import ALL_SEGMENT, MetricFrame, compute_metrics
from tenure.experiments.spec import ExperimentSpec, GuardrailSpec
from tenure.experiments.sufficient import analyze_sufficient_stats
from tenure.experiments.verdict import Verdict, decide
from tenure.results import Result, json_safe
from tenure.settings import Inference
from tenure.stats.multiple import benjamini_hochberg, holm
from tenure.stats.srm import srm_test
from tenure.store import Dataset

__all__ = ["Scorecard", "analyze", "score"]

TABLE_COLUMNS = [f.name for f in fields(Comparison)]
"""Columns of :meth:`Scorecard.to_frame`: the fields of :class:`Comparison`, in order."""


@dataclass(frozen=True, repr=False)
class Scorecard(Result):
    """Everything one experiment's read-out says.

    ``comparisons`` has one typed record per metric × variant × segment; ``verdicts`` one
    decision per non-control variant; ``pooled`` / ``shrunk`` the cross-market
    random-effects read-out of each segment column; ``params`` the inference settings the
    card was computed with (:attr:`inference` rebuilds the value) and the spec's name.
    """

    kind: ClassVar[str] = "scorecard"
    spec: ExperimentSpec
    comparisons: tuple[Comparison, ...]
    verdicts: tuple[Verdict, ...]
    srm_p_value: float
    exposed: Mapping[str, int]
    multi_arm: int
    first_exposure: datetime | None
    last_exposure: datetime | None
    as_of: datetime | None
    pooled: tuple[PooledEffect, ...]
    shrunk: tuple[ShrunkEffect, ...]
    params: Mapping[str, Any]

    @property
    def inference(self) -> Inference:
        """The inference settings the card was computed with."""
        names = {f.name for f in fields(Inference)}
        return Inference(**{k: v for k, v in self.params.items() if k in names})

    @property
    def outcome(self) -> str:
        """One line: each variant's decision."""
        return "; ".join(f"{v.variant}: {v.decision.replace('_', ' ')}" for v in self.verdicts)

    def overall(self, role: Role | None = None) -> tuple[Comparison, ...]:
        """The whole-population comparisons (of one ``role`` when given)."""
        return tuple(c for c in self.comparisons if c.overall and (role is None or c.role == role))

    def to_frame(self) -> pd.DataFrame:
        """One row per comparison; columns :data:`TABLE_COLUMNS`."""
        return pd.DataFrame(
            [[getattr(c, k) for k in TABLE_COLUMNS] for c in self.comparisons],
            columns=TABLE_COLUMNS,
        )

    @property
    def table(self) -> pd.DataFrame:
        """:meth:`to_frame` (a fresh frame each time; the card itself never changes)."""
        return self.to_frame()

    def pooled_frame(self) -> pd.DataFrame:
        """The cross-market pooled effects as a table (one row per metric × variant × column)."""
        return _records_frame(self.pooled, PooledEffect)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: spec summary, SRM, verdicts, comparisons, pooled markets."""
        comps = []
        for c in self.comparisons:
            rec = {k: getattr(c, k) for k in TABLE_COLUMNS if not k.startswith("ci_")}
            rec["ci_abs"] = [c.ci_abs_low, c.ci_abs_high]
            rec["ci_rel"] = [c.ci_rel_low, c.ci_rel_high]
            rec["experiment"] = self.spec.name
            rec["srm_p_value"] = self.srm_p_value
            if c.why_missing:
                rec["missing_reason"] = c.why_missing
            comps.append(rec)
        th = self.spec.primary.threshold
        doc: dict[str, Any] = json_safe(
            {
                "kind": self.kind,
                "params": self.params,
                "experiment": self.spec.name,
                "hypothesis": self.spec.hypothesis,
                "doc": self.spec.doc,
                "primary_metric": self.spec.primary.name,
                "threshold": th.model_dump() if th else None,
                "srm_p_value": self.srm_p_value,
                "exposed": dict(self.exposed),
                "multi_arm_members_dropped": self.multi_arm,
                "first_exposure": self.first_exposure,
                "last_exposure": self.last_exposure,
                "verdicts": [v.to_dict() for v in self.verdicts],
                "comparisons": comps,
                "pooled": list(self.pooled),
            }
        )
        return doc


def _records_frame(records: Sequence[Any], cls: type) -> pd.DataFrame:
    cols = [f.name for f in fields(cls)]
    return pd.DataFrame([[getattr(r, k) for k in cols] for r in records], columns=cols)


def analyze(
    dataset: Dataset, spec: ExperimentSpec, *, inference: Inference | None = None
) -> Scorecard:
    """Compute `spec`'s metrics on `dataset` and score them.

    ``inference`` overrides the spec's ``method`` block (e.g. ``--alpha`` on the command
    line); by default the spec's own settings are used.

    Examples
    --------
    >>> from tenure.store import connect  # doctest: +SKIP
    >>> from tenure.experiments.spec import load_spec  # doctest: +SKIP
    >>> card = analyze(connect("world"), load_spec("experiments/value_messaging.yaml"))  # doctest: +SKIP
    >>> card.outcome  # doctest: +SKIP
    'value_message: ship; discount_offer: do not ship'
    """
    mf = compute_metrics(dataset, spec)
    return score(spec, mf, as_of=dataset.as_of, inference=inference)


def score(
    spec: ExperimentSpec,
    mf: MetricFrame,
    *,
    as_of: datetime | None = None,
    inference: Inference | None = None,
) -> Scorecard:
    """Score precomputed sufficient statistics against `spec` (no engine work)."""
    inf = spec.inference if inference is None else inference
    stats = mf.stats[mf.stats["n"] > 0].reset_index(drop=True)
    frame = analyze_sufficient_stats(stats, inference=inf, weights={spec.name: spec.weights}).frame
    units = mf.units[mf.units["segment"] == ALL_SEGMENT].set_index("variant")
    order = [v.name for v in spec.variants if v.name in units.index]
    exposed = {str(v): int(n) for v, n in units.loc[order, "exposed"].items()}
    srm = (
        float(
            srm_test(
                np.asarray([exposed[v] for v in order], float), [spec.weights[v] for v in order]
            )
        )
        if len(order) > 1
        else 1.0
    )
    comparisons = _annotate(spec, inf, frame, stats)
    first = units["first_exposure"].min() if len(units) else None
    last = units["last_exposure"].max() if len(units) else None
    first_dt = _to_datetime(first)
    last_dt = _to_datetime(last)
    days = (last_dt - first_dt).total_seconds() / 86400 if first_dt and last_dt else 0.0
    verdicts = decide(
        spec,
        comparisons,
        srm_p_value=srm,
        exposed=exposed,
        days_running=max(days, 1.0),
        inference=inf,
    )
    pooled: list[PooledEffect] = []
    shrunk: list[ShrunkEffect] = []
    for col in spec.segments:
        p, s = pool_segments(comparisons, col, inference=inf)
        pooled.extend(p)
        shrunk.extend(s)
    return Scorecard(
        spec=spec,
        comparisons=comparisons,
        verdicts=verdicts,
        srm_p_value=srm,
        exposed=exposed,
        multi_arm=mf.multi_arm,
        first_exposure=first_dt,
        last_exposure=last_dt,
        as_of=as_of,
        pooled=tuple(pooled),
        shrunk=tuple(shrunk),
        params={"experiment": spec.name, "control": spec.control, **inf.to_dict()},
    )


def _to_datetime(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _split_segment(label: str, columns: Sequence[str]) -> tuple[str | None, str | None]:
    """``"country=US"`` → ``("country", "US")`` against the spec's known segment columns."""
    if label == ALL_SEGMENT:
        return None, None
    for col in sorted(columns, key=len, reverse=True):
        if label.startswith(f"{col}="):
            return col, label[len(col) + 1 :]
    return None, label


def _annotate(
    spec: ExperimentSpec, inf: Inference, frame: pd.DataFrame, stats: pd.DataFrame
) -> tuple[Comparison, ...]:
    """Typed, annotated comparisons: role, direction-aware significance, threshold, guardrail."""
    by_name = {x.name: x for x in spec.metrics}
    roles: dict[str, Role] = {x.name: "secondary" for x in spec.secondary}
    roles.update({x.name: "guardrail" for x in spec.guardrails})
    roles[spec.primary.name] = "primary"
    t = frame.reset_index(drop=True)

    # Control variance per (metric, segment), for planning how long an inconclusive test needs.
    base = stats[stats["variant"] == spec.control]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (base["sum_squares"] - base["sum"] ** 2 / base["n"]) / (base["n"] - 1)
    variance = {
        (m, s): float(v) for m, s, v in zip(base["metric"], base["segment"], var, strict=True)
    }

    role = [roles.get(m, "secondary") for m in t["metric"]]
    sign = np.asarray([1.0 if by_name[m].higher_is_better else -1.0 for m in t["metric"]])
    is_all = (t["segment"] == ALL_SEGMENT).to_numpy()
    p = t["p_value"].to_numpy(dtype=float)

    # The decision family, corrected once here: the primary metric's variants overall.
    decision_p = t["p_value_adjusted"].to_numpy(dtype=float).copy()
    fam = np.asarray([r == "primary" for r in role]) & is_all
    if fam.any():
        adjust = {"holm": holm, "bh": benjamini_hochberg}.get(inf.correction)
        decision_p[fam] = adjust(p[fam]) if adjust else p[fam]
    guard = np.asarray([r == "guardrail" for r in role])
    decision_p[guard] = p[guard]  # guardrails are not corrected: missing harm costs more

    eff = t["effect_abs"].to_numpy(dtype=float)
    if inf.framework == "bayesian":
        ctw = t["chance_to_win"].to_numpy(dtype=float)
        good_ctw = np.where(sign > 0, ctw, 1.0 - ctw)
        sig_good = good_ctw >= inf.chance_to_win
        sig_bad = good_ctw <= 1.0 - inf.chance_to_win
    else:
        sig = decision_p < inf.alpha
        sig_good = sig & (sign * eff > 0)
        sig_bad = sig & (sign * eff < 0)

    th = spec.primary.threshold
    assert th is not None  # the spec schema requires it
    th_rel = th.kind != "absolute"
    out: list[Comparison] = []
    for i, rec in enumerate(t.to_dict("records")):
        metric = by_name[rec["metric"]]
        col, value = _split_segment(str(rec["segment"]), spec.segments)
        margin, margin_rel = math.nan, False
        if isinstance(metric, GuardrailSpec):
            margin, margin_rel = metric.margin, metric.margin_relative
        c = Comparison(
            metric=str(rec["metric"]),
            role=role[i],
            segment=str(rec["segment"]),
            segment_column=col,
            segment_value=value,
            variant=str(rec["variant"]),
            n_baseline=float(rec["n_baseline"]),
            n_variant=float(rec["n_variant"]),
            baseline_mean=float(rec["baseline_mean"]),
            variant_mean=float(rec["variant_mean"]),
            baseline_variance=variance.get((rec["metric"], rec["segment"]), math.nan),
            effect_abs=float(rec["effect_abs"]),
            ci_abs_low=float(rec["ci_abs_low"]),
            ci_abs_high=float(rec["ci_abs_high"]),
            se_abs=float(rec["se_abs"]),
            effect_rel=float(rec["effect_rel"]),
            ci_rel_low=float(rec["ci_rel_low"]),
            ci_rel_high=float(rec["ci_rel_high"]),
            se_rel=float(rec["se_rel"]),
            p_value=float(rec["p_value"]),
            p_value_adjusted=float(rec["p_value_adjusted"]),
            p_value_decision=float(decision_p[i]),
            chance_to_win=float(rec["chance_to_win"]),
            expected_loss=float(rec["expected_loss"]),
            significant_good=bool(sig_good[i]),
            significant_bad=bool(sig_bad[i]),
            threshold_met=False,
            threshold_clear=False,
            guardrail="",
            margin=margin,
            margin_relative=margin_rel,
            higher_is_better=metric.higher_is_better,
            estimator=str(rec["estimator"]),
            status=str(rec["status"]),
        )
        if c.role == "primary":
            e, lo, hi = c.effect(relative=th_rel)
            good_e, good_lo = sign[i] * e, min(sign[i] * lo, sign[i] * hi)
            met = c.significant_good and good_e >= th.value
            c = _replace(c, threshold_met=met, threshold_clear=met and good_lo >= th.value)
        elif c.role == "guardrail":
            c = _replace(c, guardrail=_guardrail_status(c))
        out.append(c)
    role_order = {"primary": 0, "secondary": 1, "guardrail": 2}
    out.sort(key=lambda c: (not c.overall, c.segment, role_order[c.role], c.metric, c.variant))
    return tuple(out)


def _guardrail_status(c: Comparison) -> GuardrailStatus:
    """Read a guardrail as a non-inferiority test against its pre-registered margin.

    ``ok`` only when the interval excludes a loss beyond the margin; ``breach`` when harm is
    significant and the estimate is beyond it; otherwise the data cannot tell yet (an
    underpowered guardrail never passes by default).
    """
    loss, worst = c.loss(relative=c.margin_relative)
    if not (math.isfinite(loss) and math.isfinite(worst)):
        return "n/a"
    if c.significant_bad and loss > c.margin:
        return "breach"
    if worst <= c.margin:
        return "ok"
    return "cant_tell"


def _replace(c: Comparison, **changes: Any) -> Comparison:
    import dataclasses

    return dataclasses.replace(c, **changes)
