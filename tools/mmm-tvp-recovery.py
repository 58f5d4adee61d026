#!/usr/bin/env python3
"""How well `arbiter mmm fit` recovers known channel contributions.

`media_tvp_data.csv` (PyMC-Marketing's simulated example, ../shared/data/mmm/) carries
each channel's true contribution per week. Its media effect varies over time (a hidden
multiplier between 0.5 and 1.5); Arbiter's model has one effect per channel, so this
checks how far a time-invariant fit still gets the shares and totals right. Runs the fit
with `--seed` 1…`--seeds`, prints per seed and channel the true and recovered share and
contribution with the 90 % interval, and whether the interval covers the truth.
Standard library only.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arbiter", required=True, help="the arbiter binary")
    parser.add_argument("--csv", default=os.path.join(ROOT, "..", "shared", "data", "mmm", "media_tvp_data.csv"))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.csv)))
    truth = {c: sum(float(r[f"{c}_contribution"]) for r in rows) for c in ("x1", "x2")}
    total = sum(truth.values())
    print("| seed | channel | true share | recovered share [90 %] | true contribution | recovered [90 %] | covered | converged |")
    print("|---|---|---|---|---|---|---|---|")
    covered = cases = 0
    for seed in range(1, args.seeds + 1):
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            run = subprocess.run(
                [args.arbiter, "mmm", "fit", "--data", args.csv, "--date", "date_week", "--kpi", "y", "--channels", "x1,x2",
                 "--controls", "event_1,event_2", "--seed", str(seed), "-o", out.name], capture_output=True, text=True)
            if run.returncode not in (0, 2):
                sys.exit(f"arbiter mmm fit failed ({run.returncode}): {run.stderr.strip()}")
            fit = json.load(open(out.name))
        for ch in fit["channels"]:
            name, share, contribution = ch["name"], ch["share"], ch["contribution"]
            hit = share["lower_5"] <= truth[name] / total <= share["upper_95"] and contribution["lower_5"] <= truth[name] <= contribution["upper_95"]
            covered += hit
            cases += 1
            print(f"| {seed} | {name} | {truth[name] / total:.3f} | {share['mean']:.3f} [{share['lower_5']:.3f}, {share['upper_95']:.3f}] | "
                  f"{truth[name]:.1f} | {contribution['mean']:.1f} [{contribution['lower_5']:.1f}, {contribution['upper_95']:.1f}] | "
                  f"{'yes' if hit else 'no'} | {'yes' if fit['convergence']['converged'] else 'no'} |")
    print(f"\nshare and contribution both inside the 90 % interval: {covered} of {cases}")


if __name__ == "__main__":
    main()
