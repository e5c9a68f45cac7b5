"""Choosing the NP's output warp faster: short refinements and batches, on real BO contexts.

``NPSurrogate`` gives the observed values one of ``OUTPUT_WARPS`` at each fit: the one whose
refined encoding has the highest exact evidence plus the warp's log Jacobian. Refining each
warp in full (the prior's 60 steps) costs four refined encodings per fit. Two cheaper ways
are measured here, on the contexts that the NP's own Bayesian optimisation meets: the script
runs the NP on each problem (as ``npopt benchmark``: two Sobol points, budget 10 d + 10) and
records every context it conditions on from ``WARP_MIN_POINTS`` points on.

* ``k`` steps: the four warps scored together after only ``k`` refinement steps each. How
  often the warp so chosen is the one the full refinement chooses.
* the batch: all four refined in full as one batch of four contexts (what the NP does on
  its trained 128-frequency basis, ``BATCH_WARPS_UP_TO``), against one at a time: the warp
  chosen, the largest difference in the predictions (mean and sd at 64 random points), and
  the time per fit.

    .venv/bin/python benchmarks/warp_choice.py --seed 5 --json benchmarks/results/warp_choice/seed5.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from npopt.benchmarks.problems import make_problem
from npopt.benchmarks.suites import run_budget
from npopt.surrogates.np import OUTPUT_WARPS, WARP_MIN_POINTS, NPSurrogate, warp_values


class Recording(NPSurrogate):
    """The NP, keeping every context it is conditioned on."""

    contexts: list = []

    def condition(self, X: torch.Tensor, y: torch.Tensor) -> None:
        if X.shape[0] >= WARP_MIN_POINTS:
            self.contexts.append((X.clone(), y.clone()))
        super().condition(X, y)


def encode(s: NPSurrogate, X: torch.Tensor, values: torch.Tensor, jacobians: torch.Tensor, steps: int | None):
    """The encoding of ``values`` (``B x n``, one row per warp) as one batch and each row's
    evidence plus log Jacobian."""
    xp = s._pad(X)[None].expand(values.shape[0], -1, -1)
    with torch.no_grad():
        ctx = s.model.encode(xp, values.float(), refine_steps=steps, choices=s._choices)
        return ctx, s.model.evidence(ctx, xp, values).double() + jacobians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default="branin,hartmann6,branin_shift,mix6")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--every", type=int, default=2, help="measure every this-many-th context")
    parser.add_argument("--steps", default="5,20,40", help="short refinements to compare with the full one")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ks = [int(k) for k in args.steps.split(",")]
    results = []
    print("| problem | contexts | k steps: same warp as the full refinement | batch: same warp | "
          "batch: max diff of predictions | ms per fit, one at a time | ms per fit, batch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.problems.split(","):
        problem = make_problem(name)
        Recording.contexts = []
        for r in range(args.repeats):
            s = Recording.for_dim(problem.dim, choices=problem.choices if problem.space is not None else None)
            X0 = torch.quasirandom.SobolEngine(problem.dim, scramble=True, seed=args.seed * 1000 + r).draw(
                2, dtype=torch.float64)
            run_budget(s, problem, X0, 10 * problem.dim + 10, torch.Generator().manual_seed(args.seed * 1000 + r), r)
        contexts = Recording.contexts[::args.every]
        g = torch.Generator().manual_seed(args.seed)
        row = {"problem": name, "contexts": len(contexts), "same_k": {k: 0 for k in ks}, "same_batch": 0,
               "max_diff": 0.0, "ms_alone": 0.0, "ms_batch": 0.0}
        for X, y in contexts:
            y = (y - y.mean()) / y.std()  # as condition() re-standardises the fit's values
            warped = [(y, 0.0) if offset is None else warp_values(y, offset)[:2] for offset in OUTPUT_WARPS]
            values = torch.stack([w for w, _ in warped])
            jacobians = torch.tensor([j for _, j in warped], dtype=torch.float64)
            t = time.perf_counter()
            alone = [encode(s, X, values[i:i + 1], jacobians[i:i + 1], None) for i in range(len(warped))]
            row["ms_alone"] += 1e3 * (time.perf_counter() - t)
            full = int(torch.cat([sc for _, sc in alone]).argmax())
            t = time.perf_counter()
            ctx, score = encode(s, X, values, jacobians, None)
            row["ms_batch"] += 1e3 * (time.perf_counter() - t)
            batch = int(score.argmax())
            row["same_batch"] += batch == full
            if batch == full:
                q = s._pad(torch.rand(64, problem.dim, generator=g, dtype=torch.float64))
                m1, s1 = s.model.predict_from(alone[full][0], q)
                m2, s2 = s.model.predict_from(ctx.task(batch), q)
                row["max_diff"] = max(row["max_diff"], float((m1 - m2).abs().max()), float((s1 - s2).abs().max()))
            for k in ks:
                row["same_k"][k] += int(encode(s, X, values, jacobians, k)[1].argmax()) == full
        n = max(len(contexts), 1)
        row["ms_alone"] /= n
        row["ms_batch"] /= n
        results.append(row)
        same_k = ", ".join(f"{k}: {row['same_k'][k]}" for k in ks)
        print(f"| {name} | {len(contexts)} | {same_k} | {row['same_batch']} | {row['max_diff']:.1e} | "
              f"{row['ms_alone']:.0f} | {row['ms_batch']:.0f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"seed": args.seed, "repeats": args.repeats, "every": args.every, "results": results}, fh,
                      indent=1)


if __name__ == "__main__":
    main()
