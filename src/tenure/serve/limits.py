"""A cap on request bodies: 413 for a body over the limit, declared or streamed.

A ``Content-Length`` over the limit is refused before anything is read. A body sent
without one (chunked) is counted as it arrives and refused as soon as it passes the limit,
so a client cannot make the server buffer more than ``max_bytes``.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY", "BodyLimitMiddleware", "too_large"]

DEFAULT_MAX_BODY = 1 << 20
"""1 MiB: far above any valid request (a decision request is a few hundred bytes)."""


class _TooLarge(HTTPException):
    """Raised from ``receive``; FastAPI passes an ``HTTPException`` through body parsing."""


class BodyLimitMiddleware:
    """Answer 413 when a request body is larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting ``receive``, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reply(send, 400, "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await _reply(send, 413, self._detail())
                    return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(413, self._detail())
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooLarge:
            if not started:
                await _reply(send, 413, self._detail())

    def _detail(self) -> str:
        return _detail(self.max_bytes)


def _detail(max_bytes: int) -> str:
    return f"request body over the limit of {max_bytes:,} bytes"


async def too_large(send: Send, max_bytes: int) -> None:
    """Send the 413 answer (and close the connection: the rest of the body is unread)."""
    await _reply(send, 413, _detail(max_bytes))


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
