#!/usr/bin/env bash
# The constrained and multi-objective suites on seed sets 0 and 1 (3 repeats each), one at a
# time on one thread: the JSON summaries and plots that benchmarks/results/{constrained,
# multiobjective}/README.md cite. About 75 min on the 2-core machine (measured: 15 and 22 min per seed set); the runs
# are kept in runs/ (not in git), so an interrupted run of this script goes on where it stopped;
# delete those files after changing the code (a kept run is reused whatever made it).
set -euo pipefail
export OMP_NUM_THREADS=1
out=benchmarks/results
for seed in 0 1; do
  for suite in constrained multiobjective; do
    npopt benchmark --suite "$suite" --repeats 3 --seed "$seed" --runs "runs/$suite-seed$seed.jsonl" \
      --json "$out/$suite/seed$seed.json" --plot "$out/$suite/seed$seed.png"
  done
done
# the third seed set of each (12 and 20 min)
npopt benchmark --suite constrained --repeats 3 --seed 2 --runs runs/constrained-seed2.jsonl \
  --json "$out/constrained/seed2.json" --plot "$out/constrained/seed2.png"
npopt benchmark --suite multiobjective --repeats 3 --seed 2 --runs runs/multiobjective-seed2.jsonl \
  --json "$out/multiobjective/seed2.json" --plot "$out/multiobjective/seed2.png"
