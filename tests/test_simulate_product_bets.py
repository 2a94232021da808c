"""The product bets (planted workaround, decoy flows, pilot abuse) coexist with the default world.

The demo's world is ``WorldConfig(product_bets=True)``. The planted events must leave what
every other analysis is graded on untouched: the same members, the same truth, the same
experiment exposures and, inside each member's early-adoption window (what the HVA analysis
reads), the very same events. Checked on one small world simulated twice, with and without.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tenure.simulate import WorldConfig, simulate_world
from tenure.simulate.abuse import OUTCOME, PILOT
from tenure.simulate.workarounds import WORKAROUND_STEPS

BASE = WorldConfig(n_members=4_000, seed=21)
BETS = WorldConfig(n_members=4_000, seed=21, product_bets=True)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bets")
    simulate_world(root / "base", BASE)
    simulate_world(root / "bets", BETS)
    return root / "base", root / "bets"


def _window_events(world: Path, days: int) -> list[tuple[object, ...]]:
    return duckdb.sql(
        f"""
        select e.member_id, e.ts, e.action, e.benefit, e.value
        from '{world}/events.parquet' e join '{world}/members.parquet' m using (member_id)
        where e.ts < m.signup_at + interval {days} day
        order by all
        """
    ).fetchall()


def test_truth_and_members_are_the_default_worlds(worlds: tuple[Path, Path]) -> None:
    base, bets = worlds
    assert (bets / "truth.json").read_bytes() == (base / "truth.json").read_bytes()
    assert (bets / "members.parquet").read_bytes() == (base / "members.parquet").read_bytes()


def test_the_early_adoption_window_is_untouched(worlds: tuple[Path, Path]) -> None:
    base, bets = worlds
    window = BETS.window_days
    before = _window_events(base, window)
    assert len(before) > 10 * BASE.n_members  # the window is busy: a real comparison
    assert _window_events(bets, window) == before
    # …while after the window the planted flows are there.
    later = f"""
        select count(*) from '{{w}}/events.parquet' e join '{{w}}/members.parquet' m
        using (member_id) where e.ts >= m.signup_at + interval {window} day
          and e.action in ('{WORKAROUND_STEPS[0]}', '{WORKAROUND_STEPS[2]}', '{OUTCOME}')
    """
    base_n = duckdb.sql(later.format(w=base)).fetchone()
    bets_n = duckdb.sql(later.format(w=bets)).fetchone()
    assert base_n is not None and bets_n is not None
    assert base_n[0] == 0 and bets_n[0] > 500


def test_the_experiments_exposures_are_unchanged(worlds: tuple[Path, Path]) -> None:
    base, bets = worlds
    cols = "member_id, ts, experiment, variant, placement"
    q = "select {c} from '{w}/exposures.parquet' where experiment <> '{p}' order by all"
    assert (
        duckdb.sql(q.format(c=cols, w=bets, p=PILOT)).fetchall()
        == duckdb.sql(q.format(c=cols, w=base, p=PILOT)).fetchall()
    )
    pilot = duckdb.sql(
        f"select count(*) from '{bets}/exposures.parquet' where experiment = '{PILOT}'"
    ).fetchone()
    assert pilot is not None and pilot[0] > 50
