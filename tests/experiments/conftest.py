"""Fixtures: the hand-made toy world and the simulator's default world (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_world import TOY_SPEC, make_toy_world

from tenure.experiments.spec import ExperimentSpec, parse_spec


@pytest.fixture(scope="session")
def toy_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_world(tmp_path_factory.mktemp("toy_world"))


@pytest.fixture(scope="session")
def toy_spec() -> ExperimentSpec:
    return parse_spec(TOY_SPEC)


@pytest.fixture(scope="session")
def sim_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's default-size world (100k members, seed 7): its experiments need it."""
    from tenure.simulate import WorldConfig, simulate_world

    folder = tmp_path_factory.mktemp("sim_world")
    simulate_world(folder, WorldConfig(n_members=100_000, seed=7))
    return folder


@pytest.fixture(scope="session")
def sim_truth(sim_world: Path) -> dict:
    import json

    return json.loads((sim_world / "truth.json").read_text())
