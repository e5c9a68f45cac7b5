"""How long a ``tell`` takes while another process is inside its ask (a slow surrogate fit).

Each repeat creates a SQLite study with three observations and one running trial, starts
a second process whose ask conditions a surrogate that sleeps for 4 s (standing in for a
GP fit on many points), and, once that process is inside its ask, tells the running
trial from this one. The ask computes its suggestion outside the study's write lock, so
the tell does not wait for the fit.

    .venv/bin/python benchmarks/tell_latency.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from npopt.space import Float
from npopt.study import Study

#: A program (``python -c SLOW_ASKER STUDY``) that asks with a 4 s fit; it prints "fitting"
#: when it is inside the ask and "asked N" at the end (also used by tests/test_study.py).
SLOW_ASKER = """
import sys, time
from npopt.study import Study

class SlowFit:
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name):
        return getattr(self.inner, name)
    def condition(self, X, y):
        print("fitting", flush=True)
        time.sleep(4)
        self.inner.condition(X, y)

with Study.open(sys.argv[1]) as study:
    study._surrogate = SlowFit(study.surrogate)
    (trial,) = study.ask()
    print("asked", trial.number, flush=True)
"""


def one_tell(path: Path, seed: int) -> float:
    with Study.create(path, {"x": Float(0, 1)}, surrogate="random", seed=seed) as study:
        for _ in range(3):
            (trial,) = study.ask()
            study.tell(trial.number, trial.params["x"])
        (pending,) = study.ask()
        other = subprocess.Popen([sys.executable, "-c", SLOW_ASKER, str(path)], stdout=subprocess.PIPE, text=True)
        if other.stdout.readline().strip() != "fitting":
            raise SystemExit("the slow asker did not start")
        start = time.perf_counter()
        study.tell(pending.number, 0.5)
        seconds = time.perf_counter() - start
        still_fitting = other.poll() is None
        other.communicate(timeout=60)
    if not still_fitting:
        raise SystemExit("the other process finished before the tell: the measurement is void")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        times = [one_tell(Path(folder) / f"busy{i}.db", i) for i in range(args.repeats)]
    print("tell while another process fits, ms:", ", ".join(f"{1000 * t:.1f}" for t in times))
    print(f"median {1000 * statistics.median(times):.1f} ms, slowest {1000 * max(times):.1f} ms")


if __name__ == "__main__":
    main()
