#!/usr/bin/env python3
"""Time Open Bandit Pipeline 0.4.0 computing the estimators `arbiter evaluate` computes.

Why: the speed target of offline evaluation is stated against obp, measured on the same
data in the same run (Benchmarks/evaluation.sh runs this next to `arbiter-bench
evaluate`).

    python3 tools/obp-speed.py --obd LOG --items ITEMS --rounds N --bootstrap B

It runs in `.deps/obp-venv` (see comparison_support.py). The log is tiled to N rounds
(for speed only), as `arbiter-bench evaluate` does, and two candidates are evaluated:
uniform, and twice the weight on even item ids. Timed per candidate: obp's IPW, SNIPW,
DM, DR, SNDR and SwitchDR (tau 1), each `estimate_policy_value` and, when B > 0,
`estimate_interval(n_bootstrap_samples=B, random_state=1)`. Not timed (favouring obp):
reading the CSV, building the (N, n_actions, 3) action-distribution and reward-model
arrays that obp needs as inputs (Arbiter's timing includes fitting its reward model).
Prints one JSON line with rounds/s (rounds × candidates / seconds).
"""

import argparse
import json
import time

import comparison_support

REQUIREMENTS = ("obp==0.4.0", "pandas<3", "numpy<2.3", "scikit-learn<1.8")

if __name__ == "__main__":
    comparison_support.reexec_in_venv("obp-venv", REQUIREMENTS)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from obp.ope import (  # noqa: E402
    DirectMethod, DoublyRobust, InverseProbabilityWeighting,
    SelfNormalizedDoublyRobust, SelfNormalizedInverseProbabilityWeighting, SwitchDoublyRobust)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obd", required=True)
    parser.add_argument("--items", required=True)
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=0)
    args = parser.parse_args()

    frame = pd.read_csv(args.obd, index_col=0, float_precision="round_trip")
    n_actions = len(pd.read_csv(args.items, index_col=0))
    reps = -(-args.rounds // len(frame))
    action = np.tile(frame["item_id"].to_numpy(dtype=int), reps)[: args.rounds]
    position = np.tile(frame["position"].to_numpy(dtype=int) - 1, reps)[: args.rounds]
    reward = np.tile(frame["click"].to_numpy(dtype=float), reps)[: args.rounds]
    pscore = np.tile(frame["propensity_score"].to_numpy(dtype=float), reps)[: args.rounds]
    n = args.rounds
    # A constant reward model: obp's estimators cost the same whatever q̂ holds.
    q_hat = np.broadcast_to(np.full((n_actions, 3), reward.mean()), (n, n_actions, 3))
    weights = np.where(np.arange(n_actions) % 2 == 0, 2.0, 1.0)
    candidates = {"uniform": np.full(n_actions, 1 / n_actions), "skewed": weights / weights.sum()}
    estimators = [InverseProbabilityWeighting(), SelfNormalizedInverseProbabilityWeighting(), DirectMethod(),
                  DoublyRobust(), SelfNormalizedDoublyRobust(), SwitchDoublyRobust(tau=1.0)]
    seconds = 0.0
    values = {}
    for name, dist in candidates.items():
        action_dist = np.broadcast_to(dist[:, None], (n, n_actions, 3))
        inputs = dict(reward=reward, action=action, position=position, pscore=pscore, action_dist=action_dist,
                      estimated_rewards_by_reg_model=q_hat)
        started = time.perf_counter()
        for estimator in estimators:
            values[f"{name}/{estimator.estimator_name}"] = float(estimator.estimate_policy_value(**inputs))
            if args.bootstrap > 0:
                estimator.estimate_interval(**inputs, n_bootstrap_samples=args.bootstrap, random_state=1)
        seconds += time.perf_counter() - started
    print(json.dumps({"benchmark": "obp", "rounds": n, "candidates": len(candidates), "bootstrap": args.bootstrap,
                      "seconds": seconds, "rounds_per_s": n * len(candidates) / seconds,
                      "dr_uniform": values["uniform/dr"], "dr_skewed": values["skewed/dr"]}))


if __name__ == "__main__":
    main()
