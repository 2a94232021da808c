"""Durability under SIGKILL and a clean drain under SIGTERM, on a real server process.

The crash test drives concurrent load, kills the server with SIGKILL mid-load, restarts it
on the same log and checks that every decision a client saw acknowledged is in the log
exactly once, that a retry of it returns the decision first acknowledged, and that
outcomes posted for the acknowledged decisions join them.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from serve_proc import Load, ServerProcess
from serve_support import WRITE_KEY

from tenure.serve.stores import open_log

MEMBERS = [f"m{i:03d}" for i in range(200)]


def logged_ids(target: str) -> list[str]:
    log = open_log(target)
    try:
        return [r.decision_id for r in log.since(datetime(2000, 1, 1, tzinfo=UTC))]
    finally:
        log.close()


def joined_outcomes(target: str, ids: set[str]) -> int:
    """Outcomes among ``ids`` whose decision is in the exposures table (read back)."""
    log = open_log(target)
    try:
        decided = {r.decision_id for r in log.since(datetime(2000, 1, 1, tzinfo=UTC))}
        return len({o.decision_id for o in log.outcomes()} & decided & ids)
    finally:
        log.close()


def post_outcomes(url: str, ids: list[str], clients: int = 8) -> set[int]:
    def send(chunk: list[str]) -> set[int]:
        headers = {"Authorization": f"Bearer {WRITE_KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            return {
                http.post("/v1/outcomes", json={"decision_id": d, "event": "converted"}).status_code
                for d in chunk
            }

    with ThreadPoolExecutor(clients) as pool:
        return set().union(*pool.map(send, [ids[i::clients] for i in range(clients)]))


def worker_pids(parent: int) -> list[int]:
    """The worker processes of a ``--workers N`` server (Linux: /proc children)."""
    text = Path(f"/proc/{parent}/task/{parent}/children").read_text()
    return [int(p) for p in text.split()]


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_until(check: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("kind", "workers"),
    [
        ("sqlite", 1),
        pytest.param("duckdb", 1, marks=pytest.mark.slow),
        ("postgresql", 1),
        ("sqlite", 2),
    ],
    ids=["sqlite", "duckdb", "postgresql", "sqlite-2-workers"],
)
def test_sigkill_loses_no_acknowledged_decision_and_sigterm_drains(
    kind: str, workers: int, world: Path, keys_file: Path, log_target: Callable[[str], str]
) -> None:
    target = log_target(kind)
    extra = ("--workers", str(workers)) if workers > 1 else ()
    server = ServerProcess(world, target, keys_file, *extra)
    load = Load(server.url, WRITE_KEY, MEMBERS, clients=8)
    loads = [load]
    try:
        load.start()
        load.wait_for(200)
        if workers > 1:
            # SIGKILL one worker mid-load: the parent replaces it and serving goes on
            # (its clients lose their connections; clients of the other keep going).
            pids = worker_pids(server.proc.pid)
            assert len(pids) == workers
            os.kill(pids[0], signal.SIGKILL)
            assert wait_until(lambda: "starting another" in "".join(server.stderr))
            assert wait_until(lambda: len(worker_pids(server.proc.pid)) == workers)
            more = Load(server.url, WRITE_KEY, MEMBERS, clients=8, prefix="mid")
            loads.append(more)
            more.start()
            more.wait_for(200)
            pids = worker_pids(server.proc.pid)
        server.signal(signal.SIGKILL)
        assert server.wait() == -signal.SIGKILL
        if workers > 1:
            # The workers die with the parent: none is left holding the port or the log.
            assert wait_until(lambda: all(gone(p) for p in pids), timeout=30)
    finally:
        for each in loads:
            each.join()
        server.stop()
    acked = {k: v for each in loads for k, v in each.acked.items()}
    assert len(acked) >= 200 * len(loads), load.failures[:5]

    ids = logged_ids(target)
    assert len(ids) == len(set(ids))  # exactly once
    missing = set(acked) - set(ids)
    assert not missing, f"{len(missing)} acknowledged decisions lost, e.g. {sorted(missing)[:3]}"

    restarted = ServerProcess(world, target, keys_file, *extra)
    second = Load(restarted.url, WRITE_KEY, MEMBERS, clients=8, prefix="after")
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"Authorization": f"Bearer {WRITE_KEY}"}, timeout=30
        ) as http:
            for did in sorted(acked)[:: max(1, len(acked) // 20)]:
                first = acked[did]
                body = {"member_id": first["member_id"], "placement": first["placement"]}
                again = http.post("/v1/decide", json={**body, "decision_id": did})
                assert again.json() == first  # the retry returns what was acknowledged
        # Outcomes from concurrent clients, as touchpoints send them (and group-committed).
        assert post_outcomes(restarted.url, sorted(acked)) == {200}
        # Then SIGTERM in the middle of new load: drained, exit 0.
        second.start()
        second.wait_for(100)
        restarted.signal(signal.SIGTERM)
        code = restarted.wait()
    finally:
        second.join()
        restarted.stop()
    assert code == 0, "".join(restarted.stderr)
    assert "Traceback" not in "".join(restarted.stderr)
    assert WRITE_KEY not in "".join(server.stderr + restarted.stderr)  # keys are never logged
    # A client either got its answer or could not connect: nothing was half-answered.
    assert all("HTTP" not in f for f in second.failures), second.failures[:5]
    after = logged_ids(target)
    assert len(after) == len(set(after))
    assert set(second.acked) <= set(after)
    assert len(after) == len(ids) + len({d for d in after if d.startswith("after")})
    assert joined_outcomes(target, set(acked)) == len(acked)
