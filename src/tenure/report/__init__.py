"""HTML reports a product team reads: a one-page memo, then a section per analysis."""

from tenure.report.page import Section, write_report

__all__ = ["Section", "write_report"]
