"""How well the NP predicts after many observations: held-out log-likelihood per point.

For each problem and number of observations ``n``, ``--reps`` sets of ``n`` uniform points
(and 500 held-out ones) are drawn; the shipped prior, as ``npopt ask`` uses it, conditions
on the standardised values (beyond 128 points: the evidence refinement of the first
``refit_point(n)`` points, kept, and the noise and ``z`` of all ``n``), and its predictive
``N(mean, var + noise^2)`` (mean and variance over 256 draws) scores the held-out values.
Also printed: the RMSE of the mean and the noise the NP chose (standardised units). One
thread.

    .venv/bin/python benchmarks/long_context_nll.py --problems hartmann6_12,levy10 --offset 0

``--offset`` moves every seed: 0 and 500 are the two seed sets of
``benchmarks/results/kept_noise/``.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from npopt.benchmarks.problems import make_problem
from npopt.surrogates import make_surrogate


def measure(name: str, n: int, reps: int, offset: int) -> dict:
    problem = make_problem(name)
    rows = []
    for rep in range(reps):
        g = torch.Generator().manual_seed(1000 * n + rep + offset)
        X = torch.rand(n, problem.dim, generator=g, dtype=torch.float64)
        T = torch.rand(500, problem.dim, generator=g, dtype=torch.float64)
        y, yt = problem.evaluate(X), problem.evaluate(T)
        mu, sd = y.mean(), y.std()
        ys, yts = (y - mu) / sd, (yt - mu) / sd
        surrogate = make_surrogate("np", problem.dim)
        t0 = time.perf_counter()
        surrogate.condition(X, ys)
        seconds = time.perf_counter() - t0
        noise = float(surrogate._context().noise[0])
        D = surrogate.sample(T, 256, torch.Generator().manual_seed(rep)).to(torch.float64)
        mean, std = D.mean(0), (D.var(0) + noise**2).sqrt().clamp_min(1e-4)
        nll = float((0.5 * ((yts - mean) / std) ** 2 + std.log() + 0.5 * math.log(2 * math.pi)).mean())
        rmse = float((mean - yts).pow(2).mean().sqrt())
        rows.append((nll, rmse, noise, seconds))
    nll, rmse, noise, seconds = (sum(r[i] for r in rows) / len(rows) for i in range(4))
    return {"problem": name, "n": n, "nll": nll, "rmse": rmse, "noise": noise, "condition_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default="hartmann6_12,styblinski16,levy10,ackley10")
    parser.add_argument("--sizes", default="100,200,400,800")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--offset", type=int, default=0, help="added to every seed (another seed set)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = []
    print("| problem | n | nll | rmse | noise |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.problems.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            r = measure(name, n, args.reps, args.offset)
            out.append(r)
            print(f"| {name} | {n} | {r['nll']:.3f} | {r['rmse']:.3f} | {r['noise']:.3f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"reps": args.reps, "offset": args.offset, "rows": out}, f, indent=1)


if __name__ == "__main__":
    main()
