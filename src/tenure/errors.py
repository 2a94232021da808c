"""Tenure's errors, a small tree so callers can catch as broadly or narrowly as they need.

::

    TenureError
    ├── DataContractError (ValueError)      a row or file breaks the data contract
    ├── SpecError (ValueError)              an experiment spec or option is invalid
    ├── NotFittedError (ValueError, AttributeError)
    └── BackendError (RuntimeError)         the backend lacks a capability or is not installed

Each also inherits the builtin a caller would naturally catch, as ibis and scikit-learn do.
"""

from __future__ import annotations


class TenureError(Exception):
    """Base class of every error Tenure raises on purpose."""


class DataContractError(TenureError, ValueError):
    """Input that breaks the data contract; says where (file, line, column) and why."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        where = " ".join(p for p in (file, f"line {line}" if line is not None else None) if p)
        super().__init__(f"{where}: {reason}" if where else reason)


class SpecError(TenureError, ValueError):
    """An invalid experiment spec, option or request; the message names the field."""


class NotFittedError(TenureError, ValueError, AttributeError):
    """An estimator was used before `fit`."""


class BackendError(TenureError, RuntimeError):
    """The chosen backend cannot do what was asked; the message says what to install."""
