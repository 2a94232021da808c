r"""The landmark design as a value: window, horizon, the adjustment factors and how strata decode.

Nothing here touches the engine. :class:`LandmarkDesign` is everything the estimator needs to
turn an integer stratum id into covariate values: the engine builds it once
(:func:`tenure.hva.features.landmark`), and :func:`tenure.hva.estimate.estimate_effects`
works from it and the counts alone, so the statistics can be tested on hand-made counts.

A stratum id is a mixed-radix number, :math:`\mathrm{sid} = \sum_f \mathrm{code}_f\,
\mathrm{radix}_f`, over the factors in order. Factor kinds:

* ``category`` — a low-cardinality member attribute; one indicator column per level
  (the first level is the reference) in the propensity and outcome models;
* ``number`` — a continuous member attribute, cut at its quantiles into at most
  ``max_bins`` bins; each bin enters the models as its members' mean value, standardised,
  linearly and squared (the flexible form Hernán & Robins use for age or weight);
* ``count`` — an activity count (early activity, pre-signup history), cut at its quantiles,
  entering as :math:`\log(1 + \text{count})` averaged in the bin, linearly and squared,
  plus one indicator per level beyond the second (a step function on top of the curve).

The segment column, when it is not adjusted for, is a factor too (it splits results) but
not a column of the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from tenure._types import FloatArray, IntArray

__all__ = ["ACTIVITY", "DAY0", "HISTORY", "Factor", "FactorKind", "LandmarkDesign"]

FactorKind = Literal["category", "number", "count"]

ACTIVITY = "early_activity"
"""Derived covariate: events in the first days (the window by default), of every action except
the candidate's own (see :mod:`tenure.hva.features`)."""

DAY0 = "day0_activity"
"""Derived covariate: events on the signup day (the first session), without the candidate's
own."""

HISTORY = "presignup_events"
"""Derived covariate: events before ``signup_at`` (pre-treatment history), when any exist."""


@dataclass(frozen=True, slots=True)
class Factor:
    """One stratum factor: name, kind, level labels, representative values and cut points.

    Numbers and counts carry the representative value of each level and the cut points.

    ``edges`` are the lower bounds of levels ``1..L-1``: a value ``v`` has code
    ``sum(v >= e for e in edges)``. Numbers with missing values get one extra last level
    (``missing``, representative value the mean).
    """

    name: str
    kind: FactorKind
    levels: tuple[str, ...]
    values: tuple[float, ...] = ()
    edges: tuple[float, ...] = ()
    has_missing: bool = False

    @property
    def n_levels(self) -> int:
        """Number of levels (codes ``0..n_levels-1``)."""
        return len(self.levels)

    def code(self, v: float) -> int:
        """Level code of a value (numbers and counts)."""
        return int(sum(v >= e for e in self.edges))


@dataclass(frozen=True, slots=True)
class LandmarkDesign:
    """Window, horizon and stratum factors of one HVA analysis (pure data).

    ``covariates`` are the names of the factors adjusted for, in model order; ``segment`` the
    column results are split by (a factor, adjusted for or not).
    """

    window: int
    horizon: int
    factors: tuple[Factor, ...]
    covariates: tuple[str, ...]
    segment: str | None = None

    @property
    def radix(self) -> dict[str, int]:
        """Multiplier of each factor's code in the stratum id."""
        out: dict[str, int] = {}
        mult = 1
        for f in self.factors:
            out[f.name] = mult
            mult *= max(f.n_levels, 1)
        return out

    @property
    def n_strata(self) -> int:
        """Number of possible stratum ids (the product of the factors' level counts)."""
        return int(np.prod([max(f.n_levels, 1) for f in self.factors], dtype=object))

    def factor(self, name: str) -> Factor:
        """The factor called `name`."""
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def codes(self, sids: npt.ArrayLike, name: str) -> IntArray:
        """Code of factor `name` in each stratum id."""
        s = np.asarray(sids, dtype=np.int64)
        f = self.factor(name)
        return ((s // self.radix[name]) % max(f.n_levels, 1)).astype(np.int64)

    def segment_codes(self, sids: npt.ArrayLike) -> IntArray:
        """Segment level code of each stratum (zeros without a segment)."""
        if self.segment is None:
            return np.zeros(np.asarray(sids).shape, dtype=np.int64)
        return self.codes(sids, self.segment)

    def matrix(self, sids: npt.ArrayLike) -> tuple[FloatArray, tuple[str, ...]]:
        """Model design for strata `sids`: intercept first, then each covariate's columns.

        Returns the matrix and, per column after the intercept, the covariate it belongs to.
        """
        s = np.asarray(sids, dtype=np.int64)
        cols: list[FloatArray] = [np.ones(s.size)]
        owner: list[str] = []
        for name in self.covariates:
            f = self.factor(name)
            code = self.codes(s, name)
            if f.kind == "category":
                for k in range(1, f.n_levels):
                    cols.append((code == k).astype(np.float64))
                    owner.append(name)
                continue
            v = np.asarray(f.values, dtype=np.float64)
            sd = float(np.std(v)) or 1.0
            zv = (v - float(np.mean(v))) / sd
            z = zv[code]
            cols.extend([z, z * z])
            owner.extend([name, name])
            if f.kind == "count":
                # Activity drives both adoption and retention steeply: a step per level on
                # top of the quadratic lets the models follow it wherever it bends.
                for k in range(2, f.n_levels):
                    cols.append((code == k).astype(np.float64))
                    owner.append(name)
            if f.has_missing:
                cols.append((code == f.n_levels - 1).astype(np.float64))
                owner.append(name)
        return np.column_stack(cols), tuple(owner)

    def balance_columns(self, sids: npt.ArrayLike) -> tuple[FloatArray, tuple[str, ...]]:
        """Columns whose means are compared between arms (the balance diagnostics).

        Every level's indicator for a category, the representative value for a number or count.
        """
        s = np.asarray(sids, dtype=np.int64)
        cols: list[FloatArray] = []
        owner: list[str] = []
        for name in self.covariates:
            f = self.factor(name)
            code = self.codes(s, name)
            if f.kind == "category":
                for k in range(f.n_levels):
                    cols.append((code == k).astype(np.float64))
                    owner.append(name)
            else:
                cols.append(np.asarray(f.values, dtype=np.float64)[code])
                owner.append(name)
        if not cols:
            return np.zeros((s.size, 0)), ()
        return np.column_stack(cols), tuple(owner)
