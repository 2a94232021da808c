"""An idea is a hypothesis: a one-page press release and FAQ with front matter, before it is built.

The file is Markdown; its YAML front matter (between two ``---`` lines) holds what can be
checked against data, the body holds the narrative:

.. code-block:: markdown

    ---
    name: native_stitch
    title: Stitch a reaction onto any video, without leaving the app
    hypothesis: Making download → edit elsewhere → re-upload one native step raises publish rates.
    customer_problem: Creators spend ten minutes per reaction in third-party editors.
    primary_metric: publish_rate_7d
    threshold: "+5% relative"
    guardrails: [retention_30, app_opens_7d]
    lifecycle_stage: growth
    experiments: [stitch_beta]
    opportunities: ["video.download → <exit> → video.upload"]
    ---
    # Press release
    …
    # FAQ
    ## Customers
    …
    ## Business
    …

Validation errors name the file and the field, as experiment specs do:
``ideas/native_stitch.md: lifecycle_stage: Input should be 'introduction', …``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenure.errors import SpecError

__all__ = ["LIFECYCLE_STAGES", "NAME_PATTERN", "IdeaSpec", "load_idea", "parse_front_matter"]

LifecycleStage = Literal["introduction", "growth", "maturity", "decline"]
LIFECYCLE_STAGES: tuple[str, ...] = ("introduction", "growth", "maturity", "decline")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


class IdeaSpec(BaseModel):
    """The checkable part of an idea (its front matter); ``body`` is the PR/FAQ text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    hypothesis: str = Field(min_length=10)
    customer_problem: str = Field(min_length=1)
    primary_metric: str = Field(min_length=1)
    threshold: str = Field(min_length=1)
    guardrails: tuple[str, ...] = ()
    lifecycle_stage: LifecycleStage
    experiments: tuple[str, ...] = ()
    opportunities: tuple[str, ...] = ()
    owner: str | None = None
    body: str = ""

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not NAME_PATTERN.match(v):
            raise ValueError("use lower-case letters, digits, '_' or '-' (it names the file)")
        return v

    @field_validator("experiments")
    @classmethod
    def _links(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for link in v:
            if not link or link.count(":") > 1 or link.startswith(":") or link.endswith(":"):
                raise ValueError(f"{link!r}: link an experiment as 'name' or 'name:variant'")
        return v

    @property
    def links(self) -> tuple[tuple[str, str | None], ...]:
        """Linked experiments as ``(experiment, variant or None for every variant)``."""
        out: list[tuple[str, str | None]] = []
        for link in self.experiments:
            name, _, variant = link.partition(":")
            out.append((name, variant or None))
        return tuple(out)


def parse_front_matter(text: str, *, source: str) -> tuple[dict[str, Any], str]:
    """Split a Markdown file into its YAML front matter (a mapping) and its body."""
    m = _FRONT.match(text)
    if m is None:
        raise SpecError(
            f"{source}: no front matter (the file must start with '---', the YAML fields, "
            "and a closing '---')"
        )
    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: the front matter is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the front matter must be a mapping of fields")
    return data, m.group(2)


def load_idea(path: str | Path) -> IdeaSpec:
    """Read and validate one idea file; the file's stem must equal its ``name``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{p}: cannot read the idea ({exc.strerror})") from None
    data, body = parse_front_matter(text, source=str(p))
    try:
        spec = IdeaSpec.model_validate({**data, "body": body})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "front matter"
        msg = str(err["msg"]).removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise SpecError(f"{p}: {loc}: {msg}{more}") from None
    if spec.name != p.stem:
        raise SpecError(f"{p}: name: {spec.name!r} must match the file name {p.stem!r}")
    return spec
