"""The end of a known budget: does maximising LogEI for the last evaluations beat drawing?

The last evaluation cannot inform a later one, so the pick that maximises the expected best
value is the one-step lookahead: expected improvement (``AcquisitionOptions.final_logei``).
Each run is the default's (``np-local``, the synthetic suite's seeds, starts and budget
``10 d + 10``) and *forks* ``k`` evaluations before the end for each ``k`` of ``--last``:
the fork's last ``k`` evaluations maximise LogEI on the NP's predictive, so every fork is
paired with the run it left, and its change is the endgame's alone. Runs go to ``--runs``
(JSON lines, reused when the script is run again).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/endgame.py --seed 0 --repeats 3 \\
        --problems sphere10,ackley10 --last 1,10 --runs runs/endgame_seed0.jsonl
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import torch

from npopt.benchmarks.problems import SUITES, make_problem
from npopt.benchmarks.suites import _told, study_space
from npopt.encoding import to_params
from npopt.optim import single_thread
from npopt.seeds import derived_seed
from npopt.suggest import settle, suggest
from npopt.surrogates import make_surrogate


def run_forked(problem, seed: int, index: int, lasts: list[int]) -> dict[str, list[float]]:
    """The default's run of ``problem`` (repeat ``index`` of seed set ``seed``) and one fork per
    ``k`` in ``lasts``: method name -> values in evaluation order."""
    names = SUITES["synthetic"]
    budget = 10 * problem.dim + 10
    s = derived_seed(seed, names.index(problem.name), index)
    X0 = torch.quasirandom.SobolEngine(problem.dim, scramble=True, seed=s % 2**31).draw(2, dtype=torch.float64)
    study_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=torch.Generator().manual_seed(s)))
    space = study_space(problem)
    surrogate = make_surrogate("np", problem.dim, choices=problem.choices)
    surrogate.acquisition = dataclasses.replace(surrogate.acquisition, trust_region_dim=None, local_search_dim=6)
    trials = [_told(space, i, params, problem) for i, params in enumerate(to_params(space, X0))]
    out = {}

    def step(model, trials):
        (params,) = settle(space, suggest(space, "minimize", model, trials, 1, study_seed,
                                          remaining=budget - len(trials)), trials)
        trials.append(_told(space, len(trials), params, problem))

    while len(trials) < budget:
        for k in lasts:
            if budget - len(trials) == k:  # fork: the last k evaluations maximise LogEI
                fork, forked = copy.deepcopy(surrogate), list(trials)
                fork.acquisition = dataclasses.replace(fork.acquisition, final_logei=k)
                while len(forked) < budget:
                    step(fork, forked)
                out[f"np-end{k}"] = [t.value for t in forked]
        step(surrogate, trials)
    out["np-local"] = [t.value for t in trials]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", required=True)
    parser.add_argument("--last", default="1,10")
    parser.add_argument("--runs", required=True)
    args = parser.parse_args()
    lasts = [int(k) for k in args.last.split(",")]
    path = Path(args.runs)
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done[(r["seed"], r["problem"], r["repeat"], tuple(r["lasts"]))] = r
    with single_thread():
        for name in args.problems.split(","):
            problem = make_problem(name)
            finals = {}
            for index in range(args.repeats):
                key = (args.seed, name, index, tuple(lasts))
                if key not in done:
                    t0 = time.perf_counter()
                    values = run_forked(problem, args.seed, index, lasts)
                    done[key] = {"seed": args.seed, "problem": name, "repeat": index, "lasts": lasts,
                                 "optimal_value": problem.optimal_value, "values": values,
                                 "seconds": time.perf_counter() - t0}
                    with path.open("a") as f:
                        f.write(json.dumps(done[key]) + "\n")
                for method, values in done[key]["values"].items():
                    finals.setdefault(method, []).append(min(values) - problem.optimal_value)
            base = [math.log10(max(v, 1e-12)) for v in finals["np-local"]]
            line = f"{name:15s} np-local {statistics.median(finals['np-local']):.4g}"
            for method in sorted(m for m in finals if m != "np-local"):
                d = [math.log10(max(v, 1e-12)) - b for v, b in zip(finals[method], base, strict=True)]
                se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
                line += f"  {method} {statistics.median(finals[method]):.4g} ({statistics.mean(d):+.2f}, se {se:.2f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
