"""A store pilot with abuse nobody planned for: shared codes, bots, duplicate logs, a spike.

The story is the payments app piloted in one store: members scan a personal QR code at
checkout (an exposure of experiment ``qr_checkout_pilot`` with columns ``site`` and
``code``); each payment afterwards is a ``checkout.pay`` event. ``store_1`` is the pilot
site (variant ``pilot``), ``store_2`` … ``store_5`` the comparison sites (``comparison``);
the pilot truly raises payments per day from 0.20 to 0.26.

Planted on top, each with the ids written to ``truth_abuse.json``:

- **a shared code**: one QR code screenshotted and redeemed by 80 members of the pilot site;
- **bursts faster than a human**: 3 members firing 150 payments each, 0.2–0.6 s apart;
- **duplicate exposures**: 300 exposure rows logged twice, byte for byte;
- **an outcome spike**: one day with 1,200 extra payments from 400 pilot members.

(Those are the counts of a world with enough pilot members, ~100k members; smaller worlds get
proportionally less, and the truth file records what was planted.)

Opt-in through ``WorldConfig(product_bets=True)`` (the demo's world); without it the world
is untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tenure._types import IntArray
from tenure.simulate import tables
from tenure.simulate.config import WorldConfig
from tenure.simulate.workarounds import observed_spans, rewrite_sorted, sort_events

__all__ = ["PILOT", "abuse_tables", "plant_abuse"]

PILOT = "qr_checkout_pilot"
OUTCOME = "checkout.pay"
TRUTH_FILE = "truth_abuse.json"
SITES = ("store_1", "store_2", "store_3", "store_4", "store_5")
SHARED_CODE = "QR-SCREENSHOT"
PILOT_DAYS, PILOT_END_BEFORE_AS_OF = 28, 14
ENROL_SHARE = 0.06
RATE_COMPARISON, RATE_PILOT = 0.20, 0.26  # payments per member-day after the first scan
N_SHARED, N_BOTS, BOT_EVENTS, N_DUPLICATES = 80, 3, 150, 300
SPIKE_DAY, SPIKE_EVENTS, SPIKE_MEMBERS = 20, 1_200, 400

_US_PER_S = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_S
_SEED_KEY = 1 << 40
EXPOSURES_WITH_SITE = tables.EXPOSURES_SCHEMA.append(pa.field("site", pa.string())).append(
    pa.field("code", pa.string())
)
"""The exposures schema of a world with the pilot: two context columns more."""


def _events(member: IntArray, ts: IntArray) -> dict[str, Any]:
    return {"member": member.astype(np.int64), "ts": ts.astype(np.int64)}


def abuse_tables(
    signup_us: IntArray,
    stop_us: IntArray,
    as_of_us: int,
    rng: np.random.Generator,
    *,
    window_days: int = 7,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Draw the pilot's exposures and payments with the planted abuse.

    Only members more than `window_days` into their membership when the pilot starts are
    enrolled, so every planted event lies after their early-adoption window.

    Returns ``(exposures, events, truth)``: exposures as arrays ``member``, ``ts``,
    ``site`` (index into :data:`SITES`), ``code`` (str, object array); events as ``member``,
    ``ts`` (all ``checkout.pay``); and the truth document.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> day = 86_400 * 1_000_000
    >>> signup = np.zeros(30_000, dtype=np.int64)
    >>> x, e, truth = abuse_tables(signup, signup + 400 * day, 300 * day, rng)
    >>> truth["shared_code"]["members"], truth["duplicate_exposures"]
    (80, 300)
    """
    start = as_of_us - (PILOT_END_BEFORE_AS_OF + PILOT_DAYS) * _US_PER_DAY
    end = start + PILOT_DAYS * _US_PER_DAY
    n = signup_us.shape[0]
    # Members past their early-adoption window when the pilot starts: the pilot's events never
    # fall in the window the high-value-action analysis reads.
    eligible = np.flatnonzero(
        (signup_us < start - window_days * _US_PER_DAY) & (stop_us > start + _US_PER_DAY)
    )
    enrolled = eligible[rng.random(eligible.shape[0]) < ENROL_SHARE]
    site: IntArray = np.asarray(
        rng.choice(len(SITES), size=enrolled.shape[0], p=[0.3, 0.175, 0.175, 0.175, 0.175]),
        dtype=np.int64,
    )
    last = np.minimum(stop_us[enrolled], end)
    first = start + (rng.random(enrolled.shape[0]) * (last - start) * 0.5).astype(np.int64)
    codes = np.array([f"QR-{i:07d}" for i in range(enrolled.shape[0])], dtype=object)

    # Ordinary payments after the first scan.
    rate = np.where(site == 0, RATE_PILOT, RATE_COMPARISON)
    days = (last - first) / _US_PER_DAY
    k = rng.poisson(rate * days)
    who = np.repeat(np.arange(enrolled.shape[0]), k)
    pay_ts = first[who] + (rng.random(who.shape[0]) * (last - first)[who]).astype(np.int64)
    pay_member = enrolled[who]

    pilot_rows = np.flatnonzero(site == 0)
    picks = rng.permutation(pilot_rows)
    # Small worlds get proportionally less abuse (a quarter of the pilot shares the code…).
    n_shared = min(N_SHARED, pilot_rows.shape[0] // 4)
    n_bots = min(N_BOTS, max(pilot_rows.shape[0] // 50, 1))
    n_spike = min(SPIKE_MEMBERS, pilot_rows.shape[0] // 2)
    shared = picks[:n_shared]
    bots = picks[n_shared : n_shared + n_bots]
    spikers = picks[n_shared + n_bots : n_shared + n_bots + n_spike]

    # A screenshot of one code redeemed by many members: one extra scan each.
    shared_ts = first[shared] + (rng.random(shared.shape[0]) * (last - first)[shared] * 0.5).astype(
        np.int64
    )
    x_member = np.concatenate([enrolled, enrolled[shared]])
    x_ts = np.concatenate([first, shared_ts])
    x_site = np.concatenate([site, site[shared]])
    x_code = np.concatenate([codes, np.full(shared.shape[0], SHARED_CODE, dtype=object)])
    n_dup = min(N_DUPLICATES, x_member.shape[0] // 3)
    dup = rng.choice(x_member.shape[0], size=n_dup, replace=False)
    x_member, x_ts = np.concatenate([x_member, x_member[dup]]), np.concatenate([x_ts, x_ts[dup]])
    x_site, x_code = np.concatenate([x_site, x_site[dup]]), np.concatenate([x_code, x_code[dup]])

    # Bots: bursts of payments faster than a person can tap.
    bot_start = first[bots] + _US_PER_DAY
    gaps = (rng.uniform(0.2, 0.6, (n_bots, BOT_EVENTS)) * _US_PER_S).astype(np.int64)
    bot_ts = (bot_start[:, None] + np.cumsum(gaps, axis=1)).ravel()
    bot_member = np.repeat(enrolled[bots], BOT_EVENTS)

    # A spike: one day of the pilot with many extra payments.
    spike_day0 = start + SPIKE_DAY * _US_PER_DAY
    n_spike_events = SPIKE_EVENTS * n_spike // SPIKE_MEMBERS
    s_who = spikers[rng.integers(0, max(spikers.shape[0], 1), n_spike_events)]
    s_ts = spike_day0 + (rng.random(n_spike_events) * _US_PER_DAY).astype(np.int64)
    s_keep = (s_ts > first[s_who]) & (s_ts < last[s_who])

    e_member = np.concatenate([pay_member, bot_member, enrolled[s_who[s_keep]]])
    e_ts = np.concatenate([pay_ts, bot_ts, s_ts[s_keep]])
    keep = e_ts < stop_us[e_member]
    del n
    truth = {
        "experiment": PILOT,
        "outcome_action": OUTCOME,
        "pilot_site": SITES[0],
        "comparison_sites": list(SITES[1:]),
        "pilot_start": _iso(start),
        "pilot_end": _iso(end),
        "rate_per_day": {"pilot": RATE_PILOT, "comparison": RATE_COMPARISON},
        "enrolled": {"pilot": int((site == 0).sum()), "comparison": int((site != 0).sum())},
        "shared_code": {"code": SHARED_CODE, "members": int(shared.shape[0])},
        "bursts": {"members": sorted(int(i) for i in enrolled[bots]), "events_each": BOT_EVENTS},
        "duplicate_exposures": n_dup,
        "spike": {
            "day": _iso(spike_day0)[:10],
            "extra_events": int(s_keep.sum()),
            "members": int(n_spike),
        },
    }
    exposures = {"member": x_member, "ts": x_ts, "site": x_site, "code": x_code}
    return exposures, _events(e_member[keep], e_ts[keep]), truth


def _iso(us: int) -> str:
    return str(np.datetime64(int(us), "us").astype("datetime64[s]")) + "Z"


def plant_abuse(
    out_dir: Path, config: WorldConfig, schema: pa.Schema, members: pa.Table
) -> tuple[pa.Table, pa.Table]:
    """The pilot's payments as events rows (`schema`) and its exposures rows.

    `members` is the world's members table. Returns ``(payment events sorted by member and
    time, pilot exposures)``: the caller appends the events to ``events.parquet`` and adds the
    exposures with :func:`add_pilot_exposures` once the file is closed. The truth, with member
    ids resolved, goes to ``truth_abuse.json``.
    """
    signup, stop = observed_spans(members, config)
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(_SEED_KEY, 2)))
    x, e, truth = abuse_tables(signup, stop, config.as_of_us, rng, window_days=config.window_days)
    ids = members["member_id"]
    truth["bursts"]["members"] = [ids[i].as_py() for i in truth["bursts"]["members"]]
    n_new = x["member"].shape[0]
    new = pa.table(
        {
            "member_id": ids.take(pa.array(x["member"])),
            "ts": pa.array(x["ts"], type=pa.int64()).cast(EXPOSURES_WITH_SITE.field("ts").type),
            "experiment": pa.array([PILOT] * n_new, type=pa.string()),
            "variant": pa.array(np.where(x["site"] == 0, "pilot", "comparison"), type=pa.string()),
            "placement": pa.array(["checkout"] * n_new, type=pa.string()),
            "country": members["country"].take(pa.array(x["member"])),
            "site": pa.array(np.array(SITES, dtype=object)[x["site"]], type=pa.string()),
            "code": pa.array(x["code"], type=pa.string()),
        },
        schema=EXPOSURES_WITH_SITE,
    )
    n_ev = e["member"].shape[0]
    pays = pa.table(
        {
            "member_id": ids.take(pa.array(e["member"])),
            "ts": pa.array(e["ts"], type=pa.int64()).cast(schema.field("ts").type),
            "action": pa.array([OUTCOME] * n_ev, type=pa.string()),
            "benefit": pa.nulls(n_ev, pa.string()),
            "value": pa.nulls(n_ev, pa.float64()),
        },
        schema=schema,
    )
    (out_dir / TRUTH_FILE).write_text(json.dumps(truth, indent=2) + "\n")
    return sort_events(pays), new


def add_pilot_exposures(out_dir: Path, pilot: pa.Table) -> None:
    """Add the pilot's exposures to ``exposures.parquet`` (small: rewritten whole).

    The other experiments' rows get null ``site`` and ``code`` context columns.
    """
    path = out_dir / "exposures.parquet"
    base = pq.read_table(path)
    n_base = base.num_rows
    base = base.append_column("site", pa.nulls(n_base, pa.string())).append_column(
        "code", pa.nulls(n_base, pa.string())
    )
    rewrite_sorted(path, pa.concat_tables([base, pilot]))
