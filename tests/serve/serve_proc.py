"""A real ``tenure serve`` subprocess and a bounded load of concurrent clients against it.

Used by the crash and drain tests: the server is the installed command under uvicorn on
a free loopback port, exactly as an operator runs it; clients are threads with their own
HTTP connections that record which decisions were acknowledged (a 200 received).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TENURE = str(Path(sys.executable).with_name("tenure"))
PLACEMENTS = ("home", "in_context", "email", "cancel_flow")


class ServerProcess:
    """``tenure serve --port 0`` in a subprocess; ``url`` once it says it is listening."""

    def __init__(self, data: Path, log: str, keys_file: Path, *extra: str) -> None:
        self.args = [
            TENURE, "serve", "--data", str(data), "--log", log, "--api-keys", str(keys_file),
            "--port", "0", "--clock", "data", *extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        self.stderr: list[str] = []
        self.url = self._wait_for_url(timeout=120)

    def _wait_for_url(self, timeout: float) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.stderr.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self._reader = threading.Thread(target=self._drain, daemon=True)
                self._reader.start()
                return found.group(1)
        self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        raise RuntimeError(f"tenure serve did not start: {''.join(self.stderr)}")

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@dataclass
class Load:
    """Concurrent clients sending decisions with their own ids until stopped."""

    url: str
    key: str
    members: Sequence[str]
    clients: int = 8
    max_requests: int = 20_000
    prefix: str = "c"
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for c in range(self.clients):
            t = threading.Thread(target=self._client, args=(c,), daemon=True)
            t.start()
            self._threads.append(t)

    def _client(self, c: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        per_client = self.max_requests // self.clients
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            for k in range(per_client):
                if self.stop.is_set():
                    return
                did = f"{self.prefix}{c}-{k}"
                body = {
                    "member_id": self.members[(c * 7919 + k) % len(self.members)],
                    "placement": PLACEMENTS[k % len(PLACEMENTS)],
                    "decision_id": did,
                }
                try:
                    r = http.post("/v1/decide", json=body)
                except httpx.TransportError as exc:
                    with self._lock:
                        self.failures.append(f"{did}: {type(exc).__name__}")
                    return  # the server is gone
                if r.status_code == 200:
                    with self._lock:
                        self.acked[did] = r.json()
                else:
                    with self._lock:
                        self.failures.append(f"{did}: HTTP {r.status_code} {r.text[:200]}")

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and time.monotonic() < deadline:
            if not any(t.is_alive() for t in self._threads):
                break
            time.sleep(0.01)

    def join(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=60)
