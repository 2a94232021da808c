"""Policies are swapped while requests are in flight: none fails, each logs its own version."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from serve_support import WRITE, FirstPolicy

from tenure.messaging import Catalogue, MemberIndex
from tenure.messaging.snapshot import write_snapshot
from tenure.serve.auth import ApiKeys
from tenure.serve.service import Service
from tenure.serve.stores import DecisionRow

Make = Callable[..., TestClient]


def test_a_swap_mid_load_fails_nothing_and_splits_versions_cleanly(
    members: MemberIndex, catalogue: Catalogue, keys: ApiKeys, tmp_path: Path
) -> None:
    service = Service(catalogue, members, FirstPolicy("v1"), tmp_path / "s.sqlite", keys)

    async def run() -> list[tuple[int, DecisionRow]]:
        await service.start()
        order: list[tuple[int, DecisionRow]] = []

        async def one(i: int) -> None:
            await asyncio.sleep(0.001 * (i % 7))
            decision = service.decider.decide(
                f"m{i % 200:03d}", "in_context", {}, now=service.clock()
            )
            stored, _ = await service.committer.decide(decision.row)
            order.append((i, stored))

        async def swap() -> None:
            await asyncio.sleep(0.003)
            service.slot.swap(FirstPolicy("v2"))

        await asyncio.gather(swap(), *(one(i) for i in range(300)))
        await service.stop()
        return order

    results = asyncio.run(run())
    assert len(results) == 300  # every request answered
    versions = [row.experiment for _, row in sorted(results, key=lambda r: r[1].ts)]
    assert set(versions) == {"v1", "v2"}
    # In decision time, v1 rows all come before v2 rows: no request mixed the two.
    first_v2 = versions.index("v2")
    assert all(v == "v2" for v in versions[first_v2:])


def test_a_watched_snapshot_file_is_reloaded_when_it_changes(
    make_client: Make, tmp_path: Path
) -> None:
    snap = write_snapshot(tmp_path / "policy.json", "uniform", {"version": "uniform-a"})
    from tenure.messaging import load_policy

    client = make_client(policy=load_policy(snap), watch_policy=snap)
    assert client.get("/readyz").json()["policy_version"] == "uniform-a"
    write_snapshot(snap, "uniform", {"version": "uniform-b"})
    os.utime(snap, (time.time() + 5, time.time() + 5))  # a new mtime even on coarse clocks
    deadline = time.monotonic() + 15
    while client.get("/readyz").json()["policy_version"] != "uniform-b":
        assert time.monotonic() < deadline, "the watched snapshot was not reloaded"
        time.sleep(0.1)
    r = client.post("/v1/decide", json={"member_id": "m010", "placement": "home"}, headers=WRITE)
    assert r.json()["policy_version"] == "uniform-b"
    # A broken snapshot is not loaded: the last good policy keeps serving.
    snap.write_text("{ half written")
    os.utime(snap, (time.time() + 10, time.time() + 10))
    time.sleep(1.5)
    assert client.get("/readyz").json()["policy_version"] == "uniform-b"
