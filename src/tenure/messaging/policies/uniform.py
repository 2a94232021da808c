"""The uniform policy: every eligible creative equally likely (the A/B baseline).

Its propensity is exact: ``1 / len(eligible)``. It is the right logging policy to start
with: every creative is explored, and any later policy can be evaluated on its logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tenure.messaging.catalogue import Catalogue
from tenure.messaging.creatives import Creative
from tenure.messaging.policies import BasePolicy

__all__ = ["UniformPolicy"]


class UniformPolicy(BasePolicy):
    """Draw uniformly among the eligible creatives.

    Examples
    --------
    >>> import numpy as np
    >>> cat = Catalogue.default()
    >>> pol = UniformPolicy(cat)
    >>> pick = pol.choose({}, cat.creatives("home")[:4], np.random.default_rng(0))
    >>> pick.propensity
    0.25
    """

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue
        self._version = "uniform" if catalogue is None else f"uniform-{catalogue.digest}"

    @classmethod
    def from_snapshot(cls, doc: Mapping[str, object]) -> UniformPolicy:
        """The policy described by a snapshot document (see ``tenure.messaging.snapshot``)."""
        pol = cls(None)
        pol._version = str(doc.get("version", "uniform"))
        return pol

    def snapshot_state(self) -> dict[str, object]:
        """What a snapshot stores."""
        return {"version": self.version}

    @property
    def version(self) -> str:
        """``uniform`` plus the catalogue's digest (a new catalogue is a new policy)."""
        return self._version

    def probabilities(self, context: Mapping[str, str], eligible: Sequence[Creative]) -> np.ndarray:
        """Selection probability of each eligible creative (all equal)."""
        n = len(eligible)
        return np.full(n, 1.0 / n) if n else np.zeros(0)

    def _draw(
        self, context: Mapping[str, str], eligible: Sequence[Creative], u: float
    ) -> tuple[int, float]:
        """Index ``floor(u·n)``, propensity ``1/n``: the pick the running sums would give.

        Building the probability vector and its running sums to invert them was a quarter of
        a uniform decision's time.
        """
        n = len(eligible)
        return min(int(u * n), n - 1), 1.0 / n
