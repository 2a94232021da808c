"""Experiments done right: specs, assignment, metrics, analysis and verdicts."""

from __future__ import annotations

from tenure.experiments.analysis import Scorecard, analyze, score
from tenure.experiments.assignment import Assignment, assign
from tenure.experiments.encouragement import ease_of_encouraging
from tenure.experiments.metrics import MetricFrame, compute_metrics
from tenure.experiments.plan import Plan, plan_experiment
from tenure.experiments.spec import ExperimentSpec, load_spec, load_specs, parse_spec
from tenure.experiments.surrogate import SurrogateResult, surrogate_index
from tenure.experiments.verdict import Verdict, decide

__all__ = [
    "Assignment",
    "ExperimentSpec",
    "MetricFrame",
    "Plan",
    "Scorecard",
    "SurrogateResult",
    "Verdict",
    "analyze",
    "assign",
    "compute_metrics",
    "decide",
    "ease_of_encouraging",
    "load_spec",
    "load_specs",
    "parse_spec",
    "plan_experiment",
    "score",
    "surrogate_index",
]
