r"""Edge cases nobody planned for, in an experiment's or a pilot's data.

Four checks, each run in the engine and returning counts and a few examples:

- **Duplicate exposures**: exposure rows of the experiment identical in every column
  (member, time, variant and the rest); the copies inflate counts and break the SRM check.
- **Shared keys**: a code, device or coupon (any of ``key_columns`` present in the
  exposures or events table) used by more than ``max_members_per_key`` members — one QR code
  screenshotted and passed around.
- **Bursts faster than a human**: exposed members with at least ``burst_events`` events less
  than ``burst_seconds`` after their previous event (after their first exposure).
- **Outcome spikes**: days whose count of outcome events among exposed members lies more
  than ``spike_z`` robust standard deviations above the median day, with the deviation
  :math:`1.4826\,\mathrm{MAD}` floored at the Poisson :math:`\sqrt{\mathrm{median}}` so a
  perfectly flat series does not flag ordinary noise.

Members flagged by the key and burst checks are what a read-out may exclude
(:meth:`AnomalyResult.excluded_members`); spike days may be dropped from outcome counts
(:meth:`AnomalyResult.spike_days`). The read-out records whatever it excluded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from tenure.errors import DataContractError, SpecError
from tenure.opportunities.sequences import epoch_seconds, to_arrow
from tenure.results import Result, json_safe
from tenure.store import Dataset

__all__ = ["AnomalyCheck", "AnomalyResult", "detect_anomalies"]

DEFAULT_KEYS = ("code", "device_id", "coupon", "promo_code", "device")


@dataclass(frozen=True, slots=True)
class AnomalyCheck:
    """One check: how many rows, keys, members or days it flagged, and examples."""

    name: str
    description: str
    count: int
    members: tuple[str, ...]
    examples: tuple[Mapping[str, Any], ...]
    days: tuple[date, ...] = ()


@dataclass(frozen=True, repr=False)
class AnomalyResult(Result):
    """All checks on one experiment; ``params`` holds the thresholds used."""

    kind: ClassVar[str] = "anomalies"
    experiment: str
    exposed_members: int
    checks: tuple[AnomalyCheck, ...]
    params: Mapping[str, Any]

    def check(self, name: str) -> AnomalyCheck:
        """The check called `name` (``duplicate_exposures``, ``shared_key``, ``burst``, ``spike``)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def excluded_members(self) -> frozenset[str]:
        """Members a read-out would exclude: sharers of a flagged key and bursting members."""
        return frozenset(
            m for c in self.checks if c.name in ("shared_key", "burst") for m in c.members
        )

    def spike_days(self) -> tuple[date, ...]:
        """Days flagged as outcome spikes."""
        return tuple(d for c in self.checks for d in c.days)

    def to_frame(self) -> pd.DataFrame:
        """One row per check."""
        return pd.DataFrame(
            [
                {
                    "check": c.name,
                    "count": c.count,
                    "members": len(c.members),
                    "description": c.description,
                    "examples": "; ".join(
                        ", ".join(f"{k}={v}" for k, v in e.items()) for e in c.examples
                    ),
                }
                for c in self.checks
            ],
            columns=["check", "count", "members", "description", "examples"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``tenure anomalies --json`` document."""
        return {
            "kind": self.kind,
            "experiment": self.experiment,
            "exposed_members": self.exposed_members,
            "params": json_safe(self.params),
            "checks": [
                {
                    "name": c.name,
                    "description": c.description,
                    "count": c.count,
                    "members": len(c.members),
                    "member_ids": list(c.members),
                    "days": [d.isoformat() for d in c.days],
                    "examples": [json_safe(dict(e)) for e in c.examples],
                }
                for c in self.checks
            ],
        }


def _records(frame: pd.DataFrame, n: int) -> tuple[Mapping[str, Any], ...]:
    return tuple(json_safe(r) for r in frame.head(n).to_dict("records"))


def detect_anomalies(
    dataset: Dataset,
    experiment: str,
    *,
    outcome_actions: Sequence[str] | None = None,
    key_columns: Sequence[str] = DEFAULT_KEYS,
    max_members_per_key: int = 5,
    burst_seconds: float = 1.0,
    burst_events: int = 20,
    spike_z: float = 6.0,
    examples: int = 5,
) -> AnomalyResult:
    """Run the four checks (module docstring) on `experiment`'s exposures and outcomes.

    Parameters
    ----------
    dataset
        Needs an exposures table; the burst and spike checks also need events.
    experiment
        Value of ``exposures.experiment``.
    outcome_actions
        Actions counted as outcomes (default: every action of exposed members).
    key_columns
        Columns that identify a code or device, used where present.
    max_members_per_key, burst_seconds, burst_events, spike_z
        Thresholds, recorded in ``params``.
    examples
        Examples kept per check.
    """
    if max_members_per_key < 1 or burst_events < 2 or burst_seconds <= 0 or spike_z <= 0:
        raise SpecError(
            "need max_members_per_key >= 1, burst_events >= 2, burst_seconds > 0 and spike_z > 0"
        )
    x_all = dataset.table("exposures")
    x = x_all.filter(x_all.experiment == experiment)
    exposed = int(x.member_id.nunique().to_pyarrow().as_py() or 0)
    if exposed == 0:
        known = sorted(x_all.select("experiment").distinct().to_pyarrow().column(0).to_pylist())
        raise DataContractError(
            f"--experiment {experiment!r}: no exposures (experiments in the data: "
            f"{', '.join(map(str, known[:12])) or 'none'})"
        )
    first = x.group_by("member_id").agg(first_ts=x.ts.min())
    checks = [_duplicates(x, examples)]
    events = dataset.events
    ev: ir.Table | None = None
    if events is not None:
        ev = events.join(first, "member_id").filter(lambda t: t.ts >= t.first_ts)
        if outcome_actions:
            ev = ev.filter(ev.action.isin(list(outcome_actions)))
    checks.append(_shared_keys(x, ev, key_columns, max_members_per_key, examples))
    if ev is not None:
        checks.append(_bursts(ev, burst_seconds, burst_events, examples))
        checks.append(_spikes(ev, spike_z, examples))
    params = {
        "experiment": experiment,
        "outcome_actions": list(outcome_actions) if outcome_actions else "all actions",
        "key_columns": [
            c for c in key_columns if c in x.columns or (ev is not None and c in ev.columns)
        ],
        "max_members_per_key": max_members_per_key,
        "burst_seconds": burst_seconds,
        "burst_events": burst_events,
        "spike_z": spike_z,
    }
    return AnomalyResult(experiment, exposed, tuple(checks), params)


def _duplicates(x: ir.Table, n: int) -> AnomalyCheck:
    cols = list(x.columns)
    g = x.group_by(cols).agg(copies=x.count())
    g = g.filter(g.copies > 1)
    summary = g.aggregate(rows=(g.copies - 1).sum(), members=g.member_id.nunique()).to_pandas()
    value = summary["rows"].iloc[0] if len(summary) else None
    extra = int(value) if value is not None and pd.notna(value) else 0
    ex = g.select("member_id", "ts", "variant", "copies").order_by(["member_id", "ts"]).limit(n)
    return AnomalyCheck(
        "duplicate_exposures",
        "exposure rows logged more than once (identical in every column)",
        extra,
        (),
        _records(ex.to_pandas(), n),
    )


def _shared_keys(
    x: ir.Table, ev: ir.Table | None, keys: Sequence[str], limit: int, n: int
) -> AnomalyCheck:
    parts: list[ir.Table] = []
    for t in (x, ev):
        if t is None:
            continue
        parts.extend(
            t.filter(t[k].notnull()).select(
                key_column=ibis.literal(k), key=t[k].cast("string"), member_id=t.member_id
            )
            for k in keys
            if k in t.columns
        )
    if not parts:
        return AnomalyCheck(
            "shared_key",
            f"no key column ({', '.join(keys)}) in the exposures or events: check skipped",
            0,
            (),
            (),
        )
    u = parts[0]
    for p in parts[1:]:
        u = u.union(p)
    g = u.group_by(["key_column", "key"]).agg(members=u.member_id.nunique())
    bad = g.filter(g.members > limit)
    flagged = bad.order_by(ibis.desc("members")).to_pandas()
    members = u.semi_join(bad, ["key_column", "key"]).select("member_id").distinct()
    ids = tuple(sorted(members.to_pyarrow().column(0).to_pylist()))
    return AnomalyCheck(
        "shared_key",
        f"a code or device used by more than {limit} members",
        len(flagged),
        ids,
        _records(flagged, n),
    )


def _bursts(ev: ir.Table, seconds: float, events: int, n: int) -> AnomalyCheck:
    e = ev.select(member_id=ev.member_id, ts=ev.ts, t=epoch_seconds(ev.ts))
    e = e.mutate(gap=e.t - e.t.lag().over(ibis.window(group_by=e.member_id, order_by=e.ts)))
    fast = e.filter(e.gap < seconds)
    g = fast.group_by("member_id").agg(fast_events=fast.count(), min_gap_s=fast.gap.min())
    bad = to_arrow(
        g.filter(g.fast_events >= events).order_by(ibis.desc("fast_events")), "the burst check"
    ).to_pandas()
    return AnomalyCheck(
        "burst",
        f"members with at least {events} events under {seconds:g} s apart (faster than a person)",
        len(bad),
        tuple(sorted(bad["member_id"].astype(str))),
        _records(bad, n),
    )


def _spikes(ev: ir.Table, z: float, n: int) -> AnomalyCheck:
    daily = ev.group_by(day=ev.ts.date()).agg(events=ev.count(), members=ev.member_id.nunique())
    frame = daily.order_by("day").to_pandas()
    if len(frame) < 7:
        return AnomalyCheck(
            "spike", "fewer than 7 days of outcomes: spike check skipped", 0, (), ()
        )
    counts = frame["events"].to_numpy(np.float64)
    med = float(np.median(counts))
    scale = max(1.4826 * float(np.median(np.abs(counts - med))), float(np.sqrt(max(med, 1.0))))
    frame["robust_z"] = (counts - med) / scale
    frame["median_day"] = med
    bad = frame[frame["robust_z"] > z].sort_values("robust_z", ascending=False)
    days = tuple(sorted(pd.to_datetime(bad["day"]).dt.date))
    return AnomalyCheck(
        "spike",
        f"days with outcome counts more than {z:g} robust SDs above the median day",
        len(bad),
        (),
        _records(bad[["day", "events", "members", "median_day", "robust_z"]], n),
        days,
    )
