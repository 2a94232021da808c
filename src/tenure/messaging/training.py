"""What a policy learns from a dataset: each served decision with its reward, open windows too.

Two rewards, both joined from the events table in the engine
(:func:`tenure.messaging.rewards.join_rewards`):

- ``adoption``: the promoted benefit used within ``window_days``. A window still open is
  learned from as it stands — a use counts the day it happens, a "not yet" only for the
  share of the window's uses that would be visible by now (the ``seen`` column,
  :func:`~tenure.messaging.rewards.seen_share`).
- ``surrogate``: retained ``horizon_days`` after the decision, predicted from that early
  outcome by a surrogate index fitted on the log's decisions that have reached the horizon
  (:mod:`tenure.messaging.surrogate_reward`). A creative whose benefit does not keep members
  earns nothing over not adopting, however often it is taken up. Open windows are learned
  from through the adoption model above: a "not yet" is rewarded by its expected outcome.

``tenure policy train --data SRC [--reward surrogate --horizon D]`` is this plus
:meth:`ThompsonPolicy.fit <tenure.messaging.policies.thompson.ThompsonPolicy.fit>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

from tenure.errors import SpecError
from tenure.messaging.catalogue import Catalogue
from tenure.messaging.policies.thompson import ThompsonPolicy
from tenure.messaging.rewards import join_rewards, seen_share
from tenure.messaging.surrogate_reward import (
    SurrogateReward,
    fit_surrogate_index,
    surrogate_training_frame,
)
from tenure.store import Dataset

__all__ = ["REWARDS", "TrainingData", "training_data"]

REWARDS = ("adoption", "surrogate")
Reward = Literal["adoption", "surrogate"]


@dataclass(frozen=True)
class TrainingData:
    """The frame :meth:`ThompsonPolicy.fit` reads, and how its reward was made."""

    frame: pd.DataFrame
    reward: Reward
    window_days: int
    surrogate: SurrogateReward | None = None

    def describe(self) -> dict[str, object]:
        """The reward's settings, for a training summary or a snapshot."""
        out: dict[str, object] = {"reward": self.reward, "window_days": self.window_days}
        if self.surrogate is not None:
            out["horizon_days"] = self.surrogate.horizon_days
            out["historical_decisions"] = self.surrogate.n_historical
        return out


def training_data(
    dataset: Dataset,
    catalogue: Catalogue,
    *,
    reward: str = "adoption",
    window_days: int = 7,
    horizon_days: int = 180,
    factors: Sequence[str] = ("message", "image", "cta"),
    context: Sequence[str] = ("placement",),
    as_of: datetime | None = None,
) -> TrainingData:
    """Every logged decision of ``dataset`` with its reward (see the module docstring).

    ``factors`` and ``context`` are the policy's: the surrogate reward's open windows need
    the adoption model on the same design.

    Raises
    ------
    SpecError
        For an unknown ``reward``, a horizon not past the window, or too few decisions old
        enough to fit the surrogate index.
    """
    if reward not in REWARDS:
        raise SpecError(f"--reward: expected one of {', '.join(REWARDS)}, got {reward!r}")
    if window_days < 1:
        raise SpecError(f"--window: must be at least 1 day, got {window_days}")
    surrogate = reward == "surrogate"
    if surrogate and horizon_days <= window_days:
        raise SpecError(
            f"--horizon: {horizon_days} days must be longer than the --window of "
            f"{window_days} days (retention is predicted from what the window shows)"
        )
    joined = join_rewards(
        dataset,
        catalogue,
        window_days=window_days,
        as_of=as_of,
        horizon_days=horizon_days if surrogate else None,
    )
    if joined.empty:
        raise SpecError("--data: the exposures table has no decision with a creative")
    absent = [c for c in (*factors, *context) if c not in joined.columns]
    if absent:
        flag = "--context" if absent[0] in context else "--factors"
        raise SpecError(
            f"{flag}: the log has no column(s) {absent} (have {', '.join(map(str, joined.columns))})"
        )
    # Every decision, open windows too: a use counts the day it happens, a "not yet" only
    # for the share of the window's uses visible by now. Keeping early uses but dropping
    # open "not yet"s would overstate recent creatives.
    frame = joined.assign(reward=(joined["status"] == "joined").astype(float))
    frame["seen"] = seen_share(frame["elapsed_days"], frame["event_day"], window_days)
    if not surrogate:
        return TrainingData(frame, "adoption", window_days)
    index = fit_surrogate_index(joined, catalogue, horizon_days=horizon_days)
    adoption = ThompsonPolicy(factors, context).fit(frame)
    out = surrogate_training_frame(joined, index, adoption, frame["seen"].to_numpy())
    return TrainingData(out, "surrogate", window_days, index)
