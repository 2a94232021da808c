"""Arrow tables of a cohort, in the data contract's column names and types.

Strings are never built per row in Python: member ids are laid out as fixed-width bytes in
numpy and wrapped as an Arrow ``StringArray`` from buffers; per-event strings are Arrow
``take`` from tiny label arrays, which reads back everywhere (DuckDB, pandas) as plain text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tenure._types import IntArray
from tenure.simulate import catalogue as cat
from tenure.simulate import experiments as ex
from tenure.simulate.cohort import Cohort
from tenure.simulate.config import US_PER_DAY
from tenure.simulate.events import Events

TS = pa.timestamp("us", tz="UTC")
MEMBERS_SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("signup_at", TS),
        ("ended_at", TS),
        ("channel", pa.string()),
        ("country", pa.string()),
        ("plan", pa.string()),
        ("age_band", pa.string()),
        ("fee", pa.float64()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("ts", TS),
        ("action", pa.string()),
        ("benefit", pa.string()),
        ("value", pa.float64()),
    ]
)
EVENTS_SCHEMA_NO_BENEFIT = pa.schema([f for f in EVENTS_SCHEMA if f.name != "benefit"])
APP_BENEFIT = "app"
"""The benefit ``app.open`` maps to when every event is a benefit (``benefit_labels="all"``)."""
EXPOSURES_SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("ts", TS),
        ("experiment", pa.string()),
        ("variant", pa.string()),
        ("placement", pa.string()),
        ("country", pa.string()),
    ]
)


def id_width(n_members: int) -> int:
    """Digits in member ids (``m`` + zero-padded number), at least seven."""
    return max(7, len(str(n_members)))


def member_ids(first: int, n: int, width: int) -> pa.StringArray:
    """Ids ``m{first + 1:0width}`` … for `n` members, built from byte buffers."""
    numbers = np.arange(first + 1, first + n + 1, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars = np.empty((n, width + 1), dtype=np.uint8)
    chars[:, 0] = ord("m")
    chars[:, 1:] = (numbers[:, None] // powers[None, :]) % 10 + ord("0")
    offsets = np.arange(0, (n + 1) * (width + 1), width + 1, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.ravel()))


def _labels(labels: tuple[str | None, ...], codes: IntArray) -> pa.Array:
    return pa.array(labels, type=pa.string()).take(pa.array(codes))


def _ts(us: IntArray) -> pa.Array:
    return pa.array(us.astype(np.int64), type=pa.int64()).cast(TS)


def members_table(cohort: Cohort, ids: pa.StringArray, as_of_us: int) -> pa.Table:
    """The cohort's rows of ``members``; ``ended_at`` is null when censored at `as_of_us`."""
    m = cohort.members
    censored = cohort.end >= cohort.as_of_day
    end_days = np.where(censored, 0.0, cohort.end)
    ended = m.signup_us + (end_days * US_PER_DAY).astype(np.int64)
    ended_at = pa.array(ended, type=pa.int64(), mask=censored).cast(TS)
    return pa.Table.from_arrays(
        [
            ids,
            _ts(m.signup_us),
            ended_at,
            _labels(cat.CHANNELS, m.channel),
            _labels(cat.COUNTRIES, m.country),
            _labels(cat.PLANS, m.plan),
            _labels(cat.AGE_BANDS, m.age_band),
            pa.array(m.fee, type=pa.float64()),
        ],
        schema=MEMBERS_SCHEMA,
    )


def events_schema(benefit_labels: str = "mixed") -> pa.Schema:
    """The events schema of a world: without ``benefit`` when its convention says so."""
    return EVENTS_SCHEMA_NO_BENEFIT if benefit_labels == "absent" else EVENTS_SCHEMA


def events_table(events: Events, ids: pa.StringArray, benefit_labels: str = "mixed") -> pa.Table:
    """The cohort's rows of ``events`` (already sorted by member and time).

    `benefit_labels` is the world's convention: ``"mixed"`` (``app.open`` has no benefit),
    ``"all"`` (``app.open`` is the ``app`` benefit) or ``"absent"`` (no ``benefit`` column).
    """
    value = events.value
    columns = [
        ids.take(pa.array(events.member.astype(np.int32))),
        _ts(events.ts_us),
        _labels(cat.EVENT_ACTIONS, events.code),
    ]
    if benefit_labels == "mixed":
        columns.append(_labels(cat.EVENT_BENEFITS, events.code))
    elif benefit_labels == "all":
        columns.append(_labels((APP_BENEFIT, *cat.EVENT_BENEFITS[1:]), events.code))
    columns.append(pa.array(value, type=pa.float64(), from_pandas=True))
    return pa.Table.from_arrays(columns, schema=events_schema(benefit_labels))


def exposures_table(cohort: Cohort, ids: pa.StringArray, as_of_us: int) -> pa.Table:
    """The cohort's logged exposures (lost cancel-flow rows are left out, as the bug does)."""
    a, s, end = cohort.assign, cohort.members.signup_us, cohort.end
    cf_live = (a.cf_arm >= 0) & (end > np.nan_to_num(a.cf_day, nan=np.inf))
    up_day = np.nan_to_num(a.up_day, nan=np.inf)
    up_live = (a.up_arm >= 0) & (end > up_day) & (s + up_day * US_PER_DAY < as_of_us)
    parts = [
        (ex.VALUE_MESSAGING, a.vm_arm >= 0, a.vm_arm, np.zeros(len(s))),
        (ex.ENCOURAGE_VIDEO, a.ev_arm >= 0, a.ev_arm, np.full(len(s), 60 / 86_400)),
        (ex.CANCEL_FLOW_RECAP, cf_live & (a.cf_logged == 1), a.cf_arm, a.cf_day),
        (ex.UPSELL_BANNER, up_live, a.up_arm, a.up_day),
    ]
    rows, ts, exp_code, variant, placement = [], [], [], [], []
    variants = tuple(dict.fromkeys(v for spec in ex.EXPERIMENTS for v in spec.arms))
    placements = tuple(dict.fromkeys(spec.placement for spec in ex.EXPERIMENTS))
    for k, (spec, live, arm, day) in enumerate(parts):
        r = np.flatnonzero(live)
        rows.append(r)
        ts.append(s[r] + (np.round(day[r] * 86_400_000)).astype(np.int64) * 1000)
        exp_code.append(np.full(r.shape[0], k))
        lookup = np.array([variants.index(v) for v in spec.arms])
        variant.append(lookup[arm[r]])
        placement.append(np.full(r.shape[0], placements.index(spec.placement)))
    r = np.concatenate(rows)
    return pa.Table.from_arrays(
        [
            ids.take(pa.array(r.astype(np.int32))),
            _ts(np.concatenate(ts)),
            _labels(tuple(spec.name for spec in ex.EXPERIMENTS), np.concatenate(exp_code)),
            _labels(variants, np.concatenate(variant)),
            _labels(placements, np.concatenate(placement)),
            _labels(cat.COUNTRIES, cohort.members.country[r]),
        ],
        schema=EXPOSURES_SCHEMA,
    )
