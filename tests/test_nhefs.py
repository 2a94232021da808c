"""HVA on real observational data with a published adjusted answer: NHEFS and quitting smoking.

Provenance. Hernán MA, Robins JM (2020). *Causal Inference: What If*. Boca Raton: Chapman &
Hall/CRC. Data: NHEFS, 1,629 cigarette smokers aged 25-74 at the 1971-75 baseline, followed
for death through 1992, as shipped in the ``causaldata`` PyPI package (``nhefs``). Published
figures (chapter 17, sections 17.1 and 17.4, and the book's code, Program 17.4):

* Kaplan–Meier survival at 120 months: 76.2% among quitters (``qsmk = 1``) vs 82.0% among
  non-quitters (log-rank p = 0.005);
* IP-weighted survival at 120 months (treatment model: sex, race, age, age², education,
  smokeintensity, smokeintensity², smokeyrs, smokeyrs², exercise, active, wt71, wt71²):
  80.7% vs 80.5%.

Loaded through the data contract: enrolment (1983) is ``signup_at``; a death in month *m*
(``(yrdth - 83) * 12 + modth``, as in the book) ends the membership mid-month *m*; survivors
are censored at 120 months (``as_of``); ``qsmk`` is an event ``quit_smoking`` on the signup
day, so the window is one day and the horizon is 120 months in days. The book's covariates
are member attributes: continuous ones (age, smokeintensity, smokeyrs, wt71) as numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.hva import Candidate, HvaEstimate, discover
from tenure.store import connect

pytest.importorskip("causaldata")

SIGNUP = datetime(1983, 1, 1, tzinfo=UTC)
AS_OF = datetime(1993, 1, 1, tzinfo=UTC)  # 120 months after enrolment
COVARIATES = ["sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise",
              "active", "wt71"]  # fmt: skip


def _write(folder: Path) -> Path:
    from causaldata import nhefs  # type: ignore[import-untyped]

    d = nhefs.load_pandas().data
    month = np.where(d["death"] == 1, (d["yrdth"] - 83) * 12 + d["modth"], np.nan)
    signup = pd.Timestamp(SIGNUP)
    ended = [
        pd.NaT if np.isnan(m) else signup + pd.DateOffset(months=int(m) - 1) + pd.Timedelta(days=14)
        for m in month
    ]
    members = pd.DataFrame(
        {
            "member_id": d["seqn"].astype(int).astype(str),
            "signup_at": signup,
            "ended_at": pd.to_datetime(pd.Series(ended), utc=True),
            **{c: d[c].astype(float) for c in COVARIATES},
        }
    )
    quit_ = d["qsmk"] == 1
    events = pd.DataFrame(
        {
            "member_id": members.loc[quit_.to_numpy(), "member_id"].to_numpy(),
            "ts": signup + pd.Timedelta(hours=1),
            "action": "quit_smoking",
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    members.to_parquet(folder / "members.parquet")
    events.to_parquet(folder / "events.parquet")
    return folder


@pytest.fixture(scope="module")
def quitting(tmp_path_factory: pytest.TempPathFactory) -> HvaEstimate:
    folder = _write(tmp_path_factory.mktemp("nhefs") / "nhefs")
    horizon = (AS_OF - SIGNUP).days
    result = discover(
        connect(folder, as_of=AS_OF), window=1, horizon=horizon, adjust_for=COVARIATES,
        pair_days=0, thresholds=(1,), min_support=0.0,
    )  # fmt: skip
    [row] = [e for e in result.overall() if e.candidate == Candidate("action", ("quit_smoking",))]
    return row


def test_naive_lift_equals_published_kaplan_meier(quitting: HvaEstimate) -> None:
    assert quitting.landmark == 1629 and quitting.treated == 428
    assert round(quitting.naive_treated, 3) == 0.762
    assert round(quitting.naive_control, 3) == 0.820
    assert quitting.naive_high < 0  # the naive comparison says quitting "hurts"


def test_adjusted_effect_agrees_with_ip_weighted_answer(quitting: HvaEstimate) -> None:
    published = 0.807 - 0.805
    assert quitting.adjusted_low <= published <= quitting.adjusted_high
    assert quitting.adjusted_low < 0 < quitting.adjusted_high  # does not reject 0
    assert quitting.adjusted_treated == pytest.approx(0.807, abs=0.02)
    assert quitting.adjusted_control == pytest.approx(0.805, abs=0.01)
    # The adjustment did something: age is badly imbalanced before weighting, not after.
    age = next(b for b in quitting.balance if b.covariate == "age")
    assert abs(age.before) > 0.2 and abs(age.after) < 0.1
    assert quitting.balanced and quitting.overlap and quitting.status == "ok"
