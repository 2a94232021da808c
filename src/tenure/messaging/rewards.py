"""Delayed rewards joined in the engine: did the member use the promoted benefit in time?

A decision's reward is an event in a window after it — by default, any action of the
promoted benefit within ``window_days`` — found by one join of the exposures log with the
events table in the engine (DuckDB by default), which returns one small row per decision.
A decision whose window has closed by ``as_of`` without such an event gets ``default``; one
whose window is still open is *pending* (reward null), never a silent zero, and is left out
of training until it closes.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd

from tenure.errors import DataContractError
from tenure.messaging.catalogue import Catalogue
from tenure.store import Dataset

__all__ = ["join_rewards"]


def join_rewards(
    dataset: Dataset,
    catalogue: Catalogue,
    *,
    window_days: int = 7,
    default: float = 0.0,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """The exposures log with ``reward`` and ``status`` and the creatives' factor columns.

    ``status`` is ``joined`` (the benefit was used in the window: reward 1), ``default``
    (the window closed without it) or ``pending`` (the window is still open: reward null).
    Rows with no creative (nothing was eligible) are dropped. The factor columns
    (``message``, ``image``, ``cta``, ``benefit``) come from the catalogue, so the result is
    what ``tenure policy train`` reads.
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
    hits = (
        xa.join(
            ev,
            [
                xa.member_id == ev.e_member,
                xa._action == ev.e_action,
                ev.e_ts > xa.ts,
                ev.e_ts <= xa.ts + ibis.interval(days=window_days),
            ],
        )
        .select(_hit_key="_key")
        .distinct()
    )
    out = x.left_join(hits, x._key == hits._hit_key)
    closes = out.ts + ibis.interval(days=window_days)
    out = out.mutate(
        status=ibis.cases(
            (out._hit_key.notnull(), "joined"),
            (closes <= ibis.literal(end), "default"),
            else_="pending",
        )
    ).drop("_hit_key")
    frame: pd.DataFrame = out.to_pandas()
    unknown = sorted(set(frame["variant"]) - set(known))
    if unknown:
        raise DataContractError(
            f"exposures: {len(unknown)} variant(s) are not creatives of the catalogue "
            f"{catalogue.source} (e.g. {unknown[0]!r}); pass the catalogue the log was served with"
        )
    frame["reward"] = frame["status"].map({"joined": 1.0, "default": default, "pending": None})
    frame = frame.drop(columns=["_key"]).merge(creatives, on="variant", how="left")
    return frame
