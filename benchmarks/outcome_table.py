"""Markdown tables of the constrained and multi-objective suites over seed sets.

    python benchmarks/outcome_table.py benchmarks/results/constrained/seed{0,1}.json

Prints, per problem and method, the median final score of each seed set (``s0 / s1``), the
runs without a feasible point (constrained), and per seed set on how many problems np's
median is at least as good as each peer's (the issue's "most problems" test), and whether
every np run found a feasible point where a random run of the same repeat did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from npopt.benchmarks.outcomes import comparisons


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def entry_worst(name: str, entry: dict) -> float:
    """A constrained problem's score without a feasible point: the summary's, or (summaries
    written before they held it) the problem's, computed as the suite does."""
    if entry.get("worst") is not None:
        return entry["worst"]
    from npopt.benchmarks.outcomes import constrained_problems

    return constrained_problems()[name].no_feasible()


def table(summaries: list[dict]) -> str:
    constrained = summaries[0]["suite"] == "constrained"
    seeds = " / ".join(f"s{s['seed']}" for s in summaries)
    score = "median best feasible regret" if constrained else "median hypervolume fraction"
    head = ["problem (d, budget)", "method", f"{score} ({seeds})"]
    if constrained:
        head.append(f"runs without a feasible point ({seeds})")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    first = summaries[0]["problems"]
    for name, entry in first.items():
        label = f"{name}{'*' if entry.get('estimated') else ''} ({entry['dim']}, {entry['budget']})"
        for i, method in enumerate(entry["methods"]):
            records = [s["problems"][name]["methods"][method] for s in summaries]
            medians = []
            for s, r in zip(summaries, records, strict=True):
                ms = {m: v["median"] for m, v in s["problems"][name]["methods"].items()}
                best = (min if constrained else max)(ms.values())
                medians.append(f"**{_fmt(r['median'])}**" if r["median"] == best else _fmt(r["median"]))
            row = [label if i == 0 else "", method, " / ".join(medians)]
            if constrained:
                row.append(" / ".join(f"{r['infeasible_runs']}/{len(r['finals'])}" for r in records))
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for s in summaries:
        wins = comparisons(s)
        text = ", ".join(f"{peer} on {w} of {t}" for peer, (w, t) in wins.items())
        lines.append(f"- seed set {s['seed']}: np's median at least as good as {text}")
    if constrained:
        for s in summaries:
            missed = []
            for name, entry in s["problems"].items():
                methods = entry["methods"]
                if "random" not in methods:
                    continue
                none = entry_worst(name, entry) - entry["optimum"]  # the regret of a run without a feasible point
                for r, (np_curve, random_curve) in enumerate(zip(methods["np"]["curves"], methods["random"]["curves"],
                                                                 strict=True)):
                    if np_curve[-1] >= none and random_curve[-1] < none:
                        missed.append(f"{name} repeat {r}")
            lines.append(f"- seed set {s['seed']}: np runs without a feasible point where random search found one: "
                         + (", ".join(missed) if missed else "none"))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table([json.loads(Path(p).read_text()) for p in sys.argv[1:]]))
