"""The demo's replay: the real service on a loopback port, fed sign-ups, views and cancels.

:func:`replay_demo` starts ``tenure serve``'s app (uvicorn, durable SQLite log, a fresh
admin key held in memory) on a free port of 127.0.0.1 against the demo world, then for a
few seconds sends what the product's touchpoints would: new members at ``signup`` decided
from their context, known members viewing a product (``in_context``) or the ``home``
page, and members trying to cancel (``cancel_flow`` decision plus their value recap),
with a click reported back as an outcome for some decisions. It reads the counts back
*from the log* — what was durably recorded, not what the client believes — and returns
them with one cancel-flow value recap for the report.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tenure.results import Result, json_safe
from tenure.store import Dataset

__all__ = ["ReplayResult", "replay_demo"]

MIX = (("signup", 0.25), ("in_context", 0.35), ("home", 0.2), ("cancel_flow", 0.2))
"""Share of replayed requests per touchpoint."""
CLICK_RATE = 0.1
"""Share of shown decisions for which the replay reports a ``click`` outcome."""
NEW_CONTEXT = {
    "country": ("US", "GB", "DE", "FR", "JP", "BR"),
    "plan": ("monthly", "annual", "student", "family"),
    "channel": ("organic", "paid_search", "social", "referral"),
}


@dataclass(frozen=True, repr=False)
class ReplayResult(Result):
    """What the replay sent and what the log durably holds, per placement.

    ``placements`` rows: placement, decisions logged, shown (a creative), nothing eligible,
    mean propensity of shown decisions, distinct creatives shown, the most shown creative.
    """

    kind: ClassVar[str] = "serve_replay"
    params: Mapping[str, Any]
    placement: tuple[str, ...]
    decisions: np.ndarray
    shown: np.ndarray
    empty: np.ndarray
    mean_propensity: np.ndarray
    creatives: np.ndarray
    top_creative: tuple[str, ...]
    outcomes: int
    requests: int
    errors: int
    seconds: float
    latency_ms_p50: float
    latency_ms_p99: float
    cancel_member: str | None
    cancel_decision: Mapping[str, Any] | None
    cancel_recap: Mapping[str, Any] | None
    log: str

    @property
    def total_decisions(self) -> int:
        """Decisions in the log."""
        return int(self.decisions.sum())

    @property
    def rate(self) -> float:
        """Requests answered per second of replay."""
        return self.requests / self.seconds if self.seconds > 0 else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per placement."""
        return pd.DataFrame(
            {
                "placement": list(self.placement),
                "decisions": self.decisions,
                "shown": self.shown,
                "nothing_eligible": self.empty,
                "mean_propensity": self.mean_propensity,
                "creatives_shown": self.creatives,
                "top_creative": list(self.top_creative),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Placements, totals, latency and the cancel-flow recap (the ``--json`` document)."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "rows": json_safe(self.to_frame()),
            "outcomes": self.outcomes,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": json_safe(self.seconds),
            "latency_ms": {
                "p50": json_safe(self.latency_ms_p50),
                "p99": json_safe(self.latency_ms_p99),
            },
            "cancel_member": self.cancel_member,
            "cancel_decision": json_safe(self.cancel_decision),
            "cancel_recap": json_safe(self.cancel_recap),
            "log": self.log,
        }


def replay_demo(
    dataset: Dataset,
    out_dir: Path,
    *,
    seconds: float = 3.0,
    seed: int = 7,
    concurrency: int = 8,
    max_requests: int = 20_000,
) -> ReplayResult:
    """Serve the demo world for ``seconds`` on loopback and replay its touchpoints.

    Parameters
    ----------
    dataset
        The demo world (members and events), as ``tenure.store.connect`` opens it.
    out_dir
        Where the decision log goes (``out_dir/serve/decisions.sqlite``, replaced each run).
    seconds, max_requests
        The replay stops at whichever bound comes first.
    seed
        Seeds the replayed traffic and the policy's draws.
    concurrency
        Clients sending at once.
    """
    from tenure.messaging import Catalogue, MemberIndex, UniformPolicy
    from tenure.serve.app import create_app
    from tenure.serve.auth import ApiKeys
    from tenure.serve.service import Service, data_clock

    folder = Path(out_dir) / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "decisions.sqlite"
    for stale in (log, log.with_name(log.name + "-wal"), log.with_name(log.name + "-shm")):
        stale.unlink(missing_ok=True)
    catalogue = Catalogue.default()
    members = MemberIndex.from_dataset(dataset, catalogue=catalogue)
    key = secrets.token_urlsafe(24)
    service = Service(
        catalogue,
        members,
        UniformPolicy(catalogue),
        log,
        ApiKeys.parse(f"{key} write", source="replay"),
        clock=data_clock(dataset.as_of),
        seed=seed,
    )
    with _serving(create_app(service)) as url:
        traffic = asyncio.run(
            _replay(
                url,
                key,
                members,
                seconds=seconds,
                seed=seed,
                clients=concurrency,
                limit=max_requests,
            )
        )
    return _summarise(log, traffic, seconds=seconds, seed=seed, concurrency=concurrency)


@dataclass
class _Traffic:
    latencies: list[float]
    errors: int
    outcomes: int
    elapsed: float
    cancel_member: str | None = None
    cancel_decision: dict[str, Any] | None = None
    cancel_recap: dict[str, Any] | None = None


class _serving:
    """Run an app under uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        from tenure.serve.server import DrainingServer, bind, config

        self.sock = bind("127.0.0.1", 0)
        self.server = DrainingServer(config(app))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the decision service did not start for the replay")
            time.sleep(0.02)
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


async def _replay(
    url: str,
    key: str,
    members: Any,
    *,
    seconds: float,
    seed: int,
    clients: int,
    limit: int,
) -> _Traffic:
    import httpx

    rng = np.random.default_rng(seed)
    known = list(members.states)
    users = [known[i] for i in rng.choice(len(known), size=min(len(known), 5000), replace=False)]
    # The cancel-flow example: a member with savings to show, if the world has one.
    with_savings = [m for m in users if members.get(m).saved_30d > 0]
    traffic = _Traffic([], 0, 0, 0.0)
    traffic.cancel_member = (with_savings or users or [None])[0]
    placements = [p for p, _ in MIX]
    weights = np.array([w for _, w in MIX])
    deadline = time.monotonic() + seconds
    sent = 0
    headers = {"Authorization": f"Bearer {key}"}

    async def client(c: int, http: httpx.AsyncClient) -> None:
        nonlocal sent
        local = np.random.default_rng([seed, c])
        n = 0
        while time.monotonic() < deadline and sent < limit:
            sent += 1
            n += 1
            placement = placements[int(local.choice(len(placements), p=weights))]
            if placement == "signup":
                member = f"replay-new-{c}-{n}"
                context = {k: str(local.choice(v)) for k, v in NEW_CONTEXT.items()}
            else:
                member = users[int(local.integers(len(users)))]
                context = {}
            start = time.perf_counter()
            r = await http.post(
                "/v1/decide", json={"member_id": member, "placement": placement, "context": context}
            )
            traffic.latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                traffic.errors += 1
                continue
            body = r.json()
            if body["creative"] is not None and local.random() < CLICK_RATE:
                o = await http.post(
                    "/v1/outcomes", json={"decision_id": body["decision_id"], "event": "click"}
                )
                traffic.outcomes += o.status_code == 200
            if placement == "cancel_flow":
                await http.get(f"/v1/members/{member}/value-recap")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(c, http) for c in range(clients)))
        traffic.elapsed = time.perf_counter() - started
        if traffic.cancel_member is not None:
            m = traffic.cancel_member
            d = await http.post("/v1/decide", json={"member_id": m, "placement": "cancel_flow"})
            traffic.cancel_decision = d.json() if d.status_code == 200 else None
            recap = await http.get(f"/v1/members/{m}/value-recap")
            traffic.cancel_recap = recap.json() if recap.status_code == 200 else None
    return traffic


def _summarise(
    log: Path, traffic: _Traffic, *, seconds: float, seed: int, concurrency: int
) -> ReplayResult:
    from tenure.serve.stores import open_log

    store = open_log(log)
    try:
        rows = store.since(datetime(1970, 1, 1, tzinfo=UTC))
        outcomes = store.count()[1]
    finally:
        store.close()
    frame = pd.DataFrame(
        {
            "placement": [r.placement for r in rows],
            "variant": [r.variant for r in rows],
            "propensity": [r.propensity for r in rows],
        }
    )
    order = [p for p, _ in MIX if p in set(frame["placement"])]
    order += sorted(set(frame["placement"]) - set(order))
    by = {p: g for p, g in frame.groupby("placement")}
    shown = {p: by[p][by[p]["variant"].notna()] for p in order}
    lat = np.array(traffic.latencies) * 1e3
    return ReplayResult(
        params={"seconds": seconds, "seed": seed, "concurrency": concurrency, "store": "sqlite"},
        placement=tuple(order),
        decisions=np.array([len(by[p]) for p in order], dtype=np.int64),
        shown=np.array([len(shown[p]) for p in order], dtype=np.int64),
        empty=np.array([len(by[p]) - len(shown[p]) for p in order], dtype=np.int64),
        mean_propensity=np.array(
            [shown[p]["propensity"].mean() if len(shown[p]) else np.nan for p in order]
        ),
        creatives=np.array([shown[p]["variant"].nunique() for p in order], dtype=np.int64),
        top_creative=tuple(
            str(shown[p]["variant"].value_counts().index[0]) if len(shown[p]) else "" for p in order
        ),
        outcomes=int(outcomes),
        requests=len(traffic.latencies),
        errors=traffic.errors,
        seconds=traffic.elapsed,
        latency_ms_p50=float(np.percentile(lat, 50)) if lat.size else float("nan"),
        latency_ms_p99=float(np.percentile(lat, 99)) if lat.size else float("nan"),
        cancel_member=traffic.cancel_member,
        cancel_decision=traffic.cancel_decision,
        cancel_recap=traffic.cancel_recap,
        log=str(log),
    )
