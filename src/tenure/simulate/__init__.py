"""Truth-known subscription worlds.

`simulate_world` writes a folder in Tenure's data contract (members, events, exposures,
benefits) together with ``truth.json``: the causal effects of early benefit adoption, a
synergy pair and four experiments, computed by counterfactual re-simulation. Latent engagement
confounds naive comparisons; the adjustment set in ``truth.json`` removes the confounding.
"""

from __future__ import annotations

from tenure.simulate.config import WorldConfig
from tenure.simulate.truth_json import load_truth
from tenure.simulate.world import SimulationSummary, simulate_world

__all__ = ["SimulationSummary", "WorldConfig", "load_truth", "simulate_world"]
