"""Does the mixed GP's edge on mix6 come from its kernel's additive part?

np16d is meta-trained on one kernel structure for mixed spaces: a continuous ARD kernel
times an exponentiated Hamming kernel. BoTorch's ``MixedSingleTaskGP`` (our ``gp`` on a
space with categoricals) adds two more terms: ``K_cont + K_cat + K_cont * K_cat``, each with
its own scales and lengthscales. Its ``K_cat`` term alone is a per-choice offset, and its
``K_cont`` term alone a trend shared by every choice, which a product cannot express
together with choices that are otherwise unrelated (mix6: each choice has its own optimum
and its own offset, the integer penalties are shared).

This runs the ``gp`` method with the product kernel alone (``ScaleKernel(K_cont * K_cat)``,
BoTorch's own continuous kernel and ``CategoricalKernel``, fitted the same way) on the mixed
suite's seeds, so its runs pair with the committed ``gp`` runs:

    .venv/bin/python benchmarks/kernel_structure.py --problem mix6 --seed 0 --repeats 10 \
        --runs benchmarks/results/kernel_structure/gp_product.runs.jsonl
    .venv/bin/python benchmarks/compare_runs.py benchmarks/results/refine_leash/mixed.runs.jsonl \
        benchmarks/results/kernel_structure/gp_product.runs.jsonl --method gp
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from npopt.benchmarks.problems import SUITES
from npopt.benchmarks.suites import run_synthetic
from npopt.surrogates.gp import GPSurrogate


class ProductKernelGP(GPSurrogate):
    """``gp`` on a mixed space with the product of its two kernels only."""

    def _new_model(self, X, Y):
        from botorch.models import SingleTaskGP
        from botorch.models.kernels.categorical import CategoricalKernel
        from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
        from gpytorch.constraints import GreaterThan
        from gpytorch.kernels import ScaleKernel

        cont = [i for i in range(X.shape[-1]) if i not in self.cat_dims]
        kernel = ScaleKernel(
            get_covar_module_with_dim_scaled_prior(ard_num_dims=len(cont), active_dims=cont)
            * CategoricalKernel(ard_num_dims=len(self.cat_dims), active_dims=self.cat_dims,
                                lengthscale_constraint=GreaterThan(1e-06))
        )
        return SingleTaskGP(X, Y, covar_module=kernel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="mix6", choices=SUITES["mixed"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--runs", type=Path, required=True, help="JSON-lines file; finished runs are kept")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # the mixed suite's own protocol (seeds, starting points, budget, run keys), with the
    # variant "product-kernel" naming these gp runs; the suite adds its random runs too
    result = run_synthetic({"gp": lambda p: ProductKernelGP(choices=p.choices)}, problems=[args.problem],
                           repeats=args.repeats, seed=args.seed, suite="mixed", runs=args.runs,
                           variants={"gp": lambda p: "product-kernel"})
    for run in result.runs_of("gp"):
        print(f"{run.problem} seed {args.seed} run {run.run}: regret {run.regret:.4g}", flush=True)


if __name__ == "__main__":
    main()
