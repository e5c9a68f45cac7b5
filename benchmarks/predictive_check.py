"""How well each surrogate predicts a benchmark function from random points.

For each problem and number of points n, three random designs (seeds 0-2) of n points and
300 held-out points; values standardised together. Each surrogate is conditioned on the n
points and predicts the held-out ones: the table gives the mean over designs of the
correlation between predicted mean and true value, the RMSE (standardised units), and for
the NP the noise standard deviation its context encoder proposes before and after the
evidence refinement (1.0 is the top of its range: "all noise").

    .venv/bin/python benchmarks/predictive_check.py --json benchmarks/results/predictive_check.json
"""

from __future__ import annotations

import argparse
import json

import torch

from npopt.benchmarks.problems import make_problem
from npopt.encoding import standardise
from npopt.surrogates import make_surrogate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="hartmann6,ackley10,levy10,hartmann6_12,styblinski16")
    parser.add_argument("--sizes", default="30,100")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name in args.problems.split(","):
        problem = make_problem(name)
        for n in (int(s) for s in args.sizes.split(",")):
            stats: dict[str, list] = {}
            for seed in range(3):
                g = torch.Generator().manual_seed(seed)
                X = torch.rand(n, problem.dim, generator=g, dtype=torch.float64)
                Xt = torch.rand(300, problem.dim, generator=g, dtype=torch.float64)
                values = standardise(problem.evaluate(torch.cat([X, Xt])))
                y, yt = values[:n], values[n:]
                for method in ("np", "gp"):
                    surrogate = make_surrogate(method, problem.dim)
                    surrogate.condition(X, y)
                    mean, _ = surrogate.predict(Xt)
                    corr = float(torch.corrcoef(torch.stack([mean, yt]))[0, 1])
                    rmse = float((mean - yt).pow(2).mean().sqrt())
                    stats.setdefault(method, []).append((corr, rmse))
                    if method == "np":
                        Xp = surrogate._pad(X)[None]
                        with torch.no_grad():
                            raw = surrogate.model.encode(Xp, y.float()[None], refine_steps=0).noise[0]
                        stats.setdefault("np_noise", []).append((float(raw), float(surrogate._context().noise[0])))
            for method in ("np", "gp"):
                t = torch.tensor(stats[method]).mean(0)
                row = {"problem": name, "dim": problem.dim, "n": n, "method": method,
                       "correlation": round(float(t[0]), 3), "rmse": round(float(t[1]), 3)}
                if method == "np":
                    noise = torch.tensor(stats["np_noise"]).mean(0)
                    row["noise_before_refinement"] = round(float(noise[0]), 3)
                    row["noise_after_refinement"] = round(float(noise[1]), 3)
                rows.append(row)
                extra = (f"  noise {row['noise_before_refinement']:.2f} -> {row['noise_after_refinement']:.2f}"
                         if method == "np" else "")
                print(f"{name:14s} d={problem.dim:2d} n={n:4d} {method:3s} corr {row['correlation']:6.3f} "
                      f"rmse {row['rmse']:.3f}{extra}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
