#!/usr/bin/env python3
"""Time PyMC-Marketing fitting the same marketing-mix data Arbiter's benchmark fits.

Same data (`arbiter-bench mmm --csv FILE`), same structure as far as PyMC-Marketing
0.19.2 expresses it: geometric adstock (l_max 8, normalised), Michaelis-Menten
saturation (= Hill with slope 1), yearly seasonality of order 2, the two controls,
Normal noise, PyMC-Marketing's default priors; 4 chains × (1,000 tune + 1,000 draws),
PyMC's NUTS on `cores=2`, target acceptance 0.9. A first short fit compiles the model
(pytensor caches the C code), so the timed fit measures sampling, not compilation.
Prints one JSON line: wall time, worst R-hat, smallest bulk and tail ESS, divergences.
Never on the engine's path; its own virtual environment (.deps/pymc-venv).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from comparison_support import reexec_in_venv  # noqa: E402

reexec_in_venv("pymc-venv", ("pymc-marketing==0.19.2",))

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import arviz as az  # noqa: E402
import pandas as pd  # noqa: E402
from pymc_marketing.mmm import GeometricAdstock, MichaelisMentenSaturation  # noqa: E402
from pymc_marketing.mmm.multidimensional import MMM  # noqa: E402


def fit(frame, channels, controls, draws, tune, seed):
    model = MMM(
        date_column="date", channel_columns=channels, target_column="kpi", control_columns=controls,
        adstock=GeometricAdstock(l_max=8, normalize=True), saturation=MichaelisMentenSaturation(), yearly_seasonality=2)
    start = time.monotonic()
    model.fit(
        X=frame[["date", *channels, *controls]], y=frame["kpi"], chains=4, cores=2, draws=draws, tune=tune, target_accept=0.9,
        random_seed=seed, progressbar=False)
    return model, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    frame = pd.read_csv(args.csv)
    frame["date"] = pd.date_range("2020-01-06", periods=len(frame), freq="W-MON")
    channels = [c for c in frame.columns if c.startswith("ch")]
    controls = ["wave", "promo"]
    fit(frame, channels, controls, draws=20, tune=20, seed=args.seed)
    model, seconds = fit(frame, channels, controls, draws=args.draws, tune=args.tune, seed=args.seed)
    summary = az.summary(model.idata, kind="diagnostics")
    print(json.dumps({
        "benchmark": "pymc-marketing", "seconds": seconds, "worst_r_hat": float(summary["r_hat"].max()),
        "min_bulk_ess": float(summary["ess_bulk"].min()), "min_tail_ess": float(summary["ess_tail"].min()),
        "min_bulk_ess_per_s": float(summary["ess_bulk"].min()) / seconds,
        "divergences": int(model.idata.sample_stats["diverging"].sum()),
    }))


if __name__ == "__main__":
    main()
