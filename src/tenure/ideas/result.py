"""`IdeasResult`: every idea with its evidence status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from tenure.ideas.spec import IdeaSpec
from tenure.ideas.status import Evidence, IdeaStatus
from tenure.results import Result, json_safe

__all__ = ["Idea", "IdeasResult"]


@dataclass(frozen=True, slots=True)
class Idea:
    """One idea file, validated, with the evidence from its linked experiments."""

    spec: IdeaSpec
    file: str
    status: IdeaStatus
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the PR/FAQ body is left out: it is in the file)."""
        s = self.spec
        return {
            "name": s.name,
            "title": s.title,
            "file": self.file,
            "status": self.status,
            "hypothesis": s.hypothesis,
            "customer_problem": s.customer_problem,
            "primary_metric": s.primary_metric,
            "threshold": s.threshold,
            "guardrails": list(s.guardrails),
            "lifecycle_stage": s.lifecycle_stage,
            "experiments": list(s.experiments),
            "opportunities": list(s.opportunities),
            "owner": s.owner,
            "evidence": [json_safe(e) for e in self.evidence],
        }


@dataclass(frozen=True, repr=False)
class IdeasResult(Result):
    """Ideas in file order, each with a status computed from experiment verdicts."""

    kind: ClassVar[str] = "ideas"
    ideas: tuple[Idea, ...]
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per idea."""
        return pd.DataFrame(
            [
                {
                    "name": i.spec.name,
                    "title": i.spec.title,
                    "status": i.status,
                    "lifecycle_stage": i.spec.lifecycle_stage,
                    "primary_metric": i.spec.primary_metric,
                    "threshold": i.spec.threshold,
                    "experiments": ", ".join(i.spec.experiments),
                    "evidence": "; ".join(
                        f"{e.experiment}{':' + e.variant if e.variant else ''} → {e.status}"
                        for e in i.evidence
                    ),
                }
                for i in self.ideas
            ],
            columns=[
                "name",
                "title",
                "status",
                "lifecycle_stage",
                "primary_metric",
                "threshold",
                "experiments",
                "evidence",
            ],
        )

    def by_name(self, name: str) -> Idea:
        """The idea called `name` (KeyError when absent)."""
        for i in self.ideas:
            if i.spec.name == name:
                return i
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure ideas --json`` document."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "ideas": [i.to_dict() for i in self.ideas],
        }
