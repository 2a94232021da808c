r"""API keys with scopes, checked in an ASGI middleware before the request body is read.

Keys come from a file (one ``KEY SCOPE`` per line, ``#`` comments) or the
``TENURE_API_KEYS`` environment variable (``KEY:SCOPE`` pairs separated by commas). Scope
``admin`` includes ``write``. Only a SHA-256 digest of each key is kept, and a presented
key is compared against every digest with :func:`hmac.compare_digest`, so neither the
comparison's time nor a log line reveals a key.

The middleware answers 401 (no key, or an unknown one) and 403 (a key without the scope
the route needs) from the path and headers alone: an unauthenticated client can never
make the server read, buffer or parse a body.

::

    >>> keys = ApiKeys.parse("s3cret-admin admin\nw-key write\n", source="keys.txt")
    >>> keys.scope_of("w-key"), keys.scope_of("nope")
    ('write', None)
    >>> keys.allows("s3cret-admin", "write")
    True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from tenure.errors import SpecError

__all__ = ["ENV_VAR", "ApiKeys", "AuthMiddleware", "KeyScope", "required_scope"]

KeyScope = Literal["write", "admin"]
SCOPES: tuple[KeyScope, ...] = ("write", "admin")
ENV_VAR = "TENURE_API_KEYS"
MIN_KEY_LENGTH = 16


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class ApiKeys:
    """The digests of the accepted keys and each one's scope."""

    digests: tuple[tuple[bytes, KeyScope], ...]

    @classmethod
    def parse(cls, text: str, *, source: str, min_length: int = 0) -> ApiKeys:
        """Read ``KEY SCOPE`` lines; ``source`` names the file or variable in errors."""
        entries: list[tuple[bytes, KeyScope]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or parts[1] not in SCOPES:
                raise SpecError(
                    f"{source} line {number}: expected 'KEY SCOPE' with SCOPE write or admin"
                )
            key = parts[0]
            scope: KeyScope = "admin" if parts[1] == "admin" else "write"
            if len(key) < min_length:
                raise SpecError(
                    f"{source} line {number}: a key needs at least {min_length} characters"
                )
            entries.append((_digest(key), scope))
        if not entries:
            raise SpecError(f"{source} holds no API key (one 'KEY SCOPE' per line)")
        return cls(tuple(entries))

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, env: Mapping[str, str] | None = None
    ) -> ApiKeys:
        """Keys from ``path`` if given, else from ``$TENURE_API_KEYS``; a clear error if neither."""
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise SpecError(f"--api-keys {p}: no such file")
            return cls.parse(p.read_text(), source=str(p), min_length=MIN_KEY_LENGTH)
        value = (os.environ if env is None else env).get(ENV_VAR)
        if value:
            text = "\n".join(" ".join(p.strip().rpartition(":")[::2]) for p in value.split(","))
            return cls.parse(text, source=f"${ENV_VAR}", min_length=MIN_KEY_LENGTH)
        raise SpecError(
            f"no API keys: pass --api-keys FILE (lines 'KEY SCOPE') or set {ENV_VAR}='KEY:admin'"
        )

    def scope_of(self, key: str) -> KeyScope | None:
        """The scope of ``key``, comparing with every stored digest in constant time."""
        presented = _digest(key)
        found: KeyScope | None = None
        for digest, scope in self.digests:
            if hmac.compare_digest(presented, digest):
                found = scope
        return found

    def allows(self, key: str, needed: KeyScope) -> bool:
        """Whether ``key`` carries ``needed`` (``admin`` includes ``write``)."""
        scope = self.scope_of(key)
        return scope == "admin" or (scope is not None and scope == needed)


def required_scope(method: str, path: str) -> KeyScope | None:
    """The scope a route needs: admin routes need ``admin``, other writes ``write``."""
    if path.startswith("/v1/admin"):
        return "admin"
    if method in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/v1/"):
        return "write"
    return None


class AuthMiddleware:
    """Reject a write without a valid key (401) or the right scope (403), before the body."""

    def __init__(self, app: ASGIApp, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 401/403 without touching ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needed = required_scope(scope["method"], scope["path"])
        if needed is None:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            await _deny(send, 401, "missing API key: send 'Authorization: Bearer KEY'")
            return
        granted = self.keys.scope_of(token)
        if granted is None:
            await _deny(send, 401, "unknown API key")
            return
        if needed == "admin" and granted != "admin":
            await _deny(send, 403, "this API key has scope 'write'; admin routes need 'admin'")
            return
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"authorization":
            text = value.decode("latin-1")
            kind, _, token = text.partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


async def _deny(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
