"""A planted workaround of known size, and frequent in-app flows that are not workarounds.

The story is TikTok's Stitch: creators download a video, leave the app to edit a reaction
onto it elsewhere, come back and upload the result. Each occurrence is

``video.download`` → *off the app for D minutes* → *any way back in* → ``video.upload``

where the exit varies (a plain gap, or an ``app.background`` / ``app.foreground`` pair) and
so does the way back (``app.open``, ``notification.open`` or straight to the upload). A
miner must report the variants as one pattern. Around it sit flows that are frequent but
stay inside the app (``feed.browse`` → ``video.play`` [→ ``video.like``],
``search.query`` → ``video.play``), a flow that leaves the app but brings nothing back
(``video.share`` → away → ``feed.browse``) and downloads that are never uploaded.

**Planted associations.** Who does the workaround depends on the member's age band and on
nothing else in the world (younger members create more), so its true effect on retention is
zero, while the raw comparison is confounded by whatever age does to retention. Publishing is
planted with a known effect: every member publishes natively (``video.upload`` with no
download before it) at a rate set by their age band — the confounder that raises both doing
the workaround and publishing — and members who completed the workaround before day
:data:`EFFECT_WINDOW_DAYS` (28) publish ``publish_effect`` more native uploads a week from
that day on (:data:`PUBLISH_EFFECT`, 0.3; ``0`` gives a world where the true effect is nil).
The workaround's own uploads are not part of that effect: the publish-rate association counts
publishes that are not the closing step of an occurrence (see
:mod:`tenure.opportunities.association`). A naive comparison therefore overstates the effect
(doers are younger, and younger members publish more), an age-adjusted one recovers it.

Every planted event falls on or after day ``window_days`` (7) of membership: the early-adoption
window the high-value-action analysis reads is byte for byte that of the same world without
the planted flows, so planting changes neither ``truth.json`` nor any HVA estimate.
The truth — members, occurrences, seconds per occurrence, variant counts — is what was
written (after observation ends), so recovery can be checked exactly. It goes to
``truth_workarounds.json`` beside ``truth.json``.

Opt-in through ``WorldConfig(product_bets=True)`` (the demo's world); without it the world
is untouched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.simulate.catalogue import AGE_BANDS
from tenure.simulate.config import WorldConfig

__all__ = [
    "WORKAROUND_STEPS",
    "PlantedEvents",
    "observed_spans",
    "plant_workarounds",
    "rewrite_sorted",
    "workaround_events",
]

WORKAROUND_STEPS = ("video.download", "<exit>", "video.upload")
TRUTH_FILE = "truth_workarounds.json"
_US_PER_S = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_S

# Shares of members taking part, and occurrences per week while a member.
CREATOR_SHARE = 0.05
CREATOR_RATE_MEAN = 1.0  # per week, Gamma(shape 2) across creators: some are heavy users
ABANDON_SHARE = 0.15  # downloads never uploaded
BROWSE_SHARE, BROWSE_RATE = 0.40, 0.4
SEARCH_SHARE, SEARCH_RATE = 0.20, 0.3
SHARE_SHARE, SHARE_RATE = 0.10, 0.3
# Who creates and how much everyone publishes natively depend on the age band (the planted
# confounder, in the order of the world's AGE_BANDS: 18-24, 25-34, 35-44, 45-54, 55+).
CREATOR_SHARE_BY_AGE = (0.12, 0.07, 0.035, 0.02, 0.012)
PUBLISH_RATE_BY_AGE = (0.90, 0.50, 0.20, 0.08, 0.03)  # native uploads per week
PUBLISH_RATE_MEAN = 0.3  # when no age band is given (everyone the same: no confounding)
PUBLISH_EFFECT = 0.3  # extra native uploads per week for members who did it in the window
EFFECT_WINDOW_DAYS = 28  # the window of that effect (the publish association's default)
# Off-app editing time: lognormal, median 9 minutes, capped at 45 minutes.
OFF_MEDIAN_S, OFF_SIGMA, OFF_CAP_S = 540.0, 0.5, 2_700.0
BG_SHARE = 0.35  # exits through an app.background / app.foreground pair
# Way back in: app.open, notification.open, or straight to the upload.
REENTRY = ("app.open", "notification.open", None)
REENTRY_P = (0.5, 0.2, 0.3)

_SEED_KEY = 1 << 40  # spawn keys of chunks are (chunk, purpose); this one never collides


@dataclass(frozen=True, slots=True)
class PlantedEvents:
    """Events to add (member index into the members table, time, action) and their truth."""

    member: IntArray
    ts_us: IntArray
    action: tuple[str, ...]
    code: IntArray
    truth: dict[str, Any]


class _Builder:
    """Collects events as flat arrays of (member, ts, action code)."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.parts: list[tuple[IntArray, IntArray, IntArray]] = []

    def add(self, action: str, member: IntArray, ts_us: IntArray) -> None:
        if action not in self.labels:
            self.labels.append(action)
        code = np.full(member.shape[0], self.labels.index(action), dtype=np.int64)
        self.parts.append((member.astype(np.int64), ts_us.astype(np.int64), code))


def _occurrences(
    rng: np.random.Generator,
    members: IntArray,
    rate_per_week: FloatArray,
    start_us: IntArray,
    stop_us: IntArray,
) -> tuple[IntArray, IntArray]:
    """Poisson occurrence times for `members` over their ``[start, stop)``."""
    span_weeks = np.maximum(stop_us[members] - start_us[members], 0) / (7 * _US_PER_DAY)
    counts = rng.poisson(rate_per_week * span_weeks)
    who = np.repeat(members, counts)
    u = rng.random(who.shape[0])
    t = start_us[who] + (u * (stop_us[who] - start_us[who])).astype(np.int64)
    return who, t


def _seconds(rng: np.random.Generator, lo: float, hi: float, n: int) -> IntArray:
    return (rng.uniform(lo, hi, n) * _US_PER_S).astype(np.int64)


def workaround_events(
    signup_us: IntArray,
    stop_us: IntArray,
    rng: np.random.Generator,
    *,
    after_days: int = 7,
    age_band: IntArray | None = None,
    publish_effect: float = PUBLISH_EFFECT,
) -> PlantedEvents:
    """Draw the planted workaround and the decoy flows for members observed on ``[signup, stop)``.

    Parameters
    ----------
    signup_us, stop_us : numpy.ndarray of int64
        Each member's signup and end of observation (``min(ended_at, as_of)``), microseconds.
    rng : numpy.random.Generator
    after_days : int
        Flows start this many days after signup (the world's early-adoption window), so the
        window's events are those of the base world.
    age_band : numpy.ndarray of int, optional
        Each member's age band (index into the world's ``AGE_BANDS``): the planted confounder
        of creating and publishing. Without it every member has the mean share and rate.
    publish_effect : float
        Extra native uploads per week, from day :data:`EFFECT_WINDOW_DAYS` on, for members
        who completed the workaround before that day (the planted publish-rate effect).

    Returns
    -------
    PlantedEvents
        Only events before each member's ``stop`` are kept; the truth counts what was kept.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> start = np.zeros(2_000, dtype=np.int64)
    >>> p = workaround_events(start, start + 200 * _US_PER_DAY, rng)
    >>> p.truth["members"] > 50, p.truth["steps"]
    (True, ['video.download', '<exit>', 'video.upload'])
    """
    n = signup_us.shape[0]
    everyone = np.arange(n)
    # Flows start after the early-adoption window: the window's events stay the base world's.
    start = signup_us + after_days * _US_PER_DAY
    b = _Builder()

    if age_band is None:
        share = np.full(n, CREATOR_SHARE)
        publish_rate = np.full(n, PUBLISH_RATE_MEAN)
    else:
        share = np.asarray(CREATOR_SHARE_BY_AGE)[age_band]
        publish_rate = np.asarray(PUBLISH_RATE_BY_AGE)[age_band]

    # The workaround.
    creators = everyone[rng.random(n) < share]
    rate = rng.gamma(2.0, CREATOR_RATE_MEAN / 2.0, creators.shape[0])
    who, t0 = _occurrences(rng, creators, np.repeat(rate, 1), start, stop_us)
    k = who.shape[0]
    off = np.minimum(rng.lognormal(np.log(OFF_MEDIAN_S), OFF_SIGMA, k), OFF_CAP_S)
    bg: BoolArray = np.asarray(rng.random(k) < BG_SHARE)
    route: IntArray = np.asarray(rng.choice(len(REENTRY), size=k, p=REENTRY_P), dtype=np.int64)
    abandon: BoolArray = np.asarray(rng.random(k) < ABANDON_SHARE)
    t_leave = t0 + _seconds(rng, 3, 15, k)
    t_back = t_leave + (off * _US_PER_S).astype(np.int64)
    t_up = t_back + np.where(route == 2, _seconds(rng, 2, 10, k), _seconds(rng, 15, 60, k))
    done = ~abandon & (t_up < stop_us[who])
    kept_download = t0 < stop_us[who]
    b.add("video.download", who[kept_download], t0[kept_download])
    m = done & bg
    b.add("app.background", who[m], t_leave[m])
    b.add("app.foreground", who[m], t_back[m])
    for r, action in enumerate(REENTRY):
        m = done & (route == r)
        if action is not None:
            b.add(action, who[m], t_back[m] + (bg[m] * 2 * _US_PER_S))
    b.add("video.upload", who[done], t_up[done])
    seconds = (t_up[done] - t0[done]) / _US_PER_S
    per_member = np.bincount(who[done], minlength=n)
    variant_exit = np.where(bg[done], "background", "gap")
    variant_route = np.array(["app.open", "notification.open", "direct"])[route[done]]
    effect_at = signup_us + EFFECT_WINDOW_DAYS * _US_PER_DAY
    early = done & (t0 < effect_at[who])
    doers = np.unique(who[early])

    # In-app flows: frequent, short, no exit.
    who, t = _occurrences(
        rng, everyone[rng.random(n) < BROWSE_SHARE], np.array(BROWSE_RATE), start, stop_us
    )
    t_play = t + _seconds(rng, 20, 90, who.shape[0])
    like = rng.random(who.shape[0]) < 0.5
    t_like = t_play + _seconds(rng, 10, 60, who.shape[0])
    b.add("feed.browse", who, t)
    keep = t_play < stop_us[who]
    b.add("video.play", who[keep], t_play[keep])
    keep &= like & (t_like < stop_us[who])
    b.add("video.like", who[keep], t_like[keep])
    who, t = _occurrences(
        rng, everyone[rng.random(n) < SEARCH_SHARE], np.array(SEARCH_RATE), start, stop_us
    )
    t_play = t + _seconds(rng, 5, 40, who.shape[0])
    b.add("search.query", who, t)
    keep = t_play < stop_us[who]
    b.add("video.play", who[keep], t_play[keep])
    # Leaves the app and comes back, but brings nothing in.
    who, t = _occurrences(
        rng, everyone[rng.random(n) < SHARE_SHARE], np.array(SHARE_RATE), start, stop_us
    )
    away = np.asarray(rng.lognormal(np.log(300.0), 0.5, who.shape[0]), dtype=np.float64)
    t_back = t + (away * _US_PER_S).astype(np.int64)
    b.add("video.share", who, t)
    keep = t_back < stop_us[who]
    b.add("app.open", who[keep], t_back[keep])
    b.add("feed.browse", who[keep], t_back[keep] + _seconds(rng, 2, 10, int(keep.sum())))

    # Native publishing (an upload with no download before it): the age band's rate for
    # everyone, plus the planted effect from day EFFECT_WINDOW_DAYS for the window's doers.
    who, t = _occurrences(rng, everyone, publish_rate, start, stop_us)
    b.add("video.upload", who, t)
    if publish_effect > 0 and doers.shape[0]:
        later = np.maximum(effect_at, start)
        who, t = _occurrences(rng, doers, np.full(doers.shape[0], publish_effect), later, stop_us)
        b.add("video.upload", who, t)

    member = np.concatenate([p[0] for p in b.parts])
    ts = np.concatenate([p[1] for p in b.parts])
    code = np.concatenate([p[2] for p in b.parts])
    inside = ts < stop_us[member]
    truth = {
        "steps": list(WORKAROUND_STEPS),
        "members": int((per_member > 0).sum()),
        "occurrences": int(done.sum()),
        "median_seconds": float(np.median(seconds)) if seconds.size else None,
        "total_hours": float(seconds.sum() / 3600.0),
        "variants": {
            "exit": {v: int((variant_exit == v).sum()) for v in ("gap", "background")},
            "reentry": {
                v: int((variant_route == v).sum())
                for v in ("app.open", "notification.open", "direct")
            },
        },
        "retention_effect": 0.0,
        "publish_rate_effect": {
            "action": "video.upload",
            "window_days": EFFECT_WINDOW_DAYS,
            "per_member_week": float(publish_effect),
            "doers_in_window": int(doers.shape[0]),
            "confounder": "age_band" if age_band is not None else None,
            "counts": "native uploads (not the closing step of a workaround occurrence)",
        },
        "decoys": [
            ["feed.browse", "video.play", "video.like"],
            ["search.query", "video.play"],
            ["video.share", "<exit>", "app.open", "feed.browse"],
        ],
    }
    return PlantedEvents(member[inside], ts[inside], tuple(b.labels), code[inside], truth)


def observed_spans(members: pa.Table, config: WorldConfig) -> tuple[IntArray, IntArray]:
    """Each member's signup and end of observation, ``min(ended_at, as_of)``, in microseconds."""
    signup = members["signup_at"].cast(pa.int64()).to_numpy().astype(np.int64)
    ended = pc.fill_null(members["ended_at"].cast(pa.int64()), config.as_of_us)
    stop = np.minimum(ended.to_numpy().astype(np.int64), config.as_of_us)
    return signup, stop


def plant_workarounds(
    out_dir: Path, config: WorldConfig, schema: pa.Schema, members: pa.Table
) -> pa.Table:
    """The planted events as rows of the events table (`schema`), sorted by member and time.

    `members` is the world's members table (``member_id``, ``signup_at``, ``ended_at``). The
    caller appends the rows to ``events.parquet`` as a row group of their own (no rewrite of
    the base events), so the planted world is as deterministic as the base world. The truth
    goes to ``truth_workarounds.json``.
    """
    signup, stop = observed_spans(members, config)
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_SEED_KEY, 1)))
    age = pc.index_in(members["age_band"], value_set=pa.array(AGE_BANDS)).to_numpy(
        zero_copy_only=False
    )
    planted = workaround_events(
        signup, stop, rng, after_days=config.window_days, age_band=age.astype(np.int64)
    )
    ts_type = schema.field("ts").type
    extra = pa.table(
        {
            "member_id": members["member_id"].take(pa.array(planted.member)),
            "ts": pa.array(planted.ts_us, type=pa.int64()).cast(ts_type),
            "action": pa.array(planted.action, type=pa.string()).take(pa.array(planted.code)),
            "benefit": pa.nulls(planted.member.shape[0], type=pa.string()),
            "value": pa.nulls(planted.member.shape[0], type=pa.float64()),
        },
        schema=schema,
    )
    (out_dir / TRUTH_FILE).write_text(json.dumps(planted.truth, indent=2) + "\n")
    return sort_events(extra)


def sort_events(table: pa.Table) -> pa.Table:
    """`table` sorted by member and time (stable, so ties keep their drawing order)."""
    order = pc.sort_indices(table, sort_keys=[("member_id", "ascending"), ("ts", "ascending")])
    return table.take(order)


def rewrite_sorted(path: Path, table: pa.Table) -> None:
    """Write `table` to `path` sorted by member and time, with deterministic writer options."""
    order = pc.sort_indices(table, sort_keys=[("member_id", "ascending"), ("ts", "ascending")])
    pq.write_table(
        table.take(order),
        path,
        compression="zstd",
        compression_level=1,
        write_statistics=True,
        row_group_size=1 << 20,
    )
