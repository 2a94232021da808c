"""High-value-action discovery: which early behaviours keep members, for whom, and which to push.

::

    from tenure.hva import discover
    result = discover(connect("world/"), window=7, horizon=90, by="country")
    result.to_frame().query("is_hva").head()

Pipeline: :mod:`~tenure.hva.features` (landmark population, strata, outcomes) and
:mod:`~tenure.hva.candidates` (treated rows per candidate) are Ibis expressions;
:mod:`~tenure.hva.aggregate` materialises four small count tables;
:mod:`~tenure.hva.estimate` computes naive and adjusted effects, q-values and E-values in
numpy; :mod:`~tenure.hva.score` ranks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tenure.errors import DataContractError, SpecError
from tenure.hva.aggregate import aggregate_counts
from tenure.hva.candidates import DEFAULT_THRESHOLDS, treated_rows
from tenure.hva.estimate import estimate_effects
from tenure.hva.features import LANDMARK_COLUMNS, landmark
from tenure.hva.score import FORMULA, ScoreWeights, score_candidates
from tenure.stats.ipw import EffectMethod
from tenure.store import Dataset

__all__ = ["FORMULA", "HvaResult", "ScoreWeights", "discover"]


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


@dataclass(frozen=True)
class HvaResult:
    """Every candidate's support, naive and adjusted effect, q-value, E-value and score.

    ``table`` has one row per (segment, candidate), overall rows (``segment`` None) first,
    each segment sorted by score (best first).
    """

    window_days: int
    horizon_days: int
    by: str | None
    table: pd.DataFrame
    covariates: tuple[str, ...]
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    formula: str = FORMULA

    def to_frame(self) -> pd.DataFrame:
        """The full table (more columns than the JSON: ratios, arms' retention, status)."""
        return self.table.copy()

    def hvas(self, segment: str | None = None) -> pd.DataFrame:
        """Rows flagged as high-value actions for one segment (``None``: overall)."""
        t = self.table
        rows = t[t["segment"].isna()] if segment is None else t[t["segment"] == segment]
        return rows[rows["is_hva"]]

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure hva --json`` document."""
        return {
            "window_days": self.window_days,
            "horizon_days": self.horizon_days,
            "candidates": [
                {
                    "candidate": r.candidate,
                    "kind": r.kind,
                    "segment": None if pd.isna(r.segment) else r.segment,
                    "support": float(r.support),
                    "naive_diff": _num(r.naive_diff),
                    "naive_ci": [_num(r.naive_low), _num(r.naive_high)],
                    "adjusted_diff": _num(r.adjusted_diff),
                    "adjusted_ci": [_num(r.adjusted_low), _num(r.adjusted_high)],
                    "q_value": _num(r.q_value),
                    "e_value": _num(r.e_value),
                    "score": _num(r.score),
                }
                for r in self.table.itertuples(index=False)
            ],
        }


def discover(
    dataset: Dataset,
    *,
    window: int = 7,
    horizon: int = 90,
    by: str | None = None,
    min_support: float = 0.005,
    covariates: Sequence[str] | None = None,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    pair_days: int = 1,
    max_distinct: int = 12,
    method: EffectMethod = "aipw",
    weights: ScoreWeights | None = None,
    ease_of_encouraging: Mapping[str, float] | None = None,
    alpha: float = 0.05,
) -> HvaResult:
    """Find the early actions that keep members (landmark design, adjusted effects).

    Parameters
    ----------
    dataset
        From :func:`tenure.store.connect`; needs an events table.
    window
        Actions are counted in days ``[0, window)`` after signup; only members still active
        at day ``window`` are compared.
    horizon
        Retention is measured at day ``horizon`` (``> window``).
    by
        Member attribute for per-segment results.
    min_support
        Minimum share of the landmark population (of the segment) doing a candidate.
    covariates
        Adjustment attributes (default: channel, country, plan, age_band when present);
        day-0 activity is always added.
    thresholds, pair_days, max_distinct
        Candidate families, see :mod:`tenure.hva.candidates`.
    method
        ``"aipw"`` (doubly robust, default) or ``"ipw"``.
    weights, ease_of_encouraging
        Score options, see :mod:`tenure.hva.score`.
    alpha
        One minus the interval coverage; also the q-value cut for ``is_hva``.
    """
    if not 0 < window < horizon:
        raise SpecError(f"need 0 < window < horizon, got window={window}, horizon={horizon}")
    if not 0.0 <= min_support < 1.0:
        raise SpecError(f"min_support must be in [0, 1), got {min_support}")
    events = dataset.table("events")
    members = dataset.members
    if by is not None and by not in members.columns:
        raise DataContractError(f"members has no column {by!r} to split by")
    lm = landmark(
        members,
        events,
        dataset.as_of,
        window=window,
        horizon=horizon,
        covariates=covariates,
        segment=by,
        early_days=max(pair_days, 1),
    )
    try:
        if not lm.actions:
            raise DataContractError(
                f"no benefit action is used in the first {window} days of any membership"
            )
        treated = treated_rows(
            lm.counts,
            lm.actions,
            thresholds=thresholds,
            pairs=pair_days > 0,
            max_distinct=max_distinct,
            carry=LANDMARK_COLUMNS,
        )
        counts = aggregate_counts(lm, treated)
    finally:
        lm.release()
    table = estimate_effects(counts, lm, alpha=alpha, min_support=min_support, method=method)
    fee = _mean_fee(dataset)
    table = score_candidates(
        table,
        fee=fee,
        cost_per_use=_costs(dataset, lm.benefits),
        weights=weights,
        ease_of_encouraging=ease_of_encouraging,
        alpha=alpha,
    )
    if not table.empty:
        table["_overall"] = table["segment"].isna()
        table = table.sort_values(
            ["_overall", "segment", "score", "adjusted_diff"],
            ascending=[False, True, False, False],
            na_position="last",
            ignore_index=True,
        ).drop(columns="_overall")
    return HvaResult(window, horizon, by, table, lm.covariates, weights or ScoreWeights())


def _mean_fee(dataset: Dataset) -> float:
    """Mean fee per period over members (1.0 when there is no fee: value in members kept)."""
    if "fee" not in dataset.members.columns:
        return 1.0
    value = dataset.members.fee.mean().to_pyarrow().as_py()
    return float(value) if value is not None else 1.0


def _costs(dataset: Dataset, benefits: Mapping[str, str]) -> dict[str, float]:
    """Cost per use of each action: the catalogue's cost of the benefit the action carries."""
    cat = dataset.benefits
    if cat is None or "cost_per_use" not in cat.columns or "benefit" not in cat.columns:
        return {}
    cost = dict(zip(cat["benefit"].astype(str), cat["cost_per_use"].astype(float), strict=True))
    return {a: cost[b] for a, b in benefits.items() if b in cost}
