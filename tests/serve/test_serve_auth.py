"""API keys and scopes: 401/403 decided from the headers, before a body is read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_support import ADMIN_KEY, WRITE, WRITE_KEY

from tenure.errors import SpecError
from tenure.serve.auth import ApiKeys, AuthMiddleware

Make = Callable[..., TestClient]


def test_keys_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(f"# ops\n{ADMIN_KEY} admin  # rotated 2026-05\n\n{WRITE_KEY} write\n")
    keys = ApiKeys.load(path)
    assert keys.scope_of(ADMIN_KEY) == "admin" and keys.scope_of(WRITE_KEY) == "write"
    env = ApiKeys.load(env={"TENURE_API_KEYS": f"{WRITE_KEY}:write, {ADMIN_KEY}:admin"})
    assert env.scope_of(ADMIN_KEY) == "admin" and env.scope_of("x" * 20) is None
    # Only digests are kept: no key text in the object.
    assert ADMIN_KEY not in repr(keys) and ADMIN_KEY.encode() not in b"".join(
        d for d, _ in keys.digests
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("onlyakeywithnoscope0000\n", "line 1: expected 'KEY SCOPE'"),
        (f"{ADMIN_KEY} root\n", "line 1: expected 'KEY SCOPE' with SCOPE write or admin"),
        ("# c\nshort admin\n", "line 2: a key needs at least 16 characters"),
        ("# nothing\n", "holds no API key"),
    ],
)
def test_a_bad_keys_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        ApiKeys.load(path)


def test_no_keys_at_all_is_refused_with_the_fix() -> None:
    with pytest.raises(SpecError, match="pass --api-keys FILE"):
        ApiKeys.load(env={})
    with pytest.raises(SpecError, match="no such file"):
        ApiKeys.load(Path("/nonexistent/keys.txt"))


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-key-at-all-0000"}, 401),
        ({"Authorization": f"Basic {WRITE_KEY}"}, 401),
        ({"Authorization": f"Bearer {WRITE_KEY}"}, 200),
        ({"Authorization": f"bearer {ADMIN_KEY}"}, 200),
    ],
)
def test_writes_need_a_key(make_client: Make, headers: dict[str, str], status: int) -> None:
    r = make_client().post(
        "/v1/decide", json={"member_id": "m001", "placement": "home"}, headers=headers
    )
    assert r.status_code == status
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_admin_routes_need_the_admin_scope(make_client: Make) -> None:
    client = make_client()
    r = client.post("/v1/admin/policy", json={"path": "/x"}, headers=WRITE)
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert client.post("/v1/outcomes", json={}, headers={}).status_code == 401
    # Reads are open: the touchpoint's recap and the probes.
    assert client.get("/v1/members/m000/value-recap").status_code == 200
    assert client.get("/healthz").status_code == 200


async def _call(app: Any, headers: list[tuple[bytes, bytes]], path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read before the key was checked")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    ("headers", "path", "status"),
    [
        ([], "/v1/decide", 401),
        ([(b"authorization", b"Bearer wrong-key-000000000")], "/v1/outcomes", 401),
        ([(b"authorization", f"Bearer {WRITE_KEY}".encode())], "/v1/admin/policy", 403),
    ],
)
def test_denials_never_read_the_body(
    headers: list[tuple[bytes, bytes]], path: str, status: int
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app ran without a valid key")

    keys = ApiKeys.parse(f"{ADMIN_KEY} admin\n{WRITE_KEY} write", source="t")
    sent = asyncio.run(_call(AuthMiddleware(app, keys), headers, path))
    assert sent[0]["status"] == status
