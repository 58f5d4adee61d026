#!/usr/bin/env python3
"""Simulated linear contextual bandit data, the same for every policy that is compared.

Why: to check Arbiter's linear policies against reference libraries (MABWiser, Vowpal
Wabbit) every side must see identical contexts and identical rewards. This module draws
them once, deterministically from a seed, and writes them as a CSV file that Arbiter's
`arbiter-bench` reads; the comparison scripts import `generate()` for the same arrays
plus the quantities a regret figure needs.

Model (numpy `Generator` from `numpy.random.default_rng(seed)`, drawn in this order):

  1. theta, K x d:  theta_k ~ Uniform(0, 1)^d, one coefficient vector per arm
  2. x, T x d:      x_t ~ Uniform(0, 1)^d, one context per round
  3. rewards, T x K: r_{t,k} ~ Bernoulli(p_{t,k}) with p_{t,k} = (theta_k . x_t) / d in [0, 1],
                     drawn for every arm every round (full information), so any policy
                     can be replayed: it observes r_{t,a} for the arm a it chose
  4. action, T:     a_t ~ Uniform{0..K-1}, a uniform logging policy, with probability 1/K

CSV (one header line, then one row per round):

  x0,...,x{d-1},r0,...,r{K-1},action,probability

Floats are written as Python's repr (the shortest text that reads back to the same
double), rewards as 0/1, the action as an integer.

CLI:  python3 tools/contextual_data.py --rounds T --features d --arms K --seed S --out FILE

It needs numpy; where the system Python has none, run it with the comparison tools'
environment: .deps/tools-venv/bin/python3 (see comparison_support.py).
"""

import argparse
import sys
from typing import NamedTuple

import numpy as np


class BanditData(NamedTuple):
    """One simulated data set; T rounds, d features, K arms."""

    theta: np.ndarray          # K x d, each arm's coefficients
    contexts: np.ndarray       # T x d, x_t
    click_probability: np.ndarray  # T x K, p_{t,k} = theta_k . x_t / d
    rewards: np.ndarray        # T x K, 0/1 reward of every arm in every round
    actions: np.ndarray        # T, the uniform logging policy's action
    probabilities: np.ndarray  # T, the probability it chose that action (1/K)
    optimal: np.ndarray        # T, the best expected reward max_k p_{t,k} (oracle)


def generate(rounds, features, arms, seed):
    """Draw the data set described in the module docstring."""
    if rounds < 1 or features < 1 or arms < 1:
        raise ValueError("rounds, features and arms must each be at least 1")
    rng = np.random.default_rng(seed)
    theta = rng.random((arms, features))
    contexts = rng.random((rounds, features))
    click_probability = contexts @ theta.T / features
    rewards = (rng.random((rounds, arms)) < click_probability).astype(np.int64)
    actions = rng.integers(0, arms, size=rounds)
    probabilities = np.full(rounds, 1.0 / arms)
    return BanditData(theta, contexts, click_probability, rewards, actions, probabilities,
                      click_probability.max(axis=1))


def write_csv(data, path):
    """Write `data` in the CSV layout of the module docstring."""
    features = data.contexts.shape[1]
    arms = data.rewards.shape[1]
    header = [f"x{j}" for j in range(features)] + [f"r{k}" for k in range(arms)]
    with open(path, "w", encoding="ascii", newline="\n") as out:
        out.write(",".join(header + ["action", "probability"]) + "\n")
        for x, r, a, p in zip(data.contexts.tolist(), data.rewards.tolist(),
                              data.actions.tolist(), data.probabilities.tolist()):
            out.write(",".join(map(repr, x)) + "," + ",".join(map(str, r))
                      + f",{a},{p!r}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, required=True, help="T, rows to write")
    parser.add_argument("--features", type=int, required=True, help="d, context length")
    parser.add_argument("--arms", type=int, required=True, help="K, number of arms")
    parser.add_argument("--seed", type=int, required=True, help="numpy Generator seed")
    parser.add_argument("--out", required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    try:
        data = generate(args.rounds, args.features, args.arms, args.seed)
    except ValueError as error:
        parser.error(str(error))
    write_csv(data, args.out)
    logged = data.rewards[np.arange(args.rounds), data.actions].mean()
    print(f"wrote {args.rounds} rounds to {args.out}: logged (uniform) mean reward "
          f"{logged:.4f}, oracle mean expected reward {data.optimal.mean():.4f}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
