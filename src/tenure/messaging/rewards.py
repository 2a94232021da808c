"""Delayed rewards joined in the engine: did the member use the promoted benefit in time?

A decision's reward is an event in a window after it — by default, any action of the
promoted benefit within ``window_days`` — found by one join of the exposures log with the
events table in the engine (DuckDB by default), which returns one small row per decision.
A decision whose window has closed by ``as_of`` without such an event gets ``default``; one
whose window is still open is *pending* (reward null), never a silent zero.

A pending decision need not wait for its window to close to be learned from. Each row also
carries ``elapsed_days`` (whole days from the decision to ``as_of``) and ``event_day`` (the
day of the window the benefit was first used, null if not yet), and :func:`seen_share` turns
them into the share :math:`F(e)` of eventual successes that are already visible ``e`` days
in. :class:`~tenure.messaging.policies.thompson.ThompsonPolicy` then counts a success the
day it happens and an open window's "not yet" as only :math:`F(e)` of a failure (its
``seen`` column). With a 7-day reward this is the difference between learning from day one
and learning from day eight (measured in ``tenure.messaging.loop``).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray
from tenure.errors import DataContractError, SpecError
from tenure.messaging.catalogue import Catalogue
from tenure.store import Dataset

__all__ = ["join_rewards", "seen_share"]


def seen_share(
    elapsed_days: npt.ArrayLike, event_day: npt.ArrayLike, window_days: int
) -> FloatArray:
    r"""Per decision, the share of eventual successes already visible after its elapsed days.

    The time from a decision to the first use of the promoted benefit is estimated by a
    discrete Kaplan–Meier over every decision (open windows censored at their elapsed days):
    the hazard of day :math:`j` is :math:`h_j = d_j / r_j` (first uses on day :math:`j` over
    decisions still without one and observed that long), :math:`S(k) = \prod_{j \le k}(1 - h_j)`,
    and

    .. math::

        F(e) = rac{1 - S(e)}{1 - S(W)},

    the probability that a success within the window :math:`W` has happened by day
    :math:`e` — exact when the timing of use does not depend on the creative. A day no
    decision has reached yet repeats the last estimated hazard; with no first use seen at
    all, timing is taken as uniform (:math:`F(e) = e / W`). Windows that have closed get 1.

    Parameters
    ----------
    elapsed_days
        Whole days since each decision (``>= 1``).
    event_day
        Day of the window (``1..W``) the benefit was first used; NaN if not (yet).
    window_days
        The reward window :math:`W`.

    Examples
    --------
    >>> import numpy as np
    >>> seen_share([1, 2, 7, 7], [np.nan, 1, 1, np.nan], 7).round(3).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> f = seen_share([1, 2, 3, 7, 7, 7, 7], [np.nan, np.nan, np.nan, 1, 2, 4, np.nan], 7)
    >>> f.round(3).tolist()  # day 1: 1/7 of the 0.657 who will use it within the window
    [0.217, 0.478, 0.478, 1.0, 1.0, 1.0, 1.0]
    """
    e = np.asarray(elapsed_days, dtype=np.float64)
    t = np.asarray(event_day, dtype=np.float64)
    w = int(window_days)
    if w < 1:
        raise ValueError(f"window_days: must be at least 1, got {window_days}")
    hazard = np.full(w, np.nan)
    for j in range(1, w + 1):
        at_risk = np.sum((e >= j) & ~(t < j))
        if at_risk:
            hazard[j - 1] = np.sum(t == j) / at_risk
    known = np.flatnonzero(np.isfinite(hazard))
    if known.size == 0 or np.nansum(hazard) == 0:
        cdf = np.arange(1, w + 1) / w
    else:
        hazard[known[-1] + 1 :] = hazard[known[-1]]
        surv = np.cumprod(1 - hazard)
        cdf = (1 - surv) / (1 - surv[-1]) if surv[-1] < 1 else np.arange(1, w + 1) / w
    k = np.clip(e, 1, w).astype(np.int64)
    return np.asarray(np.where(e >= w, 1.0, np.maximum(cdf[k - 1], 1e-3)), dtype=np.float64)


def join_rewards(
    dataset: Dataset,
    catalogue: Catalogue,
    *,
    window_days: int = 7,
    default: float = 0.0,
    as_of: datetime | None = None,
    horizon_days: int | None = None,
) -> pd.DataFrame:
    """The exposures log with ``reward`` and ``status`` and the creatives' factor columns.

    ``status`` is ``joined`` (the benefit was used in the window: reward 1), ``default``
    (the window closed without it) or ``pending`` (the window is still open: reward null).
    ``elapsed_days`` and ``event_day`` (whole days, rounded up; null without a use) feed
    :func:`seen_share`, so open windows can be learned from without bias.
    Rows with no creative (nothing was eligible) are dropped. The factor columns
    (``message``, ``image``, ``cta``, ``benefit``) come from the catalogue, so the result is
    what ``tenure policy train`` reads.

    With ``horizon_days``, each decision also gets what a surrogate index of retention needs
    (:func:`tenure.messaging.surrogate_reward.fit_surrogate_index`), joined from the members
    table in the engine: ``horizon_reached`` (the decision is ``horizon_days`` old by
    ``as_of``), ``retained`` (still a member then) and the member's ``member_country`` and
    ``member_plan``.
    """
    x = dataset.table("exposures")
    e = dataset.table("events")
    end = as_of or dataset.as_of
    known = {c.id: c for c in catalogue.all_creatives}
    creatives = pd.DataFrame(
        [
            {"variant": c.id, "message": c.message, "image": c.image, "cta": c.cta,
             "benefit": c.benefit}
            for c in known.values()
        ]
    )  # fmt: skip
    actions = pd.DataFrame(
        [
            {"_variant": c.id, "_action": a}
            for c in known.values()
            for a in catalogue.benefit(c.benefit).actions
        ]
    )
    x = x.filter(x.variant.notnull())
    if "decision_id" in x.columns:
        x = x.mutate(_key=x.decision_id)
    else:
        x = x.mutate(_key=x.member_id.concat("|", x.ts.cast("string"), "|", x.variant))
    base = x.select("_key", "member_id", "ts", "variant")
    promoted = ibis.memtable(actions)
    xa = base.join(promoted, base.variant == promoted._variant)
    ev = e.select(e_member=e.member_id, e_ts=e.ts, e_action=e.action)
    pairs = xa.join(
        ev,
        [
            xa.member_id == ev.e_member,
            xa._action == ev.e_action,
            ev.e_ts > xa.ts,
            ev.e_ts <= xa.ts + ibis.interval(days=window_days),
        ],
    )
    hits = pairs.group_by(_hit_key=pairs._key).agg(_first_use=pairs.e_ts.min())
    out = x.left_join(hits, x._key == hits._hit_key)
    closes = out.ts + ibis.interval(days=window_days)
    out = out.mutate(
        status=ibis.cases(
            (out._hit_key.notnull(), "joined"),
            (closes <= ibis.literal(end), "default"),
            else_="pending",
        )
    ).drop("_hit_key")
    if horizon_days is not None:
        out = _with_retention(dataset, out, horizon_days, end)
    frame: pd.DataFrame = out.to_pandas()
    unknown = sorted(set(frame["variant"]) - set(known))
    if unknown:
        raise DataContractError(
            f"exposures: {len(unknown)} variant(s) are not creatives of the catalogue "
            f"{catalogue.source} (e.g. {unknown[0]!r}); pass the catalogue the log was served with"
        )
    frame["reward"] = frame["status"].map({"joined": 1.0, "default": default, "pending": None})
    # whole days, rounded up, so an event already seen is never "later" than the age
    day = pd.Timedelta(days=1)
    ts = pd.to_datetime(frame["ts"], utc=True)
    first = pd.to_datetime(frame["_first_use"], utc=True)
    age = (pd.Timestamp(end).tz_convert("UTC") if pd.Timestamp(end).tzinfo
           else pd.Timestamp(end, tz="UTC")) - ts  # fmt: skip
    frame["elapsed_days"] = np.maximum(np.ceil((age / day).to_numpy(dtype=np.float64)), 1.0)
    frame["event_day"] = np.ceil(((first - ts) / day).to_numpy(dtype=np.float64))
    frame = frame.drop(columns=["_key", "_first_use"]).merge(creatives, on="variant", how="left")
    return frame


def _with_retention(dataset: Dataset, out: ir.Table, horizon_days: int, end: datetime) -> ir.Table:
    """Add ``horizon_reached``, ``retained``, ``member_country`` and ``member_plan``."""
    if horizon_days < 1:
        raise SpecError(f"--horizon: must be at least 1 day, got {horizon_days}")
    m = dataset.members
    missing = [c for c in ("ended_at", "country", "plan") if c not in m.columns]
    if missing:
        raise DataContractError(
            f"members: no column {missing[0]!r}; a surrogate reward needs ended_at (to see "
            "who is still a member at the horizon), country and plan"
        )
    mm = m.select(
        _m_id=m.member_id,
        _ended=m.ended_at,
        member_country=m.country.cast("string").fill_null("(missing)"),
        member_plan=m.plan.cast("string").fill_null("(missing)"),
    )
    out = out.left_join(mm, out.member_id == mm._m_id).drop("_m_id")
    at = out.ts + ibis.interval(days=horizon_days)
    return out.mutate(
        horizon_reached=at <= ibis.literal(end),
        retained=out._ended.isnull() | (out._ended > at),
    ).drop("_ended")
