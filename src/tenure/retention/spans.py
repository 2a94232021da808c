"""Each member's membership span in whole days: the one Ibis expression retention builds on.

``tenure_days`` is ``floor((end - signup_at) / 1 day)`` with ``end`` the member's ``ended_at``
when it is on or before ``as_of`` and ``as_of`` otherwise; ``ended`` says which. A member
"survives day t" when ``tenure_days > t``. ``observed_days`` is how many days after signup
observation reaches (``as_of - signup_at``), known for every member, ended or not: it is the
administrative censoring time. Members who sign up after ``as_of`` are left out.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from tenure.store.epoch import epoch_us

__all__ = ["SECONDS_PER_DAY", "day_number", "member_spans"]

SECONDS_PER_DAY = 86_400


def day_number(ts: ir.TimestampValue, start: ir.TimestampValue) -> ir.IntegerValue:
    """Whole days from `start` to `ts` (floor), on integer epoch microseconds on every backend.

    Exact at whole-day differences, and native on each engine (see :mod:`tenure.store.epoch`:
    Ibis's ``epoch_seconds`` cost DuckDB a calendar conversion per timestamp, a second of every
    HVA landmark at a million members).
    """
    return (epoch_us(ts) - epoch_us(start)) // (SECONDS_PER_DAY * 10**6)


def member_spans(members: ir.Table, as_of: datetime) -> ir.Table:
    """Members with ``tenure_days``, ``ended`` (0/1) and ``observed_days`` added.

    Parameters
    ----------
    members
        The dataset's members table (``member_id``, ``signup_at``, optional ``ended_at``).
    as_of
        End of observation (UTC).
    """
    end_obs = ibis.literal(as_of, type="timestamp('UTC')")
    m = members.filter(members.signup_at <= end_obs)
    if "ended_at" in m.columns:
        done = m.ended_at.notnull() & (m.ended_at <= end_obs)
        end = ibis.cases((done, m.ended_at), else_=end_obs)
    else:
        done = ibis.literal(False)
        end = end_obs
    return m.mutate(
        tenure_days=day_number(end, m.signup_at),
        ended=done.cast("int64"),
        observed_days=day_number(end_obs, m.signup_at),
    )
