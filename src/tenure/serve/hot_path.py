"""``POST /v1/decide`` without the framework's per-request machinery, same contract.

The decision costs tens of microseconds and the commit is shared by a batch, so on a
2-core machine FastAPI's routing, dependency solving and response classes were the
largest cost of a decision left. :class:`DecideFastPath` is an ASGI middleware, inside
the key check and enforcing the body limit, that answers a well-formed decide request itself: it
reads the body, validates it with the same pydantic model (``model_validate_json``, no
intermediate ``dict``), and sends the bytes :func:`answer` returns.

Anything else — a body that does not validate, a non-JSON content type — is handed to the
FastAPI route with the body replayed, so every error response (422 naming the field, in
FastAPI's shape) is the framework's own and the contract has one implementation. The
route itself calls :func:`answer`, so both paths decide, commit and answer identically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenure.serve.commit import CommitterClosed
from tenure.serve.decider import UnknownMember, UnknownPlacement
from tenure.serve.limits import DEFAULT_MAX_BODY, too_large
from tenure.serve.models import DecideRequest
from tenure.serve.stores import DecisionRow

if TYPE_CHECKING:
    from tenure.serve.service import Service

__all__ = ["RETRY", "DecideFastPath", "answer", "error_body", "unavailable"]

PATH = "/v1/decide"
RETRY = {"retry-after": "1"}
"""Sent with a 503: the log could not commit, the same request may be retried shortly."""
_JSON = (b"content-type", b"application/json")


def error_body(detail: object) -> bytes:
    """``{"detail": …}`` as JSON bytes (the shape of every error this service writes)."""
    import json

    return json.dumps({"detail": detail}).encode()


def field_error(field: str, message: str) -> bytes:
    """A 422 body in FastAPI's validation shape, so clients parse one error format."""
    return error_body([{"loc": ["body", field], "msg": message, "type": "value_error"}])


def unavailable(exc: BaseException) -> bytes:
    """The 503 body when the log cannot take the write (the client retries, same id)."""
    reason = "closing" if isinstance(exc, CommitterClosed) else "cannot commit"
    return error_body(f"decision log {reason}; retry with the same decision_id")


async def answer(service: Service, req: DecideRequest) -> tuple[int, bytes]:
    """Decide, await the group commit, and return the status and JSON body to send.

    The answer is built only after the row is committed (or found already stored under a
    client ``decision_id``, in which case the stored decision is the answer).
    """
    decider = service.decider
    try:
        try:
            decision = decider.decide(
                req.member_id,
                req.placement,
                req.context,
                now=service.clock(),
                decision_id=req.decision_id,
            )
        except UnknownMember:
            # Another worker may have signed the member up a moment ago: read its rows.
            try:
                shared = await service.catch_up()
            except Exception as exc:  # the log cannot be read: as for a failed commit
                return 503, unavailable(exc)
            if not shared:
                raise
            decision = decider.decide(
                req.member_id,
                req.placement,
                req.context,
                now=service.clock(),
                decision_id=req.decision_id,
            )
    except UnknownPlacement as exc:
        return 422, field_error("placement", str(exc))
    except UnknownMember as exc:
        return 404, error_body(str(exc))
    try:
        stored, new = await service.committer.decide(decision.row)
    except Exception as exc:
        if decision.shown is not None:
            decider.recent.discard(req.member_id, decision.shown)
        return 503, unavailable(exc)
    if not new and decision.shown is not None:
        decider.recent.discard(req.member_id, decision.shown)
    if not new and (stored.member_id, stored.placement) != (req.member_id, req.placement):
        return 409, error_body(
            f"decision_id {req.decision_id!r} was used for member {stored.member_id!r} at "
            f"{stored.placement!r}; a retry must repeat the same member_id and placement"
        )
    return 200, response_body(service, stored)


def response_body(service: Service, row: DecisionRow) -> bytes:
    """The 200 body for a stored row: :class:`DecideResponse`'s fields, in its order.

    Encoded by pydantic's serialiser straight from a ``dict`` — what the model would
    write (a test holds the two equal), without building two models per decision.
    """
    creative = service.decider.creative(row.variant)
    return to_json(
        {
            "decision_id": row.decision_id,
            "member_id": row.member_id,
            "placement": row.placement,
            "creative": None
            if creative is None
            else {
                "id": creative.id,
                "message": creative.message,
                "image": creative.image,
                "cta": creative.cta,
                "cta_text": creative.cta_text,
                "placement": creative.placement,
            },
            "text": row.text,
            "benefit": row.benefit,
            "propensity": row.propensity,
            "policy_version": row.experiment,
            "eligible": len(row.eligible),
            "reason": row.reason,
            "ts": row.ts,
        }
    )


class DecideFastPath:
    """Answer valid ``POST /v1/decide`` requests directly; pass everything else on.

    It also enforces the body limit itself (the same 413 as
    :class:`~tenure.serve.limits.BodyLimitMiddleware`, before a declared body is read, or
    as soon as a streamed one passes the limit): wrapping ``receive`` and ``send`` for
    every decision cost more than the check.
    """

    def __init__(self, app: ASGIApp, service: Service, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.service = service
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the decide route, or hand the request (body replayed) to ``app``."""
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        is_json = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():  # the full stack words the 400
                    await self.app(scope, receive, send)
                    return
                if int(value) > self.max_bytes:
                    await too_large(send, self.max_bytes)
                    return
            elif name == b"content-type":
                is_json = value.startswith(b"application/json")
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await too_large(send, self.max_bytes)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        req = _parse(body) if is_json else None
        if req is None:
            await self.app(scope, _replay(body, receive), send)
            return
        status, payload = await answer(self.service, req)
        headers = [_JSON, (b"content-length", str(len(payload)).encode())]
        if status == 503:
            headers += [(k.encode(), v.encode()) for k, v in RETRY.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _parse(body: bytes) -> DecideRequest | None:
    """The request, or None when FastAPI should answer (and explain) it instead."""
    try:
        return DecideRequest.model_validate_json(body)
    except ValidationError:
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` once, then defers to the server's (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
