"""Fixtures for the browser tests: Chromium from Debian's packages and one small report."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

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
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full report (every analysis, the bundled experiments) on a 4,000-member world."""
    from tenure.pipeline import bundled_specs, run_analyses, write_html
    from tenure.simulate import WorldConfig, simulate_world
    from tenure.store import connect

    base = tmp_path_factory.mktemp("browser")
    world = base / "world"
    simulate_world(world, WorldConfig(n_members=4000, seed=3))
    truth = json.loads((world / "truth.json").read_text())
    dataset = connect(world, as_of=datetime.fromisoformat(truth["as_of"]))
    analyses = run_analyses(dataset, specs=bundled_specs(), source="4,000-member world")
    write_html(analyses, base / "report", truth=truth)
    return base / "report"
