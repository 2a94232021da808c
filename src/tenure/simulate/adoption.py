"""Early adoption of benefits: the treatment a high-value-action analysis studies.

The adoption model is deliberately *identifiable*: the log-odds of using benefit ``a`` in the
first seven days are main effects of the observed attributes (channel, country, plan, age band)
plus a linear term in ``min(day-0 app.open count, 6)``, plus randomised experiment offsets, plus
independent logistic noise. Latent engagement enters only through day-0 activity, so adjusting
for the attributes and day-0 activity removes all confounding. Because day-0 activity is
strongly driven by engagement, naive comparisons are heavily confounded.

Everything here is pure: uniforms are drawn once by the caller and reused for counterfactuals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tenure._types import BoolArray, FloatArray, IntArray
from tenure.simulate import catalogue as cat
from tenure.simulate.members import Members

_TABLES = cat.adoption_tables()
_INTERCEPT = np.array([a.adopt_intercept for a in cat.ACTIONS])
_D0_SLOPE = np.array([a.adopt_day0_slope for a in cat.ACTIONS])


@dataclass(frozen=True, slots=True)
class AdoptionUniforms:
    """Pre-drawn uniforms for adoption and first-use day, each shaped (members, actions)."""

    adopt: FloatArray
    day0: FloatArray
    day: FloatArray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int) -> AdoptionUniforms:
        """Draw the uniforms for `n` members."""
        shape = (n, cat.N_ACTIONS)
        return cls(rng.random(shape), rng.random(shape), rng.random(shape))


def day0_opens(
    rng: np.random.Generator,
    z: FloatArray,
    scale: float = 1.0,
    activity: FloatArray | None = None,
) -> IntArray:
    """Day-0 ``app.open`` count: Poisson with log-rate linear in latent engagement.

    ``scale`` (first-session size) and ``activity`` (heavy-tailed multiplier) are convention
    knobs; at their defaults the draw is today's.
    """
    lam = np.exp(cat.DAY0_OPEN_INTERCEPT + cat.DAY0_OPEN_Z * z)
    if scale != 1.0:
        lam = lam * scale
    if activity is not None:
        lam = lam * activity
    return rng.poisson(lam).astype(np.int64)


def day0_signal(d0: IntArray, scale: float = 1.0) -> FloatArray:
    """What adoption reads of day-0 activity: ``min(d0 / scale, 6)`` (``min(d0, 6)`` today)."""
    if scale == 1.0:
        return np.minimum(d0, cat.DAY0_CAP).astype(np.float64)
    return np.minimum(d0 / scale, float(cat.DAY0_CAP))


def adoption_logits(
    members: Members, d0: IntArray, offsets: FloatArray, scale: float = 1.0
) -> FloatArray:
    r"""Log-odds of early adoption of each action, shaped (members, actions).

    .. math::
        \eta_{ia} = \alpha_a + \beta^{ch}_{a,c_i} + \beta^{co}_{a,k_i} + \beta^{pl}_{a,p_i}
        + \beta^{age}_{a,g_i} + \delta_a \min(d0_i, 6) + o_{ia}

    Parameters
    ----------
    members : Members
        Observed attributes (``z`` is not used).
    d0 : array of int
        Day-0 ``app.open`` counts.
    offsets : array, shape (members, actions)
        Randomised experiment offsets (zero when unexposed).
    scale : float
        First-session scale of the world: the model reads ``min(d0 / scale, 6)``.

    Returns
    -------
    numpy.ndarray
    """
    ch, co, pl, ag = _TABLES
    d0c = day0_signal(d0, scale)
    eta = ch[members.channel] + co[members.country] + pl[members.plan] + ag[members.age_band]
    eta += _INTERCEPT[None, :] + d0c[:, None] * _D0_SLOPE[None, :]
    eta += offsets
    return eta


def adopt(logits: FloatArray, u: FloatArray) -> BoolArray:
    """Adoption indicators: ``u < sigmoid(logits)``, the logistic-noise threshold model."""
    return u < 1.0 / (1.0 + np.exp(-logits))


def first_days(d0: IntArray, uniforms: AdoptionUniforms, scale: float = 1.0) -> IntArray:
    """Day (0-6) of first use *if* adopted, shaped (members, actions).

    Day 0 with probability ``sigmoid(a + b min(d0, 6))``, otherwise uniform on days 1-6:
    it depends on observed day-0 activity only, so the day-0 pair is identifiable too.
    """
    d0c = day0_signal(d0, scale)
    p0 = 1.0 / (1.0 + np.exp(-(cat.FIRST_DAY0_INTERCEPT + cat.FIRST_DAY0_SLOPE * d0c)))
    later = 1 + np.minimum((uniforms.day * 6).astype(np.int64), 5)
    return np.where(uniforms.day0 < p0[:, None], 0, later)
