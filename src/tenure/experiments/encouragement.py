"""Ease of encouraging: how much an encouragement test raised adoption of the action it promotes.

A high-value action matters for retention only as far as members can be moved to take it.
An encouragement experiment (a spec with ``encourages: <action>``) measures exactly that: the
uplift, treatment minus control, in the share of members who take the action within the
spec's window after exposure. :func:`ease_of_encouraging` returns it per action, in the shape
the HVA score takes (``ease_of_encouraging: Mapping[str, float]``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tenure.experiments.analysis import score
from tenure.experiments.metrics import compute_metrics
from tenure.experiments.spec import ExperimentSpec, MetricSpec
from tenure.store import Dataset

__all__ = ["adoption_metric", "ease_of_encouraging"]


def adoption_metric(spec: ExperimentSpec) -> MetricSpec:
    """The binary "took the promoted action within the window" metric of `spec`.

    Reuses the spec's own binary metric on exactly that action when it has one (so the
    window is the one pre-registered), else a 7-day adoption metric.
    """
    action = spec.encourages
    assert action is not None
    for m in spec.metrics:
        if m.kind == "binary" and m.actions == (action,):
            return m
    return MetricSpec(name=f"{action}_adoption_7d", kind="binary", actions=(action,), window_days=7)


def ease_of_encouraging(dataset: Dataset, specs: Iterable[ExperimentSpec]) -> dict[str, float]:
    """Measured uplift in adoption of each promoted action, from its encouragement tests.

    For each spec with ``encourages`` set, the largest absolute uplift among its arms (the
    best encouragement found so far); actions promoted by several specs keep the largest.
    Arms whose comparison is degenerate are skipped.

    Examples
    --------
    >>> ease = ease_of_encouraging(connect("world"), load_specs("experiments"))  # doctest: +SKIP
    >>> round(ease["video.stream"], 2)  # doctest: +SKIP
    0.22
    """
    out: dict[str, float] = {}
    for spec in specs:
        if spec.encourages is None:
            continue
        metric = adoption_metric(spec)
        mf = compute_metrics(dataset, spec, metrics=[metric], segments=())
        only = spec.model_copy(
            update={
                "primary": metric.model_copy(update={"threshold": spec.primary.threshold}),
                "secondary": (),
                "guardrails": (),
                "segments": (),
            }
        )
        card = score(only, mf, as_of=dataset.as_of)
        uplifts = [c.effect_abs for c in card.overall() if c.status == "ok"]
        if not uplifts:
            continue
        uplift = max(uplifts)
        out[spec.encourages] = max(uplift, out.get(spec.encourages, float("-inf")))
    return out
