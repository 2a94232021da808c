"""Request bodies over the limit are a 413, whether declared or streamed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from fastapi.testclient import TestClient
from serve_support import WRITE

from tenure.serve.limits import BodyLimitMiddleware

Make = Callable[..., TestClient]


def test_a_body_over_one_mebibyte_is_413(make_client: Make) -> None:
    client = make_client()
    big = (
        b'{"member_id": "m001", "placement": "home", "context": {"x": "' + b"a" * (1 << 20) + b'"}}'
    )
    r = client.post(
        "/v1/decide", content=big, headers={**WRITE, "content-type": "application/json"}
    )
    assert r.status_code == 413 and "1,048,576 bytes" in r.json()["detail"]


def test_the_limit_is_configurable_and_applies_to_chunked_bodies(make_client: Make) -> None:
    client = make_client(max_body=64)
    body = b'{"member_id": "m001", "placement": "home", "context": {"device": "ios-17-pro"}}'

    def chunks() -> Iterator[bytes]:
        yield body[:40]
        yield body[40:]

    r = client.post(
        "/v1/decide", content=chunks(), headers={**WRITE, "content-type": "application/json"}
    )
    assert r.status_code == 413
    small = client.post("/v1/decide", json={"member_id": "m1", "placement": "home"}, headers=WRITE)
    assert small.status_code == 404  # under the limit: the request reached the decision


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app ran")

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", b"101")],
    }
    asyncio.run(BodyLimitMiddleware(app, 100)(scope, receive, send))
    assert sent[0]["status"] == 413
