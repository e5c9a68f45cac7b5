"""Paired table of a new NP default against the committed runs of the old one, with GPSampler.

The runs come from ``benchmarks/thompson_levers.py --runs`` (RunStore files: every run's
values): the new default's (``--method``) and the old one's (``--before-method``, by default
``np-nomean``; from ``--before-runs`` files where the two ran under one name); where the old
one has no runs there, its final regrets from a committed
``{"problem seed s": {"np-local": [...]}}`` file (``--before``, as ``benchmarks/endgame.py
--table --json`` writes: the same starting points and study seeds, but that script's own
loop, so the runs differ from the first ask on). GPSampler's medians come from
``thompson_levers.py --json`` summaries. Runs of the same seed set and repeat start from the
same points with the same study seed, so the change of log10 final regret is paired by repeat.

    .venv/bin/python benchmarks/constant_mean_table.py runs/const_seed*.jsonl \\
        --peers benchmarks/results/thompson_tr/levers_gp_seed0.json,... --json OUT
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from endgame import paired_log10
from thompson_table import FLOOR, load

from npopt.outputs import summary_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--method", default="np-local", help="the new runs' method name")
    parser.add_argument("--before", help="the old default's final regrets (JSON, its np-local entries), "
                        "where the runs files have no --before-method runs")
    parser.add_argument("--before-method", default="np-nomean")
    parser.add_argument("--before-runs", nargs="*", default=[],
                        help="runs files of the old default (its --before-method runs), where the new "
                        "default's runs are in other files under the same method name")
    parser.add_argument("--peers", default="", help="comma-separated thompson_levers.py summaries")
    parser.add_argument("--peer", default="optuna-gp")
    parser.add_argument("--json", help="write every run's final regret and the paired changes here")
    args = parser.parse_args()
    runs = load(args.runs)
    # the old default's finals: the runs files' own --before-method runs where they have them
    # (paired: same protocol), else the committed --before file's (same starting points)
    before, source = {}, {}
    if args.before:
        for key, methods in json.loads(Path(args.before).read_text()).items():
            if "np-local" in methods:
                before[key], source[key] = methods["np-local"], Path(args.before).name
    old_runs = load(args.before_runs) if args.before_runs else runs
    for (s, p, m), f in old_runs.items():
        if m == args.before_method and len(f) >= len(runs.get((s, p, args.method), {})):  # finished
            before[f"{p} seed {s}"], source[f"{p} seed {s}"] = [f[i] for i in sorted(f)], args.before_method
    peers: dict[tuple[int, str], float] = {}
    for path in filter(None, args.peers.split(",")):
        summary = json.loads(Path(path).read_text())
        for problem, methods in summary["problems"].items():
            if args.peer in methods and methods[args.peer].get("median_regret") is not None:
                peers[(summary["seed"], problem)] = methods[args.peer]["median_regret"]
    new = {(s, p): finals for (s, p, m), finals in runs.items() if m == args.method}
    print(f"| problem | seed set | runs | before | now | {args.peer} | now - before | before from |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    out, counts = {}, {}
    for (seed, problem), finals in sorted(new.items()):
        now = [finals[i] for i in sorted(finals)]
        old = before.get(f"{problem} seed {seed}")
        peer = peers.get((seed, problem))
        cells = [f"{statistics.median(now):.3g}", ""]
        change = ""
        if old is not None and len(old) == len(now):
            cells[1] = cells[0]
            cells[0] = f"{statistics.median(old):.3g}"
            mean, se = paired_log10(now, old, FLOOR)  # a solved problem (regret <= 0) counts as FLOOR
            change = f"{mean:+.2f} ({se:.2f})"
            out[f"{problem} seed {seed}"] = {"before": old, "now": now, "paired_log10": [mean, se],
                                             "before_from": source[f"{problem} seed {seed}"]}
        else:
            cells = ["", cells[0]]
            out[f"{problem} seed {seed}"] = {"now": now}
        if peer is not None:
            c = counts.setdefault(seed, [0, 0, 0])
            c[0] += statistics.median(now) <= peer
            c[1] += old is not None and statistics.median(old) <= peer
            c[2] += 1
            out[f"{problem} seed {seed}"][args.peer] = peer
        print(f"| {problem} | {seed} | {len(now)} | {cells[0]} | {cells[1]} | "
              f"{'' if peer is None else f'{peer:.3g}'} | {change} | "
              f"{source.get(f'{problem} seed {seed}', '') if change else ''} |")
    print()
    for seed, (now_wins, old_wins, n) in sorted(counts.items()):
        print(f"seed set {seed}: median final regret at most {args.peer}'s on {now_wins} of {n} problems "
              f"(before: {old_wins})")
    if args.json:
        Path(args.json).write_text(summary_json(out))


if __name__ == "__main__":
    main()
