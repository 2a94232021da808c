"""A small hand-made world (members, events, exposures) with a fixed seed, and its spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)

TOY_SPEC = {
    "name": "toy",
    "hypothesis": "A banner raises orders in the first week.",
    "variants": [{"name": "control"}, {"name": "treatment"}],
    "exposure": {"placement": "home"},
    "primary": {
        "name": "orders_7d",
        "kind": "count",
        "actions": ["shipping.order"],
        "window_days": 7,
        "cuped": True,
        "threshold": {"kind": "relative", "value": 0.05},
    },
    "secondary": [
        {"name": "ordered_7d", "kind": "binary", "actions": "shipping.order"},
        {"name": "saved_7d", "kind": "sum", "actions": ["shipping.order"], "window_days": 7},
        {"name": "saved_per_order", "kind": "mean", "actions": ["shipping.order"]},
        {
            "name": "orders_per_open",
            "kind": "ratio",
            "numerator": {"name": "o", "kind": "count", "actions": ["shipping.order"]},
            "denominator": {"name": "a", "kind": "count", "actions": ["app.open"]},
        },
    ],
    "guardrails": [
        {"name": "retention_30", "kind": "retention", "horizon_days": 30, "margin": 0.01}
    ],
    "segments": ["country"],
}


def make_toy_world(folder: Path, n: int = 3000, seed: int = 11) -> Path:
    """Members exposed once (a few twice in two arms), with orders, opens and churn."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    signup = [start + timedelta(days=float(d)) for d in rng.uniform(0, 120, n)]
    ids = [f"m{i:05d}" for i in range(n)]
    arm = rng.integers(0, 2, n)
    exposed = [
        s + timedelta(days=float(d)) for s, d in zip(signup, rng.uniform(0, 60, n), strict=True)
    ]
    life = rng.exponential(200 - 40 * arm)
    ended = [
        s + timedelta(days=float(x)) if s + timedelta(days=float(x)) < AS_OF else None
        for s, x in zip(signup, life, strict=True)
    ]
    country = rng.choice(["US", "GB", "DE"], n)
    members = pd.DataFrame(
        {"member_id": ids, "signup_at": signup, "ended_at": ended, "country": country}
    )
    rows = []
    for i in range(n):
        for action, rate in (("shipping.order", 0.25 + 0.1 * arm[i]), ("app.open", 1.0)):
            k = rng.poisson(rate * 40)
            for d in rng.uniform(-20, 20, k):
                ts = exposed[i] + timedelta(days=float(d))
                if ts < AS_OF:
                    value = float(rng.gamma(2.0, 3.0)) if action == "shipping.order" else np.nan
                    rows.append((ids[i], ts, action, value))
    events = pd.DataFrame(rows, columns=["member_id", "ts", "action", "value"])
    exposures = pd.DataFrame(
        {
            "member_id": ids,
            "ts": exposed,
            "experiment": "toy",
            "variant": np.where(arm == 1, "treatment", "control"),
            "placement": "home",
        }
    )
    # Three members also logged in the other arm later: they must be dropped.
    dup = exposures.iloc[:3].copy()
    dup["variant"] = np.where(dup["variant"] == "control", "treatment", "control")
    dup["ts"] = dup["ts"] + timedelta(days=1)
    other = exposures.iloc[3:10].copy()
    other["experiment"] = "other"
    exposures = pd.concat([exposures, dup, other], ignore_index=True)
    members.to_parquet(folder / "members.parquet")
    events.to_parquet(folder / "events.parquet")
    exposures.to_parquet(folder / "exposures.parquet")
    return folder


SPECS_DIR = Path(__file__).resolve().parents[2] / "experiments"

COMPARISON_KEYS = {
    "experiment",
    "metric",
    "segment",
    "variant",
    "baseline_mean",
    "variant_mean",
    "effect_abs",
    "ci_abs",
    "effect_rel",
    "ci_rel",
    "p_value",
    "chance_to_win",
    "srm_p_value",
}
"""The comparison fields issue 5 promises in `--json`, written out from the issue's text."""
