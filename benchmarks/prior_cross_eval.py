"""Two or more priors on each other's task families: predictive log-likelihood per target
point against the oracle GP (the same held-out tasks for every prior).

`npopt prior eval` draws its tasks from the evaluated prior's own family, so two priors
trained on different families are not scored on the same tasks. This scores every prior
on the tasks of every family given, for each number of varying inputs:

    .venv/bin/python benchmarks/prior_cross_eval.py --priors np16d,wide.pt --families np16d,wide.pt \
        --dims 2,4,8,12 --mixed
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from npopt.neural.checkpoints import load_model, prior_path
from npopt.neural.train import checkpoint_setup, evaluate, validation_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--priors", required=True, help="comma-separated shipped names or .pt paths")
    parser.add_argument("--families", required=True,
                        help="comma-separated priors whose training family gives the tasks")
    parser.add_argument("--dims", default="2,4,8,12", help="comma-separated numbers of varying inputs")
    parser.add_argument("--mixed", action=argparse.BooleanOptionalAction, default=True,
                        help="only tasks with categorical inputs (default) or only continuous ones")
    parser.add_argument("--tasks", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    priors = [prior_path(p) for p in args.priors.split(",")]
    models = [load_model(p)[0] for p in priors]
    print(f"| family ({'mixed' if args.mixed else 'continuous'} tasks) | d | oracle GP | "
          + " | ".join(f"{p} (gap)" for p in args.priors.split(",")) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in priors) + " |")
    for family in args.families.split(","):
        path = prior_path(family)
        prior = checkpoint_setup(load_model(path)[1], str(path)).prior
        prior = dataclasses.replace(prior, cat_prob=1.0 if args.mixed else 0.0)
        for d in (int(x) for x in args.dims.split(",")):
            batches = validation_set(prior, args.tasks, seed=1_000_000 + args.seed, active_dims=d)
            cells, oracle = [], None
            for model in models:
                result = evaluate(model, batches)  # means over all the tasks
                oracle = result["oracle_target_ll"]
                cells.append(f"{result['np_target_ll']:.3f} ({oracle - result['np_target_ll']:.3f})")
            print(f"| {family} | {d} | {oracle:.3f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
