"""Fixtures of the service tests: a small known world, API keys, stores, a PostgreSQL server.

PostgreSQL is real: ``scripts/postgres.sh`` installs it from Debian's packages when missing
and starts a throwaway cluster on a free loopback port for the session; each test gets a
database of its own.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_support import ADMIN_KEY, WRITE_KEY
from serve_world import AS_OF, write_world

from tenure.messaging import Catalogue, MemberIndex, Policy, UniformPolicy
from tenure.serve.app import create_app
from tenure.serve.auth import ApiKeys
from tenure.serve.service import Service, data_clock
from tenure.store import Dataset, connect

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("serve_world"))


@pytest.fixture(scope="session")
def dataset(world: Path) -> Dataset:
    return connect(world, as_of=AS_OF)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.default()


@pytest.fixture(scope="session")
def members(dataset: Dataset, catalogue: Catalogue) -> MemberIndex:
    return MemberIndex.from_dataset(dataset, catalogue=catalogue)


@pytest.fixture(scope="session")
def keys() -> ApiKeys:
    return ApiKeys.parse(f"{ADMIN_KEY} admin\n{WRITE_KEY} write\n", source="test keys")


@pytest.fixture(scope="session")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    path.write_text(f"# test keys\n{ADMIN_KEY} admin\n{WRITE_KEY} write\n")
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL cluster (its ``tenure`` database)."""
    # Under /tmp, not pytest's 0700 tmp tree: the server runs as an unprivileged user.
    folder = Path(tempfile.mkdtemp(prefix="tenure-pg-"))
    script = ROOT / "scripts" / "postgres.sh"
    started = subprocess.run(
        ["bash", str(script), "start", str(folder)], capture_output=True, text=True, timeout=600
    )
    if started.returncode != 0:
        pytest.fail(f"scripts/postgres.sh could not start PostgreSQL:\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(script), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def log_target(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """``target(kind)``: a fresh log location of that kind (a file, or a PostgreSQL URL)."""

    def target(kind: str) -> str:
        if kind == "postgresql":
            url: str = request.getfixturevalue("pg_url")
            return url
        return str(tmp_path / f"decisions-{uuid.uuid4().hex[:6]}.{kind}")

    return target


@pytest.fixture
def make_client(
    members: MemberIndex, catalogue: Catalogue, keys: ApiKeys, tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """``make_client(log=..., policy=...)``: a started service behind a TestClient."""
    clients: list[TestClient] = []

    def make(
        log: str | Path | None = None, policy: Policy | None = None, **options: Any
    ) -> TestClient:
        service = Service(
            catalogue,
            members,
            policy or UniformPolicy(catalogue),
            log or tmp_path / f"log-{len(clients)}.sqlite",
            keys,
            clock=options.pop("clock", data_clock(AS_OF)),
            seed=options.pop("seed", 11),
            **options,
        )
        client = TestClient(create_app(service))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
