"""The only place that knows which backend runs: open a dataset, load and validate it."""

from __future__ import annotations

from tenure.store.connect import Dataset, connect, find_sources
from tenure.store.ingest import IngestReport, TableCounts, ingest

__all__ = ["Dataset", "IngestReport", "TableCounts", "connect", "find_sources", "ingest"]
