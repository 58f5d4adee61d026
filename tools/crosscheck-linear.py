#!/usr/bin/env python3
"""Cross-check Arbiter's LinUCB and linear Thompson sampling against MABWiser 2.7.4.

Why: a bandit policy can be wrong in ways no unit test sees (a transposed update, a
missing square root, a variance off by a square) and still "work". Running Arbiter and
an independent implementation on the same simulated problem and comparing how much
reward each collects catches those.

    python3 tools/crosscheck-linear.py --bench PATH/arbiter-bench

It sets up and re-runs itself in `.deps/tools-venv` (see comparison_support.py), then:

1. Draws one data set with contextual_data.generate: T=10000 rounds, d=5 features,
   K=5 arms, seed 20261125, and writes it as CSV to a temporary directory. The same file
   comes from `python3 tools/contextual_data.py --rounds 10000 --features 5 --arms 5
   --seed 20261125 --out FILE`.
2. MABWiser, one row at a time: LearningPolicy.LinUCB(alpha=1.0, l2_lambda=1.0) with
   seed 1 and LearningPolicy.LinTS(alpha=0.5, l2_lambda=1.0) with seeds 1, 2, 3. Warm-up
   as Arbiter's: in rounds 0..K-1 arm t % K is chosen and `fit` on those K rows; then in
   each later round `predict` on that round's context, observe r[t, chosen] and
   `partial_fit` on that one row. Cumulative reward is the sum of observed rewards over
   all T rounds, warm-up included.
3. Arbiter, one process per run, with the same warm-up and the same observed rewards:
       PATH simulate --data FILE --policy linucb --alpha 1.0 --warmup 5 --seed 1
       PATH simulate --data FILE --policy linear-thompson --alpha 0.5 --warmup 5 --seed N
   (N = 1 … 20); each prints one JSON line with at least
   {"cumulative_reward": R, "rounds": T}.
4. Baselines on the same data: the uniform logging policy, sum of r[t, action_t], and
   the oracle, sum of max_k p[t, k] (an expectation, not a draw).

Pass: for each policy, Arbiter's cumulative reward (for Thompson sampling the mean over
its seeds) is within 3 % of MABWiser's, relative to MABWiser's, and both beat the
uniform policy by more than 10 %. It prints a markdown table and exits 0 on a pass, 1 on
a failed check, 2 when the comparison could not be run (no binary, no `simulate`
subcommand, unexpected output). Seconds are wall time per run: for Arbiter the whole
process (start-up and CSV reading included), for MABWiser the fit/predict loop.

Note on MABWiser 2.7.4 LinTS: every arm's model holds its own copy of the random
generator, copied at the first `fit` from one state and advanced in step, so in each
round all arms draw their coefficients from the same standard-normal vector (common
random numbers across arms). Arbiter draws each arm independently. On this data set
that makes MABWiser's LinTS collect more: over seeds 1..10, 2959 (sd 33) as it is
against 2892 (sd 24) with one independent generator per arm, -2.3 %. Seeds 1, 2, 3 give
MABWiser 2932, so an independent-draw implementation is expected near 0.986 of it.
"""

import argparse
import os
import sys
import tempfile
import time

import comparison_support

if __name__ == "__main__":
    comparison_support.reexec_in_venv()

# Only importable inside the virtual environment, hence after the re-exec above.
import numpy as np  # noqa: E402
from mabwiser.mab import MAB, LearningPolicy  # noqa: E402

import contextual_data  # noqa: E402

ROUNDS, FEATURES, ARMS, DATA_SEED = 10_000, 5, 5, 20261125
UCB_ALPHA, TS_ALPHA, L2_LAMBDA = 1.0, 0.5, 1.0
UCB_SEEDS, TS_SEEDS = (1,), (1, 2, 3)
# Arbiter runs take a tenth of a second: its Thompson mean is taken over more seeds, so
# that its own seed-to-seed spread (sd about 38) does not decide the comparison.
ARBITER_TS_SEEDS = tuple(range(1, 21))
TOLERANCE = 0.03     # |arbiter - mabwiser| / mabwiser at most this
MIN_LIFT = 0.10      # both sides' reward must exceed the uniform policy's by more than this


def mabwiser_run(data, learning_policy, seed):
    """Cumulative reward and seconds of one MABWiser run, with Arbiter's warm-up."""
    arms = data.rewards.shape[1]
    started = time.perf_counter()
    mab = MAB(arms=list(range(arms)), learning_policy=learning_policy, seed=seed)
    warm = np.arange(arms)
    mab.fit(decisions=warm, rewards=data.rewards[warm, warm], contexts=data.contexts[:arms])
    total = int(data.rewards[warm, warm].sum())
    for t in range(arms, len(data.contexts)):
        context = data.contexts[t:t + 1]
        arm = mab.predict(context)
        reward = data.rewards[t, arm]
        total += int(reward)
        mab.partial_fit(decisions=[arm], rewards=[reward], contexts=context)
    return total, time.perf_counter() - started


def arbiter_run(bench, csv_path, policy, alpha, seed):
    """Cumulative reward and wall seconds of one `arbiter-bench simulate` process."""
    answer, seconds = comparison_support.run_arbiter_bench(
        bench,
        ["simulate", "--data", csv_path, "--policy", policy, "--alpha", repr(alpha),
         "--warmup", str(ARMS), "--seed", str(seed)],
        required=("cumulative_reward", "rounds"))
    if answer["rounds"] != ROUNDS:
        comparison_support.fail(f"arbiter-bench simulate reported {answer['rounds']} rounds, "
                                f"the data set has {ROUNDS}")
    return float(answer["cumulative_reward"]), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", required=True, help="path of the arbiter-bench binary")
    args = parser.parse_args()
    comparison_support.check_bench(args.bench)

    data = contextual_data.generate(ROUNDS, FEATURES, ARMS, DATA_SEED)
    uniform = int(data.rewards[np.arange(ROUNDS), data.actions].sum())
    oracle = float(data.optimal.sum())
    policies = (
        ("LinUCB", "linucb", UCB_ALPHA, UCB_SEEDS, UCB_SEEDS,
         LearningPolicy.LinUCB(alpha=UCB_ALPHA, l2_lambda=L2_LAMBDA)),
        ("LinTS", "linear-thompson", TS_ALPHA, ARBITER_TS_SEEDS, TS_SEEDS,
         LearningPolicy.LinTS(alpha=TS_ALPHA, l2_lambda=L2_LAMBDA)),
    )

    rows, details, failures = [], [], []
    with tempfile.TemporaryDirectory(prefix="crosscheck-linear-") as directory:
        csv_path = os.path.join(directory, "linear.csv")
        contextual_data.write_csv(data, csv_path)
        for name, arbiter_policy, alpha, arbiter_seeds, seeds, learning_policy in policies:
            arbiter = [arbiter_run(args.bench, csv_path, arbiter_policy, alpha, s) for s in arbiter_seeds]
            mabwiser = [mabwiser_run(data, learning_policy, s) for s in seeds]
            arbiter_reward = float(np.mean([reward for reward, _ in arbiter]))
            mabwiser_reward = float(np.mean([reward for reward, _ in mabwiser]))
            ratio = arbiter_reward / mabwiser_reward
            rows.append(f"| {name} | {arbiter_reward:.1f} | {mabwiser_reward:.1f} | {ratio:.4f} "
                        f"| {uniform} | {oracle:.1f} "
                        f"| {np.mean([s for _, s in arbiter]):.2f} "
                        f"| {np.mean([s for _, s in mabwiser]):.2f} |")
            if len(seeds) > 1:
                details.append(f"{name}: Arbiter seeds {list(arbiter_seeds)}: "
                               f"{[round(r, 1) for r, _ in arbiter]}; MABWiser seeds {list(seeds)}: "
                               f"{[r for r, _ in mabwiser]}")
            if abs(ratio - 1) > TOLERANCE:
                failures.append(f"{name}: Arbiter {arbiter_reward:.1f} is {ratio - 1:+.2%} from "
                                f"MABWiser {mabwiser_reward:.1f} (tolerance {TOLERANCE:.0%})")
            for side, reward in (("Arbiter", arbiter_reward), ("MABWiser", mabwiser_reward)):
                if reward <= (1 + MIN_LIFT) * uniform:
                    failures.append(f"{name}: {side} {reward:.1f} does not beat the uniform "
                                    f"policy {uniform} by more than {MIN_LIFT:.0%}")

    print(f"Data: T={ROUNDS}, d={FEATURES}, K={ARMS}, seed {DATA_SEED}; cumulative reward "
          f"over all rounds (warm-up of {ARMS} included); Thompson sampling: mean over seeds "
          f"1–{len(ARBITER_TS_SEEDS)} (Arbiter) and {list(TS_SEEDS)} (MABWiser); seconds: mean wall "
          f"time per run.\n")
    print("| policy | Arbiter | MABWiser | Arbiter/MABWiser | uniform | oracle (expected) "
          "| Arbiter s | MABWiser s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    if details:
        print("\n" + "\n".join(details))
    if failures:
        print("\nFAILED:\n" + "\n".join(f"- {failure}" for failure in failures))
        sys.exit(1)
    print(f"\nPASSED: each policy within {TOLERANCE:.0%} of MABWiser and more than "
          f"{MIN_LIFT:.0%} above the uniform policy.")


if __name__ == "__main__":
    main()
