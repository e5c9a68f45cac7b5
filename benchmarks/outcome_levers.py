"""Variants of np on the constrained and multi-objective suites, paired with a committed run.

Each variant runs the suite's protocol (``npopt benchmark --suite ...``: same starting
points and study seeds per repeat), so its runs pair with the ``np`` runs of a summary that
``npopt benchmark --json`` wrote on the same seed set (e.g. benchmarks/results/constrained/seed0.json):

- ``np``: the default again (checks that the committed runs are what the code does);
- ``np-mean``: each outcome's NP fits a constant mean (``OutcomeModels.constant_mean``), as
  single-objective studies do.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/outcome_levers.py --suite constrained --seed 0 \\
        --methods np-mean --json runs/outcome_mean_constrained_seed0.json
    .venv/bin/python benchmarks/outcome_levers.py --table \\
        --pairs benchmarks/results/constrained/seed0.json:runs/outcome_mean_constrained_seed0.json

The table: per problem and seed set, the median final score of np, of each variant and of the
peers (GPSampler, TPE), and each variant's paired change from np (mean over repeats, with its
standard error): log10 best feasible regret (constrained; regret floored at 1e-9), or
hypervolume fraction (several objectives). Real tasks without a known optimum are rescored on
the best value either file found.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endgame import paired_log10

VARIANTS = ("np", "np-mean")
PEERS = ("optuna-gp", "tpe")
FLOOR = 1e-9


def run(suite: str, seed: int, repeats: int, methods: list[str], problems: list[str] | None) -> dict:
    from npopt.acquisition.several import OutcomeModels
    from npopt.benchmarks.outcomes import run_suite

    merged: dict | None = None
    for method in methods:
        OutcomeModels.constant_mean = method == "np-mean"
        t0 = time.perf_counter()
        summary = run_suite(suite, ["np"], repeats, seed, problems)
        OutcomeModels.constant_mean = False
        for name, entry in summary["problems"].items():
            entry["methods"] = {method: entry["methods"]["np"]}
            print(f"{suite} seed {seed} {name:14s} {method:8s} median {entry['methods'][method]['median']:.4g}",
                  flush=True)
        print(f"{method}: {time.perf_counter() - t0:.0f} s", flush=True)
        if merged is None:
            merged = summary
        else:
            for name, entry in summary["problems"].items():
                merged["problems"][name]["methods"].update(entry["methods"])
    return merged


def _rescored(base: dict, other: dict) -> tuple[dict, dict]:
    """Both summaries' finals per method, on one scale: constrained regrets against the lower
    of the two optima, hypervolume fractions of the larger of the two reference volumes."""
    out: tuple[dict, dict] = ({}, {})
    for name, b in base["problems"].items():
        o = other["problems"].get(name)
        if o is None:
            continue
        if base["suite"] == "constrained":
            best = min(b["optimum"], o["optimum"])
            shift = [e["optimum"] - best for e in (b, o)]
            for i, e in enumerate((b, o)):
                out[i][name] = {m: [f + shift[i] for f in r["finals"]] for m, r in e["methods"].items()}
        else:
            best = max(b["max_hv"], o["max_hv"])
            for i, e in enumerate((b, o)):
                scale = e["max_hv"] / best
                out[i][name] = {m: [f * scale for f in r["finals"]] for m, r in e["methods"].items()}
    return out


def _change(values: list[float], base: list[float], constrained: bool) -> tuple[float, float]:
    """Mean paired change over the repeats both ran (the first ``min(len)``), and its se."""
    n = min(len(values), len(base))
    values, base = values[:n], base[:n]
    if constrained:
        return paired_log10(values, base, FLOOR)
    d = [v - b for v, b in zip(values, base, strict=True)]
    se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    return statistics.fmean(d), se


def _at_least(a: float, b: float, constrained: bool) -> bool:
    """Whether score ``a`` is at least as good as ``b``: lower regret, or higher hypervolume."""
    return a <= b if constrained else a >= b


def table(pairs: list[tuple[str, str]]) -> str:
    rows, counts = [], {}
    constrained = None
    for base_path, other_path in pairs:
        with open(base_path) as f:
            base = json.load(f)
        with open(other_path) as f:
            other = json.load(f)
        constrained = base["suite"] == "constrained"
        seed = base["seed"]
        b, o = _rescored(base, other)
        variants = [m for m in VARIANTS if any(m in o[n] for n in o)]
        for name in o:
            if "np" not in b[name]:
                continue
            medians = {m: statistics.median(v) for m, v in b[name].items()}
            medians.update({f"{m} (new)" if m == "np" else m: statistics.median(v) for m, v in o[name].items()})
            cells = [name, str(seed), f"{medians['np']:.3g}"]
            for m in variants:
                key = "np (new)" if m == "np" else m
                change = _change(o[name][m], b[name]["np"], constrained)
                cells += [f"{medians[key]:.3g}", f"{change[0]:+.2f} ({change[1]:.2f})"]
            for m, key in [*((m, "np (new)" if m == "np" else m) for m in variants), ("np (committed)", "np")]:
                for peer in PEERS:
                    if peer in medians:
                        wins, total = counts.get((m, peer, seed), (0, 0))
                        won = _at_least(medians[key], medians[peer], constrained)
                        counts[(m, peer, seed)] = (wins + won, total + 1)
            cells += [f"{medians[p]:.3g}" if p in medians else "" for p in PEERS]
            rows.append(cells)
    score = "log10 regret" if constrained else "hypervolume fraction"
    head = ["problem", "seed set", "np (committed)"]
    for m in variants:
        head += [m, f"{m} - np, {score}"]
    head += list(PEERS)
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    for (m, peer, seed), (wins, total) in sorted(counts.items()):
        lines.append(f"- {m} at least as good as {peer} on {wins} of {total} problems (seed set {seed})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=("constrained", "multiobjective"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default="np-mean")
    parser.add_argument("--problems")
    parser.add_argument("--json")
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--pairs", help="comma-separated BASE.json:VARIANTS.json pairs (with --table)")
    args = parser.parse_args()
    if args.table:
        pairs = [tuple(p.split(":", 1)) for p in args.pairs.split(",")]
        print(table(pairs))
        sys.exit(0)
    methods = args.methods.split(",")
    bad = [m for m in methods if m not in VARIANTS]
    if bad or args.suite is None:
        parser.error(f"--suite is needed and --methods are among {', '.join(VARIANTS)}")
    summary = run(args.suite, args.seed, args.repeats, methods, args.problems.split(",") if args.problems else None)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f)
    sys.exit(0)


if __name__ == "__main__":
    main()
