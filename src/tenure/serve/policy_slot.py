"""The policy being served, swapped atomically while requests are in flight.

A request reads :attr:`PolicySlot.current` once and uses that object for its whole
decision, and the decision logs that object's version; a swap replaces the reference in
one assignment. So a swap never fails or mixes an in-flight request, and every logged row
names the policy that really chose it. A snapshot is loaded (parsed, validated) in a
worker thread *before* the swap, so a bad file leaves the current policy serving.

Two ways to swap: ``POST /v1/admin/policy`` (:meth:`PolicySlot.load`) or a watched
snapshot file (:meth:`PolicySlot.watch`, which polls its modification time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from tenure.messaging import Policy

__all__ = ["PolicySlot"]

log = logging.getLogger("tenure.serve")


class PolicySlot:
    """Holds the serving policy; ``loader`` turns a snapshot path into a policy."""

    def __init__(
        self,
        policy: Policy,
        *,
        loader: Callable[[Path], Policy] | None = None,
        watched: Path | None = None,
    ) -> None:
        self.current: Policy = policy
        self.loader = loader or _load_policy
        self.watched = watched
        self.swaps = 0
        self._mtime = _mtime(watched) if watched is not None else None

    def swap(self, policy: Policy) -> Policy:
        """Serve ``policy`` from the next request on; return the one it replaced."""
        previous, self.current = self.current, policy
        self.swaps += 1
        log.info("policy %s replaced %s", policy.version, previous.version)
        return previous

    async def load(self, path: Path) -> Policy:
        """Load the snapshot at ``path`` off the event loop, then swap it in."""
        policy = await asyncio.to_thread(self.loader, path)
        return self.swap(policy)

    async def watch(self, interval: float = 1.0) -> None:
        """Reload the watched snapshot whenever its modification time changes (forever)."""
        if self.watched is None:
            return
        while True:
            await asyncio.sleep(interval)
            mtime = _mtime(self.watched)
            if mtime is None or mtime == self._mtime:
                continue
            self._mtime = mtime
            try:
                await self.load(self.watched)
            except Exception as exc:  # a half-written or invalid file: keep serving
                log.error("policy snapshot %s not loaded: %s", self.watched, exc)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _load_policy(path: Path) -> Policy:
    from tenure.messaging import load_policy

    return load_policy(path)
