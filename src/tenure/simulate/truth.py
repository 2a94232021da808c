r"""The truth of a world, by counterfactual re-simulation with common random numbers.

For every action the effect at horizon ``H`` is

.. math::
    \tau_a(H) = \frac{1}{|L|} \sum_{i \in L} \big[ 1\{T_i(A_{ia}{=}1) > H\}
    - 1\{T_i(A_{ia}{=}0) > H\} \big],

over the members ``L`` still active at the day-7 landmark, other actions as drawn, where
``T_i(\cdot)`` re-runs `tenure.simulate.churn.end_days` with the member's own pre-drawn
uniforms. Pairs and experiment arms are forced the same way. Nothing here is a closed form, so
the truth is exactly what the data-generating process implies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.simulate import catalogue as cat
from tenure.simulate import experiments as ex
from tenure.simulate.cohort import STREAM_TRUTH, Cohort, simulate_cohort, stream
from tenure.simulate.config import WorldConfig
from tenure.simulate.tally import Tally

SEGMENTS = {"country": len(cat.COUNTRIES), "plan": len(cat.PLANS)}
SEGMENT_LABELS = {"country": cat.COUNTRIES, "plan": cat.PLANS}
ADJUSTMENT_SET = ["channel", "country", "plan", "age_band", "day0_app_open_capped"]
_SHIP, _VIDEO = cat.action_index(cat.PAIR[0]), cat.action_index(cat.PAIR[1])


def _exp_metrics(spec: ex.ExperimentSpec) -> tuple[str, ...]:
    if spec is ex.CANCEL_FLOW_RECAP:
        return ("retention_30", "retention_90", "retention_180")
    if spec is ex.UPSELL_BANNER:
        return ("retention_90", "retention_180", "shipping_orders_30d")
    return ("retention_90", "retention_180", *(f"adoption_7d:{a}" for a in cat.ACTION_NAMES))


@dataclass(slots=True)
class TruthTallies:
    """All accumulators of a truth computation (merged over chunks)."""

    horizons: tuple[int, ...]
    members: int = 0
    landmark: int = 0
    adoption_sum: FloatArray = field(default_factory=lambda: np.zeros(cat.N_ACTIONS))
    actions: list[Tally] = field(default_factory=list)
    pair_both: Tally | None = None
    pair_synergy: Tally | None = None
    experiments: dict[str, list[Tally]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        hz = tuple(str(h) for h in self.horizons)
        self.actions = [Tally(hz, SEGMENTS) for _ in cat.ACTIONS]
        self.pair_both = Tally(hz, SEGMENTS)
        self.pair_synergy = Tally(hz, SEGMENTS)
        self.experiments = {
            s.name: [Tally(_exp_metrics(s), SEGMENTS) for _ in s.arms[1:]] for s in ex.EXPERIMENTS
        }


def _retained(end: FloatArray, start: FloatArray | float, horizons: tuple[int, ...]) -> FloatArray:
    h = np.asarray(horizons, dtype=np.float64)
    return (end[:, None] > np.asarray(start)[..., None] + h[None, :]).astype(np.float64)


def _codes(cohort: Cohort, rows: IntArray) -> dict[str, IntArray]:
    return {"country": cohort.members.country[rows], "plan": cohort.members.plan[rows]}


def _action_truth(cohort: Cohort, rows: IntArray, t: TruthTallies) -> None:
    """Force each action's early adoption on and off for landmark members `rows`."""
    assign = cohort.assign.take(rows)
    adopted = cohort.adopted[rows]
    first = cohort.first_day[rows]
    codes = _codes(cohort, rows)
    for j, tally in enumerate(t.actions):
        ys = []
        for value in (True, False):
            forced = adopted.copy()
            forced[:, j] = value
            ys.append(_retained(cohort.end_under(rows, forced, assign, first), 0.0, t.horizons))
        tally.add(ys[0], ys[1], codes)
    y = {}
    for s_on in (True, False):
        for v_on in (True, False):
            forced, day = adopted.copy(), first.copy()
            forced[:, _SHIP], forced[:, _VIDEO] = s_on, v_on
            day[:, _SHIP] = day[:, _VIDEO] = cat.PAIR_DAY
            end = cohort.end_under(rows, forced, assign, day)
            y[s_on, v_on] = _retained(end, 0.0, t.horizons)
    assert t.pair_both is not None and t.pair_synergy is not None
    t.pair_both.add(y[True, True], y[False, False], codes)
    t.pair_synergy.add(y[True, True] + y[False, False], y[True, False] + y[False, True], codes)


def _signup_metrics(
    cohort: Cohort, rows: IntArray, assign: ex.Assignments, horizons: tuple[int, ...]
) -> FloatArray:
    adopted = cohort.adoption(rows, assign)
    end = cohort.end_under(rows, adopted, assign)
    seen = adopted & (cohort.first_day[rows] < end[:, None])
    return np.hstack([_retained(end, 0.0, horizons), seen.astype(np.float64)])


def _experiment_truth(cohort: Cohort, mask: BoolArray, t: TruthTallies) -> None:
    """Force every arm of each experiment for its exposed members in the truth sample."""
    a, end = cohort.assign, cohort.end
    for spec, arm_field in ((ex.VALUE_MESSAGING, "vm_arm"), (ex.ENCOURAGE_VIDEO, "ev_arm")):
        rows = np.flatnonzero(mask & (getattr(a, arm_field) >= 0))
        sub = a.take(rows)
        ys = [
            _signup_metrics(cohort, rows, sub.with_arms(**{arm_field: np.full(len(rows), k)}),
                            (90, 180))
            for k in range(len(spec.arms))
        ]  # fmt: skip
        for k, tally in enumerate(t.experiments[spec.name], start=1):
            tally.add(ys[k], ys[0], _codes(cohort, rows))

    cf_day = np.nan_to_num(a.cf_day, nan=np.inf)
    rows = np.flatnonzero(mask & (a.cf_arm >= 0) & (end > cf_day))
    sub = a.take(rows)
    ys = []
    for k in range(len(ex.CANCEL_FLOW_RECAP.arms)):
        e = cohort.end_under(
            rows, cohort.adopted[rows], sub.with_arms(cf_arm=np.full(len(rows), k))
        )
        ys.append(_retained(e, cf_day[rows], (30, 90, 180)))
    t.experiments[ex.CANCEL_FLOW_RECAP.name][0].add(ys[1], ys[0], _codes(cohort, rows))

    up_day = np.nan_to_num(a.up_day, nan=np.inf)
    rows = np.flatnonzero(mask & (a.up_arm >= 0) & (end > up_day) & (up_day < cohort.as_of_day))
    sub, start = a.take(rows), up_day[rows]
    z, adopted = cohort.members.z[rows], cohort.adopted[rows]
    rate = cat.ACTIONS[_SHIP].rate * np.exp(cat.USE_Z * z - 0.5 * cat.USE_Z**2)
    rate = rate * np.where(adopted[:, _SHIP], 1.0, cat.NON_ADOPTER_RATE)
    if cohort.members.activity is not None:  # heavy-tailed activity convention
        rate = rate * cohort.members.activity[rows]
    ys = []
    for k in range(len(ex.UPSELL_BANNER.arms)):
        e = cohort.end_under(rows, adopted, sub.with_arms(up_arm=np.full(len(rows), k)))
        mult = ex.UPSELL_SHIPPING_MULT if k == 1 else 1.0
        orders = rate * mult * (np.minimum(e, start + 30.0) - start)
        ys.append(np.hstack([_retained(e, start, (90, 180)), orders[:, None]]))
    t.experiments[ex.UPSELL_BANNER.name][0].add(ys[1], ys[0], _codes(cohort, rows))


def truth_sample(config: WorldConfig, cohort: Cohort) -> BoolArray:
    """Members of `cohort` in the truth subsample (at most ``truth_members`` overall)."""
    frac = min(1.0, config.truth_members / config.n_members)
    u = stream(config, cohort.chunk, STREAM_TRUTH).random(len(cohort))
    return u < frac


def add_cohort(config: WorldConfig, cohort: Cohort, t: TruthTallies) -> None:
    """Add one chunk's counterfactuals to the tallies."""
    mask = truth_sample(config, cohort)
    landmark = np.flatnonzero(mask & (cohort.end > config.window_days))
    t.members += int(mask.sum())
    t.landmark += len(landmark)
    t.adoption_sum += cohort.adopted[landmark].sum(axis=0)
    _action_truth(cohort, landmark, t)
    _experiment_truth(cohort, mask, t)


def compute_truth(config: WorldConfig) -> dict[str, Any]:
    """Re-simulate a world's counterfactuals without writing any data (a fresh truth).

    Gives exactly the ``truth.json`` that `simulate_world` writes for the same config; with
    another seed it is an independent Monte Carlo estimate of the same population truths.

    Parameters
    ----------
    config : WorldConfig
        The world.

    Returns
    -------
    dict
        The ``truth.json`` document.
    """
    from tenure.simulate.truth_json import truth_document

    t = TruthTallies(config.horizons_days)
    for k in range(config.n_chunks):
        add_cohort(config, simulate_cohort(config, k), t)
    return truth_document(config, t)
