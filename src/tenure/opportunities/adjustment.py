"""The adjustment set of the workaround associations, built the way the HVA engine builds its.

Doing a workaround is not randomised: members who do it differ from those who do not, and
the same differences move retention and publishing. The associations in
:mod:`~tenure.opportunities.association` compare like with like on three kinds of covariates,
the ideas issue 9 put into :mod:`tenure.hva` (re-implemented here on a member table of our
own, since the pattern's "treatment" is not an action of the HVA engine):

* **activity**: the member's events of *any* action in their first ``window`` days, except
  the pattern's own steps (so doing the workaround does not count as being engaged), cut at
  quantiles of the data's own distribution into at most ``activity_bins`` levels — busy and
  quiet members are both resolved, whatever the product's event volume;
* **member attributes**: by default every members column but the id and timestamps; text
  with at most ``max_levels`` values (and numbers with at most 10) are categories, other
  numbers are continuous, cut at quantiles into ``number_bins`` levels;
* **pre-signup history**: the count of events before ``signup_at``, when any exist.

Counts and continuous attributes enter the models as their bin's mean (of ``log1p`` for
counts), standardised, linearly and squared; counts also get one indicator per level beyond
the second, as in :class:`tenure.hva.LandmarkDesign`. The engine returns one row per stratum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tenure._types import FloatArray, IntArray
from tenure.errors import DataContractError
from tenure.opportunities.sequences import epoch_seconds
from tenure.store import Dataset

__all__ = ["ACTIVITY", "HISTORY", "Adjustment", "Covariate", "adjustment_table"]

ACTIVITY = "activity"
"""Events in the first ``window`` days, of every action but the pattern's own steps."""
HISTORY = "presignup_events"
"""Events before ``signup_at`` (kept by ingest as history), when any exist."""

_RESERVED = {"member_id", "signup_at", "ended_at"}
_MAX_CATEGORY_NUMBERS = 10
_MISSING = "(missing)"


@dataclass(frozen=True, slots=True)
class Covariate:
    """One adjustment covariate: its levels, their representative values and cut points.

    ``edges`` are the lower bounds of levels ``1..L-1`` (a value ``v`` has code
    ``sum(v >= e)``); a number with missing values has one extra last level.
    """

    name: str
    kind: Literal["category", "number", "count"]
    levels: tuple[str, ...]
    values: tuple[float, ...] = ()
    edges: tuple[float, ...] = ()
    has_missing: bool = False

    @property
    def column(self) -> str:
        """The code column of this covariate in the engine's member table."""
        return f"_c_{self.name}"


@dataclass(frozen=True)
class Adjustment:
    """The member table with covariate codes, and how codes turn into model columns.

    ``members`` has ``member_id``, ``signup_s``, ``end_s`` (seconds since the epoch; ``end_s``
    null while a member) and one integer code column per covariate.
    """

    members: ir.Table
    covariates: tuple[Covariate, ...]
    notes: tuple[str, ...]
    cached: ir.Table | None = None

    def release(self) -> None:
        """Drop the engine's cached member table."""
        release = getattr(self.cached, "release", None)
        if release is not None:
            release()

    @property
    def code_columns(self) -> list[str]:
        """The code columns, in covariate order (the stratum key)."""
        return [c.column for c in self.covariates]

    def describe(self) -> list[str]:
        """Covariate names with their kind and number of levels, for ``params``."""
        return [f"{c.name} ({c.kind}, {len(c.levels)} levels)" for c in self.covariates]

    def matrix(self, codes: IntArray) -> FloatArray:
        """Model design for strata given by `codes` (S, k): intercept, then each covariate."""
        s = codes.shape[0]
        cols: list[FloatArray] = [np.ones(s)]
        for j, cov in enumerate(self.covariates):
            code = codes[:, j]
            n_lv = len(cov.levels)
            if cov.kind == "category":
                cols.extend((code == k).astype(np.float64) for k in range(1, n_lv))
                continue
            v = np.asarray(cov.values, dtype=np.float64)
            z = (v - v.mean()) / (float(v.std()) or 1.0)
            cols.extend([z[code], z[code] ** 2])
            if cov.kind == "count":
                cols.extend((code == k).astype(np.float64) for k in range(2, n_lv))
            if cov.has_missing:
                cols.append((code == n_lv - 1).astype(np.float64))
        return np.column_stack(cols)

    def balance_columns(self, codes: IntArray) -> tuple[FloatArray, tuple[str, ...]]:
        """Columns compared between arms: each level of a category, the value of the others."""
        cols: list[FloatArray] = []
        names: list[str] = []
        for j, cov in enumerate(self.covariates):
            code = codes[:, j]
            if cov.kind == "category":
                for k, lv in enumerate(cov.levels):
                    cols.append((code == k).astype(np.float64))
                    names.append(f"{cov.name}={lv}")
            else:
                cols.append(np.asarray(cov.values, dtype=np.float64)[code])
                names.append(cov.name)
        if not cols:
            return np.zeros((codes.shape[0], 0)), ()
        return np.column_stack(cols), tuple(names)


def _code(value: ir.NumericValue, edges: Sequence[float]) -> ir.IntegerValue:
    out: ir.IntegerValue = ibis.literal(0, type="int64")
    for e in edges:
        out = out + (value >= e).cast("int64")
    return out


def count_bins(values: FloatArray, weights: FloatArray, max_bins: int) -> tuple[float, ...]:
    """Cut points of a count distribution at its quantiles (``values`` distinct, weighted).

    A value holding more than one bin's share of members (zero-inflation: most members have
    no history) is a level of its own and the quantiles are taken among the others.

    Examples
    --------
    >>> count_bins(np.array([0.0, 1, 2, 3]), np.array([70.0, 10, 10, 10]), 4)
    (1.0, 2.0, 3.0)
    """
    order = np.argsort(values)
    v, w = values[order], weights[order]
    if v.size < 2 or max_bins < 2:
        return ()
    edges: list[float] = []
    lo_v, lo_w, bins = v, w, max_bins
    if w[0] / w.sum() > 1.0 / max_bins:
        edges.append(float(v[1]))
        lo_v, lo_w, bins = v[1:], w[1:], max_bins - 1
    cum = np.cumsum(lo_w) / lo_w.sum()
    for q in np.arange(1, max(bins, 1)) / max(bins, 1):
        cut = float(lo_v[min(int(np.searchsorted(cum, q, side="right")), lo_v.size - 1)])
        if cut > v[0] and (not edges or cut > edges[-1]):
            edges.append(cut)
    return tuple(edges)


def _count_covariate(name: str, t: ir.Table, col: str, max_bins: int) -> Covariate:
    hist = t.group_by(_v=t[col]).agg(_k=t.count()).to_pyarrow().to_pydict()
    v = np.asarray(hist["_v"], dtype=np.float64)
    w = np.asarray(hist["_k"], dtype=np.float64)
    edges = count_bins(v, w, max_bins)
    code = np.searchsorted(np.asarray(edges), v, side="right")
    rep = [
        float(np.average(np.log1p(v[code == k]), weights=w[code == k]))
        for k in range(len(edges) + 1)
    ]
    lows = [float(v.min()), *edges]
    labels = tuple(f">={lo:g}" for lo in lows)
    return Covariate(name, "count", labels, tuple(rep), edges)


def _number_covariate(t: ir.Table, col: str, max_bins: int) -> Covariate:
    x = t[col].cast("float64")
    qs = np.arange(1, max_bins) / max_bins
    row = t.aggregate(
        _lo=x.min(),
        _nmiss=x.isnull().sum(),
        **{f"q{i}": x.quantile(float(q)) for i, q in enumerate(qs)},
    )
    got = row.to_pyarrow().to_pylist()[0]
    edges: list[float] = []
    for i in range(len(qs)):
        raw = got[f"q{i}"]
        # 12 significant digits: engines interpolate quantiles differently in the last bit.
        c = None if raw is None else float(f"{float(raw):.12g}")
        if c is not None and c > float(got["_lo"]) and (not edges or c > edges[-1]):
            edges.append(c)
    code = _code(x, edges)
    means = t.filter(x.notnull()).group_by(_c=code).agg(_m=x.mean(), _n=x.count())
    m = means.to_pyarrow().to_pydict()
    rep = np.zeros(len(edges) + 1)
    rep[np.asarray(m["_c"], dtype=np.int64)] = np.asarray(m["_m"], dtype=np.float64)
    labels = [f"<{edges[0]:g}" if edges else "all", *(f">={e:g}" for e in edges)]
    values = rep.tolist()
    missing = bool(got["_nmiss"])
    if missing:
        labels.append(_MISSING)
        values.append(float(np.average(rep, weights=np.asarray(m["_n"], dtype=np.float64))))
    return Covariate(col, "number", tuple(labels), tuple(values), tuple(edges), missing)


def adjustment_table(
    dataset: Dataset,
    *,
    window: int,
    exclude_actions: Sequence[str],
    covariates: Sequence[str] | None = None,
    own_spans: tuple[Sequence[str], FloatArray, FloatArray] | None = None,
    activity_bins: int = 16,
    number_bins: int = 5,
    max_levels: int = 20,
) -> Adjustment:
    """Members with their covariate codes (see the module docstring); one engine table.

    Parameters
    ----------
    dataset
        Needs members and events.
    window
        Activity is counted in days ``[0, window)`` after signup.
    exclude_actions
        The pattern's own steps, left out of the activity count.
    own_spans
        Members and the first and last times (seconds since the epoch) of every occurrence
        of the pattern: events inside an occurrence (its exits, returns and ways back in,
        which vary) are left out of the activity count too, so the covariate does not grow
        with the treatment itself.
    covariates
        Member attributes to adjust for (default: every eligible column); activity and, when
        present, pre-signup history are always added.
    activity_bins, number_bins, max_levels
        Most quantile levels of activity and of continuous attributes (and history); the
        largest category adjusted for.

    Raises
    ------
    DataContractError
        When an explicit covariate is not a usable members column (the message names it).
    """
    m = dataset.members
    ev = dataset.table("events")
    names, notes = _attributes(m, covariates, max_levels)
    end = m.ended_at if "ended_at" in m.columns else ibis.null("timestamp")
    base = m.select(
        member_id=m.member_id,
        signup_s=epoch_seconds(m.signup_at),
        end_s=epoch_seconds(end),
        **{c: m[c] for c in names},
    )
    e = ev.filter(~ev.action.isin(list(exclude_actions))) if exclude_actions else ev
    e = e.select(e.member_id, ts_s=epoch_seconds(e.ts))
    joined = e.join(base.select("member_id", "signup_s"), "member_id")
    in_window = (joined.ts_s >= joined.signup_s) & (
        joined.ts_s < joined.signup_s + window * 86_400.0
    )
    per_m = joined.group_by("member_id").agg(
        _act=in_window.cast("int64").sum(),
        _pre=(joined.ts_s < joined.signup_s).cast("int64").sum(),
    )
    t = base.left_join(per_m, "member_id").drop("member_id_right")
    t = t.mutate(_act=t._act.fill_null(0), _pre=t._pre.fill_null(0))
    if own_spans is not None and len(own_spans[0]):
        inside = _inside_occurrences(joined, own_spans, window)
        t = t.left_join(inside, "member_id").drop("member_id_right")
        t = t.mutate(_act=ibis.greatest(t._act - t._own.fill_null(0), 0)).drop("_own")
    t = t.cache()
    schema = t.schema()
    distinct = (
        t.aggregate(**{c: t[c].nunique() for c in names}).to_pyarrow().to_pylist()[0]
        if names
        else {}
    )
    covs: list[Covariate] = []
    for c in names:
        numeric = schema[c].is_numeric() and not schema[c].is_boolean()
        k = int(distinct[c] or 0)
        if numeric and k > _MAX_CATEGORY_NUMBERS:
            covs.append(_number_covariate(t, c, number_bins))
            continue
        if k > max_levels:
            if covariates is not None:
                raise DataContractError(
                    f"covariate {c!r}: {k} distinct values (at most {max_levels} for a "
                    "category); drop it or bin it"
                )
            notes.append(f"{c}: {k} distinct values, not adjusted for (more than {max_levels})")
            continue
        col = t[c].cast("string").fill_null(_MISSING)
        levels = sorted(
            str(v) for v in t.select(col.name("v")).distinct().to_pyarrow()["v"].to_pylist()
        )
        covs.append(Covariate(c, "category", tuple(levels)))
    covs.append(_count_covariate(ACTIVITY, t, "_act", activity_bins))
    if t.aggregate(_p=t._pre.max()).to_pyarrow()["_p"][0].as_py():
        covs.append(_count_covariate(HISTORY, t, "_pre", number_bins))
    for cov in covs:
        if len(cov.levels) == 1:
            notes.append(
                f"constant covariate: {cov.name} has one level ({cov.levels[0]}) — it adjusts nothing"
            )
    codes: dict[str, ir.IntegerValue] = {}
    for cov in covs:
        if cov.kind == "category":
            col = t[cov.name].cast("string").fill_null(_MISSING)
            codes[cov.column] = ibis.cases(
                *((col == v, i) for i, v in enumerate(cov.levels)), else_=0
            ).cast("int64")
        elif cov.kind == "number":
            x = t[cov.name].cast("float64")
            codes[cov.column] = ibis.cases(
                (x.isnull(), len(cov.levels) - 1), else_=_code(x, cov.edges)
            ).cast("int64")
        else:
            src = t._act if cov.name == ACTIVITY else t._pre
            codes[cov.column] = _code(src, cov.edges)
    out = t.select("member_id", "signup_s", "end_s", **codes)
    return Adjustment(out, tuple(covs), tuple(notes), cached=t)


def _inside_occurrences(
    joined: ir.Table, spans: tuple[Sequence[str], FloatArray, FloatArray], window: int
) -> ir.Table:
    """Per member, window events (already without the excluded actions) inside occurrences."""
    occ = ibis.memtable(
        pd.DataFrame(
            {
                "member_id": pd.Series(list(spans[0]), dtype="string"),
                "_t0": np.asarray(spans[1], dtype=np.float64),
                "_t1": np.asarray(spans[2], dtype=np.float64),
            }
        )
    )
    j = joined.join(occ, "member_id")
    j = j.filter(
        (j.ts_s >= j._t0)
        & (j.ts_s <= j._t1)
        & (j.ts_s >= j.signup_s)
        & (j.ts_s < j.signup_s + window * 86_400.0)
    )
    return j.group_by("member_id").agg(_own=j.count())


def _attributes(
    m: ir.Table, covariates: Sequence[str] | None, max_levels: int
) -> tuple[list[str], list[str]]:
    """The member attributes to adjust for, and notes on the columns left out."""
    schema = m.schema()
    notes: list[str] = []
    if covariates is None:
        names = []
        for c in m.columns:
            if c in _RESERVED or c.startswith("_"):
                continue
            if schema[c].is_temporal():
                notes.append(f"{c}: timestamp, not adjusted for")
                continue
            names.append(c)
        return names, notes
    for c in covariates:
        if c not in m.columns or c in _RESERVED:
            usable = ", ".join(c for c in m.columns if c not in _RESERVED)
            raise DataContractError(
                f"covariate {c!r}: members has no such attribute column (columns: {usable})"
            )
        if schema[c].is_temporal():
            raise DataContractError(f"covariate {c!r}: a timestamp cannot be adjusted for")
    return list(covariates), notes
