"""The FastAPI application: routes are thin; the decision is pure, the write is durable.

Each write route does three things: validate (pydantic, 422 naming the field), compute in
process (:class:`~tenure.serve.decider.Decider`), and await the group commit — the
response is sent only after the row is committed. Authentication and the body-size limit
are ASGI middleware around the app, so they answer before a body is read.

Status codes: 200 for a decision (including "nothing eligible", logged like any other),
401/403 for keys and scopes, 404 for an unknown member or decision, 409 for a
``decision_id`` reused for another member or placement, 413 for a body over the limit, 422 for a malformed request or an unknown placement, 503 when the log cannot
commit (the client may retry with the same ``decision_id``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tenure.errors import SpecError
from tenure.serve.auth import AuthMiddleware
from tenure.serve.hot_path import PATH as DECIDE_PATH
from tenure.serve.hot_path import RETRY, DecideFastPath, answer, unavailable
from tenure.serve.limits import BodyLimitMiddleware
from tenure.serve.models import (
    DecideRequest,
    DecideResponse,
    HealthResponse,
    OutcomeRequest,
    OutcomeResponse,
    PolicyRequest,
    PolicyResponse,
    ReadyResponse,
    ValueRecapResponse,
)
from tenure.serve.service import Service
from tenure.serve.stores import OutcomeRow, OutcomeStatus

__all__ = ["create_app"]

_ERR: dict[str, Any] = {"content": {"application/json": {"schema": {"type": "object"}}}}
MemberIdPath = Annotated[str, PathParam(min_length=1, max_length=64)]


def _error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _field_error(field: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's own validation shape, so clients parse one error format."""
    return _error(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


def _unavailable(exc: BaseException) -> Response:
    return Response(unavailable(exc), status_code=503, headers=RETRY, media_type="application/json")


def create_app(service: Service) -> ServiceApp:
    """The ASGI app serving ``service`` (FastAPI wrapped in the auth and size middleware)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = ServiceApp(
        title="Tenure decision service",
        version="1",
        summary="What to show a member at a touchpoint, logged durably for evaluation.",
        lifespan=lifespan,
    )
    app.state.service = service
    committer = service.committer

    @app.post(
        "/v1/decide",
        response_model=DecideResponse,
        responses={401: _ERR, 403: _ERR, 404: _ERR, 409: _ERR, 413: _ERR, 503: _ERR},
        tags=["decisions"],
    )
    async def decide(req: DecideRequest) -> Response:
        """Choose a creative for the member at the placement; answered after the commit."""
        # Valid requests are answered by DecideFastPath before they reach this route;
        # requests get here when a test or a client bypasses it, with the same answer.
        status, body = await answer(service, req)
        headers = RETRY if status == 503 else None
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    @app.post(
        "/v1/outcomes",
        response_model=OutcomeResponse,
        responses={401: _ERR, 403: _ERR, 404: _ERR, 413: _ERR, 503: _ERR},
        tags=["decisions"],
    )
    async def outcomes(req: OutcomeRequest) -> Response:
        """Record a reward or an event for a decision; a retry stores nothing new."""
        row = OutcomeRow(req.decision_id, req.ts or service.clock(), req.reward, req.event)
        try:
            status = await committer.outcome(row)
        except Exception as exc:
            return _unavailable(exc)
        if status is OutcomeStatus.UNKNOWN_DECISION:
            return _error(404, f"decision_id {req.decision_id!r} is not in the decision log")
        body = OutcomeResponse(
            decision_id=req.decision_id,
            outcome=row.outcome,
            stored=status is OutcomeStatus.STORED,
            duplicate=status is OutcomeStatus.DUPLICATE,
        )
        return Response(body.model_dump_json(), media_type="application/json")

    @app.get(
        "/v1/members/{member_id}/value-recap",
        response_model=ValueRecapResponse,
        responses={404: _ERR},
        tags=["members"],
    )
    async def recap(member_id: MemberIdPath) -> Response:
        """What the member used and saved, and what cancelling would take away."""
        from tenure.messaging import value_recap

        state = service.members.get(member_id)
        if state is None:
            return _error(404, f"member {member_id!r} is not in the data")
        r = value_recap(state, service.catalogue, now=service.clock())
        body = ValueRecapResponse(
            member_id=r.member_id,
            benefits_used=list(r.benefits_used),
            saved_7d=r.saved_7d,
            saved_30d=r.saved_30d,
            would_lose=list(r.would_lose),
            plan_benefits=r.plan_benefits,
            text=r.text,
            as_of=state.as_of,
        )
        return Response(body.model_dump_json(), media_type="application/json")

    @app.post(
        "/v1/admin/policy",
        response_model=PolicyResponse,
        responses={401: _ERR, 403: _ERR, 409: _ERR, 413: _ERR},
        tags=["admin"],
    )
    async def swap_policy(req: PolicyRequest) -> Response:
        """Load the snapshot at ``path`` and serve it from the next request on.

        Refused (409) by a server running several workers: the request reaches one of
        them, so it would swap one worker's policy; every worker watches ``--policy``.
        """
        if service.shared:
            return _error(
                409,
                "this server runs several workers and the request reaches one of them: "
                "replace the --policy snapshot file instead (every worker watches it)",
            )
        try:
            previous = await service.slot.load(Path(req.path))
        except (SpecError, OSError, ValueError) as exc:
            return _field_error("path", str(exc))
        body = PolicyResponse(version=service.slot.current.version, previous=previous.version)
        return Response(body.model_dump_json(), media_type="application/json")

    @app.get("/healthz", response_model=HealthResponse, tags=["health"])
    async def healthz() -> HealthResponse:
        """The process is up (it may not be ready)."""
        return HealthResponse(status="ok")

    @app.get("/readyz", response_model=ReadyResponse, responses={503: _ERR}, tags=["health"])
    async def readyz() -> Response:
        """Ready when the log answers a query and a policy is loaded."""
        try:
            await committer.call(lambda store: store.ping())
        except Exception as exc:
            return _error(503, f"decision log not writable: {exc}")
        stats = committer.stats
        body = ReadyResponse(
            status="ready",
            log=service.log_location,
            policy_version=service.slot.current.version,
            members=len(service.members),
            commits=stats.commits,
            mean_batch=stats.mean_batch,
        )
        return Response(body.model_dump_json(), media_type="application/json")

    def openapi() -> dict[str, Any]:
        """The schema, with ``placement`` listing this catalogue's placements."""
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            prop = doc["components"]["schemas"]["DecideRequest"]["properties"]["placement"]
            prop["enum"] = list(service.catalogue.placements)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # The last added is the outermost: keys are checked first, then the body's size.
    app.add_middleware(BodyLimitMiddleware, max_bytes=service.max_body)
    app.add_middleware(AuthMiddleware, keys=service.keys)
    # POST /v1/decide meets the key check, then the fast path (which checks the size
    # itself), which hands what it does not answer to the whole stack above (the checks
    # run again there).
    full = super(ServiceApp, app).__call__
    fast = DecideFastPath(full, service, service.max_body)
    app.front = AuthMiddleware(fast, service.keys)
    return app


class ServiceApp(FastAPI):
    """FastAPI, except that ``POST /v1/decide`` enters through :attr:`front`.

    FastAPI's own outer middleware (error pages, telemetry hooks, its body-size guard) cost
    a decision more than the decision itself; the decide route's contract is kept by the
    key check, the body limit and :class:`~tenure.serve.hot_path.DecideFastPath`, which
    passes anything it does not answer back to the full stack.
    """

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a decide request to :attr:`front`, everything else to FastAPI."""
        if (
            self.front is not None
            and scope["type"] == "http"
            and scope["path"] == DECIDE_PATH
            and scope["method"] == "POST"
        ):
            await self.front(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
