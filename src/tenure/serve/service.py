"""Everything one running service holds, built once at start-up and shared by the routes.

:class:`Service` wires the pure :class:`~tenure.serve.decider.Decider` to the
:class:`~tenure.serve.commit.GroupCommitter` and owns their lifecycle: ``start`` opens the
log (refusing a file that is not a decision log) and warms the cap cache from it; ``stop``
commits whatever is queued and closes the log, which is how SIGTERM drains.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from tenure.messaging import Catalogue, MemberIndex, Policy
from tenure.serve.auth import ApiKeys
from tenure.serve.commit import GroupCommitter
from tenure.serve.decider import Decider
from tenure.serve.limits import DEFAULT_MAX_BODY
from tenure.serve.policy_slot import PolicySlot
from tenure.serve.recent import RecentDecisions
from tenure.serve.stores import DecisionLog, PeerDecision, open_log

__all__ = ["Clock", "Service", "data_clock", "wall_clock"]

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def data_clock(as_of: datetime, *, started: datetime | None = None) -> Clock:
    """A clock that reads ``as_of`` at ``started`` (default: now) and runs at wall speed.

    For serving a historic dataset. Worker processes pass their parent's start time, so
    they all read the same time (a cap compares timestamps written by different workers).

    >>> tick = data_clock(datetime(2025, 6, 1, tzinfo=UTC))
    >>> abs((tick() - datetime(2025, 6, 1, tzinfo=UTC)).total_seconds()) < 60
    True
    """
    offset = as_of - (started or wall_clock())
    return lambda: wall_clock() + offset


@dataclass
class Service:
    """The state behind the routes.

    Parameters
    ----------
    catalogue, members, policy
        What is served: see :mod:`tenure.messaging`.
    log
        The ``--log`` target (a ``.duckdb``/``.sqlite`` path or a ``postgresql://`` URL),
        or a callable that opens a store (tests).
    keys
        Accepted API keys and their scopes.
    """

    catalogue: Catalogue
    members: MemberIndex
    policy: Policy
    log: str | Path | Callable[[], DecisionLog]
    keys: ApiKeys
    clock: Clock = wall_clock
    seed: int | None = None
    max_body: int = DEFAULT_MAX_BODY
    watch_policy: Path | None = None
    max_batch: int = 512
    shared: bool = False
    """One of several worker processes on one log (``tenure serve --workers N``)."""
    decider: Decider = field(init=False)
    committer: GroupCommitter = field(init=False)
    slot: PolicySlot = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.slot = PolicySlot(self.policy, watched=self.watch_policy)
        caps = self.catalogue.caps
        longest = max([caps.same_creative_days, *(c.days for c in caps.per_placement.values())])
        recent = RecentDecisions(timedelta(days=longest))
        self.decider = Decider(
            self.catalogue,
            self.members,
            self.slot,
            recent,
            rng=np.random.default_rng(self.seed),
        )
        target = self.log
        shared = self.shared
        opener = target if callable(target) else (lambda: open_log(target, shared=shared))
        self.committer = GroupCommitter(opener, max_batch=self.max_batch)

    @property
    def log_location(self) -> str:
        """Where the log is (a password in a URL is redacted)."""
        store = self.committer.store
        return f"{store.kind}:{store.location}" if store is not None else "closed"

    async def start(self) -> None:
        """Open the log, warm the cap cache from it and start watching the snapshot."""
        await asyncio.to_thread(self.committer.start)
        self.committer.follow(asyncio.get_running_loop(), self._follow)
        since = self.clock() - self.decider.recent.horizon
        for row in await self.committer.call(lambda store: store.since(since)):
            self.decider.remember(row)
        if self.watch_policy is not None:
            self._tasks.append(asyncio.create_task(self.slot.watch()))

    def _follow(self, rows: Sequence[PeerDecision]) -> None:
        for row in rows:
            self.decider.remember_peer(row)

    async def catch_up(self) -> bool:
        """Read what the other workers committed now; False when the log is not shared.

        A member another worker signed up a moment ago is unknown here until its row is
        read: the decide route calls this before answering 404 for an unknown member.
        """
        if not self.shared:
            return False
        rows: list[PeerDecision] = await self.committer.call(
            lambda store: getattr(store, "peers", list)()
        )
        self._follow(rows)
        return True

    async def stop(self) -> None:
        """Commit what is queued, close the log, stop the watcher."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self.committer.close)
