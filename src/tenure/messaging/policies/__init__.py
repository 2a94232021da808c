"""Policies: choose one creative from the eligible set and say with what probability.

A policy is anything with a ``version`` and ``choose(context, eligible, rng) -> Choice``.
The ``propensity`` of a choice is the probability the policy gave the creative it chose
among *these* eligible creatives, exploration floor included — the number off-policy
evaluation divides by, so it must be the probability actually used to draw.

:class:`BasePolicy` holds that machinery once: a policy states its model by
``probabilities(context, eligible)`` and the base draws from exactly those probabilities and
returns the drawn creative's own probability as the propensity (STYLE §4).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from tenure.errors import SpecError
from tenure.messaging.creatives import Creative

__all__ = ["BasePolicy", "Choice", "Policy"]


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


class BasePolicy(ABC):
    """The shared tail of every policy: draw from its probabilities, log that probability."""

    @property
    @abstractmethod
    def version(self) -> str:
        """Identifies the policy in the log (the exposures ``experiment`` column)."""

    @abstractmethod
    def probabilities(self, context: Mapping[str, str], eligible: Sequence[Creative]) -> np.ndarray:
        """Selection probability of each eligible creative (summing to 1)."""

    def _cumulative(
        self, context: Mapping[str, str], eligible: Sequence[Creative]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and their running sums (a policy that caches them overrides this)."""
        probs = self.probabilities(context, eligible)
        return probs, np.cumsum(probs)

    def choose(
        self,
        context: Mapping[str, str],
        eligible: Sequence[Creative],
        rng: np.random.Generator,
    ) -> Choice:
        """Draw one creative from :meth:`probabilities`; its propensity is that probability.

        One uniform per decision, inverted through the running sums, so the logged
        propensity is exactly the probability the draw used.
        """
        if not eligible:
            raise SpecError(
                "no eligible creative to choose from (log the decision with variant null)"
            )
        i, propensity = self._draw(context, eligible, rng.random())
        return Choice(eligible[i], propensity)

    def _draw(
        self, context: Mapping[str, str], eligible: Sequence[Creative], u: float
    ) -> tuple[int, float]:
        """The index the uniform ``u`` selects, and its probability (running-sums inversion).

        A policy whose probabilities have a closed form may invert ``u`` directly.
        """
        probs, cum = self._cumulative(context, eligible)
        i = min(int(np.searchsorted(cum, u * cum[-1], side="right")), len(probs) - 1)
        return i, float(probs[i])
