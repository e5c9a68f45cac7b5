"""How few refinement steps can choose the NP's output warp? Agreement and time, one thread.

``NPSurrogate`` gives the observed values one of ``OUTPUT_WARPS`` at each fit: the one whose
refined encoding has the highest exact evidence plus the warp's log Jacobian. Refining
every warp in full (the prior's 60 steps) costs four refined encodings per fit. This script
scores the four warps together (one batch) after ``k`` steps each, and compares the warp so
chosen with the one the full refinement chooses, on generated contexts: 2-D, 6-D, 6-D with
two categorical inputs and 12-D; 8, 20, 50 and 100 points drawn towards a corner (as a
study's points gather near its minima); four functions, each as given, through exp(2 f) and
exp(5 f) (long upper tails), with noise, standardised as npopt standardises them.

For each ``k``: how often the choice agrees, the evidence lost when it does not (the fully
refined evidence of the best warp minus that of the chosen one, in nats), and the time of a
choice (``k`` steps for all four, then the winner refined in full) against refining all four
in full, one after the other (the code before).

    .venv/bin/python benchmarks/warp_choice.py --seed 0 --json benchmarks/results/warp_choice/seed0.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from npopt.acquisition import standardise
from npopt.surrogates.np import OUTPUT_WARPS, NPSurrogate, warp_values

SPACES = {"2-D": (2, None), "6-D": (6, None), "6-D mixed": (6, (0, 0, 3, 0, 5, 0)), "12-D": (12, None)}
SIZES = (8, 20, 50, 100)
FUNCTIONS = {
    "sines": lambda X: torch.sin(3 * X).sum(-1),
    "bowl": lambda X: (X - 0.3).pow(2).sum(-1),
    "ripple": lambda X: torch.cos(8 * X[:, 0]) + X[:, 1:].sum(-1),
    "cone": lambda X: X.pow(2).sum(-1).sqrt(),
}
TAILS = {"as given": lambda v: v, "exp(2 f)": lambda v: torch.exp(2 * v), "exp(5 f)": lambda v: torch.exp(5 * v)}


def warped_values(y: torch.Tensor):
    warped = [(y, 0.0) if offset is None else warp_values(y, offset)[:2] for offset in OUTPUT_WARPS]
    return torch.stack([w for w, _ in warped]), torch.tensor([j for _, j in warped], dtype=torch.float64)


def scores(s: NPSurrogate, X: torch.Tensor, values: torch.Tensor, jacobians: torch.Tensor, steps: int) -> torch.Tensor:
    """The evidence plus log Jacobian of each warp after ``steps`` refinement steps (one batch)."""
    xp = s._pad(X)[None].expand(values.shape[0], -1, -1)
    with torch.no_grad():
        ctx = s.model.encode(xp, values.float(), refine_steps=steps, choices=s._choices)
        return s.model.evidence(ctx, xp, values).double() + jacobians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", default="0,5,10",
                        help="comma-separated step counts to compare with the full refinement")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ks = [int(k) for k in args.steps.split(",")]
    g = torch.Generator().manual_seed(args.seed)
    rows = []
    for space, (d, choices) in SPACES.items():
        s = NPSurrogate.for_dim(d, choices=choices)
        full_steps = s.model.config.refine_steps
        for n in SIZES:
            for fname, f in FUNCTIONS.items():
                for tname, tail in TAILS.items():
                    X = torch.rand(n, d, generator=g, dtype=torch.float64) ** 2
                    for j, c in enumerate(choices or ()):
                        if c:
                            X[:, j] = (torch.floor(X[:, j] * c) + 0.5) / c
                    noise = 0.05 * torch.randn(n, generator=g, dtype=torch.float64)
                    y = standardise(tail(f(X) + noise))
                    y = (y - y.mean()) / y.std()
                    values, jacobians = warped_values(y)
                    t = time.perf_counter()  # the code before: each warp refined in full, one after the other
                    full = torch.cat([scores(s, X, values[i:i + 1], jacobians[i:i + 1], full_steps)
                                      for i in range(len(OUTPUT_WARPS))])
                    row = {"space": space, "n": n, "function": fname, "tail": tname,
                           "full_choice": OUTPUT_WARPS[int(full.argmax())], "full_seconds": time.perf_counter() - t}
                    for k in ks:
                        t = time.perf_counter()
                        best = int(scores(s, X, values, jacobians, k).argmax())
                        scores(s, X, values[best:best + 1], jacobians[best:best + 1], full_steps)  # the winner, in full
                        row[f"k{k}_seconds"] = time.perf_counter() - t
                        row[f"k{k}_choice"] = OUTPUT_WARPS[best]
                        row[f"k{k}_loss"] = float(full.max() - full[best])
                    rows.append(row)
    summary = []
    print(f"seed {args.seed}: {len(rows)} contexts; a choice refining all four warps in full: "
          f"median {1e3 * statistics.median(r['full_seconds'] for r in rows):.0f} ms\n")
    print("| steps to compare | agrees with the full choice | nats lost when not (median, max) "
          "| median ms per choice | time / full |")
    print("| --- | --- | --- | --- | --- |")
    for k in ks:
        lost = [r[f"k{k}_loss"] for r in rows if r[f"k{k}_choice"] != r["full_choice"]]
        ratio = sum(r[f"k{k}_seconds"] for r in rows) / sum(r["full_seconds"] for r in rows)
        entry = {"steps": k, "agree": len(rows) - len(lost), "contexts": len(rows),
                 "loss_median": statistics.median(lost) if lost else 0.0, "loss_max": max(lost, default=0.0),
                 "median_ms": 1e3 * statistics.median(r[f"k{k}_seconds"] for r in rows), "time_ratio": ratio}
        summary.append(entry)
        print(f"| {k} | {entry['agree']} / {len(rows)} | {entry['loss_median']:.2f}, {entry['loss_max']:.2f} | "
              f"{entry['median_ms']:.0f} | {ratio:.2f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"seed": args.seed, "summary": summary, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
