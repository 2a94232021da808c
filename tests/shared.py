"""Types shared by the fixtures of several test folders (conftest modules are not importable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoRun:
    """What one ``tenure demo`` run left: its folder, its exit code and what it printed."""

    out: Path
    exit_code: int
    output: str
