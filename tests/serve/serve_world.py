"""A small hand-made dataset for the service tests: members with known usage and savings.

Written by hand (not by the simulator) so each test can state exactly what a member used:
``m000`` used video 5 times and delivery twice in the last week, saving $12.30 in all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

AS_OF = datetime(2026, 6, 1, tzinfo=UTC)
COUNTRIES = ("US", "GB", "DE")
PLANS = ("monthly", "annual", "family", "student")


def write_world(folder: Path, *, members: int = 200) -> Path:
    """Write ``members.parquet`` and ``events.parquet`` into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"m{i:03d}" for i in range(members)]
    pd.DataFrame(
        {
            "member_id": ids,
            "signup_at": [AS_OF - timedelta(days=10 + i % 300) for i in range(members)],
            "ended_at": [None] * members,
            "country": [COUNTRIES[i % 3] for i in range(members)],
            "plan": [PLANS[i % 4] for i in range(members)],
            "channel": ["organic" if i % 2 else "paid_search" for i in range(members)],
        }
    ).astype({"ended_at": "datetime64[us, UTC]"}).to_parquet(folder / "members.parquet")
    rows: list[tuple[str, datetime, str, str, float]] = []
    # m000: 5 video streams ($0.35 each) and 2 deliveries ($5.275 each) in the last week.
    rows += [
        ("m000", AS_OF - timedelta(days=1, hours=h), "video.stream", "video", 0.35)
        for h in range(5)
    ]
    rows += [
        ("m000", AS_OF - timedelta(days=2, hours=h), "shipping.order", "shipping", 5.275)
        for h in range(2)
    ]
    # Every third member streamed music once, 20 days ago; the rest used nothing.
    rows += [(m, AS_OF - timedelta(days=20), "music.play", "music", 0.08) for m in ids[3::3]]
    pd.DataFrame(rows, columns=["member_id", "ts", "action", "benefit", "value"]).to_parquet(
        folder / "events.parquet"
    )
    return folder
