"""Several workers on one SQLite log: what per-process state becomes shared, and how.

The store level (two shared stores on one file, as two worker processes hold them) and
the service level (two services on one file, in process): a ``decision_id`` retry and an
outcome reaching the other worker find the first write; a newcomer signed up by one is
known to the other; each follows the other's decisions for its caps. The processes
themselves (SO_REUSEPORT, SIGKILL of a worker and of the parent) are in the crash test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_support import ADMIN, WRITE, FirstPolicy

from tenure.serve.service import Service
from tenure.serve.stores import DecisionRow, LogError, OutcomeRow, OutcomeStatus, open_log
from tenure.serve.stores.sqlite_log import SQLiteLog
from tenure.serve.workers import listen_shared, reserve

Make = Callable[..., TestClient]
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def row(i: int, member: str = "m1", placement: str = "home") -> DecisionRow:
    return DecisionRow(
        decision_id=f"d{i}", member_id=member, ts=T0 + timedelta(seconds=i),
        experiment="uniform-v1", variant=f"{placement}:a:b:{i}", placement=placement,
        propensity=0.5, eligible=(f"{placement}:a:b:{i}", f"{placement}:a:b:x"),
        context={"country": "US"},
    )  # fmt: skip


def test_shared_stores_see_each_others_rows_once_and_dedupe_across_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite"
    a, b = SQLiteLog(path, shared=True), SQLiteLog(path, shared=True)
    try:
        assert a.since(T0) == [] and b.since(T0) == []  # both start at the log's end
        first = a.write([row(1, member="newcomer", placement="signup")], [])
        assert first.peers == ()
        seen = b.peers()
        assert [(p.member_id, p.placement, p.variant) for p in seen] == [
            ("newcomer", "signup", "signup:a:b:1")
        ]
        assert b.peers() == []  # each row is reported once
        # A retry of d1 at the other worker returns the first decision, stored once.
        retry = b.write([row(1, member="newcomer", placement="signup"), row(2)], [])
        assert [new for _, new in retry.decisions] == [False, True]
        assert retry.decisions[0][0] == a.get("d1")
        # An outcome is stored once, whichever worker it reaches.
        outcome = OutcomeRow("d1", T0, reward=1.0)
        stored = a.write([], [outcome])
        assert stored.outcomes == (OutcomeStatus.STORED,)
        # ... and a's write carries b's decision d2 (not its own d1, nor the retry).
        assert [p.variant for p in stored.peers] == ["home:a:b:2"]
        duplicate = b.write([], [outcome])
        assert duplicate.outcomes == (OutcomeStatus.DUPLICATE,) and duplicate.peers == ()
        assert a.write([row(3)], []).peers == ()
        assert [p.variant for p in b.peers()] == ["home:a:b:3"]
        assert a.count() == b.count() == (3, 1)
    finally:
        a.close()
        b.close()
    # A restarted worker warms from the log and then follows only what comes after.
    c = SQLiteLog(path, shared=True)
    try:
        assert len(c.since(T0)) == 3 and c.peers() == []
    finally:
        c.close()


@pytest.mark.parametrize("suffix", [".duckdb"])
def test_only_the_sqlite_store_can_be_shared(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(LogError, match=r"--workers above 1 needs a \.sqlite log"):
        open_log(tmp_path / f"log{suffix}", shared=True)
    with pytest.raises(LogError, match=r"--workers above 1 needs a \.sqlite log"):
        open_log("postgresql://u@localhost/db", shared=True)


def decide(client: TestClient, **body: Any) -> Any:
    r = client.post("/v1/decide", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    return r.json()


def service_of(client: TestClient) -> Service:
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    return service


def test_two_workers_on_one_log_share_retries_outcomes_newcomers_and_caps(
    make_client: Make, tmp_path: Path
) -> None:
    path = tmp_path / "workers.sqlite"
    a = make_client(log=path, shared=True, policy=FirstPolicy())
    # One clock for both, as the workers of one server share their parent's start time.
    b = make_client(log=path, shared=True, policy=FirstPolicy(), clock=service_of(a).clock)
    # A member signed up through a is decided by b at another placement (not a 404).
    signup = decide(a, member_id="new-7", placement="signup", context={"country": "DE"})
    later = decide(b, member_id="new-7", placement="home")
    assert later["creative"] is not None
    # A member nobody signed up is still unknown to both.
    assert b.post("/v1/decide", json={"member_id": "ghost", "placement": "home"}, headers=WRITE).status_code == 404  # fmt: skip
    # A retry reaching the other worker gets the first answer; the log holds it once.
    first = decide(a, member_id="m001", placement="email", decision_id="retry-1")
    again = decide(b, member_id="m001", placement="email", decision_id="retry-1")
    assert again == first
    # An outcome is stored once, whichever worker it reaches.
    body = {"decision_id": signup["decision_id"], "event": "converted"}
    assert b.post("/v1/outcomes", json=body, headers=WRITE).json()["stored"] is True
    assert a.post("/v1/outcomes", json=body, headers=WRITE).json()["duplicate"] is True
    # Caps: b follows a's decisions (an idle worker looks every 50 ms), so the creative a
    # just showed m002 is capped for m002 at b as well: the first-choice policy moves on.
    shown = decide(a, member_id="m002", placement="home")["creative"]["id"]
    deadline = time.monotonic() + 10
    worker_b = service_of(b)
    while time.monotonic() < deadline and not worker_b.decider.recent.get("m002", worker_b.clock()):
        time.sleep(0.02)
    assert decide(b, member_id="m002", placement="home")["creative"]["id"] != shown
    # Each decision is in the log once.
    log = SQLiteLog(path)
    try:
        ids = [r.decision_id for r in log.since(T0 - timedelta(days=3650))]
    finally:
        log.close()
    assert len(ids) == len(set(ids)) == 5


def test_a_worker_refuses_an_admin_swap_that_would_reach_only_itself(
    make_client: Make, tmp_path: Path
) -> None:
    worker = make_client(log=tmp_path / "w.sqlite", shared=True)
    r = worker.post("/v1/admin/policy", json={"path": str(tmp_path / "p.json")}, headers=ADMIN)
    assert r.status_code == 409 and "--policy snapshot file" in r.json()["detail"]


def test_checkpoints_run_in_the_background_not_in_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.sqlite"
    log = SQLiteLog(path)
    try:
        empty = path.stat().st_size
        for i in range(0, 600, 30):
            log.write([row(k) for k in range(i, i + 30)], [])
        # The writer never checkpoints (its commits only append to the WAL) ...
        assert log._con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        # ... yet the pages reach the database file: the background checkpointer ran.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and path.stat().st_size == empty:
            time.sleep(0.05)
        assert path.stat().st_size > empty
        assert log.count() == (600, 0)
    finally:
        log.close()


def test_a_port_held_by_another_server_is_refused_not_shared() -> None:
    held = reserve("127.0.0.1", 0)  # a running --workers server: the parent's reservation
    port = held.getsockname()[1]
    worker = listen_shared("127.0.0.1", port)  # ... and a worker listening on it
    try:
        # SO_REUSEPORT alone would let a second server join the first one's port.
        with pytest.raises(OSError):
            reserve("127.0.0.1", port)
    finally:
        worker.close()
        held.close()
    again = reserve("127.0.0.1", port)  # free again once the server is gone
    again.close()
