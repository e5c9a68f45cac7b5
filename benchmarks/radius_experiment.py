"""An experiment, not a setting: how the exclusion radius (``npopt.encoding.default_radius``,
``1e-3 sqrt(d)`` since the first commit, never measured) limits the last digits of a
constrained optimum, which lies on the boundary where regret is linear in the distance.

    OMP_NUM_THREADS=1 python benchmarks/radius_experiment.py constrained 0 1e-3 1e-5

Runs np alone on every problem of the suite (3 repeats, the suite's starts) once per radius
scale and prints the final scores; the default is the first scale.
"""

from __future__ import annotations

import math
import sys

import npopt.encoding as encoding
from npopt.benchmarks import outcomes


def main(suite: str, seed: int, scales: list[float]) -> None:
    rows = {}
    for scale in scales:
        encoding.default_radius = lambda dim, scale=scale: scale * math.sqrt(dim)
        summary = outcomes.run_suite(suite, ["np"], 3, seed)
        for name, entry in summary["problems"].items():
            rows.setdefault(name, []).append(entry["methods"]["np"]["median"])
    print("| problem | " + " | ".join(f"radius {s:g} sqrt(d)" for s in scales) + " |")
    print("|" + " --- |" * (len(scales) + 1))
    for name, medians in rows.items():
        print(f"| {name} | " + " | ".join(f"{m:.3g}" for m in medians) + " |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3:]])
