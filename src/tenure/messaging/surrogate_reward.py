r"""Retained at the horizon as the loop's reward, through a surrogate index.

What a messaging team wants is retention at the horizon (180 days); what it can see within a
week is whether the member used the promoted benefit. The surrogate index (Athey, Chetty,
Imbens & Kang 2019; :mod:`tenure.experiments.surrogate` reads experiments with it) bridges
the two: :math:`h(s, x) = \operatorname{E}[Y \mid S = s, X = x]`, fitted on historical
members, where :math:`Y` is "still a member at the horizon", :math:`S` the early outcome —
which benefit the member took up in the 7-day window after a message (or none) — and
:math:`X` the attributes (country, plan). It is fitted the same way as the experiments'
index: grouped counts per cell of :math:`(S, X)` and :class:`tenure.stats.ipw.GroupedLogistic`
on them, with the early outcome's effect allowed to differ by country.

A decision's reward is then :math:`h(S_i, X_i) \in [0, 1]`, a rate the pooled Thompson
policy fits like any other. It ranks creatives by what their adoption is worth in
retention, not by adoption alone: a creative that sells a benefit with no effect on renewal
earns nothing over the no-adoption baseline. Valid only under surrogacy (the message moves
retention *through* the benefit's use) — the assumption the experiments' check horizon
tests; in the simulator it holds by construction.

**On data** (:func:`fit_surrogate_index`, ``tenure policy train --reward surrogate``), the
historical members are the log's own decisions old enough to have reached the horizon:
:math:`S` is whether the promoted benefit was used in the window, :math:`Y` whether the
member was still a member ``horizon`` days after the decision (the members table's
``ended_at``), :math:`X` the member's country and plan. Every decision — recent ones too,
which is the point — is then rewarded by :math:`h`.

**Open windows** (:func:`open_window_reward`). A decision whose window is still open and
whose benefit has not been used yet will end as :math:`h_0` (no use) or :math:`h_b` (used
later). With :math:`p` the creative's adoption rate in its context and :math:`F` the share
of the window's uses visible by now (:func:`tenure.messaging.rewards.seen_share`), the
chance it is still used is :math:`q = p(1 - F) / (1 - pF)`, and its reward is the
expectation :math:`h_0 + (h_b - h_0)\,q`; a use already seen earns :math:`h_b` at once.
:math:`p` comes from the adoption model fitted on the same log with open windows
(its ``seen`` column), so the surrogate reward learns from day one, like the adoption reward.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray, IntArray
from tenure.errors import SpecError
from tenure.messaging.catalogue import Catalogue
from tenure.messaging.policies.thompson import ThompsonPolicy
from tenure.stats.ipw import GroupedLogistic, one_hot

__all__ = [
    "SurrogateReward",
    "adoption_rates",
    "fit_surrogate_index",
    "index_table",
    "open_window_reward",
    "surrogate_design",
    "surrogate_training_frame",
]


@dataclass(frozen=True, slots=True)
class SurrogateReward:
    """Predicted retention per (country, plan, early outcome); outcome 0 is "no adoption"."""

    benefits: tuple[str, ...]
    table: FloatArray  # (countries, plans, 1 + benefits)
    n_historical: int
    countries: tuple[str, ...]
    plans: tuple[str, ...]
    horizon_days: int = 180

    def reward(self, country: IntArray, plan: IntArray, adopted: IntArray) -> FloatArray:
        """Rewards of decisions: ``adopted`` is the benefit's index + 1, or 0 for none."""
        return np.asarray(self.table[country, plan, adopted], dtype=np.float64)

    def index(self, benefit: str) -> int:
        """The early-outcome code of adopting ``benefit`` (its position + 1)."""
        return self.benefits.index(benefit) + 1

    def codes(
        self, country: Iterable[object], plan: Iterable[object], benefit: Iterable[object]
    ) -> tuple[IntArray, IntArray, IntArray]:
        """Row codes of labels: a level the index never saw gets its reference (code 0)."""
        co = {v: i for i, v in enumerate(self.countries)}
        pl = {v: i for i, v in enumerate(self.plans)}
        bx = {b: i + 1 for i, b in enumerate(self.benefits)}
        return (
            np.array([co.get(str(v), 0) for v in country], dtype=np.int64),
            np.array([pl.get(str(v), 0) for v in plan], dtype=np.int64),
            np.array([bx.get(str(v), 0) for v in benefit], dtype=np.int64),
        )


def surrogate_design(
    country: IntArray, plan: IntArray, outcome: IntArray, n_out: int, nc: int, npn: int
) -> FloatArray:
    """The index's design: early outcome, country, plan, and outcome × country.

    The early outcome's effect on retention may differ by country (a benefit worth more where
    it is cheaper to use), so each outcome gets its own country contrasts; plan enters
    additively. Shared by the fit on data and the simulator's historical fit.
    """
    s = one_hot(outcome, n_out)[:, 1:]
    c = one_hot(country, nc)
    inter = (s[:, :, None] * c[:, None, 1:]).reshape(len(outcome), -1)
    return np.hstack([np.ones((len(outcome), 1)), s, c[:, 1:], one_hot(plan, npn)[:, 1:], inter])


def index_table(
    country: IntArray,
    plan: IntArray,
    outcome: IntArray,
    retained: FloatArray,
    shape: tuple[int, int, int],
) -> FloatArray:
    """Predicted retention per (country, plan, early outcome) cell, from member-level codes.

    The members are counted per cell (trials, retained), so the logistic fit on
    :func:`surrogate_design` runs on at most ``countries × plans × outcomes`` rows whatever the
    number of members; cells nobody reached are predicted from the model, not left empty.
    """
    nc, npn, n_out = shape
    size = nc * npn * n_out
    cell = (country * npn + plan) * n_out + outcome
    trials = np.bincount(cell, minlength=size).astype(np.float64)
    succ = np.bincount(cell, weights=retained, minlength=size)
    gco, rest = np.divmod(np.arange(size), npn * n_out)
    gpl, gout = np.divmod(rest, n_out)
    x = surrogate_design(gco, gpl, gout, n_out, nc, npn)
    seen = trials > 0
    fit = GroupedLogistic(ridge=1.0).fit(x[seen], succ[seen], trials[seen])
    return np.asarray(fit.predict_proba(x)[0].reshape(shape), dtype=np.float64)


def fit_surrogate_index(
    joined: pd.DataFrame, catalogue: Catalogue, *, horizon_days: int, min_historical: int = 200
) -> SurrogateReward:
    """Fit :math:`h(S, X)` on the decisions of ``joined`` that have reached the horizon.

    ``joined`` is :func:`tenure.messaging.rewards.join_rewards` with ``horizon_days``: one row
    per decision with ``status``, ``benefit``, ``horizon_reached``, ``retained``,
    ``member_country`` and ``member_plan``. A decision whose window is still open cannot be
    historical (it is younger than the horizon).

    Raises
    ------
    SpecError
        When fewer than ``min_historical`` decisions have reached the horizon.
    """
    benefits = tuple(b.id for b in catalogue.benefits if b.actions)
    hist = joined[joined["horizon_reached"].astype(bool) & (joined["status"] != "pending")]
    if len(hist) < min_historical:
        raise SpecError(
            f"--horizon {horizon_days}: only {len(hist)} logged decisions are {horizon_days} "
            f"days old (need {min_historical}) to fit the surrogate index; use a shorter "
            "--horizon or a longer log"
        )
    countries = tuple(sorted(map(str, joined["member_country"].unique())))
    plans = tuple(sorted(map(str, joined["member_plan"].unique())))
    sr0 = SurrogateReward(benefits, np.zeros(0), 0, countries, plans, horizon_days)
    co, pl, b = sr0.codes(hist["member_country"], hist["member_plan"], hist["benefit"])
    outcome = np.where((hist["status"] == "joined").to_numpy(), b, 0)
    retained = hist["retained"].to_numpy(dtype=np.float64)
    table = index_table(co, pl, outcome, retained, (len(countries), len(plans), len(benefits) + 1))
    return SurrogateReward(benefits, table, len(hist), countries, plans, horizon_days)


def open_window_reward(
    h_none: npt.ArrayLike,
    h_used: npt.ArrayLike,
    used: npt.ArrayLike,
    seen: npt.ArrayLike,
    p_adopt: npt.ArrayLike,
) -> FloatArray:
    r"""Each decision's expected surrogate reward given what its window shows so far.

    ``used``: the promoted benefit has been used (reward :math:`h_b`); otherwise
    :math:`h_0 + (h_b - h_0)\,p(1 - F)/(1 - pF)` — for a closed window (:math:`F = 1`) that
    is :math:`h_0`.

    Examples
    --------
    >>> open_window_reward([0.5, 0.5, 0.5], [0.7, 0.7, 0.7], [True, False, False],
    ...                    [0.2, 1.0, 0.5], [0.4, 0.4, 0.4]).round(4).tolist()
    [0.7, 0.5, 0.55]
    """
    h0, hb = np.asarray(h_none, dtype=np.float64), np.asarray(h_used, dtype=np.float64)
    f, p = np.asarray(seen, dtype=np.float64), np.asarray(p_adopt, dtype=np.float64)
    later = p * (1 - f) / np.maximum(1 - p * f, 1e-12)
    return np.asarray(np.where(np.asarray(used, dtype=bool), hb, h0 + (hb - h0) * later))


def adoption_rates(policy: ThompsonPolicy, frame: pd.DataFrame) -> FloatArray:
    """``policy``'s posterior-mode rate for each row's creative (factor columns) in its context."""
    keys = [*policy.context, *policy.factors]
    rows = frame[keys].astype(str)
    lookup: dict[tuple[str, ...], float] = {}
    for ctx, group in rows.drop_duplicates().groupby(list(policy.context), sort=False):
        values = tuple(map(str, ctx)) if isinstance(ctx, tuple) else (str(ctx),)
        cells = [tuple(r) for r in group[keys].itertuples(index=False)]
        parts = [dict(zip(policy.factors, c[len(values) :], strict=True)) for c in cells]
        rates = policy.expected_reward(dict(zip(policy.context, values, strict=True)), parts)
        lookup.update(zip(cells, map(float, rates), strict=True))
    return np.array([lookup[tuple(r)] for r in rows.itertuples(index=False)], dtype=np.float64)


def surrogate_training_frame(
    joined: pd.DataFrame,
    index: SurrogateReward,
    adoption: ThompsonPolicy,
    seen: npt.ArrayLike,
) -> pd.DataFrame:
    """The log with ``reward`` = each decision's (expected) surrogate reward, open windows too.

    ``adoption`` is the adoption-reward policy fitted on the same decisions with ``seen``
    (:func:`tenure.messaging.rewards.seen_share`); it supplies :math:`p` for
    :func:`open_window_reward`. The result has no ``seen`` column: its rewards already are
    expectations given what is known.
    """
    co, pl, b = index.codes(joined["member_country"], joined["member_plan"], joined["benefit"])
    h0, hb = index.table[co, pl, 0], index.table[co, pl, b]
    used = (joined["status"] == "joined").to_numpy()
    reward = open_window_reward(h0, hb, used, seen, adoption_rates(adoption, joined))
    out = joined.drop(columns=[c for c in ("seen",) if c in joined.columns])
    return out.assign(reward=reward)
