#!/usr/bin/env python3
"""Compare Arbiter's throughput learning from logged bandit data with Vowpal Wabbit 9.11.9.

Why: Vowpal Wabbit is the usual yardstick for fast online contextual-bandit learning.
This script measures how many logged examples per second each learns from, on the same
simulated data, each reading and parsing its own input file inside the timed region.

    python3 tools/vw-compare.py --bench PATH/arbiter-bench [--json OUT]

It sets up and re-runs itself in `.deps/tools-venv` (see comparison_support.py), then:

1. Draws T=100000 rounds, d=20 features, K=10 arms, seed 7 with contextual_data and
   writes, to a temporary directory, the CSV Arbiter reads and the same rounds in VW's
   `--cb_explore_adf` text format, one multi-line example per round:

       shared |s x0:0.64 x1:0.37 ... x19:0.12
       |a a0
       0:-1:0.1 |a a1          <- the logged action: 0:cost:probability, cost = -reward
       |a a2
       ...
       (blank line)

   The label's leading action number is ignored in ADF mode: the label sits on the
   line of the action it belongs to.
2. Five interleaved runs of each side (VW, Arbiter, VW, Arbiter, ...):
   - VW: `vowpalwabbit.Workspace("-d FILE --cb_explore_adf -q sa --epsilon 0.05
     --quiet")`, timed from creating the Workspace until `finish()` returns. That covers
     option set-up, VW's own file reader and text parser (a thread of its own, next to
     the learning thread) and learning; `-q sa` crosses the shared and action namespaces
     so the policy can use the context. The process's CPU seconds over the same span
     are reported too: above the wall seconds, both threads were busy at once.
   - Arbiter: `PATH logged --data CSV --policy linucb --alpha 1.0`, which prints one JSON
     line with at least {"examples": T, "seconds": s}; s is Arbiter's own timing, which
     covers reading and parsing the CSV and, per example, a choice on its context and an
     update with the logged action's reward, as VW predicts and learns each example
     (process start-up is outside it, and reported separately as the process's wall time).
   examples/s = T / seconds. The table shows medians, min and max, and the ratio of the
   medians, Arbiter / VW.
3. An untimed extra VW run, not quiet, checks that VW learns: it shows VW's own final
   progressive loss, and the expected reward of VW's greedy choice on 2000 fresh
   contexts (drawn with seed 7 + 1, scored with the data set's true coefficients)
   against the uniform policy and the oracle. If VW's greedy policy does not close at
   least half of the gap from uniform to oracle, the comparison is not meaningful and
   the script exits 1.

Exit status: 0 when measured, 1 when VW did not learn, 2 when the comparison could not be
run (no binary, no `logged` subcommand, unexpected output).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import comparison_support

if __name__ == "__main__":
    comparison_support.reexec_in_venv()

# Only importable inside the virtual environment, hence after the re-exec above.
import numpy as np  # noqa: E402
import vowpalwabbit  # noqa: E402

import contextual_data  # noqa: E402

ROUNDS, FEATURES, ARMS, DATA_SEED = 100_000, 20, 10, 7
RUNS = 5
VW_ARGS = ["--cb_explore_adf", "-q", "sa", "--epsilon", "0.05"]
ARBITER_ARGS = ["--policy", "linucb", "--alpha", "1.0"]
FRESH_CONTEXTS = 2000
MIN_GAP_CLOSED = 0.5  # VW's greedy policy must close this share of the uniform-oracle gap


def shared_line(x):
    """The `shared` line of one example: context x as features x0..x{d-1} of namespace s."""
    return "shared |s " + " ".join(f"x{j}:{value!r}" for j, value in enumerate(x))


def write_vw(data, path):
    """Write the logged rounds of `data` in the cb_explore_adf text format (docstring)."""
    arms = data.rewards.shape[1]
    with open(path, "w", encoding="ascii", newline="\n") as out:
        for x, rewards, action, probability in zip(
                data.contexts.tolist(), data.rewards.tolist(), data.actions.tolist(),
                data.probabilities.tolist()):
            lines = [shared_line(x)]
            for k in range(arms):
                label = f"0:{-rewards[k]}:{probability!r} " if k == action else ""
                lines.append(f"{label}|a a{k}")
            out.write("\n".join(lines) + "\n\n")


def vw_run(vw_path):
    """(Wall, CPU) seconds from Workspace creation until finish() returns, reading `vw_path`.

    CPU seconds count every thread of this process, so they show how much of VW's
    parser and learner threads ran at once.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    workspace = vowpalwabbit.Workspace(arg_list=["-d", vw_path, *VW_ARGS, "--quiet"])
    workspace.finish()
    return time.perf_counter() - started, time.process_time() - cpu_started


def arbiter_run(bench, csv_path):
    """(Arbiter's own seconds, process wall seconds) of one `arbiter-bench logged` run."""
    answer, wall = comparison_support.run_arbiter_bench(
        bench, ["logged", "--data", csv_path, *ARBITER_ARGS], required=("examples", "seconds"))
    if answer["examples"] != ROUNDS:
        comparison_support.fail(f"arbiter-bench logged reported {answer['examples']} examples, "
                                f"the data set has {ROUNDS}")
    return float(answer["seconds"]), wall


def vw_learning_check(data, vw_path):
    """Train VW once more, untimed and not quiet; score its greedy policy on fresh contexts."""
    workspace = vowpalwabbit.Workspace(arg_list=["-d", vw_path, *VW_ARGS], enable_logging=True)
    progressive_loss = workspace.get_sum_loss() / workspace.get_weighted_examples()
    contexts = np.random.default_rng(DATA_SEED + 1).random((FRESH_CONTEXTS, FEATURES))
    click_probability = contexts @ data.theta.T / FEATURES
    actions = [f"|a a{k}" for k in range(ARMS)]
    greedy = [int(np.argmax(workspace.predict([shared_line(x), *actions])))
              for x in contexts.tolist()]
    workspace.finish()
    check = {
        "progressive_average_loss": progressive_loss,
        "greedy_expected_reward": float(click_probability[np.arange(FRESH_CONTEXTS), greedy].mean()),
        "uniform_expected_reward": float(click_probability.mean()),
        "oracle_expected_reward": float(click_probability.max(axis=1).mean()),
    }
    check["gap_closed"] = ((check["greedy_expected_reward"] - check["uniform_expected_reward"])
                           / (check["oracle_expected_reward"] - check["uniform_expected_reward"]))
    summary = [line for line in workspace.get_log() if line.startswith("average loss")]
    return check, summary


def figures(seconds):
    rates = [ROUNDS / s for s in seconds]
    return {"seconds": seconds, "median_seconds": statistics.median(seconds),
            "median_examples_per_second": statistics.median(rates),
            "min_examples_per_second": min(rates), "max_examples_per_second": max(rates)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", required=True, help="path of the arbiter-bench binary")
    parser.add_argument("--json", metavar="OUT", help="also write the figures to OUT as JSON")
    args = parser.parse_args()
    comparison_support.check_bench(args.bench)

    data = contextual_data.generate(ROUNDS, FEATURES, ARMS, DATA_SEED)
    with tempfile.TemporaryDirectory(prefix="vw-compare-") as directory:
        csv_path = os.path.join(directory, "logged.csv")
        vw_path = os.path.join(directory, "logged.vw")
        contextual_data.write_csv(data, csv_path)
        write_vw(data, vw_path)
        sizes = {"csv_bytes": os.path.getsize(csv_path), "vw_text_bytes": os.path.getsize(vw_path)}
        vw_seconds, vw_cpu, arbiter_seconds, arbiter_wall = [], [], [], []
        for _ in range(RUNS):
            wall, cpu = vw_run(vw_path)
            vw_seconds.append(wall)
            vw_cpu.append(cpu)
            own, wall = arbiter_run(args.bench, csv_path)
            arbiter_seconds.append(own)
            arbiter_wall.append(wall)
        learning, vw_summary = vw_learning_check(data, vw_path)

    vw = figures(vw_seconds)
    vw["cpu_seconds"] = vw_cpu
    arbiter = figures(arbiter_seconds)
    arbiter["process_wall_seconds"] = arbiter_wall
    ratio = arbiter["median_examples_per_second"] / vw["median_examples_per_second"]

    print(f"Data: T={ROUNDS}, d={FEATURES}, K={ARMS}, seed {DATA_SEED}; CSV "
          f"{sizes['csv_bytes'] / 1e6:.1f} MB, VW text {sizes['vw_text_bytes'] / 1e6:.1f} MB; "
          f"{RUNS} interleaved runs each.\n")
    print("| side | median examples/s | min | max | median s | timed |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| Vowpal Wabbit 9.11.9 | {vw['median_examples_per_second']:,.0f} "
          f"| {vw['min_examples_per_second']:,.0f} | {vw['max_examples_per_second']:,.0f} "
          f"| {vw['median_seconds']:.3f} | Workspace creation to finish(): set-up, VW's file "
          f"reader and parser (own thread), cb_explore_adf learning ({' '.join(VW_ARGS)}); "
          f"CPU median {statistics.median(vw_cpu):.3f} s |")
    print(f"| Arbiter | {arbiter['median_examples_per_second']:,.0f} "
          f"| {arbiter['min_examples_per_second']:,.0f} "
          f"| {arbiter['max_examples_per_second']:,.0f} | {arbiter['median_seconds']:.3f} "
          f"| as reported by `logged`: CSV read and parse, learning ({' '.join(ARBITER_ARGS)}); "
          f"process wall median {statistics.median(arbiter_wall):.3f} s |")
    print(f"\nArbiter / VW, median examples/s: {ratio:.2f}")
    print(f"\nVW learning check (untimed run): {'; '.join(vw_summary)} (progressive, IPS); "
          f"greedy expected reward on {FRESH_CONTEXTS} fresh contexts "
          f"{learning['greedy_expected_reward']:.4f} against uniform "
          f"{learning['uniform_expected_reward']:.4f} and oracle "
          f"{learning['oracle_expected_reward']:.4f} ({learning['gap_closed']:.0%} of the gap)")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"rounds": ROUNDS, "features": FEATURES, "arms": ARMS, "seed": DATA_SEED,
                       "runs": RUNS, **sizes, "vw_args": VW_ARGS, "arbiter_args": ARBITER_ARGS,
                       "vw": vw, "arbiter": arbiter, "arbiter_over_vw": ratio,
                       "vw_learning_check": learning}, out, indent=2)
            out.write("\n")
    if learning["gap_closed"] < MIN_GAP_CLOSED:
        print(f"\nFAILED: VW's greedy policy closed less than {MIN_GAP_CLOSED:.0%} of the gap "
              f"from uniform to oracle, so it did not learn and the comparison means little.")
        sys.exit(1)


if __name__ == "__main__":
    main()
