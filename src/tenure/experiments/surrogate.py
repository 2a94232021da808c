r"""Leading indicators: read an experiment's long-term retention effect after a week.

The surrogate index (Athey, Chetty, Imbens & Kang 2019) replaces a long-term outcome
:math:`Y` (retention at 180 days) that an experiment cannot wait for by its prediction from
early outcomes :math:`S` (which benefits a member used in the first week, whether they are
still a member then, how often they opened the app) and pre-treatment attributes :math:`X`:

.. math::

    h(s, x) = \operatorname{E}[Y \mid S = s, X = x] \quad\text{fitted on historical members,}
    \qquad \hat\tau = \overline{h(S, X)}_{B} - \overline{h(S, X)}_{A}.

Everything runs on grouped counts: the engine returns, per cell of (early outcomes ×
attributes), the historical members and how many were retained, and each arm's members per
cell; :class:`tenure.stats.ipw.GroupedLogistic` fits :math:`h` on those counts. Each arm's
predicted retention then has moments :math:`n = \sum_c n_c`, :math:`\sum_c n_c h_c`,
:math:`\sum_c n_c h_c^2`, and :func:`tenure.stats.frequentist.welch_test` gives the interval
(model-fit uncertainty is ignored: the historical sample is much larger than an arm).

**When to doubt it.** The index is valid only if the treatment affects :math:`Y` *through*
:math:`S` (surrogacy) and :math:`h` is unconfounded given :math:`X`. A discount that lowers
churn at the first renewal moves retention without moving any early behaviour, and the
index cannot see it. So the same model is fitted for an early horizon the experiment can
already observe (``check_horizon_days``, 35 days: past the first renewal), and the
surrogate-predicted effect on it is compared with the observed one:

.. math:: z = \frac{\hat\tau^{obs}_{35} - \hat\tau^{sur}_{35}}
              {\sqrt{\mathrm{SE}_{obs}^2 + \mathrm{SE}_{sur}^2}},

and :math:`|z| > z_{1-\alpha/2}` flags the assumption as doubtful for that arm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from tenure.errors import SpecError
from tenure.experiments.metrics import EventFeature, exposed_units, member_values
from tenure.experiments.spec import ExperimentSpec, SurrogateSpec
from tenure.results import Result, json_safe
from tenure.settings import Inference
from tenure.stats.frequentist import welch_test
from tenure.stats.ipw import GroupedLogistic, one_hot
from tenure.stats.moments import Moments
from tenure.store import Dataset
from tenure.store.epoch import epoch_us

__all__ = ["SurrogateResult", "surrogate_index"]

ATTRIBUTES = ("country", "plan")
OPEN_BUCKETS = 5


@dataclass(frozen=True, slots=True)
class SurrogateArm:
    """One non-control variant's surrogate-predicted effect and the validity check.

    ``predicted_effect`` [``ci_low``, ``ci_high``] is on retention at the long horizon;
    ``observed_effect`` / ``observed_se`` where the experiment can already see it (NaN
    otherwise); ``check_*`` compare predicted and observed effects at the check horizon.
    """

    variant: str
    predicted_effect: float
    ci_low: float
    ci_high: float
    observed_effect: float
    observed_se: float
    check_predicted: float
    check_observed: float
    check_z: float
    doubtful: bool
    reason: str


@dataclass(frozen=True, repr=False)
class SurrogateResult(Result):
    """Surrogate-predicted long-term effects per variant, with the validity check.

    ``arms`` has one :class:`SurrogateArm` per non-control variant; ``params`` the
    experiment, horizons and inference settings (``alpha`` sets the interval and the check).
    """

    kind: ClassVar[str] = "surrogate"
    experiment: str
    horizon_days: int
    check_horizon_days: int
    n_historical: int
    arms: tuple[SurrogateArm, ...]
    params: Mapping[str, Any]

    @property
    def table(self) -> pd.DataFrame:
        """:meth:`to_frame` (kept for callers that read the table)."""
        return self.to_frame()

    def to_frame(self) -> pd.DataFrame:
        """One row per variant."""
        cols = list(SurrogateArm.__dataclass_fields__)
        return pd.DataFrame([[getattr(a, c) for c in cols] for a in self.arms], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        doc: dict[str, Any] = json_safe(
            {
                "kind": self.kind,
                "params": self.params,
                "experiment": self.experiment,
                "horizon_days": self.horizon_days,
                "check_horizon_days": self.check_horizon_days,
                "n_historical": self.n_historical,
                "variants": list(self.arms),
            }
        )
        return doc


def _features(
    dataset: Dataset, units: ir.Table, cfg: SurrogateSpec, horizons: tuple[int, int]
) -> ir.Table:
    """Early outcomes, attributes and retention flags per unit (engine expression)."""
    w = cfg.window_days
    feats = [EventFeature(f"s{i}", (a,), 0, w, "count") for i, a in enumerate(cfg.actions)]
    feats.append(EventFeature("opens", ("app.open",), 0, w, "count"))
    t = member_values(units, dataset.events, feats)
    as_of = ibis.literal(dataset.as_of, type="timestamp('UTC')")
    cols: dict[str, ir.Value] = {
        f"s{i}": (t[f"s{i}"] > 0).ifelse(1, 0) for i in range(len(cfg.actions))
    }
    cols["opens_b"] = ibis.cases(
        (t.opens < 1, 0), (t.opens < 3, 1), (t.opens < 6, 2), (t.opens < 11, 3), else_=4
    )
    end_w = t.exposed_at + ibis.interval(days=w)
    cols["active_w"] = (t.ended_at.isnull() | (t.ended_at > end_w)).ifelse(1, 0)
    for k, h in zip(("long", "check"), horizons, strict=True):
        at = t.exposed_at + ibis.interval(days=h)
        cols[f"elig_{k}"] = (at <= as_of).ifelse(1, 0)
        cols[f"ret_{k}"] = ((at <= as_of) & (t.ended_at.isnull() | (t.ended_at > at))).ifelse(1, 0)
    for a in ATTRIBUTES:
        cols[a] = t[a].cast("string").fill_null("(missing)")
    return t.filter(end_w <= as_of).select("variant", **cols)


def _historical_units(dataset: Dataset, spec: ExperimentSpec) -> ir.Table:
    """Members never exposed to any experiment, with reference time signup + typical delay."""
    m = dataset.members
    exp = dataset.table("exposures")
    mine = exposed_units(dataset, spec)
    delay = (
        mine.join(m.select("member_id", s=m.signup_at), "member_id")
        .mutate(d=lambda x: (epoch_us(x.exposed_at) - epoch_us(x.s)).cast("float64") / 86_400e6)
        .d.median()
        .to_pyarrow()
        .as_py()
    )
    offset = round(float(delay or 0.0))
    seen = exp.select("member_id").distinct()
    hist = m.anti_join(seen, "member_id")
    ended = hist.ended_at if "ended_at" in hist.columns else ibis.null("timestamp('UTC')")
    return hist.select(
        "member_id",
        *ATTRIBUTES,
        exposed_at=hist.signup_at + ibis.interval(days=offset),
        ended_at=ended,
        variant=ibis.literal("(historical)"),
    )


def surrogate_index(
    dataset: Dataset, spec: ExperimentSpec, *, inference: Inference | None = None
) -> SurrogateResult:
    """Fit the surrogate index on historical members and predict each arm's long-term effect.

    Parameters
    ----------
    dataset : Dataset
    spec : ExperimentSpec
        Must have a ``surrogate`` section (early actions, window, horizons).
    inference : Inference, optional
        Its ``alpha`` sets the interval level and the threshold of the validity check
        (the spec's settings by default).

    Returns
    -------
    SurrogateResult

    Examples
    --------
    >>> r = surrogate_index(connect("world"), load_spec("experiments/encourage_video.yaml"))  # doctest: +SKIP
    >>> r.table[["variant", "predicted_effect", "doubtful"]]  # doctest: +SKIP
    """
    cfg = spec.surrogate
    if cfg is None:
        raise SpecError(f"{spec.name}: surrogate: the spec has no surrogate section")
    if not cfg.actions:
        raise SpecError(f"{spec.name}: surrogate.actions: list the early actions to use")
    missing = [a for a in ATTRIBUTES if a not in dataset.members.columns]
    if missing:
        raise SpecError(f"surrogate needs member attribute {missing[0]!r}")
    horizons = (cfg.horizon_days, cfg.check_horizon_days)
    units = exposed_units(dataset, spec)
    units = units.filter(units.n_arms == 1)
    units = units.join(dataset.members.select("member_id", *ATTRIBUTES), "member_id")
    units = units.select("member_id", "variant", "exposed_at", "ended_at", *ATTRIBUTES)
    both = units.union(_historical_units(dataset, spec).select(*units.columns))
    f = _features(dataset, both, cfg, horizons)
    keys = [
        "variant",
        *(f"s{i}" for i in range(len(cfg.actions))),
        "opens_b",
        "active_w",
        *ATTRIBUTES,
    ]
    cells = (
        f.group_by(keys)
        .agg(
            n=f.count(),
            elig_long=f.elig_long.sum(),
            ret_long=f.ret_long.sum(),
            elig_check=f.elig_check.sum(),
            ret_check=f.ret_check.sum(),
        )
        .to_pyarrow()
        .to_pandas()
    )
    return _fit_and_predict(spec, cells, spec.inference if inference is None else inference)


def _design(cells: pd.DataFrame, n_actions: int) -> npt.NDArray[np.float64]:
    parts = [np.ones((len(cells), 1))]
    parts.append(cells[[f"s{i}" for i in range(n_actions)]].to_numpy(dtype=float))
    parts.append(one_hot(cells["opens_b"].to_numpy(), OPEN_BUCKETS)[:, 1:])
    parts.append(cells[["active_w"]].to_numpy(dtype=float))
    for a in ATTRIBUTES:
        codes, levels = pd.factorize(cells[a], sort=True)
        parts.append(one_hot(codes, len(levels))[:, 1:])
    return np.hstack(parts)


def _fit_and_predict(spec: ExperimentSpec, cells: pd.DataFrame, inf: Inference) -> SurrogateResult:
    cfg = spec.surrogate
    assert cfg is not None
    x = _design(cells, len(cfg.actions))
    hist = (cells["variant"] == "(historical)").to_numpy()
    succ = cells.loc[hist, ["ret_long", "ret_check"]].to_numpy(dtype=float).T
    trials = cells.loc[hist, ["elig_long", "elig_check"]].to_numpy(dtype=float).T
    n_hist = int(trials[0].sum())
    if n_hist < 100:
        raise SpecError(
            f"{spec.name}: surrogate: only {n_hist} historical members have reached "
            f"{cfg.horizon_days} days; the index cannot be fitted"
        )
    model = GroupedLogistic().fit(x[hist], succ, trials)
    h = model.predict_proba(x)  # (2, cells): long horizon, check horizon
    alpha = inf.alpha
    z = special.ndtri(1.0 - alpha / 2.0)

    def arm(name: str, row: int, weight: str) -> Moments:
        sel = (cells["variant"] == name).to_numpy()
        n = cells.loc[sel, weight].to_numpy(dtype=float)
        p = h[row, sel]
        return Moments(n.sum(), (n * p).sum(), (n * p * p).sum())

    def observed(name: str, k: str) -> Moments:
        sel = cells["variant"] == name
        n, r = float(cells.loc[sel, f"elig_{k}"].sum()), float(cells.loc[sel, f"ret_{k}"].sum())
        return Moments(np.asarray(n), np.asarray(r), np.asarray(r))

    rows: list[SurrogateArm] = []
    ctrl = spec.control
    for v in [x.name for x in spec.variants if x.name != ctrl]:
        pred = welch_test(arm(ctrl, 0, "n"), arm(v, 0, "n"), alpha=alpha)
        chk_pred = welch_test(arm(ctrl, 1, "elig_check"), arm(v, 1, "elig_check"), alpha=alpha)
        chk_obs = welch_test(observed(ctrl, "check"), observed(v, "check"), alpha=alpha)
        long_obs = welch_test(observed(ctrl, "long"), observed(v, "long"), alpha=alpha)
        with np.errstate(invalid="ignore", divide="ignore"):
            zc = float(
                (chk_obs.effect_abs - chk_pred.effect_abs)
                / np.sqrt(chk_obs.se_abs**2 + chk_pred.se_abs**2)
            )
        doubtful = bool(np.isfinite(zc) and abs(zc) > z)
        if not np.isfinite(zc):
            reason = f"retention at {cfg.check_horizon_days} days is not observable yet: unchecked"
        elif doubtful:
            reason = (
                f"observed {cfg.check_horizon_days}-day retention effect "
                f"{float(chk_obs.effect_abs):+.3f} disagrees with the surrogate's "
                f"{float(chk_pred.effect_abs):+.3f} (z = {zc:.1f}): the arm moves retention "
                "other than through early behaviour"
            )
        else:
            reason = (
                f"observed {cfg.check_horizon_days}-day effect {float(chk_obs.effect_abs):+.3f} "
                f"agrees with the surrogate's {float(chk_pred.effect_abs):+.3f} (z = {zc:.1f})"
            )
        rows.append(
            SurrogateArm(
                variant=v,
                predicted_effect=float(pred.effect_abs),
                ci_low=float(pred.ci_abs_low),
                ci_high=float(pred.ci_abs_high),
                observed_effect=float(long_obs.effect_abs),
                observed_se=float(long_obs.se_abs),
                check_predicted=float(chk_pred.effect_abs),
                check_observed=float(chk_obs.effect_abs),
                check_z=zc,
                doubtful=doubtful,
                reason=reason,
            )
        )
    params = {
        "experiment": spec.name,
        "actions": list(cfg.actions),
        "window_days": cfg.window_days,
        "horizon_days": cfg.horizon_days,
        "check_horizon_days": cfg.check_horizon_days,
        **inf.to_dict(),
    }
    return SurrogateResult(
        spec.name, cfg.horizon_days, cfg.check_horizon_days, n_hist, tuple(rows), params
    )
