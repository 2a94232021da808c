"""Durability under SIGKILL and a clean drain under SIGTERM, on a real server process.

The crash test drives concurrent load, kills the server with SIGKILL mid-load, restarts it
on the same log and checks that every decision a client saw acknowledged is in the log
exactly once, that a retry of it returns the decision first acknowledged, and that
outcomes posted for the acknowledged decisions join them.
"""

from __future__ import annotations

import signal
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


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("duckdb", marks=pytest.mark.slow),
        "postgresql",
    ],
)
def test_sigkill_loses_no_acknowledged_decision_and_sigterm_drains(
    kind: str, world: Path, keys_file: Path, log_target: Callable[[str], str]
) -> None:
    target = log_target(kind)
    server = ServerProcess(world, target, keys_file)
    load = Load(server.url, WRITE_KEY, MEMBERS, clients=8)
    try:
        load.start()
        load.wait_for(200)
        server.signal(signal.SIGKILL)
        assert server.wait() == -signal.SIGKILL
    finally:
        load.join()
        server.stop()
    acked = dict(load.acked)
    assert len(acked) >= 200, load.failures[:5]

    ids = logged_ids(target)
    assert len(ids) == len(set(ids))  # exactly once
    missing = set(acked) - set(ids)
    assert not missing, f"{len(missing)} acknowledged decisions lost, e.g. {sorted(missing)[:3]}"

    restarted = ServerProcess(world, target, keys_file)
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
