"""What the decision path knows about a member: attributes and recent benefit usage.

:meth:`MemberIndex.from_dataset` runs one aggregation in the engine at start-up (uses and
money saved per member and benefit over the last 7 and 30 days before ``as_of``), then
answers look-ups from a dictionary in O(1): a decision never queries the database.
Only events at or after signup count (pre-signup history is kept in the contract but is not
use of a membership benefit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from tenure.errors import DataContractError

if TYPE_CHECKING:
    from tenure.messaging.catalogue import Catalogue
    from tenure.store import Dataset

__all__ = ["TENURE_BANDS", "MemberIndex", "MemberState", "tenure_band"]

TENURE_BANDS = ((7, "0-7d"), (30, "8-30d"), (90, "31-90d"), (365, "91-365d"))
_RESERVED = frozenset({"member_id", "signup_at", "ended_at", "fee"})


def tenure_band(days: float) -> str:
    """The tenure band of a member ``days`` after signup (a context a policy pools over).

    >>> tenure_band(3), tenure_band(45), tenure_band(800)
    ('0-7d', '31-90d', '365d+')
    """
    for upper, label in TENURE_BANDS:
        if days <= upper:
            return label
    return "365d+"


@dataclass(frozen=True, slots=True)
class MemberState:
    """A member's attributes and benefit usage in the 7 and 30 days before ``as_of``."""

    member_id: str
    attributes: Mapping[str, str]
    signup_at: datetime
    as_of: datetime
    uses_7d: Mapping[str, int] = field(default_factory=dict)
    uses_30d: Mapping[str, int] = field(default_factory=dict)
    saved_7d_by_benefit: Mapping[str, float] = field(default_factory=dict)
    saved_30d_by_benefit: Mapping[str, float] = field(default_factory=dict)

    @property
    def saved_7d(self) -> float:
        """Money saved over all benefits in the last 7 days."""
        return float(sum(self.saved_7d_by_benefit.values()))

    @property
    def saved_30d(self) -> float:
        """Money saved over all benefits in the last 30 days."""
        return float(sum(self.saved_30d_by_benefit.values()))

    def tenure_days(self, now: datetime) -> float:
        """Days since signup at ``now``."""
        return (now - self.signup_at).total_seconds() / 86_400

    def context(self, now: datetime) -> dict[str, str]:
        """The member's attributes plus ``tenure_band`` at ``now``."""
        return {**self.attributes, "tenure_band": tenure_band(self.tenure_days(now))}


@dataclass(frozen=True)
class MemberIndex:
    """Member states by id, built once; ``get`` is a dictionary look-up."""

    states: Mapping[str, MemberState]
    as_of: datetime

    def get(self, member_id: str) -> MemberState | None:
        """The member's state, or ``None`` for an unknown member."""
        return self.states.get(member_id)

    def __len__(self) -> int:
        return len(self.states)

    @classmethod
    def from_dataset(
        cls,
        dataset: Dataset,
        *,
        as_of: datetime | None = None,
        catalogue: Catalogue | None = None,
    ) -> MemberIndex:
        """Aggregate usage per member and benefit in the engine and index the result.

        Parameters
        ----------
        dataset
            An opened dataset (``tenure.store.connect``).
        as_of
            The end of the 7/30-day windows; defaults to the dataset's ``as_of``.
        catalogue
            Maps event actions to benefits when the events table has no ``benefit`` column.
        """
        end = as_of or dataset.as_of
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        m = dataset.members
        attr_cols = [c for c in m.columns if c not in _RESERVED and m[c].type().is_string()]
        mem = m.select("member_id", "signup_at", *attr_cols).to_pandas()
        usage = _usage(dataset, end, catalogue)
        by_member: dict[str, list[tuple[str, int, int, float, float]]] = {}
        for mid_, ben, n7, n30, v7, v30 in zip(
            usage["member_id"].astype(str),
            usage["benefit"].astype(str),
            usage["n7"].to_numpy(dtype="int64"),
            usage["n30"].to_numpy(dtype="int64"),
            usage["v7"].to_numpy(dtype="float64"),
            usage["v30"].to_numpy(dtype="float64"),
            strict=True,
        ):
            by_member.setdefault(mid_, []).append((ben, int(n7), int(n30), float(v7), float(v30)))
        states: dict[str, MemberState] = {}
        # Plain Python rows up front: indexing pandas per member (.iloc) cost ~0.4 ms each,
        # 44 s for a 100k-member world.
        attrs = mem[attr_cols].astype("string").astype(object).to_numpy()
        signups = pd.DatetimeIndex(pd.to_datetime(mem["signup_at"], utc=True)).to_pydatetime()
        for i, mid in enumerate(mem["member_id"].astype(str)):
            rows = by_member.get(mid, [])
            states[mid] = MemberState(
                member_id=mid,
                attributes={
                    c: str(v) for c, v in zip(attr_cols, attrs[i], strict=True) if not pd.isna(v)
                },
                signup_at=signups[i],
                as_of=end,
                uses_7d={b: n7 for b, n7, _, _, _ in rows if n7},
                uses_30d={b: n30 for b, _, n30, _, _ in rows if n30},
                saved_7d_by_benefit={b: v7 for b, _, _, v7, _ in rows if v7},
                saved_30d_by_benefit={b: v30 for b, _, _, _, v30 in rows if v30},
            )
        return cls(states=states, as_of=end)


def _usage(dataset: Dataset, end: datetime, catalogue: Catalogue | None) -> pd.DataFrame:
    """Uses and money saved per (member, benefit) in the last 7 and 30 days, in the engine."""
    cols = ["member_id", "benefit", "n7", "n30", "v7", "v30"]
    e = dataset.events
    if e is None:
        return pd.DataFrame(columns=cols)
    if "benefit" in e.columns:
        e = e.mutate(_benefit=e.benefit)
    elif catalogue is not None:
        mapping = catalogue.action_benefits()
        e = e.mutate(_benefit=e.action.substitute(mapping, else_=ibis.null("string")))
    else:
        raise DataContractError(
            "the events table has no benefit column: pass a catalogue to map actions to benefits"
        )
    start = end - timedelta(days=30)
    week = end - timedelta(days=7)
    e = e.filter(e._benefit.notnull(), e.ts > start, e.ts <= end)
    m = dataset.members.select("member_id", "signup_at")
    e = e.join(m, "member_id").filter(lambda t: t.ts >= t.signup_at)
    value = e.value.fill_null(0.0) if "value" in e.columns else ibis.literal(0.0)
    in7 = e.ts > week
    out = e.group_by(["member_id", e._benefit.name("benefit")]).agg(
        n7=in7.cast("int64").sum(),
        n30=e.count(),
        v7=ibis.ifelse(in7, value, 0.0).sum(),
        v30=value.sum(),
    )
    frame: pd.DataFrame = out.to_pandas()
    return frame
