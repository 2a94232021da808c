"""High-value-action discovery: which early behaviours keep members, for whom, and which to push.

::

    from tenure.hva import discover
    result = discover(connect("world/"), window=7, horizon=90, by="country")
    result.shortlist()          # the few actions to act on
    result.to_frame()           # every candidate, with diagnostics

Pipeline: :mod:`~tenure.hva.features` builds the landmark population and its strata (one
Ibis pass over events keyed by an integer member index, :mod:`~tenure.hva.window`, cached in
the engine; then numpy); :mod:`~tenure.hva.aggregate` reads the window uses back in batches of
whole members (:mod:`~tenure.hva.uses`) and turns them into small count tables (numpy);
:mod:`~tenure.hva.within` fits the member-level index of what the strata leave out;
:mod:`~tenure.hva.estimate` computes every contrast's naive and adjusted effect with its
diagnostics from the counts and the pure :class:`~tenure.hva.design.LandmarkDesign`;
:mod:`~tenure.hva.score` ranks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tenure.errors import DataContractError, SpecError
from tenure.hva.aggregate import HvaCounts, aggregate_counts
from tenure.hva.candidates import DEFAULT_THRESHOLDS, Candidate, CandidateKind, Segment
from tenure.hva.design import ACTIVITY, DAY0, HISTORY, Factor, LandmarkDesign
from tenure.hva.estimate import build_arms, estimate_effects
from tenure.hva.features import landmark
from tenure.hva.result import Balance, Guards, HvaEstimate, HvaResult
from tenure.hva.score import FORMULA, ScoreWeights, score_estimates
from tenure.stats.ipw import EffectMethod
from tenure.store import Dataset

__all__ = [
    "ACTIVITY",
    "DAY0",
    "FORMULA",
    "HISTORY",
    "Balance",
    "Candidate",
    "CandidateKind",
    "Factor",
    "Guards",
    "HvaCounts",
    "HvaEstimate",
    "HvaResult",
    "LandmarkDesign",
    "ScoreWeights",
    "Segment",
    "discover",
]


def _sort_key(e: HvaEstimate) -> tuple[Any, ...]:
    score = e.score if e.score == e.score else float("-inf")
    adj = e.adjusted_diff if e.adjusted_diff == e.adjusted_diff else float("-inf")
    seg = "" if e.segment is None else e.segment.value
    return (e.segment is not None, seg, -score, -adj)


def discover(
    dataset: Dataset,
    *,
    window: int = 7,
    horizon: int = 90,
    by: str | None = None,
    min_support: float = 0.005,
    adjust_for: Sequence[str] | None = None,
    covariates: Sequence[str] | None = None,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    pair_days: int | None = None,
    max_distinct: int = 12,
    method: EffectMethod = "aipw",
    weights: ScoreWeights | None = None,
    ease_of_encouraging: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    inference: Any | None = None,
    guards: Guards | None = None,
    activity_bins: int = 16,
    number_bins: int = 5,
    max_strata: int = 100_000,
    activity_days: int | None = None,
    timing: bool = False,
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
        Retention is measured at day ``horizon`` (``> window``); it must be observable for
        some members (the error names the latest observable horizon).
    by
        Member attribute for per-segment results.
    min_support
        Minimum share of the landmark population (of the segment) doing a candidate.
    adjust_for
        Member attributes to adjust for; default every eligible member column (see
        :mod:`tenure.hva.features`). Day-0 activity (without the candidate's own events) and,
        when present, pre-signup history are always added. ``covariates`` is the old name.
    thresholds, pair_days, max_distinct
        Candidate families, see :mod:`tenure.hva.candidates`. Pairs are both actions first
        used within ``pair_days`` (default: the window; ``0`` drops pairs). With
        ``pair_days`` shorter than the window, a pair's arms are still adjusted for activity
        without the two actions' early use only (later uses stay in the covariate).
    method
        ``"aipw"`` (doubly robust, default) or ``"ipw"``.
    weights, ease_of_encouraging
        Score options, see :mod:`tenure.hva.score`.
    alpha, inference
        One minus the interval coverage, also the q-value cut; an
        :class:`tenure.settings.Inference` overrides ``alpha``.
    guards
        Diagnostic thresholds (:class:`Guards`).
    timing
        Also estimate, per action and day *k* of the window, "first used on day *k* vs not
        in the window" (the "as soon as possible?" question; one candidate per action and
        day, so the models' cost grows by the window's length).
    activity_days
        Days of early activity read as the engagement covariate (default: the window; the
        signup day is always read as well). ``1`` reads the signup day only.
    activity_bins, number_bins, max_strata
        Resolution of the engagement proxies and of continuous attributes, and the bound on
        possible strata that caps the models' cost (see :func:`tenure.hva.features.landmark`).
    """
    if inference is not None:
        alpha = float(inference.alpha)
    pair_days = window if pair_days is None else pair_days
    if not 0 < window < horizon:
        raise SpecError(f"need 0 < window < horizon, got --window {window}, --horizon {horizon}")
    if not 0.0 <= min_support < 1.0:
        raise SpecError(f"--min-support must be in [0, 1), got {min_support}")
    if not 0.0 < alpha < 0.5:
        raise SpecError(f"alpha must be in (0, 0.5), got {alpha}")
    guards = guards or Guards()
    events = dataset.table("events")
    members = dataset.members
    if by is not None and by not in members.columns:
        raise DataContractError(f"--by {by!r}: members has no such column")
    lm = landmark(
        members,
        events,
        dataset.as_of,
        window=window,
        horizon=horizon,
        adjust_for=adjust_for if adjust_for is not None else covariates,
        segment=by,
        early_days=max(pair_days, 1),
        thresholds=thresholds,
        max_bins=activity_bins,
        number_bins=number_bins,
        max_strata=max_strata,
        activity_days=activity_days,
    )
    try:
        if not lm.actions:
            raise DataContractError(
                f"events: no candidate action is used in the first {window} days of any "
                "membership (with a benefit column, only actions with a benefit are candidates)"
            )
        counts = aggregate_counts(lm, pairs=pair_days > 0, max_distinct=max_distinct, timing=timing)
    finally:
        lm.release()
    # From here only the small parts of the landmark are needed: its per-member and per-use
    # arrays (the bulk of the memory at a million members) are dropped before the models.
    design, benefits, notes, latest = lm.design, lm.benefits, lm.notes, lm.latest_horizon
    within = dict(zip(lm.within.names, lm.within.coef, strict=True))
    actions, ks = lm.actions, lm.thresholds
    del lm
    arms = build_arms(
        counts, design, actions, ks, pairs=pair_days > 0,
        max_distinct=max_distinct, min_support=min_support if by is None else 0.0,
    )  # fmt: skip
    del counts
    rows = estimate_effects(
        arms, design, alpha=alpha, min_support=min_support, method=method, guards=guards
    )
    del arms
    rows = score_estimates(
        rows,
        fee=_mean_fee(dataset),
        cost_per_use=_costs(dataset, benefits),
        weights=weights,
        ease_of_encouraging=ease_of_encouraging,
        alpha=alpha,
    )
    rows.sort(key=_sort_key)
    w = weights or ScoreWeights()
    params = {
        "window_days": window,
        "horizon_days": horizon,
        "alpha": alpha,
        "confidence": 1.0 - alpha,
        "by": by,
        "method": method,
        "adjust_for": list(design.covariates),
        "adjustment_explicit": adjust_for is not None or covariates is not None,
        "min_support": min_support,
        "thresholds": list(ks),
        "pair_days": pair_days,
        "timing": timing,
        "guards": guards,
        "score_weights": w,
        "formula": FORMULA,
        "latest_observable_horizon": latest,
        "censoring": "IPCW: observability modelled on the covariates and arm; standardised over every landmark member",
        "interval": "Newcombe hybrid score interval on effective sizes",
        "within_stratum": within,
    }
    return HvaResult(params=params, estimates=tuple(rows), warnings=notes)


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
