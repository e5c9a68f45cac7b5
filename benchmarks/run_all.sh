#!/usr/bin/env bash
# Regenerates every committed result under benchmarks/results/ and docs/ (several hours on
# 2 CPU cores, most of it the GP on the 8-16-D synthetic problems). Run from the repository root after `make setup`.
set -euo pipefail
NPOPT=${NPOPT:-.venv/bin/npopt}
R=benchmarks/results
mkdir -p "$R" docs

# The shipped priors against the oracle GP on 1,000 held-out tasks of their training family
"$NPOPT" prior eval np1d --tasks 1000 --seed 0 --json "$R/prior_eval_np1d.json"
"$NPOPT" prior plot np1d --out docs/np1d_draws.png --context 5,20 --seed 0

# The paper's Table 1 and Figure 5
"$NPOPT" benchmark --suite gp1d --vs gp,gp-oracle,random --functions 100 --seed 0 \
    --json "$R/gp1d.json" --plot "$R/gp1d.png"
"$NPOPT" plot-ts --out "$R/thompson.png" --seed 0 --surrogate np

# The multi-dimensional prior per input dimension, with and without its evidence refinement
for d in 1 2 3 4 5 6; do
    "$NPOPT" prior eval np6d --dim "$d" --tasks 1000 --seed 0 --json "$R/prior_eval_np6d_d$d.json"
    "$NPOPT" prior eval np6d --dim "$d" --tasks 1000 --seed 0 --refine-steps 0 --json "$R/prior_eval_np6d_d${d}_norefine.json"
done

# Synthetic problems (1-D to 16-D), 10 seeds each. The GP's 8-16-D runs take hours on 2 cores:
# finished runs are kept in the --runs file, so the command can be stopped and run again
"$NPOPT" benchmark --suite synthetic --vs gp,random --repeats 10 --seed 0 --runs "$R/synthetic.runs.jsonl" \
    --json "$R/synthetic.json" --csv "$R/synthetic.csv" --plot "$R/synthetic.png"

# Seconds per ask, np against BoTorch's GP and Optuna's GPSampler
# speed.py times Optuna's GPSampler too when optuna (and greenlet) are installed in the venv
"${PYTHON:-.venv/bin/python}" benchmarks/speed.py --json "$R/speed.json"

# The 16-D prior with categorical inputs, per dimension: continuous tasks and tasks with
# 1 to d categorical inputs, against the oracle GP that knows the (mixed) kernel
for d in $(seq 1 16); do
    "$NPOPT" prior eval np16d --dim "$d" --continuous --tasks 160 --seed 0 --json "$R/prior_eval_np16d_d$d.json"
    "$NPOPT" prior eval np16d --dim "$d" --mixed --tasks 160 --seed 0 --json "$R/prior_eval_np16d_d${d}_mixed.json"
done

# Problems with int and categorical parameters, 5 seeds each (10 to come); finished runs are kept in
# the --runs file, so an interrupted run goes on where it stopped (delete it to recompute)
"$NPOPT" benchmark --suite mixed --vs gp,random --repeats 5 --seed 0 --runs "$R/mixed.runs.jsonl" \
    --json "$R/mixed.json" --csv "$R/mixed.csv" --plot "$R/mixed.png"
