"""`find_workarounds`: mine, merge, size and rank the multi-step patterns of an events table.

1. The engine cuts the events to the ones that can be part of a pattern
   (:func:`~tenure.opportunities.sequences.linked_events`).
2. Episodes with ``<exit>`` steps are built in numpy
   (:func:`~tenure.opportunities.sequences.episodes`).
3. PrefixSpan with a gap and a span limit finds every frequent pattern
   (:func:`~tenure.opportunities.prefixspan.prefixspan`).
4. **Merging.** Every pattern of the shape *export-like → … → <exit> → … → brings back*
   belongs to the workaround ``(export, <exit>, bring back)``: its other steps are ways back
   in, reported as variant shares with the kinds of exit, not as rows. Every other pattern is
   dropped when a longer pattern containing it is done by at least ``closed_ratio`` of its
   members (the closed-pattern rule, so ``a → b`` does not repeat ``a → b → c``).
5. **Sizing and score** (:mod:`~tenure.opportunities.sizing`, :data:`SCORE_FORMULA`), and
   for workarounds the adjusted associations with retention and with the publish rate after
   the window (:mod:`~tenure.opportunities.association`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.errors import DataContractError, SpecError
from tenure.opportunities.adjustment import adjustment_table
from tenure.opportunities.association import (
    DEFAULT_FOLLOW_UP,
    publish_rate_association,
    retention_association,
)
from tenure.opportunities.prefixspan import Pattern, distinct, prefixspan
from tenure.opportunities.result import SCORE_FORMULA, Opportunity, OpportunityResult
from tenure.opportunities.roles import EXIT, StepRoles
from tenure.opportunities.sequences import Episodes, episodes, linked_events
from tenure.opportunities.sizing import (
    hours_saved_interval,
    occurrences,
    trend_per_week,
    variants,
)
from tenure.store import Dataset

__all__ = ["DEFAULT_SHAPE_WEIGHTS", "find_workarounds"]

DEFAULT_SHAPE_WEIGHTS: Mapping[str, float] = {"workaround": 1.0, "leaves_app": 0.1, "in_app": 0.02}


def _is_subsequence(p: tuple[int, ...], q: tuple[int, ...]) -> bool:
    it = iter(q)
    return all(any(x == y for y in it) for x in p)


def _shape(items: tuple[int, ...], db: Episodes) -> tuple[str, tuple[int, int] | None]:
    """The pattern's shape and, for a workaround, its (export, bring back) pair."""
    roles = [db.roles[i] for i in items]
    exits = [k for k, i in enumerate(items) if i == db.exit_code]
    for a, ra in enumerate(roles):
        if ra != "export":
            continue
        for b in range(len(items) - 1, a, -1):
            if roles[b] == "bring_back" and any(a < e < b for e in exits):
                return "workaround", (items[a], items[b])
    return ("leaves_app" if exits else "in_app"), None


def find_workarounds(
    dataset: Dataset,
    *,
    roles: StepRoles | None = None,
    min_support: float = 0.005,
    min_members: int | None = None,
    max_len: int = 5,
    max_gap: float = 3600.0,
    max_span: float = 7200.0,
    exit_gap: float = 120.0,
    session_gap: float = 1800.0,
    one_step_seconds: float = 30.0,
    shape_weights: Mapping[str, float] | None = None,
    closed_ratio: float = 0.9,
    top: int = 20,
    heavy_quantile: float = 0.9,
    window: int = 28,
    horizon: int = 90,
    covariates: Sequence[str] | None = None,
    associate: bool = True,
    publish_action: str | None = None,
    follow_up: int = DEFAULT_FOLLOW_UP,
    alpha: float = 0.05,
    random_state: int = 0,
) -> OpportunityResult:
    """Find frequent multi-step patterns, merge their variants, size and rank them.

    Parameters
    ----------
    dataset
        From :func:`tenure.store.connect`; needs an events table (``session_id`` and
        ``duration_s`` are used when present).
    roles
        How export-like, exit, return and bring-back steps are recognised
        (:class:`~tenure.opportunities.roles.StepRoles`; default: name rules).
    min_support, min_members
        A pattern must be done by at least ``min_members`` members (default:
        ``min_support`` × members with events, at least 2). One occurrence makes a member count.
    max_len
        Longest pattern in steps (``<exit>`` counts as a step).
    max_gap, max_span
        Seconds allowed between consecutive steps, and from the first step to the last.
    exit_gap, session_gap
        A gap of at least ``exit_gap`` seconds is an exit inside a session; without
        ``session_id``, a gap of at least ``session_gap`` seconds starts a new session.
    one_step_seconds
        What one occurrence would take if the flow were a single native step.
    shape_weights
        Score weight per shape (default :data:`DEFAULT_SHAPE_WEIGHTS`).
    closed_ratio
        A pattern is dropped when a longer one containing it keeps this share of its members.
    top
        Patterns reported.
    heavy_quantile
        Heavy users are members above this quantile of events per member.
    window, horizon, covariates, associate
        The associations of workarounds with retention and publishing (see
        :mod:`~tenure.opportunities.association`); ``associate=False`` skips them. The
        landmark is day 28 by default, not the HVA's day 7: a workaround is a habit members
        form over their first weeks, rarely something done in the first session.
        ``covariates`` are member attributes (default: every eligible column).
    publish_action, follow_up
        The action counted as a publish (default: each workaround's bring-back step) and the
        days after the window over which publishes per member-week are compared.
    alpha
        One minus the coverage of the intervals.
    random_state
        Seed of the bootstrap.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from tenure.simulate import WorldConfig, simulate_world
    >>> from tenure.store import connect
    >>> with tempfile.TemporaryDirectory() as d:  # doctest: +SKIP
    ...     _ = simulate_world(Path(d), WorldConfig(n_members=5_000, seed=3, product_bets=True))
    ...     result = find_workarounds(connect(d))
    ...     result.opportunities[0].steps
    ('video.download', '<exit>', 'video.upload')
    """
    _check(min_support, max_len, max_gap, max_span, exit_gap, session_gap, closed_ratio, top)
    if follow_up < 1:
        raise SpecError(f"--follow-up must be at least 1 day, got {follow_up}")
    roles = roles or StepRoles()
    weights = {**DEFAULT_SHAPE_WEIGHTS, **(shape_weights or {})}
    events = dataset.table("events")
    stats = events.aggregate(
        n_members=events.member_id.nunique(), t0=events.ts.min(), t1=events.ts.max()
    ).to_pyarrow()
    n_members = int(stats["n_members"][0].as_py() or 0)
    if n_members == 0:
        raise DataContractError(f"the events table of {dataset.source} is empty: nothing to mine")
    t0 = stats["t0"][0].as_py().timestamp()
    t1 = stats["t1"][0].as_py().timestamp()
    weeks = max((t1 - t0) / (7 * 86_400.0), 1.0 / 7.0)
    need = max(min_members if min_members is not None else math.ceil(min_support * n_members), 2)
    params: dict[str, Any] = {
        "min_members": need,
        "max_len": max_len,
        "max_gap_s": max_gap,
        "max_span_s": max_span,
        "exit_gap_s": exit_gap,
        "session_gap_s": session_gap,
        "sessions": "session_id" if "session_id" in events.columns else "gaps in ts",
        "duration_s": "duration_s" in events.columns,
        "one_step_seconds": one_step_seconds,
        "closed_ratio": closed_ratio,
        "heavy_quantile": heavy_quantile,
        "alpha": alpha,
        "score_formula": SCORE_FORMULA.format(**weights),
        "shape_weights": weights,
        "roles": roles.describe(),
        "window_days": window,
        "horizon_days": horizon,
        "follow_up_days": follow_up,
        "publish_action": publish_action or "the workaround's bring-back step",
    }
    if publish_action is not None and associate:
        hit = events.filter(events.action == publish_action).limit(1).count().to_pyarrow()
        if not hit.as_py():
            raise SpecError(
                f"--publish-action {publish_action!r}: no event in {dataset.source} has that "
                "action (give the action that publishes, e.g. video.upload)"
            )

    linked = linked_events(events, max_gap=max_gap, min_members=need)
    db = episodes(
        linked,
        roles,
        max_gap=max_gap,
        exit_gap=exit_gap,
        session_gap=session_gap,
        max_len=max(4 * max_len, 20),
    )
    patterns = prefixspan(db, min_members=need, max_len=max_len, max_gap=max_gap, max_span=max_span)
    params["patterns_mined"] = len(patterns)
    if not patterns:
        params["note"] = (
            f"no multi-step pattern is done by at least {need} members within "
            f"{max_gap:.0f} s between steps: lower --min-support or widen --max-gap"
        )
        return OpportunityResult((), weeks, n_members, params)

    chosen = _merge(patterns, db, closed_ratio)
    # Rank on the cheap figures first; the bootstrap, variants and association run for the
    # reported rows only.
    sized = []
    for p, shape, merged in chosen:
        occ = occurrences(db, p)
        if occ.seconds.shape[0] == 0:
            continue
        saved = np.maximum(occ.seconds - one_step_seconds, 0.0)
        hours_saved = float(saved.sum() / 3600.0 / weeks)
        sized.append((hours_saved * weights[shape], p, shape, merged, occ, saved, hours_saved))
    sized.sort(key=lambda r: (-r[0], tuple(db.symbols[i] for i in r[1].items)))
    heavy = _heavy_members(events, db, heavy_quantile)
    rng = np.random.default_rng(random_state)
    found: list[Opportunity] = []
    for score, p, shape, merged, occ, saved, hours_saved in sized[:top]:
        uniq = distinct(occ.member)
        q = np.quantile(occ.seconds, [0.1, 0.25, 0.5, 0.75, 0.9])
        retention = publish = None
        if associate and shape == "workaround":
            order = np.argsort(occ.start_t, kind="stable")
            members_sorted, starts_sorted = occ.member[order], occ.start_t[order]
            _, first_idx = np.unique(members_sorted, return_index=True)
            first_start = {
                db.members[m]: t
                for m, t in zip(
                    members_sorted[first_idx].tolist(),
                    starts_sorted[first_idx].tolist(),
                    strict=True,
                )
            }
            steps = tuple(db.symbols[i] for i in p.items)
            own_steps = [s for s in steps if s != EXIT]
            occ_members = [db.members[m] for m in occ.member.tolist()]
            adj = adjustment_table(
                dataset,
                window=window,
                exclude_actions=own_steps,
                covariates=covariates,
                own_spans=(occ_members, db.t[occ.first], db.t[occ.last]),
            )
            try:
                retention = retention_association(
                    dataset,
                    first_start,
                    window=window,
                    horizon=horizon,
                    exclude_actions=own_steps,
                    alpha=alpha,
                    adjustment=adj,
                )
                action = publish_action or steps[-1]
                own = action == steps[-1]
                publish = publish_rate_association(
                    dataset,
                    first_start,
                    publish_action=action,
                    own_publish_member=occ_members if own else (),
                    own_publish_t=db.t[occ.last] if own else None,
                    window=window,
                    follow_up=follow_up,
                    exclude_actions=own_steps,
                    alpha=alpha,
                    adjustment=adj,
                )
            finally:
                adj.release()
        steps = tuple(db.symbols[i] for i in p.items)
        found.append(
            Opportunity(
                steps=steps,
                shape=shape,
                members=int(uniq.shape[0]),
                occurrences=int(occ.seconds.shape[0]),
                occurrences_per_week=float(occ.seconds.shape[0] / weeks),
                median_seconds=float(q[2]),
                seconds_quantiles=dict(
                    zip(("p10", "p25", "p50", "p75", "p90"), map(float, q), strict=True)
                ),
                hours_per_week=float(occ.seconds.sum() / 3600.0 / weeks),
                hours_saved_per_week=hours_saved,
                hours_saved_ci=hours_saved_interval(occ.member, saved, weeks, alpha=alpha, rng=rng),
                heavy_user_share=float(heavy[uniq].mean()),
                trend_per_week=trend_per_week(occ.start_t, t0, t1),
                variants=variants(db, occ) if EXIT in steps else {},
                merged_patterns=merged,
                retention=retention,
                publish_rate=publish,
                score=score,
            )
        )
    return OpportunityResult(tuple(found), weeks, n_members, params)


def _merge(
    patterns: list[Pattern], db: Episodes, closed_ratio: float
) -> list[tuple[Pattern, str, int]]:
    """Workaround variants folded into their canonical pattern; other patterns kept if closed."""
    by_items = {p.items: p for p in patterns}
    shapes = {p.items: _shape(p.items, db) for p in patterns}
    groups: dict[tuple[int, int], int] = {}
    for shape, pair in shapes.values():
        if shape == "workaround" and pair is not None:
            groups[pair] = groups.get(pair, 0) + 1
    out: list[tuple[Pattern, str, int]] = []
    canon_items: list[tuple[int, ...]] = []
    for (a, b), count in groups.items():
        canon = by_items.get((a, db.exit_code, b))
        if canon is not None:
            out.append((canon, "workaround", count))
            canon_items.append(canon.items)
    workaround_like = [p for p in patterns if shapes[p.items][0] == "workaround"]
    others = [p for p in patterns if shapes[p.items][0] != "workaround"]
    longer_first = sorted(patterns, key=lambda p: -len(p.items))
    for p in others:
        absorbed = any(
            len(q.items) > len(p.items)
            and q.members >= closed_ratio * p.members
            and _is_subsequence(p.items, q.items)
            for q in (workaround_like + longer_first)
        )
        if not absorbed:
            out.append((p, shapes[p.items][0], 1))
    return out


def _heavy_members(events: Any, db: Episodes, quantile: float) -> np.ndarray:
    """Per member of `db`: is it a heavy user (above `quantile` of events per member)?"""
    counts = events.group_by("member_id").agg(n=events.count()).to_pyarrow()
    n = counts["n"].to_numpy().astype(np.float64)
    cut = float(np.quantile(n, quantile)) if n.shape[0] else math.inf
    heavy_ids = pc.filter(counts["member_id"], pc.greater(counts["n"], cut))
    flags = pc.is_in(pa.array(db.members, type=pa.string()), value_set=heavy_ids.combine_chunks())
    return np.asarray(flags.to_numpy(zero_copy_only=False), dtype=bool)


def _check(
    min_support: float,
    max_len: int,
    max_gap: float,
    max_span: float,
    exit_gap: float,
    session_gap: float,
    closed_ratio: float,
    top: int,
) -> None:
    if not 0.0 < min_support < 1.0:
        raise SpecError(f"--min-support must be in (0, 1), got {min_support}")
    if max_len < 2:
        raise SpecError(f"--max-len must be at least 2 steps, got {max_len}")
    if not 0 < exit_gap <= max_gap <= max_span:
        raise SpecError(
            f"need 0 < --exit-gap ({exit_gap}) <= --max-gap ({max_gap}) <= --max-span ({max_span})"
        )
    if session_gap < exit_gap:
        raise SpecError(f"--session-gap ({session_gap}) must be at least --exit-gap ({exit_gap})")
    if not 0.0 < closed_ratio <= 1.0:
        raise SpecError(f"closed_ratio must be in (0, 1], got {closed_ratio}")
    if top < 1:
        raise SpecError(f"--top must be positive, got {top}")
