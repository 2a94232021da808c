"""Group commit: many requests' writes in one transaction, each answered after its commit.

A request hands its row to :class:`GroupCommitter` and awaits a future. One writer thread
takes everything queued — whatever arrived while the previous commit was syncing — writes
it in one transaction, and only then resolves the futures. Under load a commit carries
tens of decisions, so the cost of the sync is shared; when idle, a lone request is
committed at once (no timer adds latency). The thread is also the only user of the store's
connection, so reads (``get``, ``ping``) go through it too.

The guarantee the service is built on: a future resolves with a stored row only after the
transaction holding it committed, so an acknowledged decision survives ``SIGKILL``.

With a log shared by several worker processes, every write also returns what the other
workers committed since (:class:`~tenure.serve.stores.PeerDecision`), and an idle writer
looks every :data:`PEER_POLL` seconds; :meth:`GroupCommitter.follow` hands those rows to
the event loop, ahead of the answers of the batch they came with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenure.serve.stores import DecisionLog, DecisionRow, OutcomeRow, OutcomeStatus, PeerDecision

__all__ = ["PEER_POLL", "CommitStats", "CommitterClosed", "GroupCommitter"]

PEER_POLL = 0.05
"""Seconds an idle writer of a shared log waits before reading the other workers' rows."""

T = TypeVar("T")
log = logging.getLogger("tenure.serve")


class CommitterClosed(RuntimeError):
    """The committer is shutting down and takes no new writes."""


@dataclass(slots=True)
class _Op:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    decision: DecisionRow | None = None
    outcome: OutcomeRow | None = None
    call: Callable[[DecisionLog], Any] | None = None


@dataclass(slots=True)
class CommitStats:
    """Counters the benchmark and ``/readyz`` report: commits, rows, largest batch."""

    commits: int = 0
    decisions: int = 0
    outcomes: int = 0
    largest_batch: int = 0
    failures: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def mean_batch(self) -> float:
        """Rows per commit, averaged over commits."""
        return (self.decisions + self.outcomes) / self.commits if self.commits else 0.0


class GroupCommitter:
    """One writer thread over a :class:`~tenure.serve.stores.DecisionLog`.

    Parameters
    ----------
    opener
        Opens the store; called *in the writer thread*, so the connection is created,
        used and closed by one thread (SQLite and DuckDB connections prefer that).
    max_batch
        The most rows one transaction carries.
    """

    def __init__(self, opener: Callable[[], DecisionLog], *, max_batch: int = 512) -> None:
        self._opener = opener
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._closed = False
        self.stats = CommitStats()
        self.store: DecisionLog | None = None
        self._follower: tuple[asyncio.AbstractEventLoop, Callable[[Sequence[PeerDecision]], None]]
        self._follower_set = False

    def follow(
        self, loop: asyncio.AbstractEventLoop, apply: Callable[[Sequence[PeerDecision]], None]
    ) -> None:
        """Call ``apply(rows)`` on ``loop`` with the decisions other workers commit.

        Only a shared store (one of several workers' on one log) reports any.
        """
        self._follower = (loop, apply)
        self._follower_set = True

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Open the store in the writer thread; raise here if it cannot be opened.

        Calling it again once started does nothing (the command opens the log before the
        server starts, so a bad ``--log`` is a one-line error, not a failed start-up).
        """
        if self._thread is not None and self._open_error is None:
            return
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="tenure-commit", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error

    def close(self) -> None:
        """Commit everything already queued, then close the store and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()

    # -- the API requests use -------------------------------------------------------------
    async def decide(self, row: DecisionRow) -> tuple[DecisionRow, bool]:
        """Commit ``row``, or find the decision already stored under its id.

        Returns the stored row and whether it is new.
        """
        result: tuple[DecisionRow, bool] = await self._submit(_Op(*self._future(), decision=row))
        return result

    async def outcome(self, row: OutcomeRow) -> OutcomeStatus:
        """Commit ``row`` unless its decision is unknown or the outcome is already stored."""
        result: OutcomeStatus = await self._submit(_Op(*self._future(), outcome=row))
        return result

    async def call(self, fn: Callable[[DecisionLog], T]) -> T:
        """Run ``fn(store)`` in the writer thread (a read, or a ping)."""
        result: T = await self._submit(_Op(*self._future(), call=fn))
        return result

    @staticmethod
    def _future() -> tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        return loop, loop.create_future()

    async def _submit(self, op: _Op) -> Any:
        if self._closed:
            raise CommitterClosed("the decision log is closing")
        if self._thread is None or not self._thread.is_alive():
            raise CommitterClosed("the decision log is not open (the service was not started)")
        self._queue.put(op)
        return await op.future

    # -- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.store = self._opener()
        except BaseException as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        peers = getattr(self.store, "peers", None) if getattr(self.store, "shared", False) else None
        stopping = False
        while not stopping:
            batch: list[_Op] = []
            if peers is None or not self._follower_set:
                first = self._queue.get()
            else:
                try:
                    first = self._queue.get(timeout=PEER_POLL)
                except queue.Empty:
                    self._peer_rows(peers)
                    continue
            if first is None:
                stopping = True
            else:
                batch.append(first)
            # Take whatever else is already waiting (including after the stop marker, so a
            # request queued before close() is still committed and answered).
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                else:
                    batch.append(nxt)
            if batch:
                self._process(self.store, batch)
        self.store.close()

    def _process(self, store: DecisionLog, batch: Sequence[_Op]) -> None:
        writes = [op for op in batch if op.call is None]
        calls = [op for op in batch if op.call is not None]
        results: list[tuple[_Op, Any, BaseException | None]] = []
        if writes:
            decisions = [op.decision for op in writes if op.decision is not None]
            outcomes = [op.outcome for op in writes if op.outcome is not None]
            try:
                written = store.write(decisions, outcomes)
            except Exception as exc:  # the driver's own error types differ per backend
                log.error("decision log write failed (%d rows): %s", len(writes), exc)
                self.stats.failures += 1
                results += [(op, None, exc) for op in writes]
            else:
                self._count(len(decisions), len(outcomes))
                if written.peers:
                    self._deliver(written.peers)
                d_iter = iter(written.decisions)
                o_iter = iter(written.outcomes)
                for op in writes:
                    value = next(d_iter) if op.decision is not None else next(o_iter)
                    results.append((op, value, None))
        for op in calls:
            assert op.call is not None
            try:
                results.append((op, op.call(store), None))
            except Exception as exc:
                results.append((op, None, exc))
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Op, Any, BaseException | None]]] = {}
        for item in results:
            by_loop.setdefault(item[0].loop, []).append(item)
        for loop, items in by_loop.items():
            # A loop that has closed took its requests with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, items)

    def _peer_rows(self, read: Callable[[], Sequence[PeerDecision]]) -> None:
        try:
            rows = read()
        except Exception as exc:  # a busy or briefly unreadable file: look again later
            log.warning("reading the other workers' decisions failed: %s", exc)
            return
        if rows:
            self._deliver(rows)

    def _deliver(self, rows: Sequence[PeerDecision]) -> None:
        if not self._follower_set:
            return
        loop, apply = self._follower
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(apply, rows)

    def _count(self, decisions: int, outcomes: int) -> None:
        s = self.stats
        s.commits += 1
        s.decisions += decisions
        s.outcomes += outcomes
        s.largest_batch = max(s.largest_batch, decisions + outcomes)
        if len(s.batch_sizes) < 100_000:
            s.batch_sizes.append(decisions + outcomes)


def _resolve(items: Sequence[tuple[_Op, Any, BaseException | None]]) -> None:
    for op, value, error in items:
        if op.future.done():  # the request was cancelled (client went away)
            continue
        if error is not None:
            op.future.set_exception(error)
        else:
            op.future.set_result(value)
