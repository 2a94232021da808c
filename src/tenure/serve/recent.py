"""Each member's recent decisions, in memory, for frequency caps.

Caps need "what did this member see lately"; asking the log on every decision would put a
query on the hot path. The cache keeps, per member, the decisions within the longest cap
window, is warmed from the log at start-up (so a restart does not reset anyone's caps),
and records a decision the moment it is made — before its commit — so two concurrent
requests for one member cannot both slip under a cap.

::

    >>> from datetime import UTC, datetime, timedelta
    >>> cache = RecentDecisions(horizon=timedelta(days=3))
    >>> now = datetime(2026, 1, 10, tzinfo=UTC)
    >>> cache.add("m1", PastDecision("home:a:b:c", "home", now - timedelta(days=5)))
    >>> cache.add("m1", PastDecision("home:a:b:d", "home", now - timedelta(hours=1)))
    >>> [d.creative_id for d in cache.get("m1", now)]
    ['home:a:b:d']
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from tenure.messaging import PastDecision

__all__ = ["PastDecision", "RecentDecisions"]


class RecentDecisions:
    """Per-member recent decisions within ``horizon``, at most ``per_member`` each."""

    def __init__(self, horizon: timedelta, *, per_member: int = 64) -> None:
        self.horizon = horizon
        self.per_member = per_member
        self._by_member: dict[str, deque[PastDecision]] = {}

    def add(self, member_id: str, decision: PastDecision) -> None:
        """Record a decision shown to ``member_id``."""
        queue = self._by_member.get(member_id)
        if queue is None:
            queue = self._by_member[member_id] = deque(maxlen=self.per_member)
        queue.append(decision)

    def discard(self, member_id: str, decision: PastDecision) -> None:
        """Forget a decision recorded in advance that turned out not to be new."""
        queue = self._by_member.get(member_id)
        if queue is not None and decision in queue:
            queue.remove(decision)

    def get(self, member_id: str, now: datetime) -> tuple[PastDecision, ...]:
        """The member's decisions within ``horizon`` before ``now`` (older ones are dropped)."""
        queue = self._by_member.get(member_id)
        if not queue:
            return ()
        since = now - self.horizon
        while queue and queue[0].ts < since:
            queue.popleft()
        return tuple(queue)

    def __len__(self) -> int:
        return len(self._by_member)
