#!/usr/bin/env python3
"""Put Arbiter's marketing-mix fit and PyMC-Marketing's side by side, channel by channel.

    python3 tools/mmm-compare.py --arbiter arbiter-case-study.json --pymc pymc-case-study.json

Reads Arbiter's fit JSON (`arbiter mmm fit --output`, see
`Sources/MarketingMix/MixReport.swift`) and the JSON `tools/pymc-case-study.py` writes
(the same shape: per channel `share` and `roi` objects with `mean`, `lower_5`,
`upper_95`). Prints a markdown report: each side's settings and convergence, then per
channel the share of all channels' contribution and the ROI with their 90 % intervals,
and whether each side's mean lies inside the other's 90 % interval (both directions),
then how many of those checks held. Agreement is a report, not a test: the exit status
is 0 whatever the numbers say (2 only when a file cannot be read or has the wrong shape).

Standard library only; no virtual environment needed.
"""

import argparse
import json
import sys

SETUP_ERROR = 2


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(SETUP_ERROR)


def load(path, side):
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        fail(f"{side} fit {path}: {error}")
    channels = document.get("channels") if isinstance(document, dict) else None
    if not isinstance(channels, list):
        fail(f"{side} fit {path}: no 'channels' list (is this a fit report?)")
    by_name = {}
    for channel in channels:
        try:
            name = channel["name"]
            for key in ("share", "roi"):
                interval = channel[key]
                channel[key] = {k: float(interval[k]) for k in ("mean", "lower_5", "upper_95")}
        except (KeyError, TypeError, ValueError) as error:
            fail(f"{side} fit {path}: channel entry without share/roi mean, lower_5 and upper_95 ({error!r}): {str(channel)[:200]}")
        by_name[name] = channel
    return document, by_name


def number(value):
    """A readable number: about three significant digits, no exponent for ordinary sizes."""
    if value is None:
        return "–"
    a = abs(value)
    if a >= 1e6 or (0 < a < 1e-3):
        return f"{value:.3g}"
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def percent(value):
    return f"{100 * value:.1f}"


def shown(interval, scale):
    f = percent if scale == "percent" else number
    unit = " %" if scale == "percent" else ""
    return f"{f(interval['mean'])}{unit} [{f(interval['lower_5'])}, {f(interval['upper_95'])}]"


def inside(value, interval):
    return interval["lower_5"] <= value <= interval["upper_95"]


def mark(ok):
    return "yes" if ok else "**no**"


def describe(document, side, path):
    sampler = document.get("sampler", {}) or {}
    convergence = document.get("convergence", {}) or {}
    data = document.get("data", {}) or {}
    library = document.get("library", "arbiter" if side == "Arbiter" else "")

    def get(mapping, key, fmt=number):
        value = mapping.get(key)
        return fmt(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"

    converged = convergence.get("converged")
    verdict = "converged" if converged is True else "**NOT converged**" if converged is False else "convergence not reported"
    problems = convergence.get("problems") or []
    line = (f"- **{side}** ({library or 'unknown'}; `{path}`): {get(data, 'periods', str)} periods, "
            f"{get(sampler, 'chains', str)} chains × ({get(sampler, 'warmup', str)} warm-up + {get(sampler, 'draws', str)} draws), "
            f"{get(sampler, 'seconds')} s; {verdict}: worst R-hat {get(convergence, 'worst_r_hat', lambda v: f'{v:.3f}')}, "
            f"smallest bulk ESS {get(convergence, 'smallest_bulk_ess', lambda v: f'{v:.0f}')}, "
            f"smallest tail ESS {get(convergence, 'smallest_tail_ess', lambda v: f'{v:.0f}')}, "
            f"divergences {get(convergence, 'divergences', str)}")
    if problems:
        line += f" ({'; '.join(str(p) for p in problems)})"
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arbiter", required=True, help="Arbiter's fit JSON (arbiter mmm fit --output)")
    parser.add_argument("--pymc", required=True, help="the JSON tools/pymc-case-study.py wrote")
    args = parser.parse_args()
    arbiter_doc, arbiter = load(args.arbiter, "Arbiter")
    pymc_doc, pymc = load(args.pymc, "PyMC")

    print("# Marketing-mix fit: Arbiter vs PyMC-Marketing\n")
    print(describe(arbiter_doc, "Arbiter", args.arbiter))
    print(describe(pymc_doc, "PyMC", args.pymc))
    warnings = []
    a_periods = (arbiter_doc.get("data") or {}).get("periods")
    p_periods = (pymc_doc.get("data") or {}).get("periods")
    if a_periods is not None and p_periods is not None and a_periods != p_periods:
        warnings.append(f"the fits saw different numbers of periods ({a_periods} and {p_periods})")
    a_controls = (arbiter_doc.get("data") or {}).get("controls")
    p_controls = (pymc_doc.get("data") or {}).get("controls")
    if a_controls is not None and p_controls is not None and list(a_controls) != list(p_controls):
        warnings.append(f"the fits used different controls ({a_controls} and {p_controls})")
    only_arbiter = [name for name in arbiter if name not in pymc]
    only_pymc = [name for name in pymc if name not in arbiter]
    if only_arbiter:
        warnings.append(f"channels only in Arbiter's fit, left out: {', '.join(only_arbiter)}")
    if only_pymc:
        warnings.append(f"channels only in PyMC's fit, left out: {', '.join(only_pymc)}")
    for warning in warnings:
        print(f"\n**Warning:** {warning}.")

    common = [name for name in arbiter if name in pymc]
    print("\nEach cell: posterior mean [5 %, 95 %]. \"A in P\": Arbiter's mean lies inside PyMC's 90 % interval; "
          "\"P in A\": PyMC's mean inside Arbiter's.\n")
    print("| channel | Arbiter share | PyMC share | share A in P | share P in A "
          "| Arbiter ROI | PyMC ROI | ROI A in P | ROI P in A |")
    print("|---|---|---|---|---|---|---|---|---|")
    counts = {"share_a_in_p": 0, "share_p_in_a": 0, "roi_a_in_p": 0, "roi_p_in_a": 0}
    disagreements = []
    for name in common:
        a, p = arbiter[name], pymc[name]
        checks = {
            "share_a_in_p": inside(a["share"]["mean"], p["share"]),
            "share_p_in_a": inside(p["share"]["mean"], a["share"]),
            "roi_a_in_p": inside(a["roi"]["mean"], p["roi"]),
            "roi_p_in_a": inside(p["roi"]["mean"], a["roi"]),
        }
        for key, ok in checks.items():
            counts[key] += ok
        failed = [key for key, ok in checks.items() if not ok]
        if failed:
            disagreements.append((name, failed))
        print(f"| {name} | {shown(a['share'], 'percent')} | {shown(p['share'], 'percent')} | {mark(checks['share_a_in_p'])} "
              f"| {mark(checks['share_p_in_a'])} | {shown(a['roi'], 'number')} | {shown(p['roi'], 'number')} "
              f"| {mark(checks['roi_a_in_p'])} | {mark(checks['roi_p_in_a'])} |")

    n = len(common)
    total = sum(counts.values())
    print(f"\n**Agreement: {total} of {4 * n} checks** over {n} channels:")
    print(f"- share: Arbiter's mean inside PyMC's 90 % interval for {counts['share_a_in_p']} of {n} channels, "
          f"PyMC's inside Arbiter's for {counts['share_p_in_a']} of {n};")
    print(f"- ROI: Arbiter's mean inside PyMC's 90 % interval for {counts['roi_a_in_p']} of {n} channels, "
          f"PyMC's inside Arbiter's for {counts['roi_p_in_a']} of {n}.")
    if n == 0:
        print("- no channel in common: nothing was compared.")
    elif disagreements:
        labels = {"share_a_in_p": "share A∉P", "share_p_in_a": "share P∉A", "roi_a_in_p": "ROI A∉P", "roi_p_in_a": "ROI P∉A"}
        print("- disagreements: " + "; ".join(f"{name} ({', '.join(labels[k] for k in failed)})" for name, failed in disagreements) + ".")
    else:
        print("- every mean lies inside the other side's 90 % interval.")
    unconverged = [side for side, doc in (("Arbiter", arbiter_doc), ("PyMC", pymc_doc))
                   if (doc.get("convergence") or {}).get("converged") is False]
    if unconverged:
        print(f"\n**Caution:** {' and '.join(unconverged)} did not converge; "
              "its intervals may not describe its posterior, so agreement or disagreement above is weak evidence.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
