"""Seconds per ask: npopt's NP against BoTorch's GP and Optuna's GPSampler, on one thread.

For each dimension d and number of observations n, every method sees the same n points of
a benchmark function (Branin in 2-D, Hartmann6 in 6-D, Hartmann6 embedded in 12-D), asks
once untimed (warm-up), then asks ``--reps`` more times, each time after one more
observation, as in a running study. The median of the timed asks is reported.

* ``np``: the NP as ``npopt ask`` uses it: condition (one forward pass; the evidence
  refinement of its kernel hyperparameters runs at every ask up to 128 observations, then
  whenever the number of observations has grown by an eighth since the last one, and its
  corrections are kept in between) and one Thompson draw over the lean candidate set with
  its gradient polish. The mean and the slowest ask are reported beside the median, and
  ``fresh_ask_seconds``: the median ask of a new surrogate that keeps nothing from earlier
  asks (what a refit ask, or the first ask of a new ``npopt ask`` process, costs).
* ``gp``: BoTorch's SingleTaskGP, fitted by marginal likelihood at every ask, and one
  Thompson draw over the same candidate set (what ``--surrogate gp`` does).
* ``optuna-gp``: Optuna's GPSampler through its own ask/tell API (study.ask with the
  search space, so the time includes its GP fit and acquisition optimisation), when
  optuna is installed.

    .venv/bin/python benchmarks/speed.py --json benchmarks/results/speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from npopt.acquisition.thompson import thompson_suggest
from npopt.benchmarks.problems import make_problem
from npopt.encoding import standardise
from npopt.surrogates import make_surrogate

PROBLEMS = {2: "branin", 6: "hartmann6", 12: "hartmann6_12"}


def npopt_asks(method: str, X: torch.Tensor, values: torch.Tensor, n: int, reps: int,
               fresh: bool = False) -> list[float]:
    """Timed asks at n + 1, ..., n + reps observations (a warm-up ask at n first). With
    ``fresh``, each ask by a new surrogate that keeps nothing from earlier asks (a new
    ``npopt ask`` process, or the NP's refit asks); otherwise one surrogate serves them all."""
    surrogate = make_surrogate(method, X.shape[1])
    times = []
    for k in range(reps + 1):
        Xk, yk = X[: n + k], standardise(values[: n + k])
        if fresh:
            surrogate = make_surrogate(method, X.shape[1])
        t0 = time.perf_counter()
        thompson_suggest(surrogate, Xk, yk, 1, torch.Generator().manual_seed(k))
        if k:
            times.append(time.perf_counter() - t0)
    return times


def optuna_asks(problem, X: torch.Tensor, values: torch.Tensor, n: int, reps: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lo, hi = problem.bounds.tolist()
    space = {f"x{i}": optuna.distributions.FloatDistribution(lo[i], hi[i]) for i in range(problem.dim)}
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    user = problem.bounds[0] + X * (problem.bounds[1] - problem.bounds[0])
    study.add_trials([
        optuna.trial.create_trial(params={f"x{i}": float(u[i]) for i in range(problem.dim)}, distributions=space,
                                  value=float(v))
        for u, v in zip(user[:n], values[:n], strict=True)
    ])
    times = []
    for k in range(reps + 1):
        t0 = time.perf_counter()
        trial = study.ask(space)
        seconds = time.perf_counter() - t0
        x = torch.tensor([[trial.params[f"x{i}"] for i in range(problem.dim)]], dtype=torch.float64)
        study.tell(trial, float(problem.evaluate_true(x)[0]))
        if k:
            times.append(seconds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="2,6,12")
    parser.add_argument("--sizes", default="10,50,200,1000")
    parser.add_argument("--methods", default="np,gp,optuna-gp")
    parser.add_argument("--reps", type=int, default=5, help="timed asks per (method, d, n), after one warm-up")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = args.methods.split(",")
    if "optuna-gp" in methods:
        try:
            import optuna  # noqa: F401
        except ImportError:
            print("optuna is not installed: skipping optuna-gp")
            methods.remove("optuna-gp")
    rows = []
    for d in (int(s) for s in args.dims.split(",")):
        problem = make_problem(PROBLEMS[d])
        for n in (int(s) for s in args.sizes.split(",")):
            g = torch.Generator().manual_seed(1000 * d + n)
            X = torch.rand(n + args.reps + 1, d, generator=g, dtype=torch.float64)
            values = problem.evaluate(X)
            for method in methods:
                if method == "optuna-gp":
                    times = optuna_asks(problem, X, values, n, args.reps)
                else:
                    times = npopt_asks(method, X, values, n, args.reps)
                median = statistics.median(times)
                rows.append({"method": method, "dim": d, "n": n, "median_ask_seconds": median,
                             "mean_ask_seconds": statistics.fmean(times), "max_ask_seconds": max(times),
                             "asks": len(times)})
                if method == "np":
                    fresh = npopt_asks(method, X, values, n, args.reps, fresh=True)
                    rows[-1]["fresh_ask_seconds"] = statistics.median(fresh)
                print(f"d={d:2d} n={n:5d} {method:9s} median ask {median * 1000:9.1f} ms, mean "
                      f"{statistics.fmean(times) * 1000:9.1f}, slowest {max(times) * 1000:9.1f}", flush=True)
    print()
    print("median ask, ms (one thread; mean in brackets)")
    print("| d | n | " + " | ".join(methods) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in methods) + " |")
    by = {(r["method"], r["dim"], r["n"]): r for r in rows}
    for d, n in dict.fromkeys((r["dim"], r["n"]) for r in rows):
        cells = [f"{by[m, d, n]['median_ask_seconds'] * 1000:.0f} ({by[m, d, n]['mean_ask_seconds'] * 1000:.0f})"
                 if (m, d, n) in by else "" for m in methods]
        print(f"| {d} | {n} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": f"{platform.machine()}, torch {torch.__version__}, 1 thread", "reps": args.reps,
                       "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
