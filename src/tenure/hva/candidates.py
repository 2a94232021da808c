"""Typed candidate high-value actions and the contrast each one estimates.

A candidate is a value — its ``kind``, the ``actions`` it involves and a level ``k`` — never a
string to be parsed back (an action may well be called ``c++.compile``). ``name`` is only a
label. The kinds and their contrasts, among members still active at the end of the window:

* ``action`` — used the action at least once in the window vs never in the window;
* ``threshold`` — used it at least ``k`` times vs fewer than ``k`` times (zero included);
* ``pair_both_vs_neither`` — both actions first used early (within ``pair_days`` of signup)
  vs neither used early;
* ``pair_both_vs_one`` — both used early vs exactly one of them used early (is the pair worth
  more than either action alone?);
* ``distinct`` — at least ``k`` different benefits used in the window vs fewer (offered only
  when the events carry a ``benefit`` column);
* ``first_day`` — first used on day ``k`` of the membership vs not used in the window (the
  timing question, "as soon as possible?"; opt-in: ``discover(timing=True)``,
  ``tenure hva --timing``). Members who first used it on another day are in neither arm.

::

    >>> Candidate("threshold", ("video.stream",), 3).name
    'video.stream>=3'
    >>> Candidate("pair_both_vs_one", ("a.b", "c.d")).contrast
    'both a.b and c.d early vs exactly one of them'
    >>> Candidate("first_day", ("a.b",), 2).contrast
    'a.b first used on day 2 vs not in the window'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_THRESHOLDS", "Candidate", "CandidateKind", "Segment"]

CandidateKind = Literal[
    "action", "threshold", "pair_both_vs_neither", "pair_both_vs_one", "distinct", "first_day"
]

DEFAULT_THRESHOLDS: tuple[int, ...] = (1, 2, 3, 5)
DISTINCT = "distinct_benefits"


@dataclass(frozen=True, slots=True, order=True)
class Candidate:
    """One candidate: its ``kind``, the ``actions`` involved and a level ``k``.

    ``actions`` are sorted for pairs; ``k`` is the uses for ``threshold``, the benefits for
    ``distinct`` and ``None`` otherwise.
    """

    kind: CandidateKind
    actions: tuple[str, ...]
    k: int | None = None

    @property
    def name(self) -> str:
        """A readable label (not parsed anywhere)."""
        if self.kind == "threshold":
            return f"{self.actions[0]}>={self.k}"
        if self.kind == "distinct":
            return f"{DISTINCT}>={self.k}"
        if self.kind == "pair_both_vs_neither":
            return "+".join(self.actions)
        if self.kind == "pair_both_vs_one":
            return "+".join(self.actions) + " (vs one)"
        if self.kind == "first_day":
            return f"{self.actions[0]}@day{self.k}"
        return self.actions[0]

    @property
    def contrast(self) -> str:
        """The estimand in words: who is compared with whom."""
        if self.kind == "threshold":
            return f"{self.actions[0]} at least {self.k} times vs fewer"
        if self.kind == "distinct":
            return f"at least {self.k} different benefits vs fewer"
        if self.kind == "pair_both_vs_neither":
            return f"both {self.actions[0]} and {self.actions[1]} early vs neither"
        if self.kind == "pair_both_vs_one":
            return f"both {self.actions[0]} and {self.actions[1]} early vs exactly one of them"
        if self.kind == "first_day":
            return f"{self.actions[0]} first used on day {self.k} vs not in the window"
        return f"{self.actions[0]} at least once vs never"

    @property
    def uses(self) -> int:
        """Uses implied per member (for the cost in the score)."""
        if self.kind == "threshold" and self.k is not None:
            return self.k
        return 1


@dataclass(frozen=True, slots=True, order=True)
class Segment:
    """A segment of members: one value of one member attribute."""

    column: str
    value: str

    @property
    def label(self) -> str:
        """``column = value``."""
        return f"{self.column} = {self.value}"
