"""A pilot world for the pilot tests: the simulator's abuse model on members who never leave.

Built straight from :func:`tenure.simulate.abuse.abuse_tables` (no base world), so it is
small and fast, and the planted truth is known exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ibis
import numpy as np
import pandas as pd

from tenure.simulate.abuse import OUTCOME, PILOT, SITES, abuse_tables
from tenure.store import Dataset

AS_OF = datetime(2026, 3, 31, tzinfo=UTC)
_DAY_US = 86_400 * 1_000_000


def pilot_world(n_members: int = 40_000, seed: int = 3) -> tuple[Dataset, dict[str, Any]]:
    """A Dataset with the pilot's exposures and payments, and the truth document."""
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    signup = np.full(n_members, as_of_us - 400 * _DAY_US, dtype=np.int64)
    stop = np.full(n_members, as_of_us, dtype=np.int64)
    x, e, truth = abuse_tables(signup, stop, as_of_us, np.random.default_rng(seed))
    ids = np.array([f"m{i:06d}" for i in range(n_members)], dtype=object)
    truth["bursts"]["members"] = [str(ids[i]) for i in truth["bursts"]["members"]]
    members = pd.DataFrame(
        {"member_id": ids, "signup_at": pd.to_datetime(signup, unit="us", utc=True)}
    )
    exposures = pd.DataFrame(
        {
            "member_id": ids[x["member"]],
            "ts": pd.to_datetime(x["ts"], unit="us", utc=True),
            "experiment": PILOT,
            "variant": np.where(x["site"] == 0, "pilot", "comparison"),
            "site": np.array(SITES, dtype=object)[x["site"]],
            "code": x["code"].astype(str),
        }
    )
    events = pd.DataFrame(
        {
            "member_id": ids[e["member"]],
            "ts": pd.to_datetime(e["ts"], unit="us", utc=True),
            "action": OUTCOME,
        }
    )
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")
    ds = Dataset(
        con=con,
        members=con.create_table("members", members),
        events=con.create_table("events", events),
        exposures=con.create_table("exposures", exposures),
        as_of=AS_OF,
        source="pilot_world",
    )
    return ds, truth
