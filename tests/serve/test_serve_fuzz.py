"""Fuzz every operation of the OpenAPI schema: no request, however malformed, gets a 5xx.

Schemathesis generates requests from ``/openapi.json`` (valid and invalid bodies, path
parameters, headers; a fixed number of examples per operation, derandomised) against the in-process app with a real SQLite log and the admin key,
so requests reach validation, the decision and the commit rather than stopping at 401.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from serve_support import ADMIN, FirstPolicy

from tenure.messaging import Catalogue, MemberIndex
from tenure.serve.app import create_app
from tenure.serve.auth import ApiKeys
from tenure.serve.service import Service


def test_no_request_gets_a_server_error(
    members: MemberIndex, catalogue: Catalogue, keys: ApiKeys, tmp_path: Path
) -> None:
    app = create_app(
        Service(catalogue, members, FirstPolicy(), tmp_path / "f.sqlite", keys, seed=3)
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 6
    calls: list[int] = []

    with TestClient(app):  # runs the lifespan: the log is open while schemathesis calls
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case: schemathesis.Case[Any]) -> None:
                # Semantic rejections (a snapshot path that is not a file) are legitimate
                # 422s, so "schema-valid data must be accepted" is not asserted; every other
                # default check is (status codes and bodies as documented, no 5xx).
                response = case.call_and_validate(
                    headers=ADMIN, excluded_checks=[positive_data_acceptance]
                )
                calls.append(response.status_code)

            fuzz()
    assert len(calls) >= 6 * 10
    assert max(calls) < 500
