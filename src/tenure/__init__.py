"""Tenure: a retention engine for subscription products."""

from __future__ import annotations

__version__ = "0.1.0"
