"""Markdown tables of ``npopt benchmark --suite transfer`` summaries (one or more seed sets).

Per family, number of past studies and budget: each method's mean normalised regret (se),
and the contract's check, the paired change of np-transfer-N against np (the shipped prior)
over the same (task, repeat) runs with its standard error: never worse means the mean change
is at most one standard error above 0.

    .venv/bin/python benchmarks/transfer_table.py benchmarks/results/transfer/seed0.json \\
        benchmarks/results/transfer/seed1.json
"""

from __future__ import annotations

import json
import math
import statistics
import sys


def paired(a: list[float], b: list[float]) -> tuple[float, float]:
    d = [x - y for x, y in zip(a, b, strict=True)]
    return statistics.mean(d), statistics.stdev(d) / math.sqrt(len(d))


def main(paths: list[str]) -> None:
    summaries = [json.load(open(p)) for p in paths]
    budgets = list(summaries[0]["families"][next(iter(summaries[0]["families"]))]["budgets"])
    for family in summaries[0]["families"]:
        entries = [s["families"][family] for s in summaries]
        print(f"\n### {family} ({entries[0]['dim']} parameters)\n")
        methods = list(entries[0]["budgets"][budgets[0]])
        seeds = [str(s["seed"]) for s in summaries]
        print("| method | " + " | ".join(f"{b} evals, seed {s}" for b in budgets for s in seeds) + " |")
        print("| --- |" + " --- |" * (len(budgets) * len(seeds)))
        for m in methods:
            cells = [f"{e['budgets'][b][m]['mean']:.4f} ({e['budgets'][b][m]['stderr']:.4f})"
                     for b in budgets for e in entries]
            print(f"| {m} | " + " | ".join(cells) + " |")
        print("\nnp-transfer-N - np, paired mean change of normalised regret (se); "
              "within one se of 0 or below: never worse\n")
        print("| past studies | " + " | ".join(f"{b} evals, seed {s}" for b in ("5", "10") for s in seeds)
              + " | held-out ll base -> kept | steps kept | verdict | minutes |")
        print("| --- |" + " --- |" * (2 * len(seeds) + 4))
        for n in entries[0]["fine_tune"]:
            m = f"np-transfer-{n}"
            cells = []
            for b in ("5", "10"):
                for e in entries:
                    mean, se = paired(e["budgets"][b][m]["runs"], e["budgets"][b]["np"]["runs"])
                    cells.append(f"{mean:+.4f} ({se:.4f}){'' if mean <= se else ' **worse**'}")
            ft = entries[0]["fine_tune"][n]
            ll = ft["held_out_ll"]
            print(f"| {n} | " + " | ".join(cells) + f" | {ll['before']:.3f} -> {ll['after']:.3f} ({ll['on']}) | "
                  f"{ft['kept_steps']} | {ft['verdict'].split(':')[0]} | {ft['seconds'] / 60:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
