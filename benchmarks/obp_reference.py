"""Freeze Open Bandit Pipeline's off-policy estimates on the real Open Bandit Dataset sample.

Runs under obp's own Python (obp 0.5.7 needs Python < 3.10), never under Tenure's::

    ~/.pyenv/versions/3.9.18/bin/python -m venv benchmarks/_work/obp-venv
    benchmarks/_work/obp-venv/bin/pip install obp==0.5.7 "matplotlib<3.8"
    benchmarks/_work/obp-venv/bin/python benchmarks/obp_reference.py

It writes ``tests/fixtures/obd/``: the four logs the tests need (item_id, position, click,
propensity_score of the OBD sample shipped inside the obp sdist, in obp's timestamp order),
the Bernoulli-TS target policy obp computes (action, position, prob) and ``reference.json``
with obp's IPS / SNIPS / DM / DR and bootstrap intervals for the issue's four cases:
Bernoulli TS evaluated on the uniform-random logs (campaign all) and the uniform policy
evaluated on the Bernoulli-TS logs (all / men / women).

DM and DR need a reward model. Both tools are given the same one, computed here in numpy:
the click rate of each (item, position) cell shrunk toward the log's overall click rate with
``PRIOR_STRENGTH`` pseudo-rounds, so DM and DR must agree exactly too.

``--switch`` instead reads those frozen fixtures back and freezes obp's
``SwitchDoublyRobust`` on them (same reward model, several ``lambda_``) to
``tests/messaging/obd_switch_reference.json``.

``--time N`` instead times obp's estimators on N synthetic rounds and prints JSON (used by
``benchmarks/bench_messaging.py`` to compare speeds in the same run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "obd"
PRIOR_STRENGTH = 10.0
N_SIM = 100_000
RANDOM_STATE = 12345
N_BOOTSTRAP = 10_000
CASES = (
    # (name, behavior policy of the log, campaign, target policy)
    ("bts_on_random_all", "random", "all", "bts"),
    ("uniform_on_bts_all", "bts", "all", "uniform"),
    ("uniform_on_bts_men", "bts", "men", "uniform"),
    ("uniform_on_bts_women", "bts", "women", "uniform"),
)


def cell_model(action: np.ndarray, position: np.ndarray, reward: np.ndarray, n_actions: int,
               len_list: int) -> np.ndarray:  # fmt: skip
    """(n_actions, len_list) click rates shrunk toward the overall rate."""
    cell = action * len_list + position
    size = n_actions * len_list
    n = np.bincount(cell, minlength=size).astype(float)
    s = np.bincount(cell, weights=reward.astype(float), minlength=size)
    mean = reward.mean()
    return ((s + PRIOR_STRENGTH * mean) / (n + PRIOR_STRENGTH)).reshape(n_actions, len_list)


def reference() -> None:
    import obp
    import pandas as pd
    from obp.dataset import OpenBanditDataset
    from obp.ope import (
        DirectMethod,
        DoublyRobust,
        InverseProbabilityWeighting,
        OffPolicyEvaluation,
        SelfNormalizedInverseProbabilityWeighting,
    )
    from obp.policy import BernoulliTS, Random

    OUT.mkdir(parents=True, exist_ok=True)
    doc: dict = {
        "command": "benchmarks/_work/obp-venv/bin/python benchmarks/obp_reference.py",
        "obp_version": obp.__version__,
        "python": sys.version.split()[0],
        "n_sim": N_SIM,
        "random_state": RANDOM_STATE,
        "n_bootstrap_samples": N_BOOTSTRAP,
        "reward_model": {
            "kind": "cell_mean",
            "cells": ["action", "position"],
            "prior_strength": PRIOR_STRENGTH,
        },
        "licence": "Open Bandit Dataset (ZOZO, Inc.), CC BY 4.0",
        "cases": {},
    }
    written: set[str] = set()
    for name, behavior, campaign, target in CASES:
        ds = OpenBanditDataset(behavior_policy=behavior, campaign=campaign)
        fb = ds.obtain_batch_bandit_feedback()
        n, n_actions, len_list = fb["n_rounds"], ds.n_actions, ds.len_list
        log_name = f"{behavior}_{campaign}.csv.gz"
        if log_name not in written:
            raw = ds.data  # obp's own frame, sorted by timestamp
            pd.DataFrame({
                "item_id": raw["item_id"].to_numpy(),
                "position": raw["position"].to_numpy(),
                "click": raw["click"].to_numpy(),
                "propensity_score": raw["propensity_score"].to_numpy(),
            }).to_csv(OUT / log_name, index=False, float_format="%.17g")  # fmt: skip
            written.add(log_name)
        if target == "bts":
            policy = BernoulliTS(n_actions=n_actions, len_list=len_list,
                                 is_zozotown_prior=True, campaign=campaign,
                                 random_state=RANDOM_STATE)  # fmt: skip
            action_dist = policy.compute_batch_action_dist(n_rounds=n, n_sim=N_SIM)
            table_name = f"bts_policy_{campaign}.csv"
            a, p = np.meshgrid(np.arange(n_actions), np.arange(len_list), indexing="ij")
            pd.DataFrame({
                "action": a.ravel(),
                "position": p.ravel() + 1,  # the log's own coding (1, 2, 3)
                "prob": action_dist[0].ravel(),
            }).to_csv(OUT / table_name, index=False, float_format="%.17g")  # fmt: skip
        else:
            action_dist = Random(n_actions=n_actions, len_list=len_list,
                                 random_state=RANDOM_STATE).compute_batch_action_dist(n_rounds=n)  # fmt: skip
            table_name = None
        q = cell_model(fb["action"], fb["position"], fb["reward"], n_actions, len_list)
        q_all = np.broadcast_to(q, (n, n_actions, len_list))
        ope = OffPolicyEvaluation(
            bandit_feedback=fb,
            ope_estimators=[InverseProbabilityWeighting(),
                            SelfNormalizedInverseProbabilityWeighting(),
                            DirectMethod(), DoublyRobust()],
        )  # fmt: skip
        values = ope.estimate_policy_values(action_dist=action_dist,
                                            estimated_rewards_by_reg_model=q_all)  # fmt: skip
        intervals = ope.estimate_intervals(action_dist=action_dist,
                                           estimated_rewards_by_reg_model=q_all,
                                           n_bootstrap_samples=N_BOOTSTRAP,
                                           random_state=RANDOM_STATE)  # fmt: skip
        doc["cases"][name] = {
            "log": log_name,
            "behavior_policy": behavior,
            "campaign": campaign,
            "target": target if table_name is None else table_name,
            "n_rounds": int(n),
            "n_actions": int(n_actions),
            "len_list": int(len_list),
            "logged_value": float(fb["reward"].mean()),
            "estimates": {k: float(v) for k, v in values.items()},
            "bootstrap_95": {
                k: [float(v["95.0% CI (lower)"]), float(v["95.0% CI (upper)"])]
                for k, v in intervals.items()
            },
        }
        print(name, doc["cases"][name]["estimates"], flush=True)
    (OUT / "reference.json").write_text(json.dumps(doc, indent=1) + "\n")
    (OUT / "LICENSE.md").write_text(
        "The `*.csv.gz` files here are columns of the Open Bandit Dataset sample shipped in the\n"
        "`obp==0.5.7` sdist (`obp/dataset/obd/`): real logs of ZOZOTOWN's fashion recommendation\n"
        "widget by ZOZO, Inc., licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).\n"
        "Saito et al., 'Open Bandit Dataset and Pipeline', NeurIPS Datasets and Benchmarks 2021.\n"
        "`reference.json` and `bts_policy_all.csv` are obp's outputs on them; see\n"
        "`benchmarks/obp_reference.py` for the command.\n"
    )


SWITCH_LAMBDAS = (2.0, 10.0, 50.0)
SWITCH_OUT = ROOT / "tests" / "messaging" / "obd_switch_reference.json"


def switch() -> None:
    """obp's Switch-DR on the frozen OBD fixtures (written by ``reference``)."""
    import obp
    import pandas as pd
    from obp.ope import OffPolicyEvaluation, SwitchDoublyRobust

    ref = json.loads((OUT / "reference.json").read_text())
    doc: dict = {
        "command": "benchmarks/_work/obp-venv/bin/python benchmarks/obp_reference.py --switch",
        "obp_version": obp.__version__,
        "python": sys.version.split()[0],
        "lambdas": list(SWITCH_LAMBDAS),
        "reward_model": ref["reward_model"],
        "cases": {},
    }
    for name, case in ref["cases"].items():
        raw = pd.read_csv(OUT / case["log"])
        n, n_actions, len_list = len(raw), case["n_actions"], case["len_list"]
        action = raw["item_id"].to_numpy()
        position = raw["position"].to_numpy() - 1  # obp's positions are 0-based
        reward = raw["click"].to_numpy()
        if case["target"] == "uniform":
            dist = np.full((n_actions, len_list), 1.0 / n_actions)
        else:
            t = pd.read_csv(OUT / case["target"])
            dist = np.zeros((n_actions, len_list))
            dist[t["action"].to_numpy(), t["position"].to_numpy() - 1] = t["prob"].to_numpy()
        fb = {"n_rounds": n, "n_actions": n_actions, "action": action, "position": position,
              "reward": reward, "pscore": raw["propensity_score"].to_numpy(),
              "context": np.zeros((n, 1))}  # fmt: skip
        q = cell_model(action, position, reward, n_actions, len_list)
        ope = OffPolicyEvaluation(
            bandit_feedback=fb,
            ope_estimators=[SwitchDoublyRobust(lambda_=lam, estimator_name=f"switch-dr-{lam:g}")
                            for lam in SWITCH_LAMBDAS],
        )  # fmt: skip
        values = ope.estimate_policy_values(
            action_dist=np.broadcast_to(dist, (n, n_actions, len_list)),
            estimated_rewards_by_reg_model=np.broadcast_to(q, (n, n_actions, len_list)),
        )
        doc["cases"][name] = {k: float(v) for k, v in values.items()}
        print(name, doc["cases"][name], flush=True)
    SWITCH_OUT.write_text(json.dumps(doc, indent=1) + "\n")


def timing(n: int, n_actions: int) -> None:
    from obp.ope import (
        DirectMethod,
        DoublyRobust,
        InverseProbabilityWeighting,
        OffPolicyEvaluation,
        SelfNormalizedInverseProbabilityWeighting,
    )

    rng = np.random.default_rng(0)
    action = rng.integers(n_actions, size=n)
    reward = rng.binomial(1, 0.1, size=n).astype(float)
    pscore = np.full(n, 1.0 / n_actions)
    dist = rng.dirichlet(np.ones(n_actions), size=n)[:, :, None]
    q = np.full((n, n_actions, 1), 0.1)
    fb = {"n_rounds": n, "n_actions": n_actions, "action": action, "reward": reward,
          "pscore": pscore, "position": None, "context": np.zeros((n, 1))}  # fmt: skip
    ope = OffPolicyEvaluation(
        bandit_feedback=fb,
        ope_estimators=[InverseProbabilityWeighting(),
                        SelfNormalizedInverseProbabilityWeighting(),
                        DirectMethod(), DoublyRobust()],
    )  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    values = ope.estimate_policy_values(action_dist=dist, estimated_rewards_by_reg_model=q)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"n": n, "n_actions": n_actions, "seconds": seconds, "cpu": cpu,
                      "ips": float(values["ipw"])}))  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time", type=int, default=0, help="time obp on N synthetic rounds")
    parser.add_argument("--actions", type=int, default=10)
    parser.add_argument("--switch", action="store_true", help="freeze obp's Switch-DR")
    args = parser.parse_args()
    if args.switch:
        switch()
    elif args.time:
        timing(args.time, args.actions)
    else:
        reference()
