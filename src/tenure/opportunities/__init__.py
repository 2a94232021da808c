"""Workaround mining and time-saved sizing: what members do around the product, and its size.

::

    from tenure.opportunities import find_workarounds
    result = find_workarounds(connect("world/"))
    result.to_dict()["opportunities"][0]["steps"]   # ['video.download', '<exit>', 'video.upload']

The miner is PrefixSpan with time constraints over short episodes the engine cuts from the
events table (:mod:`~tenure.opportunities.sequences`, :mod:`~tenure.opportunities.prefixspan`);
how a step is recognised as export-like, an exit or one that brings something back is stated
in :mod:`~tenure.opportunities.roles` and can be set with a mapping file; sizing and the score
are in :mod:`~tenure.opportunities.sizing` and :mod:`~tenure.opportunities.result`.
"""

from __future__ import annotations

from tenure.opportunities.mine import DEFAULT_SHAPE_WEIGHTS, find_workarounds
from tenure.opportunities.result import SCORE_FORMULA, Opportunity, OpportunityResult
from tenure.opportunities.roles import EXIT, StepRoles

__all__ = [
    "DEFAULT_SHAPE_WEIGHTS",
    "EXIT",
    "SCORE_FORMULA",
    "Opportunity",
    "OpportunityResult",
    "StepRoles",
    "find_workarounds",
]
