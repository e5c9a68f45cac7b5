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
    .venv/bin/python benchmarks/endgame.py --table --runs runs/endgame_seed0.jsonl \\
        --peers benchmarks/results/thompson_tr/levers_seed0.json   # a markdown table, GPSampler beside
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

from npopt.benchmarks.problems import SUITES, make_problem
from npopt.benchmarks.suites import _told, study_seed, study_space, synthetic_start
from npopt.encoding import to_params
from npopt.optim import single_thread
from npopt.suggest import settle, suggest
from npopt.surrogates import make_surrogate


def paired_log10(values: list[float], base: list[float], floor: float = 1e-12) -> tuple[float, float]:
    """Mean change of log10 final regret from ``base`` to ``values`` (paired by repeat) and its se;
    regrets below ``floor`` count as it."""
    d = [math.log10(max(v, floor)) - math.log10(max(b, floor)) for v, b in zip(values, base, strict=True)]
    return statistics.mean(d), statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")


def run_forked(problem, seed: int, index: int, lasts: list[int]) -> dict[str, list[float]]:
    """The default's run of ``problem`` (repeat ``index`` of seed set ``seed``) and one fork per
    ``k`` in ``lasts``: method name -> values in evaluation order."""
    names = SUITES["synthetic"]
    budget = 10 * problem.dim + 10
    X0, generator = synthetic_start(seed, names.index(problem.name), index, problem.dim)
    seed_of_study = study_seed(generator)  # as run_budget draws it: the forks pair with the suite's runs
    space = study_space(problem)
    surrogate = make_surrogate("np", problem.dim, choices=problem.choices)
    surrogate.acquisition = dataclasses.replace(surrogate.acquisition, trust_region_dim=None, local_search_dim=6)
    trials = [_told(space, i, params, problem) for i, params in enumerate(to_params(space, X0))]
    out = {}

    def step(model, trials):
        (params,) = settle(space, suggest(space, "minimize", model, trials, 1, seed_of_study,
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


def table(runs: Path, peers: list[str], json_path: str | None = None) -> None:
    """Per problem and seed set: median final regret of the default, each fork and GPSampler
    (from ``peers``), and each fork's paired mean change of log10 final regret (se)."""
    gp = {}
    for path in peers:
        summary = json.loads(Path(path).read_text())
        for problem, methods in summary["problems"].items():
            if "optuna-gp" in methods:
                gp[(summary["seed"], problem)] = methods["optuna-gp"]["median_regret"]
    finals: dict[tuple[str, int], dict[str, list[float]]] = {}
    for line in runs.read_text().splitlines():
        r = json.loads(line)
        for method, values in r["values"].items():
            finals.setdefault((r["problem"], r["seed"]), {}).setdefault(method, []).append(
                min(values) - r["optimal_value"])
    if json_path:  # every run's final regret, the table's source
        Path(json_path).write_text(json.dumps({f"{p} seed {s}": f for (p, s), f in sorted(finals.items())}, indent=1))
    forks = sorted({m for f in finals.values() for m in f if m != "np-local"}, key=lambda m: int(m[6:]))
    print("| problem | seed set | runs | np-local | " + " | ".join(forks) + " | optuna-gp | "
          + " | ".join(f"{m} - np-local" for m in forks) + " |")
    print("|" + " --- |" * (5 + 2 * len(forks)))
    wins = {m: [0, 0] for m in ["np-local", *forks]}
    for (problem, seed), f in sorted(finals.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        peer = gp.get((seed, problem))
        cells, changes = [], []
        for m in ["np-local", *forks]:
            med = statistics.median(f[m])
            cells.append(f"{med:.3g}")
            if peer is not None:
                wins[m][0] += med <= peer
                wins[m][1] += 1
            if m != "np-local":
                mean, se = paired_log10(f[m], f["np-local"])
                changes.append(f"{mean:+.2f} ({se:.2f})")
        print(f"| {problem} | {seed} | {len(f['np-local'])} | " + " | ".join(cells)
              + f" | {'' if peer is None else f'{peer:.3g}'} | " + " | ".join(changes) + " |")
    print()
    for m, (won, n) in wins.items():
        print(f"{m}: median final regret at most GPSampler's on {won} of {n} (problem, seed set) pairs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", default="")
    parser.add_argument("--last", default="1,10")
    parser.add_argument("--runs", required=True)
    parser.add_argument("--table", action="store_true", help="print the runs file as a markdown table")
    parser.add_argument("--peers", default="", help="thompson_levers.py JSON summaries: their optuna-gp medians")
    parser.add_argument("--json", help="--table: also write every run's final regret here")
    args = parser.parse_args()
    if args.table:
        table(Path(args.runs), [p for p in args.peers.split(",") if p], args.json)
        return
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
            line = f"{name:15s} np-local {statistics.median(finals['np-local']):.4g}"
            for method in sorted(m for m in finals if m != "np-local"):
                mean, se = paired_log10(finals[method], finals["np-local"])
                line += f"  {method} {statistics.median(finals[method]):.4g} ({mean:+.2f}, se {se:.2f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
