"""Benefit messaging: catalogue, creatives, eligibility and caps, value recap, policies.

The decision path is pure and in-process: a :class:`MemberIndex` built once answers member
look-ups, :func:`eligible` filters the catalogue's creatives, a :class:`Policy` draws one
and states its propensity. Training, off-policy evaluation and the simulated closed loop
build on the same objects.
"""

from __future__ import annotations

from tenure.messaging.caps import FrequencyCaps, PastDecision, PlacementCap
from tenure.messaging.catalogue import Benefit, Catalogue
from tenure.messaging.creatives import Creative, render_text
from tenure.messaging.eligibility import Eligibility, eligible
from tenure.messaging.members import MemberIndex, MemberState, tenure_band
from tenure.messaging.policies import Choice, Policy
from tenure.messaging.policies.uniform import UniformPolicy
from tenure.messaging.recap import ValueRecap, value_recap
from tenure.messaging.snapshot import load_policy

__all__ = [
    "Benefit",
    "Catalogue",
    "Choice",
    "Creative",
    "Eligibility",
    "FrequencyCaps",
    "MemberIndex",
    "MemberState",
    "PastDecision",
    "PlacementCap",
    "Policy",
    "UniformPolicy",
    "ValueRecap",
    "eligible",
    "load_policy",
    "render_text",
    "tenure_band",
    "value_recap",
]
