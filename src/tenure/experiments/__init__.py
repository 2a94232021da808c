"""Experiments done right: specs, assignment, metrics, analysis and verdicts."""
