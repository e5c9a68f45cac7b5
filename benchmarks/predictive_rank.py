"""How well the NP and BoTorch's GP rank unseen points of a problem from n random observations.

For each n and seed: n uniform points of the problem (standardised values, as an ask sees
them), the surrogate conditioned on them, and the Spearman rank correlation between its
predictive mean and the true values at 1,000 other uniform points (1 is a perfect ranking:
what an acquisition needs to exploit). Columns: the NP as shipped (with its fitted constant
mean), the NP without it (``NPSurrogate.constant_mean = False``, the decoder's mean alone),
BoTorch's GP, and the same fitted GP's posterior mean with its constant mean replaced by 0
(what the GP would rank like without one).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/predictive_rank.py --problems sphere10,ackley10
"""

from __future__ import annotations

import argparse
import statistics

import torch
from scipy.stats import spearmanr

from npopt.benchmarks.problems import make_problem
from npopt.encoding import standardise
from npopt.surrogates import make_surrogate

COLUMNS = ("np", "np without the constant", "gp", "gp with the constant at 0")


def gp_without_constant(surrogate, X: torch.Tensor, test: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The fitted GP's posterior mean at ``test`` with its constant mean replaced by 0 (its
    kernel, noise and outcome standardisation as fitted)."""
    model = surrogate.model
    transform = model.outcome_transform
    ys = ((y[:, None] - transform.means) / transform.stdvs)[:, 0].detach()
    with torch.no_grad():
        K = model.covar_module(X, X).to_dense() + model.likelihood.noise.mean() * torch.eye(X.shape[0], dtype=X.dtype)
        return model.covar_module(test, X).to_dense() @ torch.linalg.solve(K, ys)


def rank(mean: torch.Tensor, truth: torch.Tensor) -> float:
    return float(spearmanr(mean.detach().numpy(), truth.numpy()).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default="sphere10")
    parser.add_argument("--n", default="20,40,80")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print("| problem | n | " + " | ".join(COLUMNS) + " |")
    print("| --- " * (2 + len(COLUMNS)) + "|")
    for name in args.problems.split(","):
        problem = make_problem(name)
        for n in map(int, args.n.split(",")):
            rho: dict[str, list[float]] = {c: [] for c in COLUMNS}
            for seed in range(args.seeds):
                g = torch.Generator().manual_seed(seed)
                X = torch.rand(n, problem.dim, generator=g, dtype=torch.float64)
                test = torch.rand(1000, problem.dim, generator=g, dtype=torch.float64)
                y, truth = standardise(problem.evaluate(X)), problem.evaluate(test)
                for column, constant in (("np", True), ("np without the constant", False)):
                    surrogate = make_surrogate("np", problem.dim)
                    surrogate.constant_mean = constant
                    surrogate.condition(X, y)
                    rho[column].append(rank(surrogate.to_units(surrogate.predict(test)[0]), truth))
                gp = make_surrogate("gp", problem.dim)
                gp.condition(X, y)
                rho["gp"].append(rank(gp.predict(test)[0], truth))
                rho["gp with the constant at 0"].append(rank(gp_without_constant(gp, X, test, y), truth))
            print(f"| {name} | {n} | " + " | ".join(f"{statistics.fmean(rho[c]):.3f}" for c in COLUMNS) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
