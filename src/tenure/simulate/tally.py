"""Running sums of paired counterfactual outcomes, overall and per segment.

Truths are computed chunk by chunk; a `Tally` keeps only sufficient statistics (counts, sums
of both arms, sums of the paired difference and its square) so chunks merge by addition and
the Monte Carlo standard error of each effect comes for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tenure._types import FloatArray, IntArray


def _onehot(codes: IntArray, levels: int) -> FloatArray:
    out = np.zeros((codes.shape[0], levels))
    out[np.arange(codes.shape[0]), codes] = 1.0
    return out


@dataclass(slots=True)
class Tally:
    """Paired outcomes ``a`` (treated / forced on) and ``b`` (reference), K metrics each.

    Mutable on purpose: it is an accumulator private to the truth computation.
    """

    metrics: tuple[str, ...]
    segments: dict[str, int]  # segment attribute -> number of levels
    n: float = 0.0
    sum_a: FloatArray = field(default_factory=lambda: np.zeros(0))
    sum_b: FloatArray = field(default_factory=lambda: np.zeros(0))
    sum_d: FloatArray = field(default_factory=lambda: np.zeros(0))
    sum_d2: FloatArray = field(default_factory=lambda: np.zeros(0))
    seg_n: dict[str, FloatArray] = field(default_factory=dict)
    seg_d: dict[str, FloatArray] = field(default_factory=dict)
    seg_a: dict[str, FloatArray] = field(default_factory=dict)
    seg_b: dict[str, FloatArray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = len(self.metrics)
        self.sum_a, self.sum_b = np.zeros(k), np.zeros(k)
        self.sum_d, self.sum_d2 = np.zeros(k), np.zeros(k)
        for name, levels in self.segments.items():
            self.seg_n[name] = np.zeros(levels)
            self.seg_d[name] = np.zeros((levels, k))
            self.seg_a[name] = np.zeros((levels, k))
            self.seg_b[name] = np.zeros((levels, k))

    def add(self, a: FloatArray, b: FloatArray, codes: dict[str, IntArray]) -> None:
        """Add members' outcomes (rows of `a`, `b`) with their segment codes."""
        d = a - b
        self.n += a.shape[0]
        self.sum_a += a.sum(axis=0)
        self.sum_b += b.sum(axis=0)
        self.sum_d += d.sum(axis=0)
        self.sum_d2 += (d * d).sum(axis=0)
        for name, levels in self.segments.items():
            h = _onehot(codes[name], levels)
            self.seg_n[name] += h.sum(axis=0)
            self.seg_d[name] += h.T @ d
            self.seg_a[name] += h.T @ a
            self.seg_b[name] += h.T @ b

    def mean_a(self) -> FloatArray:
        """Mean outcome under ``a``."""
        return self.sum_a / max(self.n, 1.0)

    def mean_b(self) -> FloatArray:
        """Mean outcome under ``b``."""
        return self.sum_b / max(self.n, 1.0)

    def effect(self) -> FloatArray:
        """Mean paired difference ``a - b``."""
        return self.sum_d / max(self.n, 1.0)

    def se(self) -> FloatArray:
        """Monte Carlo standard error of `effect` (paired, common random numbers)."""
        n = max(self.n, 2.0)
        var = np.maximum(self.sum_d2 / n - (self.sum_d / n) ** 2, 0.0) * n / (n - 1)
        return np.sqrt(var / n)

    def segment(self, name: str, what: str = "d") -> tuple[FloatArray, FloatArray]:
        """Per-level means of ``d`` (difference), ``a`` or ``b``, and per-level counts."""
        sums = {"d": self.seg_d, "a": self.seg_a, "b": self.seg_b}[what][name]
        counts = self.seg_n[name]
        return sums / np.maximum(counts, 1.0)[:, None], counts
