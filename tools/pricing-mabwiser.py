#!/usr/bin/env python3
"""MABWiser's Thompson sampling pricing the single-product instance Arbiter's pricing
benchmark uses (Ferreira, Simchi-Levi and Wang 2018: prices 29.9, 34.9, 39.9, 44.9 with
conversion 0.8, 0.6, 0.3, 0.1; stock for a quarter or half of the customers).

Why: the pricing issue states its revenue target against MABWiser, an inventory-blind
bandit library, on the same simulated demand (Benchmarks/pricing.sh runs this beside
`arbiter-bench pricing`).

    python3 tools/pricing-mabwiser.py --periods 10000 --seeds 5

MABWiser's ThompsonSampling learns binary rewards and picks the arm with the highest
sampled Beta draw, so on purchases alone it would maximise conversion, not revenue. It is
given the Bernoulli trick (Agrawal and Goyal 2012) instead: a sale at price p is reward 1
with probability p / max price, else 0, which makes the Beta posterior's mean the arm's
revenue over the top price: Thompson sampling on revenue. One customer per period, one
`predict` and one `partial_fit` per customer; no sale once the stock is gone. Prints one
JSON line per stock share and seed with the revenue; Benchmarks/pricing.sh divides it by
the linear program's bound that `arbiter-bench pricing` reports for the same instance.
"""

import argparse
import json
import time

import comparison_support

if __name__ == "__main__":
    comparison_support.reexec_in_venv()

import numpy as np  # noqa: E402
from mabwiser.mab import MAB, LearningPolicy  # noqa: E402

PRICES = [29.9, 34.9, 39.9, 44.9]
CONVERSION = [0.8, 0.6, 0.3, 0.1]


def run(periods, share, seed):
    rng = np.random.default_rng(seed)
    arms = list(range(len(PRICES)))
    mab = MAB(arms, LearningPolicy.ThompsonSampling(), seed=seed)
    # MABWiser needs a first fit before it predicts: one pseudo-observation of each arm,
    # reward 0, which Beta(1, 1) then counts as one failure.
    mab.fit(decisions=arms, rewards=[0] * len(arms))
    stock = int(share * periods)
    revenue = 0.0
    start = time.perf_counter()
    for _ in range(periods):
        k = mab.predict()
        bought = stock > 0 and rng.random() < CONVERSION[k]
        if bought:
            stock -= 1
            revenue += PRICES[k]
        reward = 1 if bought and rng.random() < PRICES[k] / PRICES[-1] else 0
        mab.partial_fit(decisions=[k], rewards=[reward])
    elapsed = time.perf_counter() - start
    return {"study": "revenue", "policy": "mabwiser thompson (inventory-blind)", "stock_share": share, "seed": seed,
            "revenue": revenue, "seconds": elapsed}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--periods", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    for share in (0.25, 0.5):
        for seed in range(1, args.seeds + 1):
            print(json.dumps(run(args.periods, share, seed)), flush=True)
