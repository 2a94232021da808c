r"""Deterministic assignment: the same member always lands in the same arm, with no state.

Three independent hashes of the member id decide, in order:

1. **Global holdout** — ``u(holdout.salt, id) < holdout.fraction`` sees no experiment, so the
   cumulative effect of everything shipped can be measured against it.
2. **Layer** — experiments sharing a layer own disjoint ranges of ``u(layer.name, id)``, so a
   member is in at most one of them (mutually exclusive tests on the same surface).
3. **Variant** — weighted rendezvous hashing (highest random weight): every arm draws
   :math:`u_i = u(\text{salt}, i, \text{id})` and the member goes to

   .. math:: \arg\min_i \; \frac{-\ln u_i}{w_i},

   an exponential race won by arm *i* with probability :math:`w_i / \sum_j w_j`.

Why rendezvous rather than cutting ``[0, 1)`` by cumulative weights: when one arm's weight
changes, members move only *to or from that arm*; nobody moves between two other arms, and
adding an arm only takes members from the others. A cumulative cut reshuffles every arm
after the one that changed. Changing weights still biases a running test (the arms then
differ in exposure date), which is why a spec should restart after a weight change; the
stability only keeps members' experience consistent.

``u`` is BLAKE2b of ``salt \x1f key`` (64 bits) mapped to the open interval (0, 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray
from tenure.errors import SpecError
from tenure.experiments.spec import ExperimentSpec
from tenure.results import Result, json_safe

__all__ = ["Assignment", "assign", "unit_hash"]

_SEP = "\x1f"
_TWO64 = float(2**64)


def unit_hash(salt: str, keys: Iterable[str]) -> FloatArray:
    """Uniform (0, 1) numbers, one per key, determined by ``(salt, key)`` alone.

    Examples
    --------
    >>> u = unit_hash("exp", ["m1", "m2"])
    >>> bool(((u > 0) & (u < 1)).all()), bool(u[0] == unit_hash("exp", ["m1"])[0])
    (True, True)
    """
    prefix = (salt + _SEP).encode()
    raw = [
        int.from_bytes(hashlib.blake2b(prefix + k.encode(), digest_size=8).digest(), "big")
        for k in keys
    ]
    return (np.asarray(raw, dtype=np.float64) + 0.5) / _TWO64


@dataclass(frozen=True, repr=False)
class Assignment(Result):
    """Arms for a batch of members.

    ``variant`` is the arm name, or ``""`` for members not in the experiment; ``reason`` says
    why they are out (``"holdout"`` or ``"layer"``), ``""`` for members in it. ``params``
    records the salt, weights, holdout and layer the arms were drawn with.
    """

    kind: ClassVar[str] = "assignment"
    experiment: str
    member_id: npt.NDArray[np.str_]
    variant: npt.NDArray[np.str_]
    reason: npt.NDArray[np.str_]
    params: Mapping[str, Any]

    def counts(self) -> dict[str, int]:
        """Members per arm (and per reason for those out)."""
        labels = np.where(self.variant != "", self.variant, "(" + self.reason + ")")
        names, n = np.unique(labels, return_counts=True)
        return {str(k): int(v) for k, v in zip(names, n, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        """One row per member."""
        return pd.DataFrame(
            {"member_id": self.member_id, "variant": self.variant, "reason": self.reason}
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the counts and each member's arm."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "experiment": self.experiment,
            "counts": self.counts(),
            "assignments": [
                {"member_id": str(m), "variant": str(v) or None, "reason": str(r) or None}
                for m, v, r in zip(self.member_id, self.variant, self.reason, strict=True)
            ],
        }


def variant_index(
    salt: str, member_ids: Sequence[str], weights: npt.ArrayLike
) -> npt.NDArray[np.intp]:
    """Index of each member's arm by weighted rendezvous hashing (see the module docstring)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or np.any(~(w > 0)):
        raise SpecError("variants: weights must be positive")
    scores = np.empty((len(member_ids), len(w)))
    for i in range(len(w)):  # a handful of arms; each column is one vectorised hash pass
        scores[:, i] = -np.log(unit_hash(f"{salt}{_SEP}{i}", member_ids)) / w[i]
    return np.argmin(scores, axis=1) if len(member_ids) else np.zeros(0, dtype=np.intp)


def assign(spec: ExperimentSpec, member_ids: Iterable[str]) -> Assignment:
    """Assign members to the arms of `spec`, honouring its global holdout and layer.

    An arm's hash is keyed by its position, so renaming an arm keeps its members and
    appending an arm only draws members from the others; reordering arms reshuffles.

    Examples
    --------
    >>> from tenure.experiments.spec import parse_spec
    >>> spec = parse_spec({"name": "demo", "hypothesis": "h",
    ...     "variants": [{"name": "control"}, {"name": "treatment"}],
    ...     "primary": {"name": "r", "kind": "retention", "horizon_days": 30,
    ...                 "threshold": {"value": 0.01}}})
    >>> assign(spec, ["m1", "m2", "m3"]).variant.tolist()
    ['control', 'control', 'control']
    """
    ids = np.asarray([str(m) for m in member_ids], dtype=np.str_)
    keys = ids.tolist()
    reason = np.full(len(ids), "", dtype="<U7")
    if spec.holdout is not None and spec.holdout.fraction > 0:
        reason[unit_hash(spec.holdout.salt, keys) < spec.holdout.fraction] = "holdout"
    if spec.layer is not None:
        lo, hi = spec.layer.range
        u = unit_hash(spec.layer.name, keys)
        reason[(reason == "") & ~((u >= lo) & (u < hi))] = "layer"
    names = np.asarray([v.name for v in spec.variants], dtype=np.str_)
    idx = variant_index(spec.hash_salt, keys, [v.weight for v in spec.variants])
    variant = np.where(reason == "", names[idx] if len(ids) else names[:0], "")
    params = {
        "salt": spec.hash_salt,
        "weights": spec.weights,
        "holdout": spec.holdout.model_dump() if spec.holdout else None,
        "layer": spec.layer.model_dump() if spec.layer else None,
    }
    return Assignment(spec.name, ids, variant.astype(np.str_), reason.astype(np.str_), params)
