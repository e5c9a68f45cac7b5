"""What copying each commit into the SQLite study file costs concurrent workers.

Four processes share one study file and each runs ask + tell cycles with the random
surrogate (so the storage, not a model, is what is timed), once with the per-commit WAL
checkpoint npopt does (``CHECKPOINT_EACH_COMMIT``) and once without it (SQLite's default of
a checkpoint every 1,000 pages). Prints a table of trials per second and the median
milliseconds per ask + tell, over ``--rounds`` alternating rounds.

    python benchmarks/wal_cost.py --workers 4 --trials 100 --rounds 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path


def _worker(path: str, trials: int, checkpoint: bool, start, out) -> None:
    import npopt
    import npopt.storage.sqlite as sqlite

    sqlite.CHECKPOINT_EACH_COMMIT = checkpoint
    times = []
    with npopt.Study.open(path) as st:
        start.wait()
        for _ in range(trials):
            t0 = time.perf_counter()
            (t,) = st.ask()
            st.tell(t.number, t.params["x"])
            times.append(time.perf_counter() - t0)
    out.put(times)


def one_round(workers: int, trials: int, checkpoint: bool) -> tuple[float, float]:
    import npopt

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "s.db")
        npopt.Study.create(path, {"x": npopt.Float(0.0, 1.0)}, surrogate="random", seed=0).close()
        start, out = mp.Barrier(workers + 1), mp.Queue()
        procs = [mp.Process(target=_worker, args=(path, trials, checkpoint, start, out)) for _ in range(workers)]
        for p in procs:
            p.start()
        start.wait()
        t0 = time.perf_counter()
        times = [x for _ in procs for x in out.get()]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join()
        with npopt.Study.open(path) as st:
            assert len(st.trials) == workers * trials
    return workers * trials / wall, 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=100, help="ask + tell cycles per worker")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results = {True: [], False: []}
    for _ in range(args.rounds):
        for checkpoint in (False, True):
            results[checkpoint].append(one_round(args.workers, args.trials, checkpoint))
    print(f"{args.workers} workers x {args.trials} ask+tell each, random surrogate, {args.rounds} rounds (median)")
    print("| checkpoint each commit | trials per second | ms per ask + tell (median) |")
    print("| --- | --- | --- |")
    for checkpoint in (False, True):
        rate = statistics.median(r[0] for r in results[checkpoint])
        ms = statistics.median(r[1] for r in results[checkpoint])
        print(f"| {'yes (npopt)' if checkpoint else 'no (SQLite default)'} | {rate:.1f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
