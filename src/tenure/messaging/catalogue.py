"""The benefit catalogue: benefits, creative parts, placements and caps, from one YAML file.

The file is validated with pydantic; an error names the file and the field path
(``catalogue.yaml: messages.3.benefit: unknown benefit 'shiping'``). Creatives are the
product of the parts — every message allowed at a placement × every image × every call to
action allowed there — so a few dozen parts give hundreds of creatives.

::

    >>> cat = Catalogue.default()
    >>> cat.placements
    ('signup', 'in_context', 'cancel_flow', 'email', 'home')
    >>> len(cat.creatives("signup"))
    240
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenure.errors import SpecError
from tenure.messaging.caps import FrequencyCaps, PlacementCap
from tenure.messaging.creatives import PLACEHOLDERS, Creative, creative_id, template_fields

__all__ = ["Benefit", "Catalogue"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Benefit(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["benefit", "offer", "recap"] = "benefit"
    cost_per_use: float = Field(default=0.0, ge=0)
    actions: list[str] = Field(default_factory=list)
    segments: dict[str, list[str]] = Field(default_factory=dict)
    plans: list[str] | None = None


class _Message(_Strict):
    id: str = Field(min_length=1)
    benefit: str
    frame: Literal["value", "feature", "discount"] = "feature"
    template: str = Field(min_length=1)
    placements: list[str] | None = None


class _Image(_Strict):
    id: str = Field(min_length=1)
    placements: list[str] | None = None


class _Cta(_Strict):
    id: str = Field(min_length=1)
    text: str = ""
    placements: list[str] | None = None


class _Cap(_Strict):
    max: int = Field(ge=0)
    days: float = Field(gt=0)


class _Caps(_Strict):
    per_placement: dict[str, _Cap] = Field(default_factory=dict)
    same_creative_days: float = Field(default=3.0, ge=0)


class _RegularUse(_Strict):
    uses: int = Field(default=3, ge=1)
    days: int = Field(default=30, ge=1)


class _CatalogueFile(_Strict):
    version: int = 1
    placements: list[str] = Field(min_length=1)
    caps: _Caps = Field(default_factory=_Caps)
    regular_use: _RegularUse = Field(default_factory=_RegularUse)
    benefits: list[_Benefit] = Field(min_length=1)
    messages: list[_Message] = Field(min_length=1)
    images: list[_Image] = Field(min_length=1)
    ctas: list[_Cta] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> _CatalogueFile:
        benefits = {b.id for b in self.benefits}
        places = set(self.placements)
        for kind in ("benefits", "messages", "images", "ctas"):
            ids = [p.id for p in getattr(self, kind)]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"{kind}: duplicate id(s) {dup}")
        for i, m in enumerate(self.messages):
            if m.benefit not in benefits:
                raise ValueError(f"messages.{i}.benefit: unknown benefit {m.benefit!r}")
            bad = template_fields(m.template) - set(PLACEHOLDERS)
            if bad:
                raise ValueError(
                    f"messages.{i}.template: unknown placeholder(s) {sorted(bad)} "
                    f"(allowed: {', '.join(PLACEHOLDERS)})"
                )
        for kind in ("messages", "images", "ctas"):
            for i, p in enumerate(getattr(self, kind)):
                unknown = set(p.placements or ()) - places
                if unknown:
                    raise ValueError(f"{kind}.{i}.placements: unknown {sorted(unknown)}")
        for name in self.caps.per_placement:
            if name not in places:
                raise ValueError(f"caps.per_placement.{name}: unknown placement")
        return self


@dataclass(frozen=True, slots=True)
class Benefit:
    """A benefit (or a price offer): what it is, what it costs, who may be offered it."""

    id: str
    name: str
    kind: str
    cost_per_use: float
    actions: tuple[str, ...]
    segments: tuple[tuple[str, tuple[str, ...]], ...]
    plans: tuple[str, ...] | None

    def segment_reason(self, attributes: dict[str, str] | Any) -> str | None:
        """Why a member with these attributes may not be offered it, or ``None``."""
        for column, allowed in self.segments:
            value = attributes.get(column)
            if value is None or value not in allowed:
                return f"segment: {self.id} is for {column} in {list(allowed)}, not {value!r}"
        return None

    def in_plan(self, plan: str | None) -> bool:
        """Whether the plan includes it (offers are never counted as plan benefits)."""
        if self.kind != "benefit":
            return False
        return self.plans is None or (plan is not None and plan in self.plans)


@dataclass(frozen=True)
class Catalogue:
    """Benefits, creatives per placement, caps; load with :meth:`load` or :meth:`default`."""

    benefits: tuple[Benefit, ...]
    placements: tuple[str, ...]
    caps: FrequencyCaps
    regular_use_count: int
    regular_use_days: int
    source: str
    digest: str
    _by_placement: dict[str, tuple[Creative, ...]] = field(repr=False, compare=False)
    _by_id: dict[str, Creative] = field(repr=False, compare=False)
    _benefits: dict[str, Benefit] = field(repr=False, compare=False)
    _groups: dict[str, tuple[tuple[str, bool, tuple[Creative, ...]], ...]] = field(
        repr=False, compare=False
    )

    @classmethod
    def load(cls, path: str | Path) -> Catalogue:
        """Read and validate a catalogue YAML file; errors name the file and the field."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"{p}: cannot read the catalogue ({exc.strerror})") from exc
        return cls.from_yaml(text, source=str(p))

    @classmethod
    def default(cls) -> Catalogue:
        """The catalogue shipped with Tenure (the simulated product's benefits), parsed once."""
        return _default_catalogue()

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>") -> Catalogue:
        """Parse a catalogue from YAML text (``source`` names it in errors)."""
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"{source}: not valid YAML ({exc})") from exc
        try:
            spec = _CatalogueFile.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = "".join(f"{x}." for x in err["loc"]).removesuffix(".")
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise SpecError(f"{source}: {where + ': ' if where else ''}{msg}") from exc
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return cls._build(spec, source=source, digest=digest)

    @classmethod
    def _build(cls, spec: _CatalogueFile, *, source: str, digest: str) -> Catalogue:
        benefits = tuple(
            Benefit(
                b.id,
                b.name,
                b.kind,
                b.cost_per_use,
                tuple(b.actions),
                tuple((k, tuple(v)) for k, v in sorted(b.segments.items())),
                None if b.plans is None else tuple(b.plans),
            )
            for b in spec.benefits
        )
        by_benefit = {b.id: b for b in benefits}
        by_placement: dict[str, tuple[Creative, ...]] = {}
        for place in spec.placements:
            made = [
                Creative(
                    creative_id(place, m.id, im.id, c.id),
                    m.id,
                    im.id,
                    c.id,
                    place,
                    m.benefit,
                    template=m.template,
                    frame=m.frame,
                    cta_text=c.text,
                    benefit_name=by_benefit[m.benefit].name,
                )
                for m in spec.messages
                if m.placements is None or place in m.placements
                for im in spec.images
                if im.placements is None or place in im.placements
                for c in spec.ctas
                if c.placements is None or place in c.placements
            ]
            by_placement[place] = tuple(made)
        caps = FrequencyCaps(
            per_placement={
                k: PlacementCap(v.max, v.days) for k, v in spec.caps.per_placement.items()
            },
            same_creative_days=spec.caps.same_creative_days,
        )
        return cls(
            benefits=benefits,
            placements=tuple(spec.placements),
            caps=caps,
            regular_use_count=spec.regular_use.uses,
            regular_use_days=spec.regular_use.days,
            source=source,
            digest=digest,
            _by_placement=by_placement,
            _by_id={c.id: c for cs in by_placement.values() for c in cs},
            _benefits=by_benefit,
            _groups={p: _group_creatives(cs) for p, cs in by_placement.items()},
        )

    def creatives(self, placement: str) -> tuple[Creative, ...]:
        """Every creative shown at ``placement``; an unknown placement is an error."""
        try:
            return self._by_placement[placement]
        except KeyError:
            raise SpecError(
                f"unknown placement {placement!r} (catalogue {self.source} has "
                f"{', '.join(self.placements)})"
            ) from None

    def creative(self, creative_id: str) -> Creative:
        """The creative with this id."""
        try:
            return self._by_id[creative_id]
        except KeyError:
            raise SpecError(f"unknown creative {creative_id!r} in {self.source}") from None

    @property
    def all_creatives(self) -> tuple[Creative, ...]:
        """Every creative at every placement."""
        return tuple(self._by_id.values())

    def benefit(self, benefit_id: str) -> Benefit:
        """The benefit with this id."""
        try:
            return self._benefits[benefit_id]
        except KeyError:
            raise SpecError(f"unknown benefit {benefit_id!r} in {self.source}") from None

    def groups(self, placement: str) -> tuple[tuple[str, bool, tuple[Creative, ...]], ...]:
        """The placement's creatives grouped by message: (benefit, needs a recap, creatives).

        Eligibility rules act on whole groups, so a decision checks a dozen groups, not
        hundreds of creatives.
        """
        self.creatives(placement)  # the error for an unknown placement
        return self._groups[placement]

    def action_benefits(self) -> dict[str, str]:
        """Event action → benefit id, for event tables without a ``benefit`` column."""
        return {a: b.id for b in self.benefits for a in b.actions}


def _group_creatives(
    creatives: tuple[Creative, ...],
) -> tuple[tuple[str, bool, tuple[Creative, ...]], ...]:
    # One group per message (a message has one benefit and one template): creatives are
    # built message by message, so concatenating groups keeps catalogue order.
    groups: dict[str, list[Creative]] = {}
    for c in creatives:
        groups.setdefault(c.message, []).append(c)
    return tuple((cs[0].benefit, cs[0].personal, tuple(cs)) for cs in groups.values())


@cache
def _default_catalogue() -> Catalogue:
    text = resources.files("tenure").joinpath("data/catalogue.yaml").read_text("utf-8")
    return Catalogue.from_yaml(text, source="tenure/data/catalogue.yaml")
