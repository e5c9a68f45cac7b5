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
"$NPOPT" benchmark --suite synthetic --problems forrester,branin,hartmann3,levy4,hartmann6 --vs gp,random \
    --repeats 10 --seed 1 --json "$R/synthetic_seed1.json"

# A tell while another process is inside a 4 s ask (the ask suggests outside the write lock)
"${PYTHON:-.venv/bin/python}" benchmarks/tell_latency.py > "$R/tell_latency.txt"

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

# The same problems against Optuna's TPESampler and GPSampler (needs the optuna extra; np, gp
# and random runs are reused from the --runs files), on two seed sets for the synthetic ones
"$NPOPT" benchmark --suite synthetic --problems forrester,branin,hartmann3,levy4,hartmann6 --vs tpe,optuna-gp \
    --repeats 10 --seed 0 --runs "$R/synthetic.runs.jsonl" --json "$R/synthetic_optuna.json"
"$NPOPT" benchmark --suite synthetic --problems forrester,branin,hartmann3,levy4,hartmann6 --vs tpe,optuna-gp \
    --repeats 10 --seed 1 --runs "$R/synthetic.runs.jsonl" --json "$R/synthetic_optuna_seed1.json"
"$NPOPT" benchmark --suite mixed --vs gp,tpe,optuna-gp --repeats 5 --seed 0 --runs "$R/mixed.runs.jsonl" \
    --json "$R/mixed_optuna.json"
"$NPOPT" benchmark --suite synthetic --problems ackley10,levy10,hartmann6_12,styblinski16 --vs gp,random \
    --repeats 5 --seed 0 --runs "$R/synthetic.runs.jsonl" --json "$R/synthetic_highd.json"

# How well the NP and the GP predict the benchmark functions from random points (6-16-D)
"${PYTHON:-.venv/bin/python}" benchmarks/predictive_check.py --json "$R/predictive_check.json"

# The paper's Figure 4 and Table 2, each on two seed sets
"$NPOPT" benchmark --suite images --seed 0 --json "$R/images.json" --plot docs/figure4_digits.png
"$NPOPT" benchmark --suite images --seed 1 --json "$R/images_seed1.json"
"$NPOPT" benchmark --suite wheel --repeats 50 --seed 0 --json "$R/wheel.json"
"$NPOPT" benchmark --suite wheel --repeats 50 --seed 1 --json "$R/wheel_seed1.json"

# Learning from past studies: fine-tune on 36 digit pairs' studies, BO on 9 held-out pairs (two seed sets;
# the studies and the fine-tuned priors are cached in .npopt-cache/transfer/FAMILY and reused by the second)
"$NPOPT" benchmark --suite transfer --repeats 2 --seed 0 --json "$R/transfer/seed0.json" \
    --plot "$R/transfer/seed0.png"
"$NPOPT" benchmark --suite transfer --repeats 2 --seed 1 --json "$R/transfer/seed1.json"

# Pictures of a study (docs/plots.md)
STUDY_DIR=$(mktemp -d)
"$NPOPT" run examples/mixed.py --study "$STUDY_DIR/mixed.db" --budget 25 -q
"$NPOPT" plot --study "$STUDY_DIR/mixed.db" --out docs/plot_history.png
"$NPOPT" plot --study "$STUDY_DIR/mixed.db" --out docs/plot_slices.png --kind slices
"$NPOPT" plot --study "$STUDY_DIR/mixed.db" --out docs/plot_model.png --kind model --param lr
"$NPOPT" benchmark --suite mixed --vs tpe,optuna-gp --repeats 5 --seed 1 --runs "$R/mixed.runs.jsonl" \
    --json "$R/mixed_optuna_seed1.json"

# np alone after the faster asks, on the committed seeds (compare with benchmarks/compare_runs.py)
F="$R/fast_asks"
for seed in 0 1; do
    suffix=$([ "$seed" = 0 ] && echo "" || echo "_seed1")
    "$NPOPT" benchmark --suite synthetic --problems forrester,branin,hartmann3,levy4,hartmann6 --vs "" --repeats 10 \
        --seed "$seed" --runs "$F/synthetic.runs.jsonl" --json "$F/synthetic$suffix.json"
    "$NPOPT" benchmark --suite mixed --vs "" --repeats 10 --seed "$seed" --runs "$F/mixed.runs.jsonl" --json "$F/mixed$suffix.json"
done
"$NPOPT" benchmark --suite synthetic --problems ackley10,levy10,hartmann6_12,styblinski16 --vs "" --repeats 5 --seed 0 \
    --runs "$F/synthetic.runs.jsonl" --json "$F/synthetic_highd.json"
"$NPOPT" benchmark --suite gp1d --vs "" --functions 100 --seed 0 --json "$F/gp1d.json"

# local search from 6 parameters on (benchmarks/results/local_search/README.md)
L="$R/local_search"
P=ackley10,levy10,hartmann6_12,styblinski16
"$NPOPT" benchmark --suite synthetic --problems $P --vs random --repeats 5 --seed 0 --runs "$L/synthetic_highd.runs.jsonl" \
    --json "$L/synthetic_highd_seed0.json"
"$NPOPT" benchmark --suite synthetic --problems $P --vs gp,random --repeats 5 --seed 1 --runs "$L/synthetic_highd.runs.jsonl" \
    --json "$L/synthetic_highd_seed1.json"
for seed in 0 1; do
    "$NPOPT" benchmark --suite synthetic --problems hartmann6 --vs "" --repeats 10 --seed "$seed" --runs "$L/six_params.runs.jsonl"
    "$NPOPT" benchmark --suite mixed --problems mix6 --vs "" --repeats 10 --seed "$seed" --runs "$L/six_params.runs.jsonl"
done
"$NPOPT" benchmark --suite synthetic --problems hartmann6 --vs gp,random --repeats 10 --seed 2 --runs "$L/seed2.runs.jsonl" \
    --json "$L/hartmann6_seed2.json"
"$NPOPT" benchmark --suite mixed --problems mix6 --vs random --repeats 10 --seed 2 --runs "$L/seed2.runs.jsonl" \
    --json "$L/mix6_seed2.json"

# the wider basis from 7 parameters on (benchmarks/results/wide_basis/README.md)
for seed in 1 0; do
    "$NPOPT" benchmark --suite synthetic --problems $P --vs "" --repeats 5 --seed "$seed" \
        --runs "$R/wide_basis/synthetic_highd.runs.jsonl" --json "$R/wide_basis/synthetic_highd_seed$seed.json"
done

# the refinement's leash: noise floor 0.0005, categorical lengthscales on log sd 3
# (benchmarks/results/refine_leash/README.md); the mixed suite with 10 seeds per seed set and
# BoTorch's mixed GP on both (seed set 0's GP and random runs copied from $R/mixed.runs.jsonl)
Q="$R/refine_leash"
for seed in 0 1; do
    "$NPOPT" benchmark --suite synthetic --problems forrester,branin,hartmann3,levy4,hartmann6 --vs "" --repeats 10 \
        --seed "$seed" --runs "$Q/synthetic.runs.jsonl" --json "$Q/synthetic_low_seed$seed.json"
    "$NPOPT" benchmark --suite synthetic --problems $P --vs "" --repeats 5 --seed "$seed" \
        --runs "$Q/synthetic.runs.jsonl" --json "$Q/synthetic_highd_seed$seed.json"
done
"${PYTHON:-.venv/bin/python}" -c '
import json, sys
for line in open(sys.argv[1]):
    key = json.loads(json.loads(line)["key"])
    if key["seed"] == 0 and key["method"] in ("gp", "random"):
        sys.stdout.write(line)' "$R/mixed.runs.jsonl" >> "$Q/mixed.runs.jsonl"
for seed in 1 0; do
    "$NPOPT" benchmark --suite mixed --vs gp,random --repeats 10 --seed "$seed" --runs "$Q/mixed.runs.jsonl" \
        --json "$Q/mixed_seed$seed.json" --plot "$Q/mixed_seed$seed.png"
done
"${PYTHON:-.venv/bin/python}" benchmarks/speed.py --methods np --dims 12 --json "$Q/speed_np12.json"
for d in $(seq 7 16); do
    "$NPOPT" prior eval np16d --dim "$d" --continuous --tasks 160 --seed 0 --features 512 --json "$R/prior_eval_np16d_d${d}_wide.json"
    "$NPOPT" prior eval np16d --dim "$d" --mixed --tasks 160 --seed 0 --features 512 --json "$R/prior_eval_np16d_d${d}_mixed_wide.json"
done
