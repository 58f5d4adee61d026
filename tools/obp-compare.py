#!/usr/bin/env python3
"""Validate `arbiter evaluate` on the Open Bandit Dataset against Open Bandit Pipeline 0.4.0.

Why: off-policy estimators are easy to get subtly wrong (a weight on the wrong slot, a
normalisation missing), and the Open Bandit Dataset is real logged data whose answer is
known: the same week was logged once by a uniform-random policy and once by Bernoulli
Thompson sampling (BTS), so each log's observed click rate is the true value of its
policy on the other log.

    python3 tools/obp-compare.py --arbiter PATH/arbiter [--data ../shared/data/obd]

It sets up and re-runs itself in `.deps/obp-venv` (obp 0.4.0 needs pandas < 3), then for
each campaign (all, men):

1. (a) the uniform-random policy evaluated on the BTS log, and (b) the BTS policy
   evaluated on the random log. The BTS policy's action distribution is obp's own:
   `BernoulliTS(is_zozotown_prior=True, campaign=...)`, `compute_batch_action_dist` with
   100,000 simulations and random_state 12345, written as a policy file (round `*`) so
   Arbiter evaluates exactly the same distribution.
2. `arbiter evaluate --obd LOG --items item_context.csv (--uniform | --policy-file F)
   --reward-model-output Q` gives Arbiter's estimates, intervals and its reward model.
3. obp's IPW, SNIPW, DM, DR, SNDR and SwitchDR (tau 1, Arbiter's default) are computed
   on the same rounds (action = item_id, position = position - 1, reward = click,
   pscore = propensity_score), the same action distribution and Arbiter's reward model.
   Every point value must equal Arbiter's to 1e-6 relative. (obp's ReplayMethod needs a
   deterministic policy and both candidates are stochastic, so replay is not compared.)
4. The other log's observed click rate must lie inside Arbiter's 95 % IPS and DR
   intervals.

Prints a markdown table; exits 0 when every check passes, 1 when one fails, 2 when the
comparison could not be run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import comparison_support

REQUIREMENTS = ("obp==0.4.0", "pandas<3", "numpy<2.3", "scikit-learn<1.8")

if __name__ == "__main__":
    comparison_support.reexec_in_venv("obp-venv", REQUIREMENTS)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from obp.ope import (  # noqa: E402
    DirectMethod, DoublyRobust, InverseProbabilityWeighting,
    SelfNormalizedDoublyRobust, SelfNormalizedInverseProbabilityWeighting, SwitchDoublyRobust)
from obp.policy import BernoulliTS  # noqa: E402

TOLERANCE = 1e-6
POSITIONS = 3


def load_log(path):
    # round_trip: pandas' default float parser is not correctly rounded, and a propensity
    # one ulp off flips w <= tau for weights of exactly 1 (uniform on the men campaign).
    frame = pd.read_csv(path, index_col=0, float_precision="round_trip")
    return (frame["item_id"].to_numpy(dtype=int), frame["position"].to_numpy(dtype=int) - 1,
            frame["click"].to_numpy(dtype=float), frame["propensity_score"].to_numpy(dtype=float))


def bts_distribution(campaign, n_actions):
    policy = BernoulliTS(n_actions=n_actions, len_list=POSITIONS, is_zozotown_prior=True,
                         campaign=campaign, random_state=12345)
    return policy.compute_batch_action_dist(n_rounds=1, n_sim=100000)[0]  # (n_actions, positions)


def write_policy(path, dist):
    with open(path, "w", encoding="utf-8") as out:
        out.write("round,action,position,probability\n")
        for a in range(dist.shape[0]):
            for k in range(dist.shape[1]):
                out.write(f"*,{a},{k + 1},{float(dist[a, k])!r}\n")


def obp_estimates(action, position, reward, pscore, dist, q_table):
    n = action.shape[0]
    action_dist = np.tile(dist, (n, 1, 1))
    folds, actions, positions = q_table["folds"], q_table["actions"], q_table["positions"]
    table = np.array(q_table["table"]).reshape(folds, positions, actions)
    q_hat = np.transpose(table[np.arange(n) % folds], (0, 2, 1))  # (n, actions, positions)
    common = dict(reward=reward, action=action, position=position, pscore=pscore, action_dist=action_dist)
    return {
        "ips": InverseProbabilityWeighting().estimate_policy_value(**common),
        "snips": SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**common),
        "dm": DirectMethod().estimate_policy_value(position=position, action_dist=action_dist,
                                                   estimated_rewards_by_reg_model=q_hat),
        "dr": DoublyRobust().estimate_policy_value(**common, estimated_rewards_by_reg_model=q_hat),
        "sndr": SelfNormalizedDoublyRobust().estimate_policy_value(**common, estimated_rewards_by_reg_model=q_hat),
        "switch-dr": SwitchDoublyRobust(tau=1.0).estimate_policy_value(**common, estimated_rewards_by_reg_model=q_hat),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arbiter", required=True, help="path of the arbiter binary")
    parser.add_argument("--data", default=os.path.join(comparison_support.REPO_ROOT, "..", "shared", "data", "obd"))
    parser.add_argument("--campaigns", nargs="+", default=["all", "men"])
    args = parser.parse_args()
    if not (os.path.isfile(args.arbiter) and os.access(args.arbiter, os.X_OK)):
        comparison_support.fail(f"--arbiter {args.arbiter}: not an executable")
    if not os.path.isdir(args.data):
        comparison_support.fail(f"--data {args.data}: no Open Bandit Dataset there")

    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="obp-compare-") as work:
        for campaign in args.campaigns:
            logs = {p: os.path.join(args.data, p, campaign, f"{campaign}.csv") for p in ("random", "bts")}
            items = os.path.join(args.data, "random", campaign, "item_context.csv")
            n_actions = len(pd.read_csv(items, index_col=0))
            observed = {p: float(load_log(path)[2].mean()) for p, path in logs.items()}
            bts_path = os.path.join(work, f"bts-{campaign}.csv")
            bts = bts_distribution(campaign, n_actions)
            write_policy(bts_path, bts)
            cases = (
                ("uniform on the BTS log", logs["bts"], ["--uniform"], np.full((n_actions, POSITIONS), 1 / n_actions), observed["random"]),
                ("BTS on the random log", logs["random"], ["--policy-file", bts_path], bts, observed["bts"]),
            )
            for label, log, candidate, dist, truth in cases:
                result_path, q_path = os.path.join(work, "result.json"), os.path.join(work, "q.json")
                command = [args.arbiter, "evaluate", "--obd", log, "--items", items, *candidate,
                           "--output", result_path, "--reward-model-output", q_path]
                finished = subprocess.run(command, stderr=subprocess.PIPE, text=True)
                if finished.returncode != 0:
                    comparison_support.fail(f"`{' '.join(command)}` failed: {finished.stderr.strip()[-400:]}")
                with open(result_path, encoding="utf-8") as f:
                    result = json.load(f)
                with open(q_path, encoding="utf-8") as f:
                    q_table = json.load(f)
                estimates = result["policies"][0]["estimates"]
                reference = obp_estimates(*load_log(log), dist, q_table)
                for name, value in reference.items():
                    ours = estimates[name]["value"]
                    relative = abs(ours - value) / max(abs(value), 1e-300)
                    if relative > TOLERANCE:
                        failures.append(f"{campaign} / {label} / {name}: Arbiter {ours!r}, obp {value!r} (relative {relative:.2e})")
                for name in ("ips", "dr"):
                    e = estimates[name]
                    if not e["lower"] <= truth <= e["upper"]:
                        failures.append(f"{campaign} / {label} / {name}: interval [{e['lower']:.5f}, {e['upper']:.5f}] "
                                        f"misses the observed click rate {truth:.5f}")
                worst = max(abs(estimates[n]["value"] - v) / max(abs(v), 1e-300) for n, v in reference.items())
                cells = " | ".join(f"{estimates[n]['value']:.5f} [{estimates[n]['lower']:.5f}, {estimates[n]['upper']:.5f}]"
                                   for n in ("ips", "snips", "dm", "dr", "sndr", "switch-dr"))
                rows.append(f"| {campaign} | {label} | {truth:.5f} | {cells} | {worst:.1e} | "
                            f"{result['policies'][0]['effective_sample_size']:.0f} |")

    print("| campaign | evaluation | observed click rate of the other log | IPS | SNIPS | DM | DR | SNDR | "
          "switch-DR | max relative difference to obp | ESS |")
    print("|---|---|---:|---|---|---|---|---|---|---:|---:|")
    print("\n".join(rows))
    if failures:
        print("\nFAILED:\n" + "\n".join(f"- {f}" for f in failures))
        sys.exit(1)
    print(f"\nPASSED: every estimate equals obp 0.4.0's to {TOLERANCE:g} relative, and the IPS and DR "
          "95 % intervals contain the other log's observed click rate.")


if __name__ == "__main__":
    main()
