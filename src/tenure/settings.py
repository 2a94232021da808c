"""Inference settings as one value, parsed once and passed down.

Before this module, the significance level was parsed from a spec and then re-read from it in
three other places, one analysis ignored it, and a CLI flag (``--alpha``) was silently
dropped. :class:`Inference` is the single value that carries every choice that changes what a
p-value or an interval *means*: the level, the sidedness, the multiple-testing correction,
whether the design is fixed-horizon or always-valid (sequential) and its tuning, the
frequentist or Bayesian read, and the thresholds that turn numbers into decisions. It is built
once — from a spec's ``method`` block (:meth:`Inference.from_mapping`) or from CLI flags
(:meth:`Inference.with_overrides`) — validated on construction, recorded in every result's
``params``, and read by the report (``confidence_label``) instead of hard-coding "95%".

Names are chosen so that none is overloaded: ``stopping`` (fixed / sequential) is *when* the
test may be read, not a horizon in days; ``framework`` (frequentist / Bayesian) is *how* it is
read; ``correction`` is the family-wise or false-discovery adjustment.

::

    >>> inf = Inference(alpha=0.01)
    >>> inf.confidence_label
    '99%'
    >>> inf.with_overrides(alpha=None, correction="bh").correction
    'bh'
    >>> Inference(alpha=0.7)
    Traceback (most recent call last):
    ...
    tenure.errors.SpecError: alpha: must be in (0, 0.5), got 0.7
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, get_args

from tenure._types import Alternative
from tenure.errors import SpecError

__all__ = [
    "DEFAULT_TUNING",
    "Correction",
    "Framework",
    "Inference",
    "Stopping",
]

Correction: TypeAlias = Literal["holm", "bh", "none"]
Stopping: TypeAlias = Literal["fixed", "sequential"]
Framework: TypeAlias = Literal["frequentist", "bayesian"]

DEFAULT_TUNING: float = 5000.0
"""Planned total sample size an always-valid sequence is tuned for (gbstats' default).

:data:`tenure.stats.sequential.DEFAULT_TUNING` is this same constant, re-exported.
"""

# Spec keys that meant these fields before the rename (``method.horizon`` was not a horizon).
_LEGACY_KEYS = {"horizon": "stopping", "inference": "framework"}


@dataclass(frozen=True, slots=True)
class Inference:
    """Everything that changes what a p-value, an interval or a verdict means.

    Parameters
    ----------
    alpha : float, default 0.05
        Significance level; intervals are at confidence ``1 - alpha``. In (0, 0.5).
    alternative : {"two-sided", "greater", "less"}
        Sidedness of tests and intervals. Sequential designs support only two-sided.
    correction : {"holm", "bh", "none"}
        Adjustment across a family of comparisons: Holm (family-wise error), Benjamini–Hochberg
        (false-discovery rate) or none. Power planning for several arms uses it too.
    stopping : {"fixed", "sequential"}
        ``fixed``: valid at one pre-planned look; ``sequential``: always-valid confidence
        sequences, valid however often the result is read.
    framework : {"frequentist", "bayesian"}
        Which read decides: p-values against ``alpha`` or chance-to-win against
        ``chance_to_win``.
    tuning : float, default 5000
        Planned total sample size the sequential mixture is tuned for.
    power : float, default 0.8
        Target power for planning.
    chance_to_win : float, default 0.95
        Bayesian decision bar; in (0.5, 1).
    srm_alpha : float, default 0.001
        Level of the sample-ratio-mismatch check (strict on purpose: it gates every verdict).
    """

    alpha: float = 0.05
    alternative: Alternative = "two-sided"
    correction: Correction = "holm"
    stopping: Stopping = "fixed"
    framework: Framework = "frequentist"
    tuning: float = DEFAULT_TUNING
    power: float = 0.8
    chance_to_win: float = 0.95
    srm_alpha: float = 0.001

    def __post_init__(self) -> None:
        _between("alpha", self.alpha, 0.0, 0.5)
        _between("srm_alpha", self.srm_alpha, 0.0, 0.5)
        _between("power", self.power, 0.0, 1.0)
        _between("chance_to_win", self.chance_to_win, 0.5, 1.0)
        if not (isinstance(self.tuning, int | float) and self.tuning > 0):
            raise SpecError(f"tuning: must be a positive sample size, got {self.tuning!r}")
        _choice("alternative", self.alternative, Alternative)
        _choice("correction", self.correction, Correction)
        _choice("stopping", self.stopping, Stopping)
        _choice("framework", self.framework, Framework)
        if self.stopping == "sequential" and self.alternative != "two-sided":
            raise SpecError(
                "alternative: a sequential design supports only 'two-sided' "
                f"(got {self.alternative!r}); use stopping='fixed' for a one-sided test"
            )

    @property
    def confidence(self) -> float:
        """Confidence level of the intervals, ``1 - alpha``."""
        return 1.0 - self.alpha

    @property
    def confidence_label(self) -> str:
        """The confidence level as people write it: ``'95%'``, ``'99%'``, ``'97.5%'``."""
        return f"{100.0 * self.confidence:.4g}%"

    @property
    def adjusts(self) -> bool:
        """Whether p-values in a family are adjusted (so labels must say "adjusted")."""
        return self.correction != "none"

    def family_alpha(self, comparisons: int) -> float:
        """Per-comparison level to *plan* for when ``comparisons`` tests form a family.

        Holm's first step and Benjamini–Hochberg with a single true effect both test the
        smallest p-value at ``alpha / m``, so a plan that ignores the correction is
        under-powered; with ``correction="none"`` it is ``alpha``.

        >>> Inference(correction="holm").family_alpha(2), Inference(correction="none").family_alpha(2)
        (0.025, 0.05)
        """
        m = max(int(comparisons), 1)
        return self.alpha / m if self.adjusts else self.alpha

    def with_overrides(self, **flags: Any) -> Inference:
        """A copy with every flag that is not ``None`` applied (CLI flags: apply or reject).

        An unknown name raises :class:`~tenure.errors.SpecError` rather than being dropped,
        so a flag can never be silently ignored.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(flags) - known)
        if unknown:
            raise SpecError(f"{unknown[0]}: not an inference setting (known: {sorted(known)})")
        given = {k: v for k, v in flags.items() if v is not None}
        return dataclasses.replace(self, **given) if given else self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "method") -> Inference:
        """Build from a spec's ``method`` block (parsed YAML or JSON).

        The old keys ``horizon``/``inference`` map to ``stopping``/``framework``; keys that
        are not inference settings are ignored here (e.g. ``max_days``, a planning setting)
        — the spec schema rejects unknown ones.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = _LEGACY_KEYS.get(key, key)
            if name in known and value is not None:
                values[name] = value
        try:
            return cls(**values)
        except SpecError as exc:
            raise SpecError(f"{source}.{exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON types (what a result records in ``params``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _between(name: str, value: object, low: float, high: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low < value < high
    if not ok:
        raise SpecError(f"{name}: must be in ({low:g}, {high:g}), got {value!r}")


def _choice(name: str, value: object, options: Any) -> None:
    allowed = get_args(options)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise SpecError(f"{name}: must be one of {listed}, got {value!r}")
