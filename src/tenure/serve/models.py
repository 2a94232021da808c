"""The wire format: pydantic models of every request and response, and so the OpenAPI schema.

Models are strict about shape (unknown fields are refused, strings are bounded), so a
malformed request is a 422 that names the field before any decision logic runs. Limits
are part of the contract a client can read at ``/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "ContextMap",
    "CreativeOut",
    "DecideRequest",
    "DecideResponse",
    "HealthResponse",
    "OutcomeRequest",
    "OutcomeResponse",
    "PolicyRequest",
    "PolicyResponse",
    "ReadyResponse",
    "ValueRecapResponse",
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ContextValue = Annotated[str, StringConstraints(max_length=128)]
ContextMap = Annotated[dict[Name, ContextValue], Field(max_length=32)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecideRequest(_Strict):
    """Ask what to show one member at one placement."""

    member_id: Id = Field(description="The member, as in the members table.")
    placement: Name = Field(description="One of the catalogue's placements, e.g. signup.")
    context: ContextMap = Field(
        default_factory=dict,
        description="Request attributes (country, plan, channel, device…); a new member at "
        "signup is decided from these alone.",
    )
    decision_id: Id | None = Field(
        default=None,
        description="Your id for this decision (≤ 64 characters): a retry with the same id "
        "returns the same decision and the log holds it once.",
    )


class CreativeOut(_Strict):
    """The creative chosen: its id (the logged variant) and its parts."""

    id: str
    message: str
    image: str
    cta: str
    cta_text: str
    placement: str


class DecideResponse(_Strict):
    """The decision, sent only after it is committed to the log."""

    decision_id: str
    member_id: str
    placement: str
    creative: CreativeOut | None = Field(description="null when nothing was eligible.")
    text: str | None = Field(description="The message rendered for this member.")
    benefit: str | None
    propensity: float = Field(description="Probability the policy gave this choice.")
    policy_version: str
    eligible: int = Field(description="How many creatives the policy chose from.")
    reason: str | None = Field(
        default=None, description="Why nothing was eligible, when creative is null."
    )
    ts: datetime


def _exactly_one_schema(schema: dict[str, Any]) -> None:
    """State "exactly one of reward or event" in the schema, as the validator enforces it."""
    props = schema["properties"]
    props["reward"] = {"type": "number", "title": "Reward"}
    props["event"] = {"type": "string", "minLength": 1, "maxLength": 64, "title": "Event"}
    schema["oneOf"] = [{"required": ["reward"]}, {"required": ["event"]}]


class OutcomeRequest(_Strict):
    """What happened after a decision: a numeric reward or a named event (exactly one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_exactly_one_schema)

    decision_id: Id
    reward: float | None = Field(default=None, allow_inf_nan=False)
    event: Name | None = None
    ts: datetime | None = Field(default=None, description="When it happened (default: now).")

    @model_validator(mode="after")
    def _exactly_one(self) -> OutcomeRequest:
        if (self.reward is None) == (self.event is None):
            raise ValueError("give exactly one of reward or event")
        if self.ts is not None and self.ts.tzinfo is None:
            raise ValueError("ts needs a UTC offset, e.g. 2026-01-01T12:00:00Z")
        return self


class OutcomeResponse(_Strict):
    """Whether the outcome was stored now or had been stored by an earlier attempt."""

    decision_id: str
    outcome: str
    stored: bool
    duplicate: bool


class ValueRecapResponse(_Strict):
    """What the cancel flow and the sign-up welcome show a member."""

    member_id: str
    benefits_used: list[str]
    saved_7d: float | None
    saved_30d: float | None
    would_lose: list[str]
    plan_benefits: int
    text: str
    as_of: datetime


class PolicyRequest(_Strict):
    """Swap in the policy snapshot at ``path`` (a file on the server)."""

    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class PolicyResponse(_Strict):
    """The policy now serving, and the one it replaced."""

    version: str
    previous: str


class HealthResponse(_Strict):
    """The process is up."""

    status: str


class ReadyResponse(_Strict):
    """The log is writable and a policy is loaded."""

    status: str
    log: str
    policy_version: str
    members: int
    commits: int
    mean_batch: float


def error_schema() -> dict[str, Any]:
    """The ``{"detail": …}`` body of every 4xx this service writes itself."""
    return {"content": {"application/json": {"schema": {"type": "object"}}}}
