r"""Off-policy evaluation: the value a target policy would have had, from another policy's logs.

Each logged round :math:`i` has a reward :math:`r_i`, the logging policy's probability
:math:`p_i = \pi_b(a_i \mid x_i)` of the action it took (its *propensity*), and the target
policy's probability :math:`\pi_e(a_i \mid x_i)` of that same action; the importance weight is
:math:`w_i = \pi_e(a_i \mid x_i) / p_i`. With a reward model :math:`\hat q(x, a)`, write
:math:`\hat q_i = \hat q(x_i, a_i)` and :math:`\hat v_i = \sum_a \pi_e(a \mid x_i)\, \hat q(x_i, a)`.

.. math::

    \hat V_\text{IPS} = \frac1n \sum w_i r_i, \qquad
    \hat V_\text{SNIPS} = \frac{\sum w_i r_i}{\sum w_i}, \qquad
    \hat V_\text{DM} = \frac1n \sum \hat v_i, \qquad
    \hat V_\text{DR} = \frac1n \sum \bigl(\hat v_i + w_i (r_i - \hat q_i)\bigr).

**Switch-DR** (Wang, Agarwal & Dudík 2017, in Open Bandit Pipeline's form) keeps DR's
correction only where the weight is moderate, :math:`w_i \le \lambda`, and trusts the
reward model where the target goes far from the log:

.. math::

    \hat V_\text{switch-DR} = \frac1n \sum \bigl(\hat v_i
        + \mathbb 1[w_i \le \lambda]\, w_i (r_i - \hat q_i)\bigr).

It earns its place where weights explode (a sharp target evaluated on a wide log — a
learned policy on a uniform test's logs): with :math:`\lambda = \infty` it is DR, with
:math:`\lambda = 0` it is DM, and in between it trades DR's variance for the reward
model's bias, so compare it with DR rather than read it alone. Given ``switch_lambda``,
:func:`evaluate` adds it (``switch_dr``) and records :math:`\lambda` and the share of rounds
switched to the model.

Intervals are normal (CLT) intervals on the per-round terms; SNIPS uses the delta method
(terms :math:`w_i (r_i - \hat V_\text{SNIPS}) / \bar w`); DM's interval treats the reward model
as fixed, so it is too narrow when the model is wrong — the reason DR exists. Positions
(slates) are handled by the caller: a round's probabilities are those at its position, as in
Open Bandit Pipeline, whose IPS, SNIPS, DM and DR these equal (tested on the real Open Bandit
Dataset sample to 1e-9).

Diagnostics: the effective sample size :math:`(\sum w)^2 / \sum w^2` (Kish), the largest
weight, and the mean weight, whose expectation is exactly 1 when the propensities are right
and the target's support is covered — a mean far from 1 is the loudest sign of a wrong
propensity or of actions the logging policy never took.

Examples
--------
>>> import numpy as np
>>> r = np.array([1.0, 0.0, 1.0, 0.0])
>>> est = evaluate(r, propensity=np.full(4, 0.5), target_prob=np.array([1.0, 0.0, 1.0, 1.0]))
>>> float(est.value_of("ips")), float(est.value_of("snips"))
(1.0, 0.6666666666666666)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from tenure._types import FloatArray
from tenure.errors import SpecError
from tenure.results import Result, json_safe

__all__ = [
    "ESTIMATORS",
    "OffPolicyEstimates",
    "WeightDiagnostics",
    "direct_method",
    "doubly_robust",
    "evaluate",
    "importance_weights",
    "ips",
    "snips",
    "switch_doubly_robust",
    "weight_diagnostics",
]

ESTIMATORS = ("ips", "snips", "dm", "dr")


def _array(name: str, values: npt.ArrayLike, n: int | None = None) -> FloatArray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise SpecError(f"{name}: expected a one-dimensional array, got shape {a.shape}")
    if n is not None and a.size != n:
        raise SpecError(f"{name}: expected {n} values (one per logged round), got {a.size}")
    if not np.all(np.isfinite(a)):
        raise SpecError(f"{name}: {int(np.sum(~np.isfinite(a)))} missing or infinite values")
    return a


def importance_weights(propensity: npt.ArrayLike, target_prob: npt.ArrayLike) -> FloatArray:
    r"""Weights :math:`w_i = \pi_e(a_i \mid x_i) / \pi_b(a_i \mid x_i)`, with input checks.

    A propensity must be in (0, 1] (a logged action had positive probability) and a target
    probability in [0, 1]; anything else is an error naming the field.
    """
    p = _array("propensity", propensity)
    t = _array("target prob", target_prob, p.size)
    if p.size == 0:
        raise SpecError("the log is empty: nothing to evaluate")
    if np.any(p <= 0) or np.any(p > 1):
        bad = int(np.sum((p <= 0) | (p > 1)))
        raise SpecError(f"propensity: {bad} value(s) outside (0, 1]; a logged action had p > 0")
    if np.any(t < 0) or np.any(t > 1 + 1e-12):
        raise SpecError("prob: target probabilities must be in [0, 1]")
    return t / p


@dataclass(frozen=True, slots=True)
class _Terms:
    value: float
    se: float


def _mean_terms(terms: FloatArray) -> _Terms:
    n = terms.size
    se = float(np.std(terms, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return _Terms(float(np.mean(terms)), se)


def ips(reward: FloatArray, weight: FloatArray) -> tuple[float, float]:
    """Inverse propensity scoring: estimate and standard error."""
    t = _mean_terms(weight * reward)
    return t.value, t.se


def snips(reward: FloatArray, weight: FloatArray) -> tuple[float, float]:
    """Self-normalised IPS: estimate and delta-method standard error."""
    wbar = float(np.mean(weight))
    if wbar <= 0:
        return float("nan"), float("nan")
    value = float(np.mean(weight * reward) / wbar)
    t = _mean_terms(weight * (reward - value) / wbar)
    return value, t.se


def direct_method(q_target: FloatArray) -> tuple[float, float]:
    r"""The direct method: mean of :math:`\hat v_i`; its s.e. ignores reward-model error."""
    t = _mean_terms(q_target)
    return t.value, t.se


def doubly_robust(
    reward: FloatArray, weight: FloatArray, q_chosen: FloatArray, q_target: FloatArray
) -> tuple[float, float]:
    """Doubly robust: the direct method corrected by weighted residuals of the logged action."""
    t = _mean_terms(q_target + weight * (reward - q_chosen))
    return t.value, t.se


def switch_doubly_robust(
    reward: FloatArray,
    weight: FloatArray,
    q_chosen: FloatArray,
    q_target: FloatArray,
    lam: float,
) -> tuple[float, float]:
    r"""Switch-DR: DR's correction only for rounds with :math:`w_i \le \lambda`."""
    keep = weight <= lam
    t = _mean_terms(q_target + np.where(keep, weight * (reward - q_chosen), 0.0))
    return t.value, t.se


@dataclass(frozen=True, slots=True)
class WeightDiagnostics:
    """Kish effective sample size, the weights' mean and maximum, zero-weight share, warnings."""

    n: int
    ess: float
    mean_weight: float
    mean_weight_se: float
    max_weight: float
    zero_share: float
    warnings: tuple[str, ...]


def weight_diagnostics(weight: FloatArray) -> WeightDiagnostics:
    """Diagnostics of importance weights, with a warning for each sign of trouble.

    Warnings: the effective sample size is under 1% of the rows, or under 100; one weight
    carries more than 10% of the total; the mean weight is more than 4 standard errors from
    1 (propensities wrong, or the target takes actions the log never took).
    """
    n = int(weight.size)
    total = float(weight.sum())
    sq = float(np.sum(weight * weight))
    ess = total * total / sq if sq > 0 else 0.0
    mean = total / n
    se = float(np.std(weight, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    wmax = float(weight.max())
    warnings: list[str] = []
    if ess < max(0.01 * n, 100.0):
        warnings.append(
            f"weights explode: effective sample size {ess:.0f} of {n} rows; "
            "the target is far from the logging policy and the estimates are unreliable"
        )
    if total > 0 and wmax > 0.1 * total:
        warnings.append(f"one round carries {wmax / total:.0%} of the total weight")
    if np.isfinite(se) and se > 0 and abs(mean - 1.0) > 4 * se:
        warnings.append(
            f"mean importance weight {mean:.3f} (s.e. {se:.3f}) is not 1: propensities are "
            "wrong or the target chooses actions the logging policy never took"
        )
    return WeightDiagnostics(
        n=n,
        ess=ess,
        mean_weight=mean,
        mean_weight_se=se,
        max_weight=wmax,
        zero_share=float(np.mean(weight == 0)),
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, repr=False)
class OffPolicyEstimates(Result):
    """Estimates of one target policy's value: one row per estimator, plus weight diagnostics."""

    kind: ClassVar[str] = "off_policy_evaluation"
    estimator: tuple[str, ...]
    value: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    diagnostics: WeightDiagnostics
    logged_value: float
    params: dict[str, Any]

    def value_of(self, estimator: str) -> float:
        """The estimate of one estimator (``ips``, ``snips``, ``dm``, ``dr``)."""
        try:
            return float(self.value[self.estimator.index(estimator)])
        except ValueError:
            raise SpecError(
                f"estimator {estimator!r} was not computed (have {', '.join(self.estimator)})"
            ) from None

    def interval_of(self, estimator: str) -> tuple[float, float]:
        """The confidence interval of one estimator."""
        i = self.estimator.index(estimator)
        return float(self.ci_low[i]), float(self.ci_high[i])

    def to_frame(self) -> pd.DataFrame:
        """One row per estimator: estimate, standard error and interval."""
        return pd.DataFrame(
            {
                "estimator": list(self.estimator),
                "value": self.value,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Estimates, diagnostics (ESS, weights, warnings) and the logging policy's own value."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "rows": json_safe(self.to_frame()),
            "logged_value": json_safe(self.logged_value),
            "diagnostics": json_safe(self.diagnostics),
            "warnings": list(self.diagnostics.warnings),
        }


def evaluate(
    reward: npt.ArrayLike,
    propensity: npt.ArrayLike,
    target_prob: npt.ArrayLike,
    *,
    q_chosen: npt.ArrayLike | None = None,
    q_target: npt.ArrayLike | None = None,
    alpha: float = 0.05,
    switch_lambda: float | None = None,
    params: dict[str, Any] | None = None,
) -> OffPolicyEstimates:
    r"""IPS and SNIPS, and DM and DR when a reward model is given, with intervals and diagnostics.

    Parameters
    ----------
    reward, propensity
        Per logged round: the reward and the logging policy's probability of its action.
    target_prob
        :math:`\pi_e(a_i \mid x_i)`: the target's probability of the logged action.
    q_chosen, q_target
        The reward model at the logged action, :math:`\hat q(x_i, a_i)`, and its average
        under the target, :math:`\hat v_i`. Both or neither.
    alpha
        Intervals are :math:`1 - \alpha` normal intervals.
    switch_lambda
        Also compute switch-DR with this weight threshold (needs the reward model).
    """
    if not 0 < alpha < 1:
        raise SpecError(f"alpha: must be in (0, 1), got {alpha}")
    w = importance_weights(propensity, target_prob)
    r = _array("reward", reward, w.size)
    rows: list[tuple[str, float, float]] = [("ips", *ips(r, w)), ("snips", *snips(r, w))]
    if (q_chosen is None) != (q_target is None):
        raise SpecError("a reward model needs both q_chosen and q_target")
    if q_chosen is not None and q_target is not None:
        qc = _array("q_chosen", q_chosen, w.size)
        qt = _array("q_target", q_target, w.size)
        rows += [("dm", *direct_method(qt)), ("dr", *doubly_robust(r, w, qc, qt))]
    extra: dict[str, Any] = {}
    if switch_lambda is not None:
        if q_chosen is None or q_target is None:
            raise SpecError("switch_lambda: switch-DR needs a reward model (q_chosen, q_target)")
        if not switch_lambda >= 0:
            raise SpecError(f"switch_lambda: must be a non-negative weight, got {switch_lambda}")
        rows.append(("switch_dr", *switch_doubly_robust(r, w, qc, qt, float(switch_lambda))))
        extra = {"switch_lambda": float(switch_lambda),
                 "switched_share": float(np.mean(w > switch_lambda))}  # fmt: skip
    z = float(stats.norm.ppf(1 - alpha / 2))
    value = np.array([v for _, v, _ in rows])
    se = np.array([s for _, _, s in rows])
    return OffPolicyEstimates(
        estimator=tuple(name for name, _, _ in rows),
        value=value,
        se=se,
        ci_low=value - z * se,
        ci_high=value + z * se,
        diagnostics=weight_diagnostics(w),
        logged_value=float(np.mean(r)),
        params={"alpha": alpha, "n": int(w.size), "interval": "normal", **extra, **(params or {})},
    )
