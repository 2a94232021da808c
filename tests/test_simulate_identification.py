"""The world is honest: adjusting for ``adjustment_set`` recovers the true effects.

Slow (a 300k-member world): an inverse-probability-weighted contrast, with propensities from a
main-effects logistic regression on the adjustment set, lands on the truth for the decoy and for
causal actions, while the naive contrast does not.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from tenure.simulate import WorldConfig, load_truth, simulate_world

ACTIONS = ("shipping.order", "video.stream", "music.play", "reading.borrow", "deals.lightning")


def _logistic_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Newton-Raphson logistic regression; returns fitted probabilities."""
    beta = np.zeros(x.shape[1])
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-x @ beta))
        hess = x.T @ (x * (p * (1 - p))[:, None])
        beta += np.linalg.solve(hess, x.T @ (y - p))
    return 1.0 / (1.0 + np.exp(-x @ beta))


@pytest.mark.slow
def test_ipw_on_adjustment_set_recovers_truth(tmp_path: Path) -> None:
    out = tmp_path / "world"
    simulate_world(out, WorldConfig(n_members=300_000, seed=21))
    truth = load_truth(out)
    flags = ", ".join(f"max((e.action = '{a}')::int) as \"{a}\"" for a in ACTIONS)
    df = duckdb.sql(
        f"""
        with m as (select * from '{out}/members.parquet'),
        w as (
            select e.member_id, {flags},
                   count(*) filter (where e.action = 'app.open'
                                    and e.ts < m.signup_at + interval 1 day) as d0
            from '{out}/events.parquet' e join m using (member_id)
            where e.ts < m.signup_at + interval 7 day
            group by e.member_id
        )
        select m.channel, m.country, m.plan, m.age_band, coalesce(w.d0, 0) as d0,
               {", ".join(f'coalesce(w."{a}", 0) as "{a}"' for a in ACTIONS)},
               (m.ended_at is null or m.ended_at > m.signup_at + interval 90 day)::int as r90
        from m left join w using (member_id)
        where m.ended_at is null or m.ended_at > m.signup_at + interval 7 day
        """
    ).df()
    cols = [np.ones(len(df))]
    for c in ("channel", "country", "plan", "age_band"):
        cols += [(df[c] == level).to_numpy(float) for level in sorted(df[c].unique())[1:]]
    cols.append(np.minimum(df.d0.to_numpy(float), 6))
    x, y = np.column_stack(cols), df.r90.to_numpy(float)
    for action in ACTIONS:
        a = df[action].to_numpy(float)
        p = np.clip(_logistic_fit(x, a), 0.01, 0.99)
        ipw = np.sum(a * y / p) / np.sum(a / p) - np.sum((1 - a) * y / (1 - p)) / np.sum(
            (1 - a) / (1 - p)
        )
        naive = y[a == 1].mean() - y[a == 0].mean()
        true = truth["actions"][action]["effect"]["90"]
        assert abs(ipw - true) < 0.012, (action, ipw, true)
        assert naive - true > 0.04, (action, naive, true)
