"""Usage events of a cohort: ``app.open`` navigation and benefit actions, through tenure.

Events are Poisson processes on per-member intervals, generated for all members and actions
at once (no loop over members). Within the first week only adopters use a benefit: one
first use on the drawn day, plus ``Poisson(w (1 + 0.2 min(d0, 6)))`` further uses, which
depend on observed day-0 activity only. After the week, usage rates rise with latent
engagement and adoption. Nothing is observed after the member's end or ``as_of``.

Events are packed into one int64 sort key per event (member, millisecond, action code) so a
single `numpy.sort` orders them by member and time without carrying index arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import FloatArray, IntArray
from tenure.simulate import adoption as ad
from tenure.simulate import catalogue as cat
from tenure.simulate import experiments as ex
from tenure.simulate.cohort import Cohort

_MS_PER_DAY = 86_400_000
_CODE_BITS = 5
_TS_BITS = 37
_TS_MASK = (1 << _TS_BITS) - 1
_WINDOW_EXTRA = np.array([a.window_extra for a in cat.ACTIONS])
_RATE = np.array([a.rate for a in cat.ACTIONS])
_SHIPPING = cat.action_index("shipping.order")
_WINDOW = 7.0


@dataclass(frozen=True, slots=True)
class Events:
    """Events of one cohort, sorted by member then time."""

    member: IntArray  # index within the cohort
    ts_us: IntArray  # microseconds since the epoch (millisecond resolution)
    code: IntArray  # index into catalogue.EVENT_ACTIONS
    value: FloatArray  # money saved, NaN where the action carries no value

    def __len__(self) -> int:
        return int(self.member.shape[0])


def _interval(
    rng: np.random.Generator, start: FloatArray, length: FloatArray, rate: FloatArray
) -> tuple[IntArray, FloatArray]:
    """Poisson events on ``[start, start + length)`` per cell of flat arrays.

    Returns the flat cell index and the time (days since signup) of every event.
    """
    length = np.maximum(length, 0.0)
    counts = rng.poisson(rate * length)
    cells = np.repeat(np.arange(counts.shape[0]), counts)
    t = start[cells] + rng.random(cells.shape[0]) * length[cells]
    return cells, t


def _engagement(z: FloatArray, beta: float) -> FloatArray:
    """Mean-one multiplier of usage rates by latent engagement."""
    return np.exp(beta * z - 0.5 * beta * beta)


def cohort_events(cohort: Cohort, rng: np.random.Generator, start_us: int) -> Events:
    """Generate and sort the events of `cohort`.

    Parameters
    ----------
    cohort : Cohort
        The simulated chunk (factual adoption, ends and assignments).
    rng : numpy.random.Generator
        The chunk's event stream.
    start_us : int
        World start; event times are packed relative to it.

    Returns
    -------
    Events
    """
    n, n_act = len(cohort), cat.N_ACTIONS
    z, d0 = cohort.members.z, cohort.d0
    stop = np.minimum(cohort.end, cohort.as_of_day)  # observation ends here (days)
    rows = np.arange(n)
    keys: list[IntArray] = []
    signup_ms = (cohort.members.signup_us - start_us) // 1000

    def pack(member: IntArray, t: FloatArray, code: IntArray | int) -> None:
        ts = signup_ms[member] + (t * _MS_PER_DAY).astype(np.int64)
        keys.append((member << (_TS_BITS + _CODE_BITS)) | (ts << _CODE_BITS) | code)

    # app.open: the day-0 count, then a rate driven by engagement until the end.
    m = np.repeat(rows, d0)
    pack(m, rng.random(m.shape[0]), 0)
    open_rate = cat.OPEN_RATE * _engagement(z, cat.OPEN_Z)
    activity = cohort.members.activity  # heavy-tailed activity convention; None today
    if activity is not None:
        open_rate = open_rate * activity
    m, t = _interval(rng, np.ones(n), stop - 1.0, open_rate)
    pack(m, t, 0)

    # Benefit actions, all (member, action) cells at once; cell = member * n_act + action.
    first = (cohort.first_day + rng.random((n, n_act))).ravel()
    stop_cell = np.repeat(stop, n_act)
    used = cohort.adopted.ravel() & (first < stop_cell)
    cell = np.flatnonzero(used)
    pack(cell // n_act, first[cell], 1 + cell % n_act)
    d0c = (
        np.minimum(d0, cat.DAY0_CAP)
        if cohort.d0_scale == 1.0
        else ad.day0_signal(d0, cohort.d0_scale)
    )
    extra = (_WINDOW_EXTRA[None, :] * (1.0 + 0.2 * d0c)[:, None]).ravel()
    if activity is not None:
        extra = extra * np.repeat(activity, n_act)
    w_len = np.minimum(_WINDOW, stop_cell) - first
    c, t = _interval(rng, first[cell], w_len[cell], extra[cell] / (_WINDOW - first[cell]))
    pack(cell[c] // n_act, t, 1 + cell[c] % n_act)

    base = _RATE[None, :] * _engagement(z, cat.USE_Z)[:, None]
    base = base * np.where(cohort.adopted, 1.0, cat.NON_ADOPTER_RATE)
    if activity is not None:
        base = base * activity[:, None]
    c, t = _interval(rng, np.full(n * n_act, _WINDOW), stop_cell - _WINDOW, base.ravel())
    pack(c // n_act, t, 1 + c % n_act)

    # Upsell banner: extra shipping orders after exposure for the upsell arm.
    up = np.flatnonzero((cohort.assign.up_arm == 1) & (cohort.assign.up_day < stop))
    up_start = cohort.assign.up_day[up]
    up_rate = base[up, _SHIPPING] * (ex.UPSELL_SHIPPING_MULT - 1.0)
    c, t = _interval(rng, up_start, stop[up] - up_start, up_rate)
    pack(up[c], t, 1 + _SHIPPING)

    key = np.sort(np.concatenate(keys))
    code = key & ((1 << _CODE_BITS) - 1)
    ts_us = start_us + ((key >> _CODE_BITS) & _TS_MASK) * 1000
    member = key >> (_TS_BITS + _CODE_BITS)
    mean = cat.VALUE_MEAN[code]
    has = ~np.isnan(mean)
    value = np.full(key.shape[0], np.nan)
    noise = rng.standard_normal(int(has.sum()))
    s = cat.VALUE_SIGMA
    value[has] = np.round(mean[has] * np.exp(s * noise - 0.5 * s * s), 2)
    return Events(member, ts_us, code, value)
