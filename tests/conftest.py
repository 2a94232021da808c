"""Shared fixtures. Seeds are fixed here so every run sees the same worlds."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)
