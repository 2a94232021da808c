"""Experiment statistics on sufficient statistics: pure numpy/scipy, vectorised.

Arrays in, frozen dataclasses out; no I/O. Every function broadcasts over many comparisons.
"""

from __future__ import annotations

from tenure.stats.multiple import benjamini_hochberg, holm

__all__ = ["benjamini_hochberg", "holm"]
