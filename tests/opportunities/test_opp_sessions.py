"""Exits from session ids, background/foreground pairs and long gaps; duration_s; bad settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from opp_data import from_frames

from tenure.errors import DataContractError, SpecError
from tenure.opportunities import find_workarounds

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _members(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": [f"u{i}" for i in range(n)],
            "signup_at": pd.to_datetime([T0 - timedelta(days=30)] * n, utc=True),
        }
    )


def _ev(rows: list[tuple[str, float, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": [r[0] for r in rows],
            "ts": pd.to_datetime([T0 + timedelta(seconds=r[1]) for r in rows], utc=True),
            "action": [r[2] for r in rows],
            "session_id": [r[3] for r in rows],
            "duration_s": [r[4] for r in rows],
        }
    )


def test_session_change_background_pair_and_long_gap_are_one_exit() -> None:
    rows = []
    for i in range(30):
        m, base = f"u{i}", i * 86_400.0
        kind = i % 3
        rows.append((m, base, "doc.export", f"s{i}a", 5.0))
        if kind == 0:  # a new session 20 s later: an exit even without a long gap
            rows.append((m, base + 20, "doc.import", f"s{i}b", 10.0))
        elif kind == 1:  # background / foreground inside one session
            rows.append((m, base + 3, "app.background", f"s{i}a", 0.0))
            rows.append((m, base + 200, "app.foreground", f"s{i}a", 0.0))
            rows.append((m, base + 210, "doc.import", f"s{i}a", 10.0))
        else:  # a long gap inside one session
            rows.append((m, base + 400, "doc.import", f"s{i}a", 10.0))
        rows.append((m, base + 5000, "doc.view", f"s{i}c", 1.0))  # unlinked: > max_gap? no
    ds = from_frames(_members(30), _ev(rows))
    r = find_workarounds(ds, min_members=5, associate=False, max_gap=1800, max_span=3600)
    top = r.opportunities[0]
    assert top.steps == ("doc.export", "<exit>", "doc.import")
    assert top.shape == "workaround"
    assert top.members == 30 and top.occurrences == 30
    assert top.variants["exit"] == pytest.approx(
        {"session": 1 / 3, "background": 1 / 3, "gap": 1 / 3}
    )
    # Time runs from the first step to the last, plus the last step's duration_s.
    times = sorted([20 + 10.0] * 10 + [210 + 10.0] * 10 + [400 + 10.0] * 10)
    assert top.median_seconds == pytest.approx(float(pd.Series(times).median()))
    assert r.params["sessions"] == "session_id" and r.params["duration_s"] is True


def test_in_app_flow_without_exit_ranks_below_a_smaller_workaround() -> None:
    rows = []
    for i in range(200):  # everybody browses then plays, often
        for k in range(10):
            b = i * 1e6 + k * 86_400.0
            rows += [
                (f"u{i}", b, "feed.browse", f"s{i}.{k}", 0.0),
                (f"u{i}", b + 60, "video.play", f"s{i}.{k}", 0.0),
            ]
    for i in range(20):  # a few export, leave, come back and import
        b = i * 1e6 + 0.5 * 86_400.0
        rows += [
            (f"u{i}", b, "x.download", f"w{i}", 0.0),
            (f"u{i}", b + 900, "x.upload", f"w{i}b", 0.0),
        ]
    ds = from_frames(_members(200), _ev(rows))
    r = find_workarounds(ds, min_members=10, associate=False)
    shapes = [(o.steps, o.shape) for o in r.opportunities]
    assert shapes[0] == (("x.download", "<exit>", "x.upload"), "workaround")
    flow = next(o for o in r.opportunities if o.steps == ("feed.browse", "video.play"))
    assert flow.shape == "in_app" and flow.members == 200 and flow.occurrences == 2000
    # More hours saved in total, yet ranked lower: the stated penalty for no exit.
    assert flow.hours_saved_per_week > 0
    assert flow.score < r.opportunities[0].score
    assert "in-app flow with no exit" in r.params["score_formula"]


def test_degenerate_inputs_say_so() -> None:
    rows = [("u0", 0.0, "a.view", "s", 0.0), ("u1", 90_000.0, "b.view", "s", 0.0)]
    ds = from_frames(_members(2), _ev(rows))
    r = find_workarounds(ds, associate=False)
    assert r.opportunities == ()
    assert "no multi-step pattern" in r.params["note"]
    with pytest.raises(SpecError, match="--max-gap"):
        find_workarounds(ds, exit_gap=10_000)
    with pytest.raises(SpecError, match="--min-support"):
        find_workarounds(ds, min_support=0)
    none = (
        _ev(rows)
        .iloc[:0]
        .astype({"member_id": "string", "action": "string", "session_id": "string"})
    )
    empty = from_frames(_members(1), none, as_of=T0)
    with pytest.raises(DataContractError, match="empty"):
        find_workarounds(empty, associate=False)


def test_polars_backend_gap_is_declared(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tenure.errors import BackendError
    from tenure.store import connect

    members = _members(3)
    events = _ev([("u0", 0.0, "a.x", "s", 0.0), ("u0", 5.0, "b.y", "s", 0.0)])
    pq.write_table(
        pa.Table.from_pandas(members, preserve_index=False), tmp_path / "members.parquet"
    )
    pq.write_table(pa.Table.from_pandas(events, preserve_index=False), tmp_path / "events.parquet")
    with pytest.raises(BackendError, match="polars backend"):
        find_workarounds(connect(tmp_path, backend="polars"), associate=False)
