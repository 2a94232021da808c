"""Evidence status of an idea, from the verdicts of the experiments it links.

Each verdict of a linked experiment (every non-control variant, or the one variant named in
the link ``experiment:variant``) counts as one piece of evidence:

=============== ==============
verdict         evidence
=============== ==============
ship            supported
do_not_ship     refuted (worse, a guardrail breach, or real but below the threshold)
keep_running    running
investigate     inconclusive (e.g. a sample-ratio mismatch: nothing can be read yet)
=============== ==============

The idea's status combines them: **untested** with no evidence (no linked experiment, or
none analysed yet); **inconclusive** when any piece is inconclusive or when pieces support
and refute at once; else **supported** if any piece supports, **refuted** if any refutes,
and **running** when every piece is still running.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["STATUSES", "Evidence", "IdeaStatus", "combine", "evidence_of"]

IdeaStatus = Literal["untested", "running", "supported", "refuted", "inconclusive"]
STATUSES: tuple[str, ...] = ("untested", "running", "supported", "refuted", "inconclusive")
_FROM_DECISION: dict[str, IdeaStatus] = {
    "ship": "supported",
    "do_not_ship": "refuted",
    "keep_running": "running",
    "investigate": "inconclusive",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One linked experiment arm's verdict, as evidence for or against an idea."""

    experiment: str
    variant: str | None
    decision: str | None
    reason: str
    status: IdeaStatus


def evidence_of(experiment: str, variant: str | None, decision: str, reason: str) -> Evidence:
    """Evidence from one verdict (``decision`` as in :class:`tenure.experiments.Verdict`).

    >>> evidence_of("value_messaging", "value_message", "ship", "clears the bar").status
    'supported'
    """
    if decision not in _FROM_DECISION:
        raise ValueError(
            f"unknown decision {decision!r} (expected one of {sorted(_FROM_DECISION)})"
        )
    return Evidence(experiment, variant, decision, reason, _FROM_DECISION[decision])


def combine(pieces: Iterable[Evidence]) -> IdeaStatus:
    """The idea's status from its evidence (rules in the module docstring).

    >>> e = [evidence_of("a", "x", "ship", ""), evidence_of("b", "y", "keep_running", "")]
    >>> combine(e), combine([]), combine([*e, evidence_of("c", "z", "do_not_ship", "")])
    ('supported', 'untested', 'inconclusive')
    """
    seen = {p.status for p in pieces if p.status != "untested"}
    if not seen:
        return "untested"
    if "inconclusive" in seen or {"supported", "refuted"} <= seen:
        return "inconclusive"
    if "supported" in seen:
        return "supported"
    if "refuted" in seen:
        return "refuted"
    return "running"
