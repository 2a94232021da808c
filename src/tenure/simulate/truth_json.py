"""``truth.json``: the tallies of a truth computation rendered as a plain, stable document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tenure._types import FloatArray
from tenure.simulate import catalogue as cat
from tenure.simulate import experiments as ex
from tenure.simulate.config import WorldConfig
from tenure.simulate.tally import Tally
from tenure.simulate.truth import ADJUSTMENT_SET, SEGMENT_LABELS, TruthTallies

_DIGITS = 6

NOTES = (
    "Latent engagement z (never written) drives day-0 app.open counts, usage and retention. "
    "Early adoption of each benefit (use within 7 days of signup) follows a logistic model with "
    "main effects of channel, country, plan, age_band and min(day-0 app.open count, 6), plus "
    "randomised experiment offsets and independent noise, so adjusting for adjustment_set "
    "removes all confounding (experiment arms are randomised and need no adjustment). Counts in "
    "the window are 1 + Poisson with a mean depending on day-0 activity only; only the adoption "
    "indicator (and the day-0 pair) is causal. Renewals every 30 days; a declined renewal ends "
    "membership up to 3 days before the renewal day; early cancellations (days 1-7) do not "
    "depend on adoption. Action effects are mean differences in retention at H days since "
    "signup among members active at day 7 (the landmark), adoption forced on vs off, other "
    "actions as drawn, by re-simulating churn with the same uniforms (not censored at as_of). "
    "Experiment effects are arm minus control over every exposed member (including exposures "
    "lost by the logging bug), retention_H meaning still a member H days after exposure."
)


def _r(x: float) -> float:
    return round(float(x), _DIGITS)


def _by(keys: tuple[str, ...], values: FloatArray) -> dict[str, float]:
    return {k: _r(v) for k, v in zip(keys, values, strict=True)}


def _segments(tally: Tally, what: str = "d") -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, labels in SEGMENT_LABELS.items():
        means, counts = tally.segment(name, what)
        out[name] = {
            label: _by(tally.metrics, means[i]) for i, label in enumerate(labels) if counts[i] > 0
        }
    return out


def _action_doc(spec: cat.ActionSpec, tally: Tally, adoption: float) -> dict[str, Any]:
    return {
        "benefit": spec.benefit,
        "kind": spec.kind,
        "logit_effect": spec.logit_effect,
        "segment": {"country": spec.segment_country} if spec.segment_country else None,
        "effect": _by(tally.metrics, tally.effect()),
        "se": _by(tally.metrics, tally.se()),
        "retention_if_adopted": _by(tally.metrics, tally.mean_a()),
        "retention_if_not": _by(tally.metrics, tally.mean_b()),
        "adoption_rate_7d": _r(adoption),
        "by_segment": _segments(tally),
    }


def _experiment_doc(spec: ex.ExperimentSpec, tallies: list[Tally]) -> dict[str, Any]:
    control = tallies[0]
    levels = {spec.arms[0]: control.mean_b()}
    effects: dict[str, dict[str, Any]] = {}
    by_country: dict[str, dict[str, Any]] = {}
    _, counts = control.segment("country", "b")
    for arm, tally in zip(spec.arms[1:], tallies, strict=True):
        levels[arm] = tally.mean_a()
        effects[arm] = _nest(tally.metrics, tally.effect())
        effects[arm]["se"] = _nest(tally.metrics, tally.se())
        eff_country, _ = tally.segment("country", "d")
        for i, country in enumerate(cat.COUNTRIES):
            if counts[i] > 0:
                by_country.setdefault(country, {"exposed_in_truth_sample": int(counts[i])})
                by_country[country][arm] = _nest(tally.metrics, eff_country[i])
    effects = {spec.arms[0]: _nest(control.metrics, np.zeros(len(control.metrics)))} | effects
    return {
        "placement": spec.placement,
        "arms": dict(zip(spec.arms, (_r(w) for w in spec.weights), strict=True)),
        "countries": list(spec.countries),
        "exposed_in_truth_sample": int(control.n),
        "true_effects": effects,
        "levels": {arm: _nest(control.metrics, v) for arm, v in levels.items()},
        "by_country": by_country,
        "notes": spec.notes,
    }


def _nest(metrics: tuple[str, ...], values: FloatArray) -> dict[str, Any]:
    """Metric names like ``adoption_7d:video.stream`` nest under ``adoption_7d``."""
    out: dict[str, Any] = {}
    for m, v in zip(metrics, values, strict=True):
        head, _, tail = m.partition(":")
        if tail:
            out.setdefault(head, {})[tail] = _r(v)
        else:
            out[m] = _r(v)
    return out


CONVENTION_NOTES: dict[str, str | dict[str, str]] = {
    "benefit_labels": {
        "all": "Every event is a benefit: app.open events carry benefit 'app'.",
        "absent": "The events table has no benefit column.",
    },
    "first_session_scale": "Day-0 app.open counts are Poisson with the default rate times "
    "first_session_scale; adoption and first-use day read min(day-0 opens / scale, 6).",
    "activity_tail": "Every usage rate (day-0 opens included) is multiplied by a per-member "
    "Pareto(activity_tail) factor with mean one; it never enters churn, and adoption sees it "
    "only through the observed day-0 count.",
    "frailty_sd": "An unobserved Normal(0, frailty_sd) frailty is added to every churn "
    "log-odds; it is independent of attributes, engagement and adoption (churn only).",
    "cohort_trend": "Renewal log-odds shift by cohort_trend * (signup position in "
    "[start, end) - 0.5): later cohorts retain differently; action effects are unchanged on "
    "the log-odds scale, so on the retention scale they differ by cohort and members whose "
    "horizon is observable (early cohorts) are not representative of the landmark.",
    "renewals": "Churn only at renewals: 28-day periods (84-day for the annual plan), a "
    "14-day trial before the first renewal for free_trial members, membership ends exactly on "
    "the declined renewal day, no early cancellations; experiment timings follow the same "
    "schedule.",
}


def _conventions(config: WorldConfig) -> dict[str, Any]:
    knobs = config.conventions
    notes: list[str] = []
    for name, value in knobs.items():
        note = CONVENTION_NOTES[name]
        notes.append(note[value] if isinstance(note, dict) else note)
    return {**knobs, "notes": " ".join(notes)}


def _adjustment_note(config: WorldConfig) -> str:
    if config.first_session_scale == 1.0:
        return (
            "day0_app_open_capped = min(number of app.open events in the first "
            "24 h after signup_at, 6); attributes are the members columns of the same names."
        )
    return (
        "day0_app_open_capped = min(number of app.open events in the first 24 h after "
        f"signup_at / {config.first_session_scale:g}, 6) (the first-session convention); "
        "attributes are the members columns of the same names."
    )


def truth_document(config: WorldConfig, t: TruthTallies) -> dict[str, Any]:
    """The ``truth.json`` document of a world (with a ``conventions`` block when knobs are on)."""
    assert t.pair_both is not None and t.pair_synergy is not None
    adoption = t.adoption_sum / max(t.landmark, 1)
    pair_key = "+".join(cat.PAIR)
    doc = {
        "seed": config.seed,
        "n_members": config.n_members,
        "as_of": config.as_of.isoformat().replace("+00:00", "Z"),
        "window_days": config.window_days,
        "horizons_days": list(config.horizons_days),
        "adjustment_set": ADJUSTMENT_SET,
        "adjustment_note": _adjustment_note(config),
        "truth_sample": {
            "members": t.members,
            "active_at_day7": t.landmark,
            "method": "counterfactual re-simulation with common random numbers on a random "
            f"subsample of at most {config.truth_members} members; 'se' fields are the Monte "
            "Carlo standard errors of the paired differences.",
        },
        "actions": {
            spec.action: _action_doc(spec, tally, adoption[j])
            for j, (spec, tally) in enumerate(zip(cat.ACTIONS, t.actions, strict=True))
        },
        "pairs": {
            pair_key: {
                "day": cat.PAIR_DAY,
                "logit_synergy": cat.PAIR_SYNERGY_LOGIT,
                "effect_both_vs_neither": _by(t.pair_both.metrics, t.pair_both.effect()),
                "synergy": _by(t.pair_synergy.metrics, t.pair_synergy.effect()),
                "synergy_se": _by(t.pair_synergy.metrics, t.pair_synergy.se()),
                "by_segment": _segments(t.pair_synergy),
            }
        },
        "experiments": {
            spec.name: _experiment_doc(spec, t.experiments[spec.name]) for spec in ex.EXPERIMENTS
        },
        "notes": NOTES,
    }
    if config.conventions:
        doc["conventions"] = _conventions(config)
    return doc


def write_truth(path: Path, doc: dict[str, Any]) -> None:
    """Write the document (stable key order, so equal worlds give equal bytes)."""
    path.write_text(json.dumps(doc, indent=2) + "\n")


def load_truth(path: str | Path) -> dict[str, Any]:
    """Load ``truth.json`` from a world folder or a file path.

    Parameters
    ----------
    path : str or pathlib.Path
        The world's output folder or the ``truth.json`` file itself.

    Returns
    -------
    dict
        The parsed document; see ``notes`` inside for definitions.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "truth.json"
    doc: dict[str, Any] = json.loads(p.read_text())
    return doc
