"""The only place that knows which backend runs: open a dataset, load and validate it."""

from __future__ import annotations

from tenure.store.connect import Dataset, connect
from tenure.store.ingest import IngestReport, TableCounts, ingest
from tenure.store.mapping import ColumnMap, parse_mapping
from tenure.store.sources import Sources, find_sources

__all__ = [
    "ColumnMap",
    "Dataset",
    "IngestReport",
    "Sources",
    "TableCounts",
    "connect",
    "find_sources",
    "ingest",
    "parse_mapping",
]
