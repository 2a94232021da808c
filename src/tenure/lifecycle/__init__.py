"""The member lifecycle: acquired → activated → engaged → retained, and cancel attempt → saved.

::

    from tenure.lifecycle import lifecycle_funnel
    funnel = lifecycle_funnel(connect("world/"), activation=("shipping.order", "video.stream"))
    funnel.to_frame().query("dimension == 'all'")

One Ibis pass builds a row per member with the stage flags and the days each stage needs to
be observable; small aggregations per dimension (overall, signup cohort, market, segment)
return the counts, and the rates with Wilson intervals are computed in numpy
(:mod:`tenure.lifecycle.funnel`).
"""

from __future__ import annotations

from tenure.lifecycle.funnel import (
    DEFAULT_CANCEL_ACTIONS,
    DEFAULT_CANCEL_PLACEMENTS,
    STAGES,
    LifecycleResult,
    lifecycle_funnel,
    wilson_interval,
)

__all__ = [
    "DEFAULT_CANCEL_ACTIONS",
    "DEFAULT_CANCEL_PLACEMENTS",
    "STAGES",
    "LifecycleResult",
    "lifecycle_funnel",
    "wilson_interval",
]
