"""The best known value of the ``krr_diabetes`` problem (``npopt.benchmarks.problems.KRR_DIABETES_BEST``).

A dense random search of the unit cube, then Nelder-Mead on the continuous parameters
(alpha, gamma, coef0 in unit coordinates, clipped to the cube) from the best points of
every kernel (and of every degree of ``poly``). Prints the best value and its parameters.

    python benchmarks/krr_diabetes_best.py [--points 4000] [--starts 3] [--seed 0]

~5 minutes on one thread.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from scipy.optimize import minimize

from npopt.benchmarks.problems import KRRDiabetes

CONTINUOUS = ("alpha", "gamma", "coef0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4000)
    parser.add_argument("--starts", type=int, default=3, help="Nelder-Mead starts per kernel (and degree)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    problem = KRRDiabetes()
    space = problem.space
    columns = [space.names.index(name) for name in CONTINUOUS]
    U = problem.snap(torch.rand(args.points, problem.dim, generator=torch.Generator().manual_seed(args.seed),
                                dtype=torch.float64))
    values = problem.evaluate(U).numpy()
    print(f"random search, {args.points} points: best {values.min():.6f}")

    groups: dict[tuple, list[int]] = {}
    for i, u in enumerate(U.tolist()):
        params = space.from_unit(u)
        key = (params["kernel"], params["degree"] if params["kernel"] == "poly" else None)
        groups.setdefault(key, []).append(i)

    best_value, best_params = math.inf, None
    for key, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        starts = sorted(members, key=lambda i: values[i])[: args.starts]
        for i in starts:
            def moved(x: np.ndarray, u0: torch.Tensor = U[i]) -> torch.Tensor:
                """The start ``u0`` with its continuous coordinates at ``x`` (clipped to the cube)."""
                u = u0.clone()
                u[columns] = torch.as_tensor(np.clip(x, 0.0, 1.0), dtype=torch.float64)
                return u

            result = minimize(lambda x: float(problem.evaluate(moved(x)[None])[0]), U[i, columns].numpy(),
                              method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9, "maxfev": 400})
            params = space.from_unit(moved(result.x).tolist())
            print(f"  {key}: {values[i]:.6f} -> {result.fun:.6f}")
            if result.fun < best_value:
                best_value, best_params = result.fun, params
    print(f"best {float(best_value)!r}")
    print(f"minimiser {best_params!r}")


if __name__ == "__main__":
    main()
