#!/usr/bin/env bash
# Optimise a black box that is not Python -- here an awk expression standing in for a lab
# instrument or a simulator -- with one `npopt ask` and one `npopt tell` per trial. All state
# lives in the study file, so the loop can be stopped and re-run at any time: it continues.
#
# Usage: examples/external_loop.sh [STUDY] [TRIALS]      (defaults: external_loop.db, 12)
# npopt is taken from $NPOPT, else from PATH, else from this checkout's .venv/bin/npopt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NPOPT=${NPOPT:-$(command -v npopt || echo "$here/../.venv/bin/npopt")}
study=${1:-external_loop.db}
trials=${2:-12}

space=$(mktemp "${TMPDIR:-/tmp}/npopt-space.XXXXXX")
trap 'rm -f "$space"' EXIT
cat >"$space" <<'EOF'
direction: minimize
space:
  x: {type: float, low: -3, high: 3}
  y: {type: float, low: -3, high: 3}
EOF

# The black box: prints a value, or fails (exit 1, no output) outside its working range.
black_box() {
    awk -v x="$1" -v y="$2" 'BEGIN {
        if (x > 2.8) exit 1
        printf "%.12g\n", (x - 1)^2 + (y + 0.5)^2 + 0.3 * sin(3 * x)
    }'
}

# Pull a number out of a JSON line such as {"number": 3, "params": {"x": 0.41, "y": -1.2}}
# without jq (sed only; `python -c 'import json,sys; ...'` works as well).
field() { sed -E "s/.*\"$1\": (-?[0-9][0-9.eE+-]*).*/\1/" <<<"$2"; }

for _ in $(seq "$trials"); do
    trial=$("$NPOPT" ask --study "$study" --space "$space" --surrogate random --seed 0)
    number=$(field number "$trial")
    x=$(field x "$trial")
    y=$(field y "$trial")
    if value=$(black_box "$x" "$y"); then
        "$NPOPT" tell --study "$study" --number "$number" --value "$value"
        echo "trial $number: x=$x y=$y -> $value"
    else
        "$NPOPT" tell --study "$study" --number "$number" --state failed --reason "out of range"
        echo "trial $number: x=$x y=$y -> failed"
    fi
done

# The best trial, asked through the JSON-lines protocol (`npopt serve` stops at end of input).
best=$(echo '{"op": "best"}' | "$NPOPT" serve --study "$study" 2>/dev/null)
echo "best: trial $(field number "$best"), value $(field value "$best")"
