r"""Off-policy evaluation of a target policy given as a table, on a log given as a table.

The log has ``action``, ``reward``, ``propensity``, optionally ``position`` and context
columns; the target has ``action``, optional ``position`` and context columns and ``prob``
:math:`= \pi_e(a \mid x, \text{position})`, summing to 1 over actions for each context and
position. Positions and actions are matched by value (as text), so both tables must code them
the same way. A target row missing for a logged action means probability 0; a logged context
the target says nothing about is an error.

The reward model for DM and DR is the mean reward of each (context, action, position) cell,
shrunk toward the cell's (action, position) mean, itself shrunk toward the log's overall mean,
each with ``prior_strength`` pseudo-rounds:

.. math::

    \hat q_1(a, p) = \frac{s_{ap} + k \bar r}{n_{ap} + k}, \qquad
    \hat q(x, a, p) = \frac{s_{xap} + k\, \hat q_1(a, p)}{n_{xap} + k}.

Joining is done once on integer keys; the estimators are :mod:`tenure.stats.ope`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tenure.errors import SpecError
from tenure.stats.ope import OffPolicyEstimates, evaluate

__all__ = ["LOG_COLUMNS", "evaluate_tables", "rename_log"]

LOG_COLUMNS = ("action", "reward", "propensity", "position")


def rename_log(log: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Rename the log's columns to Tenure's names (``{"action": "item_id", …}``)."""
    unknown = set(columns) - set(LOG_COLUMNS)
    if unknown:
        raise SpecError(
            f"--columns: unknown name(s) {sorted(unknown)} (map {', '.join(LOG_COLUMNS)})"
        )
    missing = [src for src in columns.values() if src not in log.columns]
    if missing:
        raise SpecError(f"--columns: the log has no column(s) {missing}")
    return log.rename(columns={src: dst for dst, src in columns.items()})


def _key(frame: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    if not cols:
        return pd.Series("", index=frame.index)
    out = frame[cols[0]].astype(str)
    for c in cols[1:]:
        out = out + "\x1f" + frame[c].astype(str)
    return out


def evaluate_tables(
    log: pd.DataFrame,
    target: pd.DataFrame,
    *,
    alpha: float = 0.05,
    prior_strength: float = 10.0,
    reward_model: bool = True,
) -> OffPolicyEstimates:
    """IPS, SNIPS, DM and DR of the target table's policy on the log.

    Context columns are the target's columns other than ``action``, ``position`` and
    ``prob``; the log must have them. ``position`` is used when the target has it.
    """
    for col in ("action", "reward", "propensity"):
        if col not in log.columns:
            raise SpecError(f"the log has no {col} column (map yours with --columns {col}=NAME)")
    for col in ("action", "prob"):
        if col not in target.columns:
            raise SpecError(f"the target table has no {col} column")
    context = [c for c in target.columns if c not in ("action", "position", "prob")]
    use_position = "position" in target.columns
    if use_position and "position" not in log.columns:
        raise SpecError("the target has a position column but the log has none")
    missing = [c for c in context if c not in log.columns]
    if missing:
        raise SpecError(f"the log has no context column(s) {missing} that the target uses")
    keys = [*context, *(["position"] if use_position else [])]
    prob = target["prob"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(prob)) or np.any(prob < 0) or np.any(prob > 1 + 1e-12):
        raise SpecError("the target's prob column must be in [0, 1]")
    tkey = _key(target, keys)
    sums = pd.Series(prob).groupby(tkey.to_numpy()).sum()
    off = sums[(sums - 1).abs() > 1e-6]
    if len(off):
        raise SpecError(
            f"target probabilities must sum to 1 for each {'/'.join(keys) or 'table'}; "
            f"{len(off)} do not (e.g. {off.index[0].replace(chr(31), ', ')!r} sums to "
            f"{off.iloc[0]:.6f})"
        )
    lkey = _key(log, keys)
    unknown = ~lkey.isin(sums.index)
    if unknown.any():
        example = lkey[unknown].iloc[0].replace("\x1f", ", ")
        raise SpecError(
            f"{int(unknown.sum())} logged rounds have a {'/'.join(keys)} the target has no "
            f"probabilities for (e.g. {example!r})"
        )
    action = log["action"].astype(str)
    t_action = target["action"].astype(str)
    pair = pd.Series(prob, index=(tkey + "\x1e" + t_action).to_numpy())
    if pair.index.has_duplicates:
        raise SpecError("the target table repeats an action for the same context/position")
    target_prob = pair.reindex((lkey + "\x1e" + action).to_numpy()).fillna(0.0).to_numpy()
    reward = log["reward"].to_numpy(dtype=np.float64)
    params: dict[str, Any] = {"context": context, "position": use_position}
    if not reward_model:
        return evaluate(reward, log["propensity"], target_prob, alpha=alpha, params=params)
    q_chosen, q_target = _reward_model(
        log, target, context, use_position, prior_strength, lkey, tkey
    )
    params["reward_model"] = {"kind": "cell_mean", "prior_strength": prior_strength}
    return evaluate(
        reward,
        log["propensity"],
        target_prob,
        q_chosen=q_chosen,
        q_target=q_target,
        alpha=alpha,
        params=params,
    )


def _reward_model(
    log: pd.DataFrame,
    target: pd.DataFrame,
    context: Sequence[str],
    use_position: bool,
    k: float,
    lkey: pd.Series,
    tkey: pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Shrunk cell means at the logged action and averaged under the target, per round."""
    reward = log["reward"].to_numpy(dtype=np.float64)
    overall = float(reward.mean())
    pos = (
        log["position"].astype(str) if "position" in log.columns else pd.Series("", index=log.index)
    )
    action = log["action"].astype(str)
    ctx = _key(log, list(context))
    ap = (action + "\x1e" + pos).to_numpy()
    xap = (ctx + "\x1d" + action + "\x1e" + pos).to_numpy()
    g1 = pd.DataFrame({"k": ap, "r": reward}).groupby("k")["r"].agg(["sum", "count"])
    q1 = (g1["sum"] + k * overall) / (g1["count"] + k)
    g2 = (
        pd.DataFrame({"k": xap, "r": reward, "ap": ap})
        .groupby("k")
        .agg(s=("r", "sum"), n=("r", "count"), ap=("ap", "first"))
    )
    q2 = (
        (g2["s"] + k * q1.reindex(g2["ap"]).to_numpy()) / (g2["n"] + k)
        if context
        else q1.reindex(g2["ap"]).set_axis(g2.index)  # no context: the (action, position) cell
    )
    q_chosen = q2.reindex(xap).to_numpy()

    # Per distinct (context, position) of the log: the target's average of q over its actions.
    rounds = pd.DataFrame({"ctx": ctx.to_numpy(), "pos": pos.to_numpy(), "tk": lkey.to_numpy()})
    uniq = rounds.drop_duplicates().reset_index(drop=True)
    t = pd.DataFrame(
        {"tk": tkey.to_numpy(), "a": target["action"].astype(str).to_numpy(),
         "prob": target["prob"].to_numpy(dtype=np.float64)}
    )  # fmt: skip
    t = t[t["prob"] > 0]
    m = uniq.merge(t, on="tk", how="inner")
    m_ap = (m["a"] + "\x1e" + m["pos"]).to_numpy()
    m_xap = (m["ctx"] + "\x1d" + m["a"] + "\x1e" + m["pos"]).to_numpy()
    base = q1.reindex(m_ap).fillna(overall).to_numpy()
    cell = q2.reindex(m_xap).to_numpy()
    q = np.where(np.isnan(cell), base, cell)
    m["pq"] = m["prob"].to_numpy() * q
    v = m.groupby(["ctx", "pos"], sort=False)["pq"].sum()
    q_target = v.reindex(pd.MultiIndex.from_arrays([rounds["ctx"], rounds["pos"]])).to_numpy()
    return q_chosen, np.asarray(q_target, dtype=np.float64)
