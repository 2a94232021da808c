"""A small hand-built dataset whose usage counts and savings are known by construction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tenure.messaging import Catalogue, MemberIndex
from tenure.messaging.loop import LoopResult, run_closed_loop
from tenure.store import connect

AS_OF = datetime(2026, 3, 31, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """m1 ships 4x (3 in the last 7 days) and streams once; m2 is a family member; m3 nothing."""
    out = tmp_path_factory.mktemp("msg_world")
    members = pd.DataFrame(
        {
            "member_id": ["m1", "m2", "m3"],
            "signup_at": pd.to_datetime(["2026-01-01", "2026-03-20", "2025-06-01"], utc=True),
            "country": ["US", "DE", "GB"],
            "plan": ["monthly", "family", "annual"],
            "channel": ["organic", "social", "referral"],
        }
    )

    def d(days: float) -> datetime:
        return AS_OF - timedelta(days=days)

    events = pd.DataFrame(
        {
            "member_id": ["m1", "m1", "m1", "m1", "m1", "m1", "m2", "m2", "m1"],
            "ts": [d(1), d(2), d(6), d(20), d(10), d(45), d(3), d(4), d(0.5)],
            "action": [
                "shipping.order",
                "shipping.order",
                "shipping.order",
                "shipping.order",
                "video.stream",
                "shipping.order",
                "family.discount",
                "app.open",
                "app.open",
            ],
            "benefit": [
                "shipping",
                "shipping",
                "shipping",
                "shipping",
                "video",
                "shipping",
                "family",
                None,
                None,
            ],
            "value": [5.0, 6.0, 4.5, 7.0, None, 100.0, 3.25, None, None],
        }
    )
    members.to_parquet(out / "members.parquet")
    events.to_parquet(out / "events.parquet")
    return out


@pytest.fixture(scope="session")
def index(small_world: Path, catalogue: Catalogue) -> MemberIndex:
    return MemberIndex.from_dataset(connect(small_world), as_of=AS_OF)


@pytest.fixture(scope="session")
def small_loop() -> LoopResult:
    """A few simulated days of the closed loop: seconds, shared by the loop and report tests."""
    return run_closed_loop(
        days=6, members_per_day=150, delay_days=1, mc_draws=200, seed=7, discount_members=4000
    )
