"""The landmark population and its outcome, as Ibis expressions.

Landmark design: only members still active at the end of the action window (``tenure_days >=
window``, with the window observed) are compared, so the window never overlaps the outcome.
For each such member the engine derives

* ``sid``: an integer stratum id from the adjustment covariates (member attributes and
  day-0 activity, capped) and the segment column;
* ``obs_h``: 1 when the horizon is observable (``observed_days >= horizon``);
* ``retained``: 1 when still a member at the horizon (``tenure_days >= horizon``);
* ``t``, ``event``: days from the landmark to churn or censoring, clipped at the horizon
  (``event`` = churned before the horizon), for Kaplan–Meier from the landmark.

Day-0 activity is the count of events on the signup day whose action is not a benefit action
(``benefit`` null) — activity before the window's choices can reflect the benefits — so
adjusting for it does not adjust away the treatment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir

from tenure.retention.curves import MISSING
from tenure.retention.spans import member_spans

LANDMARK_COLUMNS = ("sid", "obs_h", "retained", "t", "event")
"""Per-member columns of the landmark population besides ``member_id``."""

__all__ = [
    "ACTIVITY",
    "LANDMARK_COLUMNS",
    "Landmark",
    "landmark",
    "member_action_counts",
    "window_events",
]

ACTIVITY = "day0_activity"
"""Name of the derived covariate: pre-window (day-0, non-benefit) activity count, capped."""


@dataclass(frozen=True)
class Landmark:
    """The landmark population and its benefit-action window counts (both cached in the
    engine; ``counts`` rows carry the member's landmark columns), and how stratum ids decode.

    ``levels[c]`` lists covariate ``c``'s values in code order; ``sid = sum(code_c *
    radix[c])`` over ``factors`` (covariates, then the segment column when it is not one).
    """

    members: ir.Table
    counts: ir.Table
    actions: tuple[str, ...]
    benefits: dict[str, str]
    factors: tuple[str, ...]
    covariates: tuple[str, ...]
    levels: dict[str, list[str]]
    radix: dict[str, int]
    segment: str | None
    window: int
    horizon: int

    def release(self) -> None:
        """Drop the engine's cached tables (the landmark and the window counts)."""
        for t in (self.members, self.counts):
            release = getattr(t, "release", None)
            if release is not None:
                release()


def window_events(events: ir.Table, spans: ir.Table, window: int, early_days: int = 1) -> ir.Table:
    """Events in days ``[0, window)`` after signup, with the member's ``signup_at``, the end
    of their signup day ``day1_end`` and the end of their first ``early_days`` days
    ``early_end`` (pairs are actions both first used before it).

    Selected with timestamp comparisons only. The window's bounds are computed once per
    member, before the join: timestamp-with-zone arithmetic (or conversion to epoch numbers)
    on tens of millions of events costs more than the join itself.
    """
    bounds = spans.select(
        "member_id",
        "signup_at",
        window_end=spans.signup_at + ibis.interval(days=window),
        day1_end=spans.signup_at + ibis.interval(days=1),
        early_end=spans.signup_at + ibis.interval(days=early_days),
    )
    ev = events.join(bounds, "member_id")
    return ev.filter((ev.ts >= ev.signup_at) & (ev.ts < ev.window_end))


def member_action_counts(window_events: ir.Table) -> ir.Table:
    """Per (member, action, benefit): uses in the window ``n``, ``early`` (first used before
    ``early_end``), day-0 uses ``n0`` and ``is_benefit`` (the action carries a benefit; every
    action when there is no ``benefit`` column)."""
    ev = window_events
    if "benefit" not in ev.columns:
        ev = ev.mutate(benefit=ev.action)
    ev = ev.mutate(benefit=ev.benefit.cast("string"))
    out = ev.group_by(["member_id", "action", "benefit"]).agg(
        n=ev.count(),
        early=(ev.ts < ev.early_end).any(),
        n0=(ev.ts < ev.day1_end).cast("int64").sum(),
    )
    return out.mutate(is_benefit=out.benefit.notnull())


def landmark(
    members: ir.Table,
    events: ir.Table,
    as_of: datetime,
    *,
    window: int,
    horizon: int,
    covariates: Sequence[str] | None = None,
    segment: str | None = None,
    activity_cap: int = 6,
    early_days: int = 1,
) -> Landmark:
    """Build the landmark population with strata and outcomes, and the window counts.

    Two tables are cached in the engine (each computed once, reused by every aggregation):
    per (member, action) window counts and the landmark population; call
    :meth:`Landmark.release` when done.

    Parameters
    ----------
    members, events
        The dataset's tables.
    as_of
        End of observation.
    window, horizon
        Days: actions counted in ``[0, window)``; retention at ``horizon`` (> window).
    covariates
        Member attributes to adjust for; default the contract's ``channel``, ``country``,
        ``plan``, ``age_band`` present. Day-0 activity is always added.
    segment
        Attribute to report per-segment results by.
    activity_cap
        Day-0 activity is ``min(count, cap)``, one stratum level per value.
    early_days
        Window counts flag actions first used in days ``[0, early_days)`` (for pairs).
    """
    spans = member_spans(members, as_of)
    if covariates is None:
        covariates = [c for c in ("channel", "country", "plan", "age_band") if c in spans.columns]
    covs = tuple(covariates)
    counts = member_action_counts(window_events(events, spans, window, early_days)).cache()
    activity = counts.filter(~counts.is_benefit)
    d0 = activity.group_by("member_id").agg(_d0=activity.n0.sum())
    lm = spans.filter((spans.tenure_days >= window) & (spans.observed_days >= window))
    lm = lm.left_join(d0, "member_id").select(lm, d0._d0)
    labelled = {c: lm[c].cast("string").fill_null(MISSING) for c in covs}
    if segment is not None and segment not in covs:
        labelled[segment] = lm[segment].cast("string").fill_null(MISSING)
    labelled[ACTIVITY] = ibis.least(lm._d0.fill_null(0), activity_cap).cast("string")
    lm = lm.mutate(**labelled)
    factors = (*covs, ACTIVITY, *((segment,) if segment and segment not in covs else ()))
    levels = _levels(spans, factors, activity_cap)
    radix: dict[str, int] = {}
    mult = 1
    for f in factors:
        radix[f] = mult
        mult *= len(levels[f])
    sid = ibis.literal(0, type="int64")
    for f in factors:
        code = ibis.cases(*((lm[f] == v, i) for i, v in enumerate(levels[f])), else_=0)
        sid = sid + code.cast("int64") * radix[f]
    lm = lm.mutate(
        sid=sid,
        obs_h=(lm.observed_days >= horizon).cast("int64"),
        retained=(lm.tenure_days >= horizon).cast("int64"),
        t=ibis.least(lm.tenure_days, horizon) - window,
        event=((lm.ended == 1) & (lm.tenure_days < horizon)).cast("int64"),
    ).select("member_id", *LANDMARK_COLUMNS)
    benefit = counts.filter(counts.is_benefit)
    pairs = benefit.select("action", "benefit").distinct().to_pyarrow().to_pydict()
    benefits = dict(zip(map(str, pairs["action"]), map(str, pairs["benefit"]), strict=True))
    actions = sorted(benefits)
    codes = ibis.memtable({"action": actions, "a": list(range(len(actions)))})
    lm = lm.cache()
    # Each benefit-action row carries its member's landmark attributes, so candidate rows
    # never need joining back to the landmark by member id.
    benefit = benefit.join(codes, "action").join(lm, "member_id")
    benefit = benefit.select("member_id", "a", "n", "early", *LANDMARK_COLUMNS).cache()
    release = getattr(counts, "release", None)
    if release is not None:
        release()
    return Landmark(
        lm,
        benefit,
        tuple(actions),
        benefits,
        factors,
        (*covs, ACTIVITY),
        levels,
        radix,
        segment,
        window,
        horizon,
    )


def _levels(spans: ir.Table, factors: Sequence[str], cap: int) -> dict[str, list[str]]:
    """Observed values of each factor (a small distinct query on members per attribute)."""
    out: dict[str, list[str]] = {ACTIVITY: [str(i) for i in range(cap + 1)]}
    for f in factors:
        if f == ACTIVITY:
            continue
        col = spans[f].cast("string").fill_null(MISSING).name(f)
        values = spans.select(col).distinct().to_pyarrow().column(0).to_pylist()
        out[f] = sorted(str(v) for v in values)
    return out
