#!/usr/bin/env bash
# Regenerates every committed result under benchmarks/results/ and docs/ (about 20 minutes
# on 2 CPU cores). Run from the repository root after `make setup`.
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

# Synthetic problems, 5 seeds each
"$NPOPT" benchmark --suite synthetic --vs gp,random --repeats 5 --seed 0 \
    --json "$R/synthetic.json" --plot "$R/synthetic.png"
