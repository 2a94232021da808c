"""The experiment spec: a hypothesis with a metric and a threshold, written down before launch.

A spec is a YAML file that names the experiment, states its hypothesis in one sentence, lists
the variants and their traffic weights, says which exposures count, and pre-registers the
primary metric with the effect that would count as success, the guardrails with the margin
they must not worsen by, the segments to cut by and the analysis method. Writing it first is
what makes the verdict honest: the threshold cannot drift toward whatever the data shows.

Example
-------
.. code-block:: yaml

    name: value_messaging
    hypothesis: Showing new members what their benefits are worth keeps more of them at 90 days.
    variants: [{name: control, weight: 1}, {name: value_message, weight: 1}]
    exposure: {placement: signup}
    primary:
      name: retention_90
      kind: retention
      horizon_days: 90
      threshold: {kind: absolute, value: 0.01}
    guardrails:
      - {name: retention_30, kind: retention, horizon_days: 30, margin: 0.005}
    segments: [country]
    method: {stopping: fixed, framework: frequentist, alpha: 0.05}

Invalid specs raise :class:`~tenure.errors.SpecError` whose message names the field, e.g.
``"primary.horizon_days: a retention metric needs horizon_days"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from tenure.errors import DataContractError, SpecError
from tenure.settings import Inference
from tenure.store.mapping import load_yaml_strict

__all__ = [
    "ExperimentSpec",
    "ExposureFilter",
    "GuardrailSpec",
    "HoldoutSpec",
    "LayerSpec",
    "MethodSpec",
    "MetricSpec",
    "ThresholdSpec",
    "VariantSpec",
    "load_spec",
    "load_specs",
    "parse_spec",
]

MetricKind = Literal["binary", "count", "sum", "mean", "ratio", "retention"]


class _Model(BaseModel):
    # Day counts are StrictInt (``horizon_days: true`` is not 1) and no number may be NaN or
    # infinite (``weight: .inf`` would switch the SRM check off).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class VariantSpec(_Model):
    """One arm and its share of traffic (weights need not sum to 1)."""

    name: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)


class ExposureFilter(_Model):
    """Which rows of the exposures table belong to the experiment.

    ``experiment`` defaults to the spec's name; ``placement`` narrows to one surface.
    """

    experiment: str | None = None
    placement: str | None = None


class ThresholdSpec(_Model):
    """The pre-registered effect that counts as success.

    ``absolute`` and ``relative`` are bars the estimate must clear; ``mde`` is the minimum
    detectable effect the test was powered for (relative), used as the bar and for planning.
    """

    kind: Literal["absolute", "relative", "mde"] = "absolute"
    value: float = Field(ge=0)


class MetricSpec(_Model):
    """A declarative metric, computed per member from the exposure time onward.

    ``binary``: did any of ``actions`` happen within ``window_days``; ``count``: how many
    times; ``sum``: the sum of the events' ``value`` (e.g. money saved); ``mean``: value per
    event (a ratio of sums across members); ``ratio``: ``numerator`` per ``denominator``
    (e.g. orders per app open); ``retention``: still a member ``horizon_days`` after exposure.
    ``cuped`` uses the same metric over the ``window_days`` before exposure as covariate.
    """

    name: str = Field(min_length=1)
    kind: MetricKind
    actions: tuple[str, ...] = ()
    window_days: StrictInt = Field(default=7, ge=1, le=3650)
    horizon_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    numerator: MetricSpec | None = None
    denominator: MetricSpec | None = None
    higher_is_better: bool = True
    cuped: bool = False
    threshold: ThresholdSpec | None = None

    @field_validator("actions", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check_kind(self) -> MetricSpec:
        if self.kind == "retention":
            if self.horizon_days is None:
                raise ValueError("horizon_days is required for a retention metric")
            if self.cuped:
                raise ValueError("cuped: a retention metric has no pre-exposure value")
        elif self.kind == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError("numerator and denominator are required for a ratio metric")
            for part in (self.numerator, self.denominator):
                if part.kind not in ("binary", "count", "sum"):
                    raise ValueError("numerator/denominator must be binary, count or sum metrics")
        elif not self.actions:
            raise ValueError(f"actions are required for a {self.kind} metric")
        return self

    @property
    def span_days(self) -> int:
        """Days after exposure the metric needs observed (window or horizon)."""
        if self.kind == "retention":
            return int(self.horizon_days or 0)
        if self.kind == "ratio":
            assert self.numerator is not None and self.denominator is not None
            return max(self.numerator.span_days, self.denominator.span_days)
        return self.window_days


class GuardrailSpec(MetricSpec):
    """A metric that must not worsen by more than ``margin`` (absolute, or relative)."""

    margin: float = Field(default=0.0, ge=0)
    margin_relative: bool = False


class MethodSpec(_Model):
    """How the experiment is read: the inference settings plus the planning limit.

    ``stopping`` (``fixed`` or ``sequential``) and ``framework`` (``frequentist`` or
    ``bayesian``) were called ``horizon`` and ``inference``; the old keys are still read.
    :attr:`ExperimentSpec.inference` turns the block into the one
    :class:`~tenure.settings.Inference` value every later step receives.
    """

    stopping: Literal["fixed", "sequential"] = "fixed"
    framework: Literal["frequentist", "bayesian"] = "frequentist"
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    alternative: Literal["two-sided", "greater", "less"] = "two-sided"
    power: float = Field(default=0.8, gt=0, lt=1)
    correction: Literal["holm", "bh", "none"] = "holm"
    srm_alpha: float = Field(default=0.001, gt=0, lt=0.5)
    chance_to_win: float = Field(default=0.95, gt=0.5, lt=1)
    tuning: float = Field(default=5000.0, gt=0)
    max_days: StrictInt = Field(default=90, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _legacy_names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for old, new in (("horizon", "stopping"), ("inference", "framework")):
                if old in data:
                    if new in data:
                        raise ValueError(f"{old}: give {new} (its new name) only")
                    data[new] = data.pop(old)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> MethodSpec:
        try:
            self.to_inference()
        except SpecError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_inference(self) -> Inference:
        """The block's inference settings as the value passed down (``max_days`` excluded)."""
        return Inference(
            alpha=self.alpha,
            alternative=self.alternative,
            correction=self.correction,
            stopping=self.stopping,
            framework=self.framework,
            tuning=self.tuning,
            power=self.power,
            chance_to_win=self.chance_to_win,
            srm_alpha=self.srm_alpha,
        )


class LayerSpec(_Model):
    """A mutually exclusive layer: experiments in one layer own disjoint ranges of it."""

    name: str = Field(min_length=1)
    range: tuple[float, float] = (0.0, 1.0)

    @model_validator(mode="after")
    def _check_range(self) -> LayerSpec:
        lo, hi = self.range
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError("range must satisfy 0 <= low < high <= 1")
        return self


class HoldoutSpec(_Model):
    """A global holdout: this fraction of all members sees no experiment at all."""

    fraction: float = Field(default=0.0, ge=0, lt=1)
    salt: str = "tenure-global-holdout"


class SurrogateSpec(_Model):
    """Leading-indicator settings: which early actions, which long horizon, which check."""

    actions: tuple[str, ...] = ()
    window_days: StrictInt = Field(default=7, ge=1)
    horizon_days: StrictInt = Field(default=180, ge=1)
    check_horizon_days: StrictInt = Field(default=35, ge=1)


class ExperimentSpec(_Model):
    """A whole experiment spec; see the module docstring for the YAML shape."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    hypothesis: str = Field(min_length=1)
    doc: str | None = None
    unit: Literal["member"] = "member"
    salt: str | None = None
    variants: tuple[VariantSpec, ...] = Field(min_length=2)
    exposure: ExposureFilter = ExposureFilter()
    primary: MetricSpec
    secondary: tuple[MetricSpec, ...] = ()
    guardrails: tuple[GuardrailSpec, ...] = ()
    segments: tuple[str, ...] = ()
    method: MethodSpec = MethodSpec()
    layer: LayerSpec | None = None
    holdout: HoldoutSpec | None = None
    encourages: str | None = None
    surrogate: SurrogateSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variants: names must be unique")
        metrics = [m.name for m in self.metrics]
        if len(set(metrics)) != len(metrics):
            raise ValueError(
                "metrics: names must be unique across primary, secondary and guardrails"
            )
        if self.primary.threshold is None:
            raise ValueError("primary.threshold: the success threshold must be pre-registered")
        return self

    @property
    def inference(self) -> Inference:
        """The spec's inference settings, parsed once (see :class:`~tenure.settings.Inference`)."""
        return self.method.to_inference()

    @property
    def control(self) -> str:
        """The baseline arm: the one named ``control``, else the first listed."""
        names = [v.name for v in self.variants]
        return "control" if "control" in names else names[0]

    @property
    def experiment_name(self) -> str:
        """The value of ``exposures.experiment`` that belongs to this spec."""
        return self.exposure.experiment or self.name

    @property
    def hash_salt(self) -> str:
        """The assignment salt (the name unless set: renaming must not reshuffle members)."""
        return self.salt or self.name

    @property
    def metrics(self) -> tuple[MetricSpec, ...]:
        """Primary, then secondary, then guardrails."""
        return (self.primary, *self.secondary, *self.guardrails)

    @property
    def weights(self) -> dict[str, float]:
        """Designed traffic weights by variant name."""
        return {v.name: v.weight for v in self.variants}


def parse_spec(data: Mapping[str, Any], *, source: str = "spec") -> ExperimentSpec:
    """Validate a mapping (parsed YAML/JSON) into an :class:`ExperimentSpec`.

    Raises
    ------
    SpecError
        Naming the first offending field as a dotted path, e.g. ``primary.kind``.
    """
    if not isinstance(data, Mapping):
        raise SpecError(
            f"{source}: an experiment spec must be a mapping, got {type(data).__name__}"
        )
    try:
        return ExperimentSpec.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        loc = loc.lstrip(".")
        msg = str(err["msg"]).removeprefix("Value error, ")
        where = f"{loc}: " if loc else ""
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise SpecError(f"{source}: {where}{msg}{more}") from None


def load_spec(path: str | Path | Traversable) -> ExperimentSpec:
    """Read and validate one YAML spec file.

    Examples
    --------
    The specs shipped with the package (``tenure/data/experiments``):

    >>> from importlib import resources
    >>> spec = load_spec(resources.files("tenure") / "data" / "experiments" / "value_messaging.yaml")
    >>> spec.primary.name, spec.inference.alpha
    ('retention_180', 0.05)
    """
    p = Path(str(path))
    if not p.is_file():
        raise SpecError(f"{p}: no such spec file")
    try:
        # Duplicate keys are refused (YAML would silently keep the last value).
        data = load_yaml_strict(p)
    except DataContractError as exc:
        raise SpecError(str(exc)) from None
    return parse_spec(data, source=str(p))


def load_specs(folder: str | Path) -> list[ExperimentSpec]:
    """Every ``*.yaml`` spec in `folder`, sorted by file name."""
    return [load_spec(p) for p in sorted(Path(folder).glob("*.yaml"))]
