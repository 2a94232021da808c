r"""Cells of the portfolio, their KPIs, the experiments that reached them and the investment score.

A cell is a product line (``plan`` by default) in a geography (``country``); the same KPIs are
also given per segment (``channel``) inside each cell. Per cell:

- **retention**: the share still a member on day ``horizon`` among members whose day
  ``horizon`` is observed (or who left before it), with a Wilson interval;
- **HVA adoption**: the share using an activation action (the high-value actions) in the first
  ``window`` days, among members observed that long;
- **experiments**: each experiment that ran in the cell's geography, with its primary
  metric's market estimate shrunk toward the random-effects pool (DerSimonian–Laird, from
  :func:`tenure.experiments.meta.pool_segments`) and whether it is still in flight;
- **investment score** — the stated formula, in monthly fees:

  .. math::

      \text{score} = n_{\text{window}} \cdot \max(0,\ a^{*} - a) \cdot \Delta_{\text{HVA}}
      \cdot \overline{\text{fee}}

  with :math:`a` the cell's adoption, :math:`a^*` the target (the 75th percentile of adoption
  across cells with at least ``min_n`` members), :math:`\Delta_{\text{HVA}}` the adjusted
  effect of the activation HVAs on retention at ``horizon`` and :math:`\overline{\text{fee}}`
  the cell's mean monthly fee: the fees of the members it would additionally keep if its
  adoption reached the target. Without an HVA effect the score falls back to the retention
  gap to the best cell of the same product line. Cells below ``min_n`` are never ranked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.errors import DataContractError
from tenure.lifecycle.funnel import member_stages, wilson_interval
from tenure.results import Result
from tenure.store import Dataset

if TYPE_CHECKING:
    from tenure.experiments.analysis import Scorecard

__all__ = ["ExperimentEvidence", "PortfolioResult", "experiment_evidence", "portfolio_view"]

TARGET_QUANTILE = 0.75


@dataclass(frozen=True)
class ExperimentEvidence:
    """What the portfolio needs from one experiment: decisions, pooled and per-market effects.

    ``by_market`` maps a geography value to the primary metric's shrunk effect of the
    leading variant (the one with the largest pooled effect); ``pooled`` is that variant's
    random-effects pooled effect with its interval and I².
    """

    name: str
    metric: str
    variant: str
    decision: str
    in_flight: bool
    pooled: tuple[float, float, float, float] | None
    by_market: Mapping[str, float] = field(default_factory=dict)
    column: str = "country"


def experiment_evidence(card: Scorecard) -> ExperimentEvidence:
    """Summarise a scorecard for the portfolio (its primary metric, pooled across markets)."""
    spec = card.spec
    decisions = {v.variant: v.decision for v in card.verdicts}
    pooled = pd.DataFrame(getattr(card, "pooled", pd.DataFrame()))
    shrunk = pd.DataFrame(getattr(card, "shrunk", pd.DataFrame()))
    primary = spec.primary.name
    variant, est = "", None
    column = "country"
    if len(pooled) and "metric" in pooled.columns:
        rows = pooled[pooled["metric"] == primary].dropna(subset=["pooled"])
        if len(rows):
            best = rows.iloc[int(np.argmax(rows["pooled"].to_numpy(np.float64)))]
            variant = str(best["variant"])
            column = str(best.get("segment_column", "country"))
            est = (
                float(best["pooled"]),
                float(best["ci_low"]),
                float(best["ci_high"]),
                float(best.get("i2", float("nan"))),
            )
    if not variant:
        variant = next(iter(decisions), "")
    by_market: dict[str, float] = {}
    if len(shrunk) and "metric" in shrunk.columns:
        part = shrunk[(shrunk["metric"] == primary) & (shrunk["variant"] == variant)]
        for seg, value in zip(part["segment"].astype(str), part["shrunk"], strict=True):
            by_market[seg.partition("=")[2] or seg] = float(value)
    decision = decisions.get(variant, "")
    in_flight = any(d == "keep_running" for d in decisions.values())
    return ExperimentEvidence(
        spec.name, primary, variant, decision, in_flight, est, by_market, column
    )


@dataclass(frozen=True, repr=False)
class PortfolioResult(Result):
    """One row per cell: KPIs, experiments reaching it, investment score and reason.

    ``level`` is ``"cell"`` (line × geography, the ranked level) or ``"segment"`` (a segment
    inside a cell). ``score`` is NaN for cells not ranked (small, or no gap).
    """

    kind = "portfolio"
    level: tuple[str, ...]
    line: tuple[str, ...]
    geography: tuple[str, ...]
    segment: tuple[str, ...]
    members: IntArray
    retention: FloatArray
    retention_low: FloatArray
    retention_high: FloatArray
    adoption: FloatArray
    monthly_fees: FloatArray
    experiments: tuple[str, ...]
    in_flight: tuple[str, ...]
    score: FloatArray
    reason: tuple[str, ...]
    small: BoolArray
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """Every cell and segment row, ranked cells first (best investment first)."""
        f = pd.DataFrame(
            {
                "level": self.level,
                "line": self.line,
                "geography": self.geography,
                "segment": self.segment,
                "members": self.members,
                "retention": self.retention,
                "retention_low": self.retention_low,
                "retention_high": self.retention_high,
                "hva_adoption": self.adoption,
                "monthly_fees": self.monthly_fees,
                "experiments": self.experiments,
                "in_flight": self.in_flight,
                "score": self.score,
                "reason": self.reason,
                "small": self.small,
            }
        )
        return f

    def ranked(self) -> pd.DataFrame:
        """Cells worth investing in, best first, with the reason (unranked cells left out)."""
        f = self.to_frame()
        f = f[(f["level"] == "cell") & f["score"].notna() & (f["score"] > 0)]
        return f.sort_values("score", ascending=False, ignore_index=True)


def portfolio_view(
    dataset: Dataset,
    *,
    activation: Sequence[str] | None,
    activation_effect: float | None = None,
    experiments: Sequence[ExperimentEvidence] = (),
    line: str = "plan",
    geography: str = "country",
    segment: str | None = "channel",
    window: int = 7,
    horizon: int = 90,
    min_n: int = 50,
    alpha: float = 0.05,
) -> PortfolioResult:
    """KPIs per product line × geography (× segment) and the ranked places to invest.

    Parameters
    ----------
    dataset
        From :func:`tenure.store.connect`; needs an events table.
    activation
        The high-value actions (``None``: any benefit used).
    activation_effect
        Their adjusted effect on retention at `horizon` (from :func:`tenure.hva.discover`).
    experiments
        :func:`experiment_evidence` of each experiment read.
    line, geography, segment
        Member columns for the three axes; `line` and `geography` are required.
    window, horizon
        The HVA window and the retention horizon (days since signup).
    min_n
        Cells with fewer members are shown, flagged, and never ranked.
    alpha
        One minus the retention intervals' coverage.
    """
    cols = dataset.members.columns
    for name, col in (("line", line), ("geography", geography)):
        if col not in cols:
            raise DataContractError(
                f"members has no column {col!r} for the portfolio's {name} "
                f"(pass {name}= one of: {', '.join(c for c in cols if c != 'member_id')})",
                column=col,
            )
    seg = segment if segment is not None and segment in cols else None
    keys = [line, geography, *([seg] if seg else [])]
    flags = member_stages(dataset, activation=activation, keep=keys, window=window,
                          horizon=horizon, engaged_until=min(30, horizon))  # fmt: skip
    t = flags.mutate(**{f"_k{i}": flags[k].cast("string").fill_null("(missing)")
                        for i, k in enumerate(keys)})  # fmt: skip
    kcols = [f"_k{i}" for i in range(len(keys))]
    agg = dict(
        members=t.count(),
        fees=t.fee_.sum(),
        obs_activated=t.obs_activated.sum(),
        activated=(t.is_activated * t.obs_activated).sum(),
        obs_retained=t.obs_retained.sum(),
        retained=(t.is_retained * t.obs_retained).sum(),
    )
    fine = t.group_by(kcols).agg(**agg).to_pandas()
    if fine.empty:
        raise DataContractError("the portfolio has no members to show")
    cells = fine.groupby(["_k0", "_k1"], as_index=False)[list(agg)].sum()
    cells["_k2"] = ""
    cells["level"] = "cell"
    parts = [cells]
    if seg:
        parts.append(fine.assign(level="segment"))
    f = pd.concat(parts, ignore_index=True)
    n = f["members"].to_numpy(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        retention = f["retained"].to_numpy(float) / f["obs_retained"].to_numpy(float)
        adoption = f["activated"].to_numpy(float) / f["obs_activated"].to_numpy(float)
        mean_fee = f["fees"].to_numpy(float) / n
    lo, hi = wilson_interval(f["retained"], f["obs_retained"], alpha=alpha)
    small = n < min_n
    is_cell = (f["level"] == "cell").to_numpy()
    ok = is_cell & ~small & np.isfinite(adoption)
    target = float(np.quantile(adoption[ok], TARGET_QUANTILE)) if ok.any() else float("nan")
    lines = f["_k0"].astype(str).to_numpy()
    geos = f["_k1"].astype(str).to_numpy()
    fee = np.where(np.isfinite(mean_fee), mean_fee, 1.0)
    score = np.full(len(f), np.nan)
    reasons = [""] * len(f)
    effect = activation_effect if activation_effect is not None else float("nan")
    for i in np.flatnonzero(ok):
        window_n = float(f["obs_activated"].iat[i])
        if np.isfinite(effect) and effect > 0:
            gap = max(0.0, target - adoption[i])
            kept = window_n * gap * effect
            score[i] = kept * fee[i]
            reasons[i] = (
                f"HVA adoption {adoption[i]:.0%} vs a {target:.0%} target; reaching it would keep "
                f"≈{kept:,.0f} more of {window_n:,.0f} members to day {horizon} "
                f"(HVA effect {effect:+.1%}), ≈{score[i]:,.0f} in monthly fees"
            )
        else:
            same = ok & (lines == lines[i])
            best = float(np.nanmax(retention[same]))
            kept = float(f["obs_retained"].iat[i]) * max(0.0, best - retention[i])
            score[i] = kept * fee[i]
            reasons[i] = (
                f"retention {retention[i]:.0%} vs {best:.0%} in the best {lines[i]} market; "
                f"closing the gap would keep ≈{kept:,.0f} members, ≈{score[i]:,.0f} in monthly fees"
            )
    exp_text, flight_text = _experiments_per_geo(geos, experiments)
    for i in np.flatnonzero(small):
        reasons[i] = f"only {n[i]:,} members (< {min_n}): not ranked"
    params = {
        "as_of": dataset.as_of,
        "line": line,
        "geography": geography,
        "segment": seg,
        "activation": list(activation) if activation is not None else "any benefit used",
        "activation_effect": activation_effect,
        "target_adoption": target,
        "target_quantile": TARGET_QUANTILE,
        "window_days": window,
        "horizon_days": horizon,
        "min_n": min_n,
        "alpha": alpha,
        "score": "members in window × max(0, target adoption − adoption) × HVA effect × mean fee",
    }
    order = np.lexsort((-np.nan_to_num(score, nan=-np.inf), ~is_cell))
    return PortfolioResult(
        level=tuple(f["level"].astype(str).to_numpy()[order].tolist()),
        line=tuple(lines[order].tolist()),
        geography=tuple(geos[order].tolist()),
        segment=tuple(f["_k2"].astype(str).to_numpy()[order].tolist()),
        members=n[order],
        retention=retention[order].astype(np.float64),
        retention_low=lo[order],
        retention_high=hi[order],
        adoption=adoption[order].astype(np.float64),
        monthly_fees=np.where(np.isfinite(mean_fee), f["fees"].to_numpy(float), np.nan)[order],
        experiments=tuple(np.asarray(exp_text, dtype=object)[order].tolist()),
        in_flight=tuple(np.asarray(flight_text, dtype=object)[order].tolist()),
        score=score[order],
        reason=tuple(np.asarray(reasons, dtype=object)[order].tolist()),
        small=small[order],
        params=params,
    )


def _experiments_per_geo(
    geos: np.ndarray[Any, Any], experiments: Sequence[ExperimentEvidence]
) -> tuple[list[str], list[str]]:
    """Per row: the experiments read in its geography (shrunk effect), and those in flight."""
    read: list[str] = []
    flight: list[str] = []
    for g in geos:
        here = [e for e in experiments if g in e.by_market]
        read.append(
            "; ".join(
                f"{e.name}: {e.variant} {e.by_market[g]:+.3g} on {e.metric} "
                f"({e.decision.replace('_', ' ')})"
                for e in here
            )
        )
        flight.append(", ".join(e.name for e in here if e.in_flight))
    return read, flight
