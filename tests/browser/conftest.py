"""Fixtures for the browser tests: Chromium from Debian's packages and the shared demo report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared import DemoRun

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium's path, installed by ``scripts/chromium.sh`` when missing; else a clear skip."""
    script = ROOT / "scripts" / "chromium.sh"
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "unknown"
        pytest.skip(f"Chromium cannot be installed here: {reason}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def report_dir(demo_run: DemoRun) -> Path:
    """The demo's full report (every analysis, the loop, the service's replay), 4,000 members."""
    assert demo_run.exit_code == 0, demo_run.output
    return demo_run.out
