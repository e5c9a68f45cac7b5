"""The Thompson-sampling levers of the 8-16-D issue, each as a benchmark method, on the
synthetic suite's protocol (same starting points and study seeds for every method).

Methods (besides the registered ones, e.g. ``gp``, ``optuna-gp``, ``tpe``, ``random``):

- ``np-local``: the default (from 6 inputs on, each draw searched among perturbations of
  the five best points, unpolished);
- ``np-nomean``: the default before the constant mean (``NPSurrogate.constant_mean = False``);
- ``np-global``: the candidate set of 1-5 inputs at every dimension (space-filling points,
  perturbations of the best, the gradient polish), no local search;
- ``np-tr-argmin``: trust region, each draw's argmin over the region's candidates, no L-BFGS-B;
- ``np-tr``: trust region with multi-start L-BFGS-B on each draw.

Two more variants were measured and removed (their runs: benchmarks/results/thompson_tr/README.md):
the local search with each draw minimised by L-BFGS-B within 0.15 of its start, and the trust
region's candidates joined by the local search's perturbations (commit a6b72b0).
- ``np-logei``: LogEI on the NP's Gaussian predictive (the yardstick).

Every run goes to ``--runs`` (a RunStore file, reused when the script is run again), and a
summary of each (problem, method) is printed and written to ``--json``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/thompson_levers.py --seed 0 --repeats 3 \\
        --problems sphere10,ackley10 --methods np-tr,np-local,optuna-gp \\
        --runs runs/levers_seed0.runs.jsonl --json benchmarks/results/thompson_tr/levers_seed0.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from npopt.benchmarks.suites import build_surrogate, run_synthetic
from npopt.surrogates import make_surrogate


def _np(**changes):
    def factory(problem):
        surrogate = make_surrogate("np", problem.dim, choices=problem.choices)
        surrogate.acquisition = dataclasses.replace(surrogate.acquisition, **changes)
        return surrogate

    return factory


def _np_without_constant_mean(problem):
    surrogate = _np(trust_region_dim=None, local_search_dim=6)(problem)
    surrogate.constant_mean = False
    return surrogate


VARIANTS = {
    "np-local": _np(trust_region_dim=None, local_search_dim=6),
    "np-nomean": _np_without_constant_mean,
    "np-global": _np(trust_region_dim=None, local_search_dim=None),
    "np-tr-argmin": _np(trust_region_dim=6, starts=0),
    "np-tr": _np(trust_region_dim=6),
}


def factory_for(method: str):
    if method in VARIANTS:
        return VARIANTS[method]
    return lambda problem: build_surrogate(method, problem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", required=True)
    parser.add_argument("--methods", required=True)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--suite", default="synthetic", choices=("synthetic", "mixed"))
    parser.add_argument("--json")
    args = parser.parse_args()
    methods = args.methods.split(",")
    summary = {}
    for problem in args.problems.split(","):
        for method in methods:
            t0 = time.perf_counter()
            result = run_synthetic({method: factory_for(method)}, problems=[problem], repeats=args.repeats,
                                   seed=args.seed, runs=args.runs, suite=args.suite,
                                   variants={method: lambda p, m=method: m})
            entry = result.summary()["problems"][problem][method]
            summary.setdefault(problem, {})[method] = entry
            regret = entry.get("median_regret")
            print(f"{problem:15s} {method:14s} median regret {regret if regret is None else f'{regret:.4g}'} "
                  f"ask {entry.get('median_ask_seconds') or 0:.3f} s  ({time.perf_counter() - t0:.0f} s) "
                  f"{entry['status']} {entry.get('message', '')}", flush=True)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"seed": args.seed, "repeats": args.repeats, "problems": summary}, f, indent=1)
    sys.exit(0)


if __name__ == "__main__":
    main()
