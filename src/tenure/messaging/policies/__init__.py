"""Policies: choose one creative from the eligible set and say with what probability.

A policy is anything with a ``version`` and ``choose(context, eligible, rng) -> Choice``.
The ``propensity`` of a choice is the probability the policy gave the creative it chose
among *these* eligible creatives, exploration floor included — the number off-policy
evaluation divides by, so it must be the probability actually used to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from tenure.messaging.creatives import Creative

__all__ = ["Choice", "Policy"]


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen creative and the probability with which it was drawn."""

    creative: Creative
    propensity: float


@runtime_checkable
class Policy(Protocol):
    """What a server needs from a policy."""

    @property
    def version(self) -> str:
        """Identifies the policy in the log (the exposures ``experiment`` column)."""
        ...

    def choose(
        self,
        context: Mapping[str, str],
        eligible: Sequence[Creative],
        rng: np.random.Generator,
    ) -> Choice:
        """Draw one creative from ``eligible`` (non-empty) for ``context``."""
        ...
