"""Constants and a test policy shared by the service tests.

They live here, not in ``conftest.py``: several test folders have a ``conftest.py``, so
``from conftest import …`` would resolve to whichever was imported first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tenure.messaging import Choice, Creative

ADMIN_KEY = "admin-key-0123456789abcdef"
WRITE_KEY = "write-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
WRITE = {"Authorization": f"Bearer {WRITE_KEY}"}
STORES = ("sqlite", "duckdb", "postgresql")


class FirstPolicy:
    """A deterministic test policy: always the first eligible creative, propensity 1."""

    def __init__(self, version: str = "first-v1") -> None:
        self.version = version

    def choose(
        self, context: Mapping[str, str], eligible: Sequence[Creative], rng: np.random.Generator
    ) -> Choice:
        return Choice(eligible[0], 1.0)
