"""Tenure's version, in a module of its own.

The store records it without importing the package's lazy export table, which names the
store (a cycle).
"""

__version__ = "0.1.0"
