"""Report section for ideas: each hypothesis with its evidence status."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from tenure.ideas import IdeasResult
from tenure.report.figures import table_html
from tenure.report.page import Section

__all__ = ["render"]


def render(result: IdeasResult, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """One section: every idea, its lifecycle stage, metric, threshold and status."""
    del truth  # ideas have no simulated truth; their status comes from verdicts
    if not result.ideas:
        return [Section("Ideas", "ideas", "<p>No idea files yet.</p>", "")]
    frame = pd.DataFrame(
        [
            {
                "title": i.spec.title,
                "stage": i.spec.lifecycle_stage,
                "status": i.status,
                "metric": i.spec.primary_metric,
                "threshold": i.spec.threshold,
                "evidence": "; ".join(
                    f"{e.experiment}{':' + e.variant if e.variant else ''}: {e.status}"
                    for e in i.evidence
                )
                or "no linked experiment",
            }
            for i in result.ideas
        ]
    )
    table = table_html(
        frame,
        columns={
            "title": "Idea",
            "stage": "Lifecycle stage",
            "status": "Evidence",
            "metric": "Primary metric",
            "threshold": "Pre-registered threshold",
            "evidence": "Linked experiments",
        },
    )
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    body = (
        "<p>Every idea is a hypothesis written as a press release and FAQ before it is built "
        "(<code>tenure ideas new NAME</code>). Its status comes from the verdicts of the "
        "experiments it links: ship → supported, do not ship → refuted, keep running → "
        "running, investigate → inconclusive; none yet → untested.</p>"
        f"{table}<p class='note'>Files: {html.escape(str(result.params.get('folder', '')))}</p>"
    )
    return [Section("Ideas", "ideas", body, f"{len(result.ideas)} ideas: {summary}")]
