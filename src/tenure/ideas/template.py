"""The template `tenure ideas new NAME` writes: front matter, a press release, both FAQ halves.

The questions follow the Working Backwards order: the customer's FAQ first (would a customer
want this, and why), then the business's (should we build it, and how will we know it
worked). The front matter is valid as written, so the new idea lists as *untested* at once.
"""

from __future__ import annotations

__all__ = ["BUSINESS_QUESTIONS", "CUSTOMER_QUESTIONS", "template"]

CUSTOMER_QUESTIONS = (
    "Who is the customer, and what problem of theirs does this solve?",
    "How do they deal with it today (the workaround), and what does that cost them?",
    "What is the single most important benefit, in one sentence?",
    "How does it work, step by step, from the customer's side?",
    "What does it cost the customer, and what changes for them?",
    "What will a customer who hates it say?",
)
BUSINESS_QUESTIONS = (
    "Why now: what evidence (opportunity sizing, high-value actions, past experiments) points here?",
    "How many customers does it reach, and how much time or money does it save them per week?",
    "What does it cost to build and to run, and what does it replace?",
    "Which metric proves or disproves the hypothesis, and what threshold counts as success?",
    "Which guardrails must not get worse (retention, app opens, error rates, fraud)?",
    "How will we test it (experiment or pilot), for how long, and what would make us stop?",
    "What are the risks and the edge cases nobody has planned for?",
)


def template(name: str) -> str:
    """The Markdown of a new idea called `name`."""
    customer = "\n".join(f"### {q}\n\n_Answer._\n" for q in CUSTOMER_QUESTIONS)
    business = "\n".join(f"### {q}\n\n_Answer._\n" for q in BUSINESS_QUESTIONS)
    title = name.replace("_", " ").replace("-", " ").capitalize()
    return f"""---
name: {name}
title: {title}
hypothesis: "TODO: if we build X for Y, metric Z moves by at least T, because ..."
customer_problem: "TODO: the customer's problem, in their words"
primary_metric: "TODO: the metric that proves or disproves it (e.g. retention_90)"
threshold: "TODO: the pre-registered effect that counts as success (e.g. +2 points)"
guardrails: []
lifecycle_stage: introduction
experiments: []      # experiment names (or name:variant) whose verdicts are the evidence
opportunities: []    # e.g. "video.download → <exit> → video.upload" from `tenure opportunities`
---
# Press release

**{title}.** _One paragraph, dated launch day: who it is for, what it does, why it matters._

_A quote from a customer, and one from the team._

# FAQ

## Customers

{customer}
## Business

{business}"""
