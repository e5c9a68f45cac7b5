"""One method's runs before and after a change: a markdown table per problem and seed set.

``npopt benchmark --runs FILE`` keeps every finished run (its values and the problem's
optimum) under a key naming the suite, problem, method, seed and repeat. Two such files,
from the code before and after a change, with the same seeds, give paired runs: repeat
``i`` of seed set ``s`` starts from the same points in both. For each problem and seed set
this prints the median final regret before and after, the mean log10 regret, and the mean
paired difference of log10 regret with its standard error (negative: better after).

    .venv/bin/python benchmarks/compare_runs.py BEFORE.runs.jsonl AFTER.runs.jsonl [--method np]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import defaultdict

FLOOR = 1e-8  # regrets below this count as this (log10 -8): a found optimum


def final_regrets(path: str, method: str) -> dict[tuple[str, int, int], float]:
    """``(problem, seed, repeat) -> final regret`` of ``method``'s runs in a runs file."""
    out = {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            key = json.loads(record["key"])
            if key["method"] != method:
                continue
            run = record["run"]
            out[(key["problem"], key["seed"], key["run"])] = min(run["values"]) - run["optimal_value"]
    return out


def log10(regret: float) -> float:
    return math.log10(max(regret, FLOOR))


def table(before: dict, after: dict) -> list[str]:
    groups = defaultdict(list)
    for key in sorted(set(before) & set(after)):
        groups[key[:2]].append(key)
    lines = ["| problem | seed set | runs | median regret before | after | mean log10 before | after "
             "| paired diff (se) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (problem, seed), keys in groups.items():
        b, a = [before[k] for k in keys], [after[k] for k in keys]
        diffs = [log10(y) - log10(x) for x, y in zip(b, a, strict=True)]
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
        lines.append(
            f"| {problem} | {seed} | {len(keys)} | {statistics.median(b):.3g} | {statistics.median(a):.3g} "
            f"| {statistics.fmean(map(log10, b)):.2f} | {statistics.fmean(map(log10, a)):.2f} "
            f"| {statistics.fmean(diffs):+.2f} ({se:.2f}) |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--method", default="np")
    args = parser.parse_args()
    before, after = final_regrets(args.before, args.method), final_regrets(args.after, args.method)
    if not set(before) & set(after):
        raise SystemExit(f"no run of method {args.method!r} is in both files (same problem, seed set and repeat)")
    print("\n".join(table(before, after)))


if __name__ == "__main__":
    main()
