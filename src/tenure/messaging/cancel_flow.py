"""Value messaging against a discount in the cancel flow: the seed's finding as a question.

A randomised test in the creative-response world: members who open the cancel flow are
assigned at random to a value recap (what they used and saved, what they would lose) or to a
discount offer. Two outcomes per member — stayed now (did not cancel) and still a member at
the horizon — and the discount's cost. The comparison is Newcombe's interval for the
difference of two proportions, so "the discount saves more members today but fewer are still
members at the horizon" is a statement with intervals, not an anecdote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from tenure.messaging.catalogue import Catalogue
from tenure.results import Result
from tenure.simulate.creatives import CreativeWorld, SimMembers
from tenure.stats.proportion import newcombe

__all__ = ["ValueVsDiscount", "value_vs_discount"]


@dataclass(frozen=True, repr=False)
class ValueVsDiscount(Result):
    """Per outcome: the rate under value messaging and under the discount, and the difference."""

    kind: ClassVar[str] = "value_vs_discount"
    outcome: tuple[str, ...]
    value_rate: np.ndarray
    discount_rate: np.ndarray
    diff: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_value: int
    n_discount: int
    discount_cost_per_member: float
    params: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome: value rate, discount rate, value − discount with its interval."""
        return pd.DataFrame(
            {
                "outcome": list(self.outcome),
                "value": self.value_rate,
                "discount": self.discount_rate,
                "value_minus_discount": self.diff,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )


def value_vs_discount(
    *,
    members: int = 20_000,
    seed: int = 7,
    horizon_days: int = 180,
    alpha: float = 0.05,
    catalogue: Catalogue | None = None,
) -> ValueVsDiscount:
    """Run the randomised cancel-flow test and compare the two arms.

    Examples
    --------
    >>> r = value_vs_discount(members=4000, seed=1)
    >>> list(r.outcome)
    ['stayed_now', 'member_at_horizon']
    """
    cat = catalogue or Catalogue.default()
    world = CreativeWorld(cat, seed=seed, horizon_days=horizon_days)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    pop = SimMembers.draw(rng, members)
    arm = rng.random(members) < 0.5  # True: discount
    frames = ["discount" if a else "value" for a in arm]
    rows = np.arange(members)
    p_stay, p_horizon = world.cancel_outcomes(frames, pop, rows)
    u = rng.random(members)
    stayed = u < p_stay
    # the horizon outcome given staying: P(horizon | stayed) = p_horizon / p_stay
    kept = stayed & (rng.random(members) < p_horizon / p_stay)
    z = float(stats.norm.ppf(1 - alpha / 2))
    out: dict[str, list[float]] = {k: [] for k in ("v", "d", "diff", "lo", "hi")}
    for y in (stayed, kept):
        pv, pd_ = float(y[~arm].mean()), float(y[arm].mean())
        lo, hi = newcombe(pv, int((~arm).sum()), pd_, int(arm.sum()), z=z)
        out["v"].append(pv)
        out["d"].append(pd_)
        out["diff"].append(pv - pd_)
        out["lo"].append(float(lo))
        out["hi"].append(float(hi))
    offer = next((b for b in cat.benefits if b.kind == "offer"), None)
    cost = (offer.cost_per_use if offer else 0.0) * float(stayed[arm].mean())
    return ValueVsDiscount(
        outcome=("stayed_now", "member_at_horizon"),
        value_rate=np.array(out["v"]),
        discount_rate=np.array(out["d"]),
        diff=np.array(out["diff"]),
        ci_low=np.array(out["lo"]),
        ci_high=np.array(out["hi"]),
        n_value=int((~arm).sum()),
        n_discount=int(arm.sum()),
        discount_cost_per_member=cost,
        params={
            "members": members,
            "seed": seed,
            "horizon_days": horizon_days,
            "alpha": alpha,
            "interval": "newcombe",
        },
    )
