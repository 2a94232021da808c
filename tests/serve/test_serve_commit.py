"""Group commit: many requests share one transaction, and none is answered before it commits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from tenure.serve.commit import CommitterClosed, GroupCommitter
from tenure.serve.stores import DecisionRow, OutcomeRow, OutcomeStatus, WriteResult

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def row(i: int) -> DecisionRow:
    return DecisionRow(f"d{i}", "m1", T0, "v1", "c", "home", 0.5, ("c", "d"))


class SlowStore:
    """A store whose commit takes ``delay`` seconds and which says what it has committed."""

    kind: ClassVar[str] = "fake"
    location = "memory"

    def __init__(self, delay: float = 0.02, fail_first: int = 0) -> None:
        self.delay = delay
        self.fail_first = fail_first
        self.committed: set[str] = set()
        self.batches: list[int] = []
        self.thread: threading.Thread | None = None
        self.closed = False

    def write(
        self, decisions: Sequence[DecisionRow], outcomes: Sequence[OutcomeRow]
    ) -> WriteResult:
        self.thread = threading.current_thread()
        if self.fail_first:
            self.fail_first -= 1
            raise OSError("disk full")
        time.sleep(self.delay)
        self.committed |= {d.decision_id for d in decisions}
        self.batches.append(len(decisions) + len(outcomes))
        return WriteResult(
            tuple((d, True) for d in decisions), tuple(OutcomeStatus.STORED for _ in outcomes)
        )

    def get(self, decision_id: str) -> DecisionRow | None:
        return None

    def since(self, ts: datetime) -> list[DecisionRow]:
        return []

    def outcomes(self) -> list[OutcomeRow]:
        return []

    def ping(self) -> None:
        pass

    def count(self) -> tuple[int, int]:
        return len(self.committed), 0

    def close(self) -> None:
        self.closed = True


def test_concurrent_requests_share_commits_and_are_answered_after_theirs() -> None:
    store = SlowStore()
    committer = GroupCommitter(lambda: store)
    committer.start()

    async def one(i: int) -> bool:
        stored, new = await committer.decide(row(i))
        # The acknowledgement comes after the commit that holds this row.
        return new and stored.decision_id in store.committed

    async def many() -> list[bool]:
        return await asyncio.gather(*(one(i) for i in range(300)))

    assert all(asyncio.run(many()))
    committer.close()
    assert store.committed == {f"d{i}" for i in range(300)}
    assert len(store.batches) < 100  # 300 requests, far fewer commits
    assert committer.stats.largest_batch > 1 and store.closed
    assert store.thread is not threading.main_thread()


def test_a_failed_commit_fails_its_requests_and_the_next_one_succeeds() -> None:
    store = SlowStore(delay=0.0, fail_first=1)
    committer = GroupCommitter(lambda: store)
    committer.start()

    async def go() -> None:
        with pytest.raises(OSError, match="disk full"):
            await committer.decide(row(1))
        _, new = await committer.decide(row(2))
        assert new and "d2" in store.committed and "d1" not in store.committed

    asyncio.run(go())
    committer.close()
    assert committer.stats.failures == 1


def test_close_commits_what_is_queued_then_refuses_new_writes() -> None:
    store = SlowStore(delay=0.05)
    committer = GroupCommitter(lambda: store)
    committer.start()

    async def go() -> None:
        pending = [asyncio.ensure_future(committer.decide(row(i))) for i in range(20)]
        await asyncio.sleep(0)  # let them queue
        closing = asyncio.get_running_loop().run_in_executor(None, committer.close)
        results = await asyncio.gather(*pending)
        await closing
        assert [new for _, new in results] == [True] * 20
        with pytest.raises(CommitterClosed):
            await committer.decide(row(99))

    asyncio.run(go())
    assert len(store.committed) == 20


def test_a_store_that_cannot_open_fails_start() -> None:
    def broken() -> SlowStore:
        raise PermissionError("read-only file system")

    with pytest.raises(PermissionError):
        GroupCommitter(broken).start()
