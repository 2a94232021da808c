"""Cross-market pooling wires the scorecard rows into the random-effects model correctly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.experiments.meta import pool_segments
from tenure.stats.meta import random_effects_meta


def test_pooling_matches_the_stats_engine() -> None:
    t = pd.DataFrame(
        {
            "metric": ["m"] * 4 + ["k"] * 4,
            "variant": "b",
            "status": ["ok"] * 6 + ["too_few", "ok"],
            "segment": ["country=US", "country=GB", "country=DE", "all"] * 2,
            "effect_abs": [0.1, 0.3, 0.2, 0.2, 1.0, 2.0, 1.5, 1.5],
            "se_abs": [0.1, 0.12, 0.11, 0.05, 0.5, 0.4, 0.3, 0.2],
        }
    )
    pooled, shrunk = pool_segments(t, "country")
    m = pooled.set_index("metric")
    ref = random_effects_meta([0.1, 0.3, 0.2], np.square([0.1, 0.12, 0.11]))
    assert m.loc["m", "pooled"] == ref.pooled and m.loc["m", "k"] == 3
    assert m.loc["k", "k"] == 2  # the "all" row and the degenerate cell are left out
    assert len(shrunk) == 5 and set(shrunk.segment) <= {"country=US", "country=GB", "country=DE"}


def test_no_segments() -> None:
    t = pd.DataFrame(
        {
            "metric": ["m"],
            "variant": ["b"],
            "status": ["ok"],
            "segment": ["all"],
            "effect_abs": [0.1],
            "se_abs": [0.1],
        }
    )
    pooled, shrunk = pool_segments(t, "country")
    assert pooled.empty and shrunk.empty
