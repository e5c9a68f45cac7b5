"""Time per ask, NP vs BoTorch GP, as the number of observations grows.

One ask = condition the surrogate on n observations (the GP fits its hyperparameters by
marginal likelihood; the NP does one forward pass) and take one Thompson draw over the
default candidate set (Sobol + perturbations of the best points), exactly as `npopt run`
does. The objective is Hartmann6 on random points, so the GP's fit is realistic.

    .venv/bin/python benchmarks/speed.py --dim 6 --sizes 50,200,1000 --json benchmarks/results/speed_d6.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from npopt.acquisition import standardise, thompson_suggest
from npopt.problems import make_problem
from npopt.surrogates import make_surrogate


def time_asks(method: str, X: torch.Tensor, y: torch.Tensor, reps: int) -> list[float]:
    times = []
    for rep in range(reps):
        surrogate = make_surrogate(method, X.shape[1])
        g = torch.Generator().manual_seed(rep)
        t0 = time.perf_counter()
        thompson_suggest(surrogate, X, y, 1, g)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=6)
    parser.add_argument("--sizes", default="50,200,1000")
    parser.add_argument("--methods", default="np,gp")
    parser.add_argument("--reps", type=int, default=5, help="asks per (method, n); GP at n >= 1000 uses 2")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    problem = make_problem("hartmann6" if args.dim == 6 else "levy4")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        g = torch.Generator().manual_seed(n)
        X = torch.rand(n, args.dim, generator=g, dtype=torch.float64)
        y = standardise(problem.evaluate(X))
        for method in args.methods.split(","):
            reps = 2 if (method == "gp" and n >= 1000) else args.reps
            times = time_asks(method, X, y, reps)
            rows.append({"method": method, "n": n, "dim": args.dim, "median_ask_seconds": statistics.median(times),
                         "reps": reps})
            print(f"{method:3s} n={n:5d} d={args.dim}: median ask {statistics.median(times) * 1000:9.1f} ms ({reps} asks)",
                  flush=True)
    by = {(r["method"], r["n"]): r["median_ask_seconds"] for r in rows}
    for n in sorted({r["n"] for r in rows}):
        if ("np", n) in by and ("gp", n) in by:
            print(f"n={n}: NP is {by[('gp', n)] / by[('np', n)]:.0f}x faster than the GP's fit + Thompson step")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": f"{platform.machine()}, torch {torch.__version__}, 1 thread", "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
