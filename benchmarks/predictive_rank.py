"""How well the NP and BoTorch's GP rank unseen points of a problem from n random observations.

For each n and seed: n uniform points of the problem (standardised values, as an ask sees
them), the surrogate conditioned on them, and the Spearman rank correlation between its
predictive mean and the true values at 1,000 other uniform points (1 is a perfect ranking:
what an acquisition needs to exploit). Also the spread of the lengthscales each fitted
(relative values; the NP's are of its basis, the GP's of its kernel).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/predictive_rank.py --problem sphere10
"""

from __future__ import annotations

import argparse
import statistics

import torch
from scipy.stats import spearmanr

from npopt.benchmarks.problems import make_problem
from npopt.encoding import standardise
from npopt.surrogates import make_surrogate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default="sphere10")
    parser.add_argument("--n", default="20,40,80")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    problem = make_problem(args.problem)
    print("| n | np rank correlation | gp rank correlation | np lengthscale max/min | gp lengthscale max/min |")
    print("| --- | --- | --- | --- | --- |")
    for n in map(int, args.n.split(",")):
        rho: dict[str, list[float]] = {"np": [], "gp": []}
        spread: dict[str, list[float]] = {"np": [], "gp": []}
        for seed in range(args.seeds):
            g = torch.Generator().manual_seed(seed)
            X = torch.rand(n, problem.dim, generator=g, dtype=torch.float64)
            test = torch.rand(1000, problem.dim, generator=g, dtype=torch.float64)
            y, truth = standardise(problem.evaluate(X)), problem.evaluate(test)
            for name in rho:
                surrogate = make_surrogate(name, problem.dim)
                surrogate.condition(X, y)
                mean = surrogate.to_units(surrogate.predict(test)[0])
                rho[name].append(float(spearmanr(mean.detach().numpy(), truth.numpy()).statistic))
                ls = surrogate.lengthscales()
                spread[name].append(float(ls.max() / ls.min()))
        print(f"| {n} | {statistics.fmean(rho['np']):.3f} | {statistics.fmean(rho['gp']):.3f} "
              f"| {statistics.fmean(spread['np']):.1f} | {statistics.fmean(spread['gp']):.1f} |")


if __name__ == "__main__":
    main()
