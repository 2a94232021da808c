"""One scorecard row as a typed record: a metric × variant × segment comparison, annotated.

The verdict rules, the pooling across markets, the report and the CLI all read these fields
by name, so a misspelt column is a type error instead of a ``KeyError`` at run time, and the
direction of a metric, its margin and its significance travel with the number they qualify.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

from tenure.stats.result import STATUS_CODES

__all__ = ["GUARDRAIL_LABELS", "Comparison", "GuardrailStatus", "Role"]

Role: TypeAlias = Literal["primary", "secondary", "guardrail"]
GuardrailStatus: TypeAlias = Literal["", "ok", "cant_tell", "breach", "n/a"]

GUARDRAIL_LABELS: dict[str, str] = {
    "": "",
    "ok": "non-inferior",
    "cant_tell": "can't tell yet",
    "breach": "breach",
    "n/a": "not estimable",
}
"""How each guardrail status reads to a person (the report and the terminal use these)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """A variant against control on one metric in one segment, with what it means.

    ``segment`` is ``"all"`` or a ``"column=value"`` label; ``segment_column`` and
    ``segment_value`` hold its parts (``None`` for the whole population), so nothing parses
    the label. ``p_value_adjusted`` is corrected across every metric × variant × segment of
    the experiment (for exploration); ``p_value_decision`` is the one the verdict uses: the
    primary metric's variants on the whole population corrected as a family, guardrails
    uncorrected. ``threshold_met`` means the primary effect is significant and its point
    estimate clears the pre-registered threshold; ``threshold_clear`` that its interval's
    lower bound does too. ``guardrail`` is the non-inferiority read of a guardrail against
    its margin (see :data:`GUARDRAIL_LABELS`). ``estimator`` names the test (``welch``,
    ``cuped``, ``ratio``, ``+sequential``); ``status`` is one of
    :data:`~tenure.stats.result.STATUS_CODES`.
    """

    metric: str
    role: Role
    segment: str
    segment_column: str | None
    segment_value: str | None
    variant: str
    n_baseline: float
    n_variant: float
    baseline_mean: float
    variant_mean: float
    baseline_variance: float
    effect_abs: float
    ci_abs_low: float
    ci_abs_high: float
    se_abs: float
    effect_rel: float
    ci_rel_low: float
    ci_rel_high: float
    se_rel: float
    p_value: float
    p_value_adjusted: float
    p_value_decision: float
    chance_to_win: float
    expected_loss: float
    significant_good: bool
    significant_bad: bool
    threshold_met: bool
    threshold_clear: bool
    guardrail: GuardrailStatus
    margin: float
    margin_relative: bool
    higher_is_better: bool
    estimator: str
    status: str

    @property
    def overall(self) -> bool:
        """Whether this row is the whole population (not a segment)."""
        return self.segment_column is None

    def effect(self, *, relative: bool) -> tuple[float, float, float]:
        """``(estimate, low, high)`` on the relative or the absolute scale."""
        if relative:
            return self.effect_rel, self.ci_rel_low, self.ci_rel_high
        return self.effect_abs, self.ci_abs_low, self.ci_abs_high

    def loss(self, *, relative: bool) -> tuple[float, float]:
        """``(estimated loss, worst loss in the interval)``, positive = worse for members."""
        e, lo, hi = self.effect(relative=relative)
        s = 1.0 if self.higher_is_better else -1.0
        return -s * e, max(-s * lo, -s * hi)

    @property
    def why_missing(self) -> str:
        """Why the estimate or interval is missing, or ``""`` when both are there."""
        if self.status != "ok":
            return STATUS_CODES.get(self.status, self.status)
        if not (math.isfinite(self.ci_abs_low) and math.isfinite(self.ci_abs_high)):
            return "interval not estimable"
        return ""
