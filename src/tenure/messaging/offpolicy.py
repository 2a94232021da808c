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


def _codes(log_col: pd.Series, target_col: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer codes of two columns matched by value as text (factorised, then unified)."""
    lc, lu = pd.factorize(log_col, use_na_sentinel=False)
    tc, tu = pd.factorize(target_col, use_na_sentinel=False)
    vocab: dict[str, int] = {}
    lmap = np.array([vocab.setdefault(str(v), len(vocab)) for v in lu], dtype=np.int64)
    tmap = np.array([vocab.setdefault(str(v), len(vocab)) for v in tu], dtype=np.int64)
    return lmap[lc], tmap[tc], len(vocab)


def _combine(parts: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray, int]:
    """Mixed-radix key of several code columns (log side, target side, number of keys)."""
    lk = np.zeros(len(parts[0][0]) if parts else 0, dtype=np.int64)
    tk = np.zeros(len(parts[0][1]) if parts else 0, dtype=np.int64)
    size = 1
    for lc, tc, n in parts:
        lk, tk, size = lk * n + lc, tk * n + tc, size * n
    return lk, tk, size


def evaluate_tables(
    log: pd.DataFrame,
    target: pd.DataFrame,
    *,
    alpha: float = 0.05,
    prior_strength: float = 10.0,
    reward_model: bool = True,
    switch_lambda: float | None = None,
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
    n_log, n_target = len(log), len(target)
    kparts = [_codes(log[k], target[k]) for k in keys]
    lkey, tkey, _ = _combine(kparts) if kparts else (
        np.zeros(n_log, np.int64), np.zeros(n_target, np.int64), 1)  # fmt: skip
    uk, tinv = np.unique(tkey, return_inverse=True)
    sums = np.bincount(tinv, weights=prob)
    off = np.flatnonzero(np.abs(sums - 1) > 1e-6)
    if off.size:
        row = int(np.flatnonzero(tinv == off[0])[0])
        example = ", ".join(str(target[k].iloc[row]) for k in keys) or "the table"
        raise SpecError(
            f"target probabilities must sum to 1 for each {'/'.join(keys) or 'table'}; "
            f"{off.size} do not (e.g. {example!r} sums to {sums[off[0]]:.6f})"
        )
    known = np.isin(lkey, uk)
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        example = ", ".join(str(log[k].iloc[row]) for k in keys)
        raise SpecError(
            f"{int((~known).sum())} logged rounds have a {'/'.join(keys)} the target has no "
            f"probabilities for (e.g. {example!r})"
        )
    la, ta, n_actions = _codes(log["action"], target["action"])
    tpair = tkey * n_actions + ta
    if np.unique(tpair).size != tpair.size:
        raise SpecError("the target table repeats an action for the same context/position")
    order = np.argsort(tpair)
    sorted_pairs = tpair[order]
    lpair = lkey * n_actions + la
    at = np.searchsorted(sorted_pairs, lpair)
    at_c = np.minimum(at, sorted_pairs.size - 1)
    hit = sorted_pairs[at_c] == lpair
    target_prob = np.where(hit, prob[order][at_c], 0.0)
    reward = log["reward"].to_numpy(dtype=np.float64)
    params: dict[str, Any] = {"context": context, "position": use_position}
    if not reward_model:
        return evaluate(reward, log["propensity"], target_prob, alpha=alpha, params=params)
    q_chosen, q_target = _reward_model(
        reward, la, ta, n_actions, prob, context, log, target, prior_strength, lkey, tkey,
        use_position,
    )  # fmt: skip
    params["reward_model"] = {"kind": "cell_mean", "prior_strength": prior_strength}
    return evaluate(
        reward,
        log["propensity"],
        target_prob,
        q_chosen=q_chosen,
        q_target=q_target,
        alpha=alpha,
        switch_lambda=switch_lambda,
        params=params,
    )


def _reward_model(
    reward: np.ndarray,
    la: np.ndarray,
    ta: np.ndarray,
    n_actions: int,
    prob: np.ndarray,
    context: Sequence[str],
    log: pd.DataFrame,
    target: pd.DataFrame,
    k: float,
    lkey: np.ndarray,
    tkey: np.ndarray,
    use_position: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Shrunk cell means at the logged action and averaged under the target, per round."""
    overall = float(reward.mean())
    if "position" in log.columns:
        lp, _, n_pos = _codes(log["position"], log["position"].iloc[:0])
    else:
        lp, n_pos = np.zeros(len(log), np.int64), 1
    cparts = [_codes(log[c], target[c]) for c in context]
    lctx, _, _ = _combine(cparts) if cparts else (np.zeros(len(log), np.int64), None, 1)
    # level 1: (action, position); level 2: (context, action, position)
    ap = la * n_pos + lp
    size1 = n_actions * n_pos
    n1 = np.bincount(ap, minlength=size1).astype(np.float64)
    s1 = np.bincount(ap, weights=reward, minlength=size1)
    q1 = (s1 + k * overall) / (n1 + k)
    xap = lctx * size1 + ap
    if context:
        u2, inv2 = np.unique(xap, return_inverse=True)
        n2 = np.bincount(inv2).astype(np.float64)
        s2 = np.bincount(inv2, weights=reward)
        q2 = (s2 + k * q1[u2 % size1]) / (n2 + k)
        q_chosen = q2[inv2]
    else:
        u2, q2 = np.arange(size1), q1
        q_chosen = q1[ap]

    # per distinct (context, position) of the log: the target's average of q over actions
    rk = (lctx * n_pos + lp) if context else lp.copy()
    span = int(lkey.max()) + 1 if lkey.size else 1
    uniq, rinv = np.unique(rk * span + lkey, return_inverse=True)
    ur = np.stack([uniq // span, uniq % span])
    keep = prob > 0
    t = pd.DataFrame({"tk": tkey[keep], "a": ta[keep], "prob": prob[keep]})
    m = pd.DataFrame({"g": np.arange(ur.shape[1]), "rk": ur[0], "tk": ur[1]}).merge(t, on="tk")
    rk_m = m["rk"].to_numpy()
    ctx_m = rk_m // n_pos if context else np.zeros(len(m), np.int64)
    pos_m = rk_m % n_pos
    ap_m = m["a"].to_numpy() * n_pos + pos_m
    # actions only the target names are beyond the log's vocabulary: fall back to the mean
    q = np.full(len(m), overall)
    valid = ap_m < size1
    q[valid] = q1[ap_m[valid]]
    if context:
        x_m = ctx_m * size1 + ap_m
        pos_in = np.searchsorted(u2, x_m)
        pos_c = np.minimum(pos_in, u2.size - 1)
        found = valid & (u2[pos_c] == x_m)
        q[found] = q2[pos_c[found]]
    v = np.bincount(m["g"].to_numpy(), weights=m["prob"].to_numpy() * q, minlength=ur.shape[1])
    del use_position
    return q_chosen, v[rinv]
