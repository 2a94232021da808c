r"""The factorised design: which coefficients a creative's score in a context is the sum of.

For factors :math:`f` (message, image, cta…) and context columns :math:`k` (placement,
country, plan, tenure band, channel…) the logit of a creative's reward is

.. math::

    \eta(c, x) = \beta_0 + \sum_k \gamma_{k, x_k} + \sum_f \alpha_{f, c_f}
                 + \sum_f \sum_k \delta_{f k, c_f, x_k}.

The main effects :math:`\alpha` are pooled across every segment; the interactions
:math:`\delta` are each segment's deviation from them, shrunk toward zero by a tighter prior:
partial pooling, so a creative in a sparse segment borrows from what its parts did everywhere.
Every level combination of a factor and a context column gets a coefficient, observed or not
(an unobserved one keeps its prior, which is exactly what exploration needs); a level never
seen in training maps to ``UNKNOWN`` and is drawn from the prior at decision time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from tenure._types import IntArray
from tenure.errors import SpecError

__all__ = ["UNKNOWN", "Design"]

UNKNOWN = -1


@dataclass(frozen=True)
class Design:
    """Levels of each factor and context column, and the layout of the coefficient vector."""

    factors: tuple[str, ...]
    context: tuple[str, ...]
    factor_levels: tuple[tuple[str, ...], ...]
    context_levels: tuple[tuple[str, ...], ...]

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, factors: Sequence[str], context: Sequence[str]
    ) -> Design:
        """Levels as seen in a log (sorted, as strings)."""
        missing = [c for c in (*factors, *context) if c not in frame.columns]
        if missing:
            raise SpecError(
                f"the log has no column(s) {missing} (have {', '.join(map(str, frame.columns))})"
            )
        overlap = set(factors) & set(context)
        if overlap:
            raise SpecError(f"{sorted(overlap)}: a column is a factor or a context, not both")
        if not factors:
            raise SpecError("--factors: name at least one creative factor (message,image,cta)")
        return cls(
            tuple(factors),
            tuple(context),
            tuple(tuple(sorted(frame[f].astype(str).unique())) for f in factors),
            tuple(tuple(sorted(frame[k].astype(str).unique())) for k in context),
        )

    # -- layout ---------------------------------------------------------------------------
    @cached_property
    def factor_offsets(self) -> tuple[int, ...]:
        """Index of each factor's first main-effect coefficient."""
        out, at = [], 1 + sum(len(lv) for lv in self.context_levels)
        for lv in self.factor_levels:
            out.append(at)
            at += len(lv)
        return tuple(out)

    @cached_property
    def context_offsets(self) -> tuple[int, ...]:
        """Index of each context column's first main-effect coefficient."""
        out, at = [], 1
        for lv in self.context_levels:
            out.append(at)
            at += len(lv)
        return tuple(out)

    def pair_offset(self, f: int, k: int) -> int:
        """Index of the first interaction coefficient of factor ``f`` and context ``k``."""
        return self._pair_offsets[f, k]

    @cached_property
    def _pair_offsets(self) -> dict[tuple[int, int], int]:
        return {(f, k): self._pair_offset(f, k) for f in range(len(self.factors))
                for k in range(len(self.context))}  # fmt: skip

    @cached_property
    def _factor_lookup(self) -> tuple[dict[str, int], ...]:
        return tuple({v: i for i, v in enumerate(lv)} for lv in self.factor_levels)

    @cached_property
    def _context_lookup(self) -> tuple[dict[str, int], ...]:
        return tuple({v: i for i, v in enumerate(lv)} for lv in self.context_levels)

    def _pair_offset(self, f: int, k: int) -> int:
        at = self.factor_offsets[-1] + len(self.factor_levels[-1])
        nk = [len(lv) for lv in self.context_levels]
        for ff in range(len(self.factors)):
            for kk in range(len(self.context)):
                if (ff, kk) == (f, k):
                    return at
                at += len(self.factor_levels[ff]) * nk[kk]
        raise IndexError((f, k))

    @cached_property
    def n_features(self) -> int:
        """Length of the coefficient vector."""
        nf = [len(lv) for lv in self.factor_levels]
        nk = [len(lv) for lv in self.context_levels]
        return 1 + sum(nk) + sum(nf) + sum(a * b for a in nf for b in nk)

    def kinds(self) -> np.ndarray:
        """Per coefficient: 0 intercept, 1 context main, 2 factor main, 3 interaction."""
        out = np.full(self.n_features, 3, dtype=np.int64)
        out[0] = 0
        out[1 : self.factor_offsets[0]] = 1
        out[self.factor_offsets[0] : self.pair_offset(0, 0) if self.context else None] = 2
        return out

    def groups(self) -> np.ndarray:
        """Per coefficient, its prior group (the groups whose scales are pooled).

        0 intercept, 1 context mains, then one group per factor's main effects (``2 + f``),
        then one per factor × context pair (``2 + n_factors + f * n_context + k``).
        """
        out = np.zeros(self.n_features, dtype=np.int64)
        out[1 : self.factor_offsets[0]] = 1
        nf, nc = len(self.factors), len(self.context)
        for f, (off, lv) in enumerate(zip(self.factor_offsets, self.factor_levels, strict=True)):
            out[off : off + len(lv)] = 2 + f
            for k, klv in enumerate(self.context_levels):
                at = self.pair_offset(f, k)
                out[at : at + len(lv) * len(klv)] = 2 + nf + f * nc + k
        return out

    def group_names(self) -> list[str]:
        """Readable names of :meth:`groups`, in group order."""
        return [
            "intercept",
            "context",
            *self.factors,
            *(f"{f}|{k}" for f in self.factors for k in self.context),
        ]

    def feature_names(self) -> list[str]:
        """Readable names of the coefficients, in order."""
        names = ["intercept"]
        names += [f"{k}={v}" for k, lv in zip(self.context, self.context_levels, strict=True)
                  for v in lv]  # fmt: skip
        names += [f"{f}={v}" for f, lv in zip(self.factors, self.factor_levels, strict=True)
                  for v in lv]  # fmt: skip
        for f, flv in zip(self.factors, self.factor_levels, strict=True):
            for k, klv in zip(self.context, self.context_levels, strict=True):
                names += [f"{f}={a}|{k}={b}" for a in flv for b in klv]
        return names

    # -- encoding ---------------------------------------------------------------------------
    @staticmethod
    def _codes(values: pd.Series, levels: tuple[str, ...]) -> IntArray:
        lookup = {v: i for i, v in enumerate(levels)}
        return np.asarray(values.astype(str).map(lookup).fillna(UNKNOWN).to_numpy(), dtype=np.int64)

    def matrix(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        """The 0/1 design matrix of the rows of ``frame`` (unknown levels have no column)."""
        n = len(frame)
        fc = [self._codes(frame[f], lv) for f, lv in zip(self.factors, self.factor_levels,
                                                         strict=True)]  # fmt: skip
        kc = [self._codes(frame[k], lv) for k, lv in zip(self.context, self.context_levels,
                                                         strict=True)]  # fmt: skip
        cols = [np.zeros(n, dtype=np.int64)]
        for off, c in zip(self.context_offsets, kc, strict=True):
            cols.append(np.where(c >= 0, off + c, UNKNOWN))
        for off, c in zip(self.factor_offsets, fc, strict=True):
            cols.append(np.where(c >= 0, off + c, UNKNOWN))
        for i, c in enumerate(fc):
            for j, d in enumerate(kc):
                nk = len(self.context_levels[j])
                cols.append(np.where((c >= 0) & (d >= 0), self.pair_offset(i, j) + c * nk + d,
                                     UNKNOWN))  # fmt: skip
        idx = np.stack(cols, axis=1)
        rows = np.repeat(np.arange(n), idx.shape[1])
        flat = idx.ravel()
        keep = flat >= 0
        return sparse.csr_matrix(
            (np.ones(int(keep.sum())), (rows[keep], flat[keep])), shape=(n, self.n_features)
        )

    def creative_features(
        self, parts: Sequence[Mapping[str, str]], context: Mapping[str, str]
    ) -> tuple[IntArray, list[str]]:
        """Per creative, the indices of its factor and interaction coefficients in ``context``.

        Returns an ``(n_creatives, n_terms)`` index array; a term whose level is unknown gets
        a negative index ``-(1 + u)`` into the returned list of unknown term names (drawn from
        the prior). Intercept and context main effects are common to every creative in one
        context and so never change which one wins; they are left out.
        """
        kcodes = [
            look.get(str(context.get(k)), UNKNOWN)
            for k, look in zip(self.context, self._context_lookup, strict=True)
        ]
        nk = [len(lv) for lv in self.context_levels]
        foff = self.factor_offsets
        poff = self._pair_offsets
        fcodes = np.array(
            [[look.get(p[f], UNKNOWN) for f, look in zip(self.factors, self._factor_lookup,
                                                         strict=True)] for p in parts],
            dtype=np.int64,
        ).reshape(len(parts), len(self.factors))  # fmt: skip
        if min(kcodes, default=0) >= 0 and (fcodes.size == 0 or fcodes.min() >= 0):
            # every level known (the common case): the indices are arithmetic on the codes
            blocks = []
            for i in range(len(self.factors)):
                codes = fcodes[:, i]
                blocks.append(foff[i] + codes)
                blocks += [poff[i, j] + codes * nk[j] + kcodes[j] for j in range(len(self.context))]
            return np.stack(blocks, axis=1) if blocks else np.empty((len(parts), 0), np.int64), []
        unknown: dict[str, int] = {}
        out = np.empty((len(parts), len(self.factors) * (1 + len(self.context))), np.int64)
        for r, p in enumerate(parts):
            col = 0
            for i, (f, look) in enumerate(zip(self.factors, self._factor_lookup, strict=True)):
                level = p[f]
                c = look.get(level, UNKNOWN)
                if c >= 0:
                    out[r, col] = foff[i] + c
                else:
                    out[r, col] = -1 - unknown.setdefault(f"{f}={level}", len(unknown))
                col += 1
                for j, k in enumerate(self.context):
                    d = kcodes[j]
                    if c >= 0 and d >= 0:
                        out[r, col] = poff[i, j] + c * nk[j] + d
                    else:
                        name = f"{f}={level}|{k}={context.get(k)}"
                        out[r, col] = -1 - unknown.setdefault(name, len(unknown))
                    col += 1
        return out, list(unknown)
