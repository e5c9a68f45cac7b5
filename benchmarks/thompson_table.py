"""Tables of the Thompson-sampling levers from runs files (``benchmarks/thompson_levers.py --runs``).

For each seed set: the median final regret of every method on every problem, the paired
mean change of log10 final regret of ``--method`` against ``--before`` (runs with the same
seed set and repeat start from the same points), and how many problems ``--method``'s median
is at most ``--peer``'s.

    .venv/bin/python benchmarks/thompson_table.py runs/levers_seed*.runs.jsonl \\
        --method np-tr --before np-local --peer optuna-gp
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict

FLOOR = 1e-8  # regrets below this count as this (log10 -8), as benchmarks/compare_runs.py does


#: Evaluations at which ``--curves`` reports the median regret (and at the end of the budget).
CHECKPOINTS = (20, 30, 45, 60, 90)


def records(paths: list[str]):
    """``(key, run)`` of every finished run in the runs files (a torn last line is skipped)."""
    for path in paths:
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                yield json.loads(record["key"]), record["run"]


def curves(paths: list[str]) -> None:
    """Median regret of each (seed, problem, method) after :data:`CHECKPOINTS` evaluations."""
    out: dict = defaultdict(list)
    for key, run in records(paths):
        values, best = run["values"], run["optimal_value"]
        out[(key["seed"], key["problem"], key["method"])].append(
            [min(values[:n]) - best for n in (*CHECKPOINTS, len(values))])
    print("| seed | problem | method | runs | " + " | ".join(f"after {n}" for n in CHECKPOINTS) + " | end |")
    print("| --- " * (5 + len(CHECKPOINTS)) + "|")
    for (seed, problem, method), runs in sorted(out.items()):
        medians = [statistics.median(r[i] for r in runs) for i in range(len(CHECKPOINTS) + 1)]
        print(f"| {seed} | {problem} | {method} | {len(runs)} | " + " | ".join(f"{m:.3g}" for m in medians) + " |")


def load(paths: list[str]) -> dict[tuple[int, str, str], dict[int, float]]:
    """``(seed, problem, method) -> {repeat: final regret}``."""
    out: dict = defaultdict(dict)
    for key, run in records(paths):
        out[(key["seed"], key["problem"], key["method"])][key["run"]] = min(run["values"]) - run["optimal_value"]
    return out


def log10(regret: float) -> float:
    return math.log10(max(regret, FLOOR))


def paired(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, int] | None:
    """Mean and standard error of ``log10 a - log10 b`` over the repeats both have."""
    common = sorted(set(a) & set(b))
    if not common:
        return None
    diffs = [log10(a[r]) - log10(b[r]) for r in common]
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
    return statistics.fmean(diffs), se, len(common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--method", default="np-tr")
    parser.add_argument("--before", default="np-local")
    parser.add_argument("--peer", default="optuna-gp")
    parser.add_argument("--curves", action="store_true", help="median regret along the budget instead")
    args = parser.parse_args()
    if args.curves:
        curves(args.runs)
        return
    runs = load(args.runs)
    seeds = sorted({s for s, _, _ in runs})
    problems = list(dict.fromkeys(p for _, p, _ in runs))
    methods = list(dict.fromkeys(m for _, _, m in runs))
    for seed in seeds:
        print(f"\n### Seed set {seed}: median final regret (repeats)\n")
        changes = f" | {args.method} - {args.before} | {args.method} - {args.peer} |"
        print("| problem | " + " | ".join(methods) + changes)
        print("| --- " * (len(methods) + 3) + "|")
        wins = total = 0
        for problem in problems:
            cells = []
            for m in methods:
                r = runs.get((seed, problem, m))
                cells.append(f"{statistics.median(r.values()):.3g} ({len(r)})" if r else "")
            changes = []
            for other in (args.before, args.peer):
                p = paired(runs.get((seed, problem, args.method), {}), runs.get((seed, problem, other), {}))
                changes.append("" if p is None else f"{p[0]:+.2f} ({p[1]:.2f})")
            mine, peer = runs.get((seed, problem, args.method)), runs.get((seed, problem, args.peer))
            if mine and peer:
                total += 1
                wins += statistics.median(mine.values()) <= statistics.median(peer.values())
            if any(cells):
                print(f"| {problem} | " + " | ".join(cells) + " | " + " | ".join(changes) + " |")
        print(f"\n{args.method}'s median at most {args.peer}'s on {wins} of {total} problems; the last two columns "
              "are paired mean changes of log10 final regret (se), negative: lower regret.")


if __name__ == "__main__":
    main()
