"""The HTTP API on the small known world: decisions, caps, idempotency, outcomes, recaps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from serve_support import ADMIN, WRITE, FirstPolicy

from tenure.messaging import Catalogue
from tenure.messaging.snapshot import write_snapshot
from tenure.serve.models import DecideResponse
from tenure.serve.service import Service
from tenure.serve.stores import DecisionLog, DecisionRow, OutcomeRow

Make = Callable[..., TestClient]


def logged(client: TestClient, decision_id: str) -> DecisionRow | None:
    service: Service = client.app.state.service  # type: ignore[attr-defined]

    def get(store: DecisionLog) -> DecisionRow | None:
        return store.get(decision_id)

    assert client.portal is not None
    result: DecisionRow | None = client.portal.call(service.committer.call, get)
    return result


def counts(client: TestClient) -> tuple[int, int]:
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    assert client.portal is not None
    result: tuple[int, int] = client.portal.call(service.committer.call, lambda s: s.count())
    return result


def decide(client: TestClient, **body: Any) -> Any:
    r = client.post("/v1/decide", json=body, headers=WRITE)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_decision_is_drawn_from_the_eligible_set_and_logged_as_answered(
    make_client: Make, catalogue: Catalogue
) -> None:
    client = make_client()
    got = decide(client, member_id="m001", placement="home", context={"device": "ios"})
    row = logged(client, got["decision_id"])
    assert row is not None
    assert row.variant == got["creative"]["id"] and row.variant in row.eligible
    assert got["eligible"] == len(row.eligible) > 1
    assert got["propensity"] == pytest.approx(1 / len(row.eligible))  # uniform
    assert row.experiment == got["policy_version"] == f"uniform-{catalogue.digest}"
    assert row.placement == "home" and row.member_id == "m001"
    # The member's own attributes win over the request; request-only keys are kept.
    assert row.context["plan"] == "annual" and row.context["device"] == "ios"
    assert got["text"] == row.text and got["benefit"] == row.benefit


def test_nothing_eligible_is_a_logged_200_with_the_reason(make_client: Make) -> None:
    client = make_client()
    # The default catalogue caps cancel_flow at 3 decisions per member per day.
    shown = [decide(client, member_id="m002", placement="cancel_flow") for _ in range(3)]
    assert all(s["creative"] is not None for s in shown)
    capped = decide(client, member_id="m002", placement="cancel_flow")
    assert capped["creative"] is None and capped["text"] is None
    assert capped["reason"].startswith("cap: 3 cancel_flow decisions")
    assert capped["propensity"] == 1.0 and capped["eligible"] == 0
    row = logged(client, capped["decision_id"])
    assert row is not None and row.variant is None and row.eligible == ()


def test_a_creative_just_shown_is_not_eligible_again(make_client: Make) -> None:
    client = make_client(policy=FirstPolicy())
    first = decide(client, member_id="m004", placement="home")
    second = decide(client, member_id="m004", placement="home")
    assert second["creative"]["id"] != first["creative"]["id"]
    assert second["eligible"] == first["eligible"] - 1


def test_a_client_decision_id_makes_the_call_idempotent(make_client: Make) -> None:
    client = make_client()
    body = {"member_id": "m005", "placement": "home", "decision_id": "checkout-42"}
    first = client.post("/v1/decide", json=body, headers=WRITE)
    retries = [client.post("/v1/decide", json=body, headers=WRITE) for _ in range(5)]
    assert all(r.json() == first.json() for r in retries)
    assert counts(client) == (1, 0)
    # The same id for another member or placement is a conflict, not their decision.
    other = client.post("/v1/decide", json={**body, "member_id": "m006"}, headers=WRITE)
    assert other.status_code == 409 and "m005" in other.json()["detail"]
    assert counts(client) == (1, 0)
    # The retry did not count against the member's caps: still one creative excluded.
    fresh = decide(client, member_id="m005", placement="home")
    assert fresh["eligible"] == first.json()["eligible"] - 1


def test_unknown_members_are_404_except_at_signup_where_context_decides(
    make_client: Make,
) -> None:
    client = make_client()
    r = client.post("/v1/decide", json={"member_id": "new-1", "placement": "home"}, headers=WRITE)
    assert r.status_code == 404 and "new-1" in r.json()["detail"]
    family = decide(
        client, member_id="new-1", placement="signup", context={"country": "US", "plan": "family"}
    )
    monthly = decide(
        client, member_id="new-2", placement="signup", context={"country": "US", "plan": "monthly"}
    )
    # Family sharing is only for family plans: the context, not a member row, decided that.
    assert family["eligible"] > monthly["eligible"]
    row = logged(client, family["decision_id"])
    assert row is not None and row.context["plan"] == "family"
    later = decide(client, member_id="new-1", placement="home")
    later_row = logged(client, later["decision_id"])
    assert later_row is not None and later_row.context["plan"] == "family"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"placement": "home"}, "member_id"),
        ({"member_id": "m001"}, "placement"),
        ({"member_id": "m001", "placement": "home", "colour": "red"}, "colour"),
        ({"member_id": "m001", "placement": "home", "decision_id": "x" * 65}, "decision_id"),
        ({"member_id": "m001", "placement": "home", "context": {"a": 1}}, "context"),
        ({"member_id": "m001", "placement": "billboard"}, "placement"),
    ],
)
def test_a_bad_decide_request_is_a_422_naming_the_field(
    make_client: Make, body: dict[str, Any], field: str
) -> None:
    r = make_client().post("/v1/decide", json=body, headers=WRITE)
    assert r.status_code == 422
    assert any(field in [str(p) for p in e["loc"]] for e in r.json()["detail"]), r.json()


def test_malformed_json_is_a_422(make_client: Make) -> None:
    r = make_client().post(
        "/v1/decide", content=b"{not json", headers={**WRITE, "content-type": "application/json"}
    )
    assert r.status_code == 422


def test_the_fast_path_answers_what_the_model_declares_and_hands_on_the_rest(
    make_client: Make,
) -> None:
    client = make_client()
    body = b'{"member_id": "m000", "placement": "home"}'
    for content_type in ("application/json", "application/json; charset=utf-8"):
        r = client.post("/v1/decide", content=body, headers={**WRITE, "content-type": content_type})
        assert r.status_code == 200
        # The bytes are what the declared response model writes for the same values.
        assert r.text == DecideResponse.model_validate_json(r.content).model_dump_json()
        assert r.json()["creative"] is not None and r.json()["member_id"] == "m000"
    # Not JSON by its content type: FastAPI's own 422, as without the fast path.
    r = client.post("/v1/decide", content=body, headers={**WRITE, "content-type": "text/plain"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    # A retry under a client id, answered from the log, is encoded the same way.
    first = client.post("/v1/decide", json={"member_id": "m000", "placement": "email",
                                           "decision_id": "fp-1"}, headers=WRITE)  # fmt: skip
    again = client.post("/v1/decide", json={"member_id": "m000", "placement": "email",
                                           "decision_id": "fp-1"}, headers=WRITE)  # fmt: skip
    assert first.status_code == again.status_code == 200 and first.content == again.content


def test_outcomes_are_idempotent_and_join_their_decision(make_client: Make) -> None:
    client = make_client()
    d = decide(client, member_id="m006", placement="home")["decision_id"]

    def post(body: dict[str, Any]) -> Any:
        return client.post("/v1/outcomes", json=body, headers=WRITE)

    first = post({"decision_id": d, "reward": 1.0})
    assert first.status_code == 200 and first.json()["stored"] is True
    again = post({"decision_id": d, "reward": 1.0})
    assert again.json() == {**first.json(), "stored": False, "duplicate": True}
    assert post({"decision_id": d, "event": "click", "ts": "2026-06-01T00:05:00Z"}).json()["stored"]
    assert counts(client) == (1, 2)
    assert post({"decision_id": "never-made", "event": "click"}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"decision_id": "d", "reward": 1.0, "event": "click"},
        {"decision_id": "d"},
        {"decision_id": "d", "event": "click", "ts": "2026-06-01T00:05:00"},
        {"decision_id": "d", "reward": "lots"},
    ],
)
def test_a_bad_outcome_is_a_422(make_client: Make, body: dict[str, Any]) -> None:
    r = make_client().post("/v1/outcomes", json=body, headers=WRITE)
    assert r.status_code == 422


def test_the_value_recap_shows_what_the_member_used_and_saved(make_client: Make) -> None:
    client = make_client()
    r = client.get("/v1/members/m000/value-recap")
    assert r.status_code == 200
    recap = r.json()
    # By construction (serve_world.py): 5 streams at $0.35 and 2 deliveries at $5.275.
    assert recap["saved_7d"] == pytest.approx(5 * 0.35 + 2 * 5.275)
    assert recap["saved_30d"] == pytest.approx(recap["saved_7d"])
    assert recap["benefits_used"] == ["Video streaming", "Free delivery"]
    assert "$12.30" in recap["text"]
    assert client.get("/v1/members/nobody/value-recap").status_code == 404


def test_health_readiness_and_the_openapi_document(make_client: Make) -> None:
    client = make_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["log"].startswith("sqlite:")
    assert ready["members"] == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/decide", "/v1/outcomes", "/v1/admin/policy", "/readyz"} <= set(paths)
    assert "/v1/members/{member_id}/value-recap" in paths
    assert client.get("/docs").status_code == 200


def test_a_policy_snapshot_is_swapped_in_by_an_admin(make_client: Make, tmp_path: Path) -> None:
    client = make_client()
    before = decide(client, member_id="m007", placement="home")["policy_version"]
    snap = write_snapshot(tmp_path / "v2.json", "uniform", {"version": "uniform-v2"})
    denied = client.post("/v1/admin/policy", json={"path": str(snap)}, headers=WRITE)
    assert denied.status_code == 403
    r = client.post("/v1/admin/policy", json={"path": str(snap)}, headers=ADMIN)
    assert r.json() == {"version": "uniform-v2", "previous": before}
    after = decide(client, member_id="m007", placement="home")
    assert after["policy_version"] == "uniform-v2"
    row = logged(client, after["decision_id"])
    assert row is not None and row.experiment == "uniform-v2"
    bad = client.post("/v1/admin/policy", json={"path": str(tmp_path / "no.json")}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "path"]
    assert decide(client, member_id="m008", placement="home")["policy_version"] == "uniform-v2"


class BrokenStore:
    """A log whose disk has gone: every write and ping fails."""

    kind: ClassVar[str] = "broken"
    location = "nowhere"

    def write(self, decisions: Any, outcomes: Any) -> Any:
        raise OSError("No space left on device")

    def get(self, decision_id: str) -> None:
        return None

    def since(self, ts: Any) -> list[DecisionRow]:
        return []

    def outcomes(self) -> list[OutcomeRow]:
        return []

    def ping(self) -> None:
        raise OSError("No space left on device")

    def count(self) -> tuple[int, int]:
        return 0, 0

    def close(self) -> None:
        pass


def test_a_log_that_cannot_commit_is_a_503_to_retry_and_not_ready(make_client: Make) -> None:
    client = make_client(log=BrokenStore)
    r = client.post(
        "/v1/decide",
        json={"member_id": "m001", "placement": "home", "decision_id": "r-1"},
        headers=WRITE,
    )
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "retry with the same decision_id" in r.json()["detail"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "No space left" in ready.json()["detail"]
    assert client.get("/healthz").status_code == 200  # up, but not ready
    # The failed decision did not count against the member's caps.
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    assert service.decider.recent.get("m001", service.clock()) == ()
