#!/usr/bin/env python3
"""Fit PyMC-Marketing 0.19.2 to the case-study data with Arbiter's marketing-mix model.

The same data and, as far as PyMC-Marketing can express it, the same model as

    arbiter mmm fit --data ../shared/data/mmm/case_study_data.csv --date wk_strt_dt \\
      --kpi sales \\
      --channels mdsp_dm,mdsp_inst,mdsp_nsp,mdsp_auddig,mdsp_audtr,mdsp_vidtr,mdsp_viddig,mdsp_so,mdsp_on,mdsp_sem \\
      --controls "me_ics_all,me_gas_dpg,st_ct,mrkdn_pdm,hldy_Black Friday,hldy_Christmas Day" \\
      --max-lag 8 --fourier 2 --output arbiter-case-study.json

(Normal noise, Hill slope fixed at 1), sampled with PyMC's NUTS, 4 chains × (1,000 tune +
1,000 draws), target acceptance 0.9. Writes JSON in the shape of Arbiter's fit report
(`Sources/MarketingMix/MixReport.swift`): per channel spend, contribution, share, ROI,
marginal ROI, adstock decay and half-saturation spend, each as mean and 5 % / 95 %
quantiles over the posterior draws; sampler settings and wall time; worst R-hat,
smallest bulk and tail ESS, divergences. `tools/mmm-compare.py` puts the two side by side.

How Arbiter's model (`Sources/MarketingMix/MixModel.swift`) is translated, checked against
the installed source of `pymc_marketing.mmm.multidimensional.MMM` 0.19.2:

- KPI. Arbiter divides y by max|y|; PyMC-Marketing's target scaling is
  `VariableScaling(method="max")`, the plain maximum over dates. Sales are positive, so
  the two are the same number. Every prior on a coefficient is therefore on the same
  scaled-KPI scale on both sides.
- Intercept Normal(0, 2): `model_config["intercept"]`, also PyMC-Marketing's default.
- Trend. MMM has no linear trend; the script adds a control column `trend` = t/(T−1)
  (t = 0 … T−1 in date order, as Arbiter's design matrix). Its maximum is 1, so it is on
  Arbiter's scale; its coefficient is a control coefficient with Normal(0, 1), which is
  Arbiter's trend prior too.
- Controls. MMM does not scale controls (its docstring says so and `build_model` uses
  `_control` as given), so the script divides each control by its largest absolute value,
  as Arbiter does, and sets `gamma_control` Normal(0, 1) (dims "control").
- Seasonality. `yearly_seasonality=2` builds sin and cos of 2π·k·dayofyear/365.25,
  k = 1, 2, with pandas' 1-based day of the year: the same features as Arbiter's
  (`MixData.dayOfYear` is 1-based, leap years included). `gamma_fourier` Normal(0, 0.5)
  (PyMC-Marketing's default is Laplace(0, 1)).
- Adstock. `GeometricAdstock(l_max=8, normalize=True)`: weights α^l, l = 0 … 7, divided
  by their sum, convolved with the spend padded by zeros before the first period
  (`ConvMode.After`), as Arbiter. `adstock_alpha` Beta(1, 3) per channel. Adstock is
  linear, so applying it to spend scaled by any constant changes nothing but the scale.
- Saturation. Arbiter's β·a/(a + κ) (Hill, slope 1) is `MichaelisMentenSaturation`,
  `alpha·x/(lam + x)`: `saturation_alpha` = β ~ HalfNormal(1) per channel, on the scaled
  KPI like Arbiter's. The spend scale cannot be matched directly: MMM's channel scaling
  is configurable only between `method="max"` (the default) and `"mean"` (the mean over
  all dates, zeros included), while Arbiter divides by the mean of the channel's
  non-zero spend. The script keeps "max" and translates the half-saturation prior
  instead: with x = spend/max and Arbiter's a = spend/m (m the mean non-zero spend),
  a/(a + κ) = x/(x + κ·m/max), so lam = κ·m/max, and κ ~ Gamma(6, rate 6) becomes
  lam ~ Gamma(6, rate 6·max/m), per channel (an array parameter with dims "channel").
  This is an exact change of variables: the posterior over (β, α, half-saturation
  spend) is the same model.
- Noise: `likelihood` Normal with sigma ~ HalfNormal(0.5) (PyMC-Marketing's default is
  HalfNormal(2)).
- Contribution, share, ROI. `channel_contribution` (date × channel) is β·h on the
  scaled KPI; times the target scale (max sales) it is in KPI units. Per posterior
  draw: contribution_c = Σ_t of that, share_c = contribution_c / Σ_c contribution_c,
  ROI_c = contribution_c / total spend of c; marginal ROI = Σ_t β·(h(1.01·a_t) − h(a_t))
  in KPI units / (0.01 · total spend) (recomputed from α, lam, β with NumPy; the
  recomputed contribution is checked against PyMC's `channel_contribution`). Half-
  saturation spend = lam · max spend (Arbiter: κ · mean non-zero spend). Mean and
  5 % / 95 % quantiles with linear interpolation (numpy's default, Arbiter's rule).

Checked, not assumed: before sampling, the script evaluates PyMC's log density (with the
Jacobians of its transforms) and a NumPy transcription of Arbiter's `MixModel.logDensity`
(`arbiter_log_density`, from the Swift code and Arbiter's own scaling) at random
unconstrained points; the translation is exact when the two differ by one constant (the
normalising constants Arbiter drops). The spread of the difference goes into the JSON
(`check.log_density_difference_spread`, about 1e-10 on this data); the script stops
when it exceeds 1e-6 (`--check-only` runs just this check). It also checks the scales
PyMC-Marketing used, the order of channels, controls and Fourier modes, and that the
NumPy recomputation of each draw's contribution equals PyMC's `channel_contribution`.

What differs and cannot be matched:
- The sampler, not the model: PyMC's NUTS adapts a diagonal mass matrix by default
  (`--init jitter+adapt_diag`; `jitter+adapt_full` is PyMC's dense alternative) where
  Arbiter adapts a dense metric in Stan-style windows, and Arbiter samples log β at the
  channel's typical spend instead of log β (a unit-Jacobian reparameterisation: same
  posterior). Otherwise PyMC moves on Arbiter's coordinates: log β, logit α (PyMC's
  log-odds transform), log lam = log κ + a constant, log σ. Initial points differ (PyMC:
  jitter around its default initial values; Arbiter: intercept at mean y, β near 0.2, σ
  near 0.1).
- Diagnostics are ArviZ's (rank-normalised R-hat, the larger of bulk and folded; bulk
  and tail ESS) on PyMC's free variables in their constrained values; Arbiter computes
  the same statistics on its unconstrained coordinates. Bulk R-hat and ESS are invariant
  to monotone transforms; folded R-hat and tail ESS can differ slightly.
- Wall time includes building and compiling the model (pytensor caches compiled C code
  across runs) and PyMC's post-sampling computation of the deterministics; the
  sampler's own time is reported separately as `sampling_seconds`.

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
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pymc_marketing  # noqa: E402
from pymc_extras.prior import Prior  # noqa: E402
from pymc_marketing.mmm import GeometricAdstock, MichaelisMentenSaturation  # noqa: E402
from pymc_marketing.mmm.multidimensional import MMM  # noqa: E402

DATE = "wk_strt_dt"
KPI = "sales"
CHANNELS = ["mdsp_dm", "mdsp_inst", "mdsp_nsp", "mdsp_auddig", "mdsp_audtr", "mdsp_vidtr", "mdsp_viddig", "mdsp_so", "mdsp_on",
            "mdsp_sem"]
CONTROLS = ["me_ics_all", "me_gas_dpg", "st_ct", "mrkdn_pdm", "hldy_Black Friday", "hldy_Christmas Day"]
TREND = "trend"
MAX_LAG = 8
FOURIER_ORDER = 2

# Arbiter's priors (`MixPriors`), on its scaled problem.
INTERCEPT = (0.0, 2.0)
TREND_PRIOR = (0.0, 1.0)
SEASONALITY = (0.0, 0.5)
CONTROL = (0.0, 1.0)
CHANNEL_SCALE = 1.0
ADSTOCK = (1.0, 3.0)
HALF_SATURATION = (6.0, 6.0)  # Gamma(shape, rate) in units of the mean non-zero spend
NOISE_SCALE = 0.5


def load(path):
    frame = pd.read_csv(path)
    missing = [c for c in [DATE, KPI, *CHANNELS, *CONTROLS] if c not in frame.columns]
    if missing:
        sys.exit(f"error: {path} has no column(s) {', '.join(missing)}")
    frame[DATE] = pd.to_datetime(frame[DATE])
    if not frame[DATE].is_monotonic_increasing or frame[DATE].duplicated().any():
        sys.exit(f"error: {path}: dates are not strictly increasing (Arbiter reads rows in file order)")
    frame = frame.reset_index(drop=True)
    if (frame[CHANNELS] < 0).any().any():
        sys.exit(f"error: {path}: negative spend")
    return frame


def prepare(frame):
    """The model's inputs: X (date, raw spend, scaled controls and trend), y, and scales."""
    T = len(frame)
    X = pd.DataFrame({DATE: frame[DATE]})
    for c in CHANNELS:
        X[c] = frame[c].astype(float)
    control_scales = {}
    for c in CONTROLS:
        scale = float(frame[c].abs().max()) or 1.0
        control_scales[c] = scale
        X[c] = frame[c].astype(float) / scale
    X[TREND] = np.arange(T) / (T - 1) if T > 1 else 0.0
    y = frame[KPI].astype(float).rename(KPI)
    spend_max = np.array([frame[c].max() for c in CHANNELS], dtype=float)
    spend_typical = np.array([frame[c][frame[c] > 0].mean() for c in CHANNELS], dtype=float)
    return X, y, spend_max, spend_typical, control_scales


def model_config(spend_max, spend_typical):
    shape, rate = HALF_SATURATION
    return {
        "intercept": Prior("Normal", mu=INTERCEPT[0], sigma=INTERCEPT[1]),
        # Controls first, the trend last: CONTROLS + [TREND] share Normal(0, 1).
        "gamma_control": Prior("Normal", mu=CONTROL[0], sigma=CONTROL[1], dims="control"),
        "gamma_fourier": Prior("Normal", mu=SEASONALITY[0], sigma=SEASONALITY[1], dims="fourier_mode"),
        "adstock_alpha": Prior("Beta", alpha=ADSTOCK[0], beta=ADSTOCK[1], dims="channel"),
        "saturation_alpha": Prior("HalfNormal", sigma=CHANNEL_SCALE, dims="channel"),
        # κ (in units of the mean non-zero spend) ~ Gamma(6, rate 6) ⇔ lam = κ·m/max ~ Gamma(6, rate 6·max/m).
        "saturation_lam": Prior("Gamma", alpha=shape, beta=rate * spend_max / spend_typical, dims="channel"),
        "likelihood": Prior("Normal", sigma=Prior("HalfNormal", sigma=NOISE_SCALE), dims="date"),
    }


def interval(values):
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "lower_5": float(np.quantile(values, 0.05)), "upper_95": float(np.quantile(values, 0.95))}


def adstocked(x, alpha):
    """Normalised geometric adstock of x (channel × date) for alpha (draw × channel)."""
    lags = np.arange(MAX_LAG)
    weights = alpha[..., None] ** lags  # draw × channel × lag
    weights /= weights.sum(axis=-1, keepdims=True)
    T = x.shape[-1]
    out = np.zeros((alpha.shape[0], x.shape[0], T))
    for lag in range(MAX_LAG):
        out[:, :, lag:] += weights[:, :, lag:lag + 1] * x[None, :, :T - lag]
    return out


def arbiter_log_density(frame, q):
    """Arbiter's `MixModel.logDensity` (Normal noise, slope 1) at its unconstrained point q,
    Jacobians included, constants dropped, written from the Swift code with Arbiter's own
    scaling (KPI and controls by max|·|, spend by mean non-zero spend, day of year 1-based)."""
    T, C, K = len(frame), len(CHANNELS), len(CONTROLS)
    y = frame[KPI].to_numpy(float)
    y = y / np.abs(y).max()
    day = frame[DATE].dt.dayofyear.to_numpy(float)
    columns = [np.arange(T) / (T - 1)]
    for j in range(1, FOURIER_ORDER + 1):
        columns += [np.sin(2 * np.pi * j * day / 365.25), np.cos(2 * np.pi * j * day / 365.25)]
    for c in CONTROLS:
        v = frame[c].to_numpy(float)
        columns.append(v / (np.abs(v).max() or 1.0))
    design = np.stack(columns, axis=1)
    J = design.shape[1]
    mu = q[0] + design @ q[1:1 + J]
    lp = 0.0
    priors = [INTERCEPT, TREND_PRIOR] + [SEASONALITY] * (2 * FOURIER_ORDER) + [CONTROL] * K
    for i, (m, s) in enumerate(priors):
        lp -= ((q[i] - m) / s) ** 2 / 2
    for k, c in enumerate(CHANNELS):
        spend = frame[c].to_numpy(float)
        x = spend / spend[spend > 0].mean()
        log_beta, u, log_kappa = q[1 + J + 3 * k:1 + J + 3 * k + 3]
        alpha = 1 / (1 + np.exp(-u))
        weights = alpha ** np.arange(MAX_LAG)
        a = np.array([sum(weights[l] * x[t - l] for l in range(min(MAX_LAG - 1, t) + 1)) for t in range(T)]) / weights.sum()
        mu = mu + np.exp(log_beta) * a / (a + np.exp(log_kappa))
        lp += log_beta - np.exp(log_beta) ** 2 / (2 * CHANNEL_SCALE ** 2)
        lp += -ADSTOCK[0] * np.logaddexp(0, -u) - ADSTOCK[1] * np.logaddexp(0, u)
        lp += HALF_SATURATION[0] * log_kappa - HALF_SATURATION[1] * np.exp(log_kappa)
    log_sigma = q[-1]
    sigma = np.exp(log_sigma)
    lp += -T * log_sigma - np.sum((y - mu) ** 2) / (2 * sigma ** 2)
    lp += log_sigma - sigma ** 2 / (2 * NOISE_SCALE ** 2)
    return lp


def check_density(mmm, frame, spend_max, spend_typical, points, seed):
    """Evaluate PyMC's log density (Jacobians included) and Arbiter's at the same random
    unconstrained points: the translation is exact when they differ by one constant."""
    logp = mmm.model.compile_logp(jacobian=True)
    rng = np.random.default_rng(seed)
    K, C = len(CONTROLS), len(CHANNELS)
    differences = []
    for _ in range(points):
        intercept, trend = rng.normal(0.5, 0.3), rng.normal(0, 0.5)
        season = rng.normal(0, 0.3, size=2 * FOURIER_ORDER)  # Arbiter's order: sin1, cos1, sin2, cos2
        controls = rng.normal(0, 0.5, size=K)
        log_beta, logit_alpha, log_kappa = rng.normal(-2, 1, size=C), rng.normal(-1, 1, size=C), rng.normal(0, 0.5, size=C)
        log_sigma = rng.normal(-2.5, 0.5)
        q = [intercept, trend, *season, *controls]
        for k in range(C):
            q += [log_beta[k], logit_alpha[k], log_kappa[k]]
        q.append(log_sigma)
        sin = season[0::2]
        cos = season[1::2]
        point = {
            "intercept_contribution": np.array(intercept),
            "gamma_control": np.array([*controls, trend]),
            "gamma_fourier": np.array([*sin, *cos]),  # PyMC-Marketing's order: sin_1, sin_2, cos_1, cos_2
            "adstock_alpha_logodds__": logit_alpha,
            "saturation_alpha_log__": log_beta,
            "saturation_lam_log__": log_kappa + np.log(spend_typical / spend_max),
            "y_sigma_log__": np.array(log_sigma),
        }
        differences.append(float(logp(point)) - arbiter_log_density(frame, np.array(q)))
    return float(np.max(differences) - np.min(differences))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data",
                                                      "mmm", "case_study_data.csv"))
    parser.add_argument("--output", help="write the JSON here (it is printed to standard output too)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--cores", type=int, default=1, help="processes for the chains (default 1: chains one after another)")
    parser.add_argument("--target-accept", type=float, default=0.9)
    parser.add_argument("--init", default="jitter+adapt_diag", help="PyMC's NUTS initialisation (jitter+adapt_full: dense metric)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check-points", type=int, default=20, help="random points at which to compare the log densities")
    parser.add_argument("--check-only", action="store_true", help="compare the log densities, then stop without fitting")
    args = parser.parse_args()

    frame = load(args.csv)
    X, y, spend_max, spend_typical, control_scales = prepare(frame)
    config = model_config(spend_max, spend_typical)
    mmm = MMM(
        date_column=DATE, channel_columns=CHANNELS, target_column=KPI, control_columns=[*CONTROLS, TREND],
        adstock=GeometricAdstock(l_max=MAX_LAG, normalize=True), saturation=MichaelisMentenSaturation(),
        yearly_seasonality=FOURIER_ORDER, model_config=config,
        scaling={"target": {"method": "max", "dims": ()}, "channel": {"method": "max", "dims": ()}})

    started = time.monotonic()
    mmm.build_model(X, y)
    if list(mmm.model.coords["fourier_mode"]) != [f"{f}_{j}" for f in ("sin", "cos") for j in range(1, FOURIER_ORDER + 1)]:
        sys.exit(f"error: unexpected Fourier modes {mmm.model.coords['fourier_mode']}")
    spread = check_density(mmm, frame, spend_max, spend_typical, points=args.check_points, seed=args.seed)
    print(f"log densities of PyMC and Arbiter differ by one constant to within {spread:.3g} over {args.check_points} points",
          file=sys.stderr)
    if not spread < 1e-6:
        sys.exit(f"error: PyMC's model is not Arbiter's: its log density minus Arbiter's varies by {spread:.3g}")
    if args.check_only:
        return
    mmm.fit(X=X, y=y, chains=args.chains, cores=args.cores, draws=args.draws, tune=args.tune, target_accept=args.target_accept,
            init=args.init, random_seed=args.seed, progressbar=False)
    seconds = time.monotonic() - started
    idata = mmm.idata
    posterior = idata.posterior

    # Scales PyMC-Marketing used: they must be the ones the translation assumed.
    target_scale = float(mmm.scalers["_target"].values)
    channel_scale = mmm.scalers["_channel"].sel(channel=CHANNELS).values.astype(float)
    if not np.isclose(target_scale, np.abs(y).max()) or not np.allclose(channel_scale, spend_max):
        sys.exit(f"error: PyMC-Marketing scaled by {target_scale} and {channel_scale}, not by the maxima the priors assume")
    channel_order = [str(c) for c in posterior.coords["channel"].values]
    control_order = [str(c) for c in posterior.coords["control"].values]
    if channel_order != CHANNELS or control_order != [*CONTROLS, TREND]:
        sys.exit(f"error: PyMC-Marketing reordered channels or controls: {channel_order}, {control_order}")

    # Per draw (chains in order), channel × date.
    contribution_scaled = posterior["channel_contribution"].transpose("chain", "draw", "channel", "date").values
    draws = contribution_scaled.shape[0] * contribution_scaled.shape[1]
    contribution_scaled = contribution_scaled.reshape(draws, len(CHANNELS), -1)
    contribution = contribution_scaled.sum(axis=-1) * target_scale  # draw × channel, KPI units
    shares = contribution / np.maximum(contribution.sum(axis=1, keepdims=True), np.finfo(float).tiny)
    spend_total = np.array([frame[c].sum() for c in CHANNELS], dtype=float)
    roi = contribution / spend_total

    def flat(name):
        return posterior[name].transpose("chain", "draw", "channel").values.reshape(draws, len(CHANNELS))

    alpha, beta, lam = flat("adstock_alpha"), flat("saturation_alpha"), flat("saturation_lam")
    x = (frame[CHANNELS].to_numpy(dtype=float) / spend_max).T  # channel × date, PyMC's scaled spend
    a = adstocked(x, alpha)
    h = a / (lam[..., None] + a)
    lifted = 1.01 * a / (lam[..., None] + 1.01 * a)
    recomputed = beta * h.sum(axis=-1) * target_scale
    check = float(np.max(np.abs(recomputed - contribution) / np.maximum(np.abs(contribution), 1e-12)))
    if check > 1e-6:
        sys.exit(f"error: the NumPy recomputation of the contribution differs from PyMC's by {check:.3g} (relative)")
    marginal = beta * (lifted - h).sum(axis=-1) * target_scale / (0.01 * spend_total)
    half_saturation_spend = lam * spend_max

    free = [rv.name for rv in mmm.model.free_RVs]
    summary = az.summary(idata, var_names=free, kind="diagnostics", round_to="none")
    stats = idata.sample_stats
    divergences = int(stats["diverging"].sum())
    depth_hits = int(stats["reached_max_treedepth"].sum()) if "reached_max_treedepth" in stats else None
    worst_r_hat = float(summary["r_hat"].max())
    bulk, tail = float(summary["ess_bulk"].min()), float(summary["ess_tail"].min())
    problems = []
    if not worst_r_hat < 1.01:
        problems.append(f"R-hat {worst_r_hat:.3f} for {summary['r_hat'].idxmax()} (needs < 1.01)")
    needed = 100 * args.chains
    if not bulk >= needed:
        problems.append(f"bulk ESS {int(bulk)} (needs ≥ {needed})")
    if not tail >= needed:
        problems.append(f"tail ESS {int(tail)} (needs ≥ {needed})")
    if divergences:
        problems.append(f"{divergences} divergent transitions")

    report = {
        "library": f"pymc-marketing {pymc_marketing.__version__}",
        "data": {"csv": os.path.abspath(args.csv), "periods": len(frame), "date": DATE, "kpi": KPI, "channels": CHANNELS,
                 "controls": CONTROLS, "extra_controls": [TREND], "kpi_scale": target_scale,
                 "control_scales": control_scales,
                 "spend_max": dict(zip(CHANNELS, spend_max.tolist())),
                 "spend_mean_nonzero": dict(zip(CHANNELS, spend_typical.tolist()))},
        "model": {"adstock": f"geometric, normalised, max lag {MAX_LAG}", "saturation": "michaelis-menten (= hill, slope 1)",
                  "fourier_order": FOURIER_ORDER, "noise": "normal",
                  "priors": {"intercept": "Normal(0, 2)", "trend": "Normal(0, 1) (control column t/(T-1))",
                             "seasonality": "Normal(0, 0.5)", "controls": "Normal(0, 1) on controls / max|control|",
                             "beta": "HalfNormal(1) on sales / max(sales)", "adstock": "Beta(1, 3)",
                             "half_saturation": "lam ~ Gamma(6, rate 6·max/mean_nonzero) on spend/max "
                                                "(= κ ~ Gamma(6, 6) on spend/mean_nonzero)",
                             "lam_rate": dict(zip(CHANNELS, (HALF_SATURATION[1] * spend_max / spend_typical).tolist())),
                             "noise": "HalfNormal(0.5)"}},
        "sampler": {"name": "pymc NUTS", "chains": args.chains, "warmup": args.tune, "draws": args.draws, "cores": args.cores,
                    "init": args.init, "target_acceptance": args.target_accept, "seed": args.seed, "seconds": seconds,
                    "sampling_seconds": float(stats.attrs.get("sampling_time", float("nan")))},
        "convergence": {
            "converged": not problems, "problems": problems, "worst_r_hat": worst_r_hat, "smallest_bulk_ess": bulk,
            "smallest_tail_ess": tail, "divergences": divergences, "max_depth_hits": depth_hits,
            "parameters": [{"name": str(name), "r_hat": float(row["r_hat"]), "bulk_ess": float(row["ess_bulk"]),
                            "tail_ess": float(row["ess_tail"])} for name, row in summary.iterrows()]},
        "channels": [{
            "name": c, "spend": float(spend_total[k]), "contribution": interval(contribution[:, k]), "share": interval(shares[:, k]),
            "roi": interval(roi[:, k]), "marginal_roi": interval(marginal[:, k]), "adstock": interval(alpha[:, k]),
            "half_saturation_spend": interval(half_saturation_spend[:, k]), "effect": interval(beta[:, k] * target_scale),
        } for k, c in enumerate(CHANNELS)],
        "check": {"recomputed_contribution_max_relative_error": check,
                  "log_density_difference_spread": spread, "log_density_points": args.check_points},
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
