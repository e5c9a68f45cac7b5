"""How close can any model that must infer the kernel get to the oracle GP?

The oracle GP knows each task's lengthscale, signal std and noise. A model that only sees
the context must infer them; the best it can do is the Bayes-optimal predictive, which
averages the GP posterior over the hyperparameter prior weighted by the context's
evidence. This script computes that average on a fine grid for the paper's family (RBF,
lengthscale ~ U[0.025, 0.15] in unit-cube units) of the shipped prior's training config,
and prints it next to the oracle and the shipped NP, per context size.

    .venv/bin/python benchmarks/bayes_optimal_1d.py
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from npopt.neural.checkpoints import load_model, prior_path
from npopt.neural.priors import JITTER, full_kernel, oracle_log_likelihood, sample_tasks
from npopt.neural.train import setup_from_dict


def bayes_optimal(tb, b: int, grid: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean per-target log-likelihood of task ``b`` under the grid-averaged GP posterior."""
    H = grid["lengthscale"].numel()
    n = tb.xc.shape[1]
    xc = tb.xc[b:b + 1].expand(H, -1, -1).double()
    xt = tb.xt[b:b + 1].expand(H, -1, -1).double()
    yc = (tb.shift[b] + tb.scale[b] * tb.yc[b].double())[None].expand(H, -1)
    yt = tb.shift[b] + tb.scale[b] * tb.yt[b].double()
    ones = torch.ones(H, dtype=torch.float64)
    hyper = {"kind": torch.zeros(H, dtype=torch.long), "lengthscale": grid["lengthscale"], "period": ones,
             "signal_std": grid["signal_std"], "offset_std": ones * tb.hyper["offset_std"][b],
             "trend_std": ones * tb.hyper["trend_std"][b]}
    noise2 = (grid["noise_rel"] * grid["signal_std"])[:, None, None] ** 2
    jitter = JITTER * grid["signal_std"][:, None, None] ** 2
    L = torch.linalg.cholesky(full_kernel(hyper, xc, xc) + (jitter + noise2) * torch.eye(n, dtype=torch.float64))
    evidence = torch.distributions.MultivariateNormal(torch.zeros(H, n, dtype=torch.float64), scale_tril=L).log_prob(yc)
    log_w = torch.log_softmax(evidence, 0)  # uniform prior over the grid
    Ktc = full_kernel(hyper, xt, xc)
    A = torch.cholesky_solve(Ktc.transpose(1, 2), L)
    mean = (A.transpose(1, 2) @ yc[..., None])[..., 0]
    var = (
        full_kernel(hyper, xt, xt).diagonal(dim1=1, dim2=2) + jitter[:, 0] + noise2[:, 0]
        - (Ktc * A.transpose(1, 2)).sum(-1)
    )
    dens = -0.5 * (math.log(2 * math.pi) + var.log() + (yt[None] - mean) ** 2 / var)  # H x m
    return (torch.logsumexp(dens + log_w[:, None], 0) + tb.scale[b].log()).mean()


def main() -> None:
    torch.set_num_threads(1)
    model, ckpt = load_model(prior_path("np1d"))
    setup = setup_from_dict(ckpt["setup"])
    family = next(f for f in setup.prior.families if f.name == "paper-rbf")
    prior = replace(setup.prior, families=[family])
    ls, sig = family.lengthscale, family.signal_std
    noise = setup.prior.noise_std
    L_, S_, N_ = torch.meshgrid(torch.linspace(ls.low, ls.high, 16, dtype=torch.float64),
                                torch.linspace(sig.low, sig.high, 10, dtype=torch.float64),
                                torch.logspace(math.log10(noise.low), math.log10(noise.high), 8, dtype=torch.float64),
                                indexing="ij")
    grid = {"lengthscale": L_.flatten(), "signal_std": S_.flatten(), "noise_rel": N_.flatten()}
    g = torch.Generator().manual_seed(11)
    print("paper-rbf family, 48 tasks per row, nats per target point")
    for n in (3, 10, 40):
        tb = sample_tasks(prior, 48, n, 50, g)
        t = tb.float()
        oracle, _ = oracle_log_likelihood(tb)
        with torch.no_grad():
            np_ll = model.log_likelihood(t.xc, t.yc, t.xt, t.yt, joint=False)
        best = torch.stack([bayes_optimal(tb, b, grid) for b in range(48)])
        print(f"n={n:2d}: oracle {oracle.mean():7.3f}   Bayes-optimal {best.mean():7.3f}   NP {np_ll.mean():7.3f}")


if __name__ == "__main__":
    main()
