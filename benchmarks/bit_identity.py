"""Record the points a handful of seeded studies suggest, through every user path, so that a
refactoring can prove it changed nothing.

    python benchmarks/bit_identity.py --out before.json        # on the old commit
    python benchmarks/bit_identity.py --out after.json         # on the new one
    python benchmarks/bit_identity.py --compare before.json after.json

Paths covered: ``npopt run`` (np, gp, random; a mixed space with a log float, an int and a
categorical), ``npopt ask``/``tell`` (batches of two, 6-D), ``npopt serve`` (JSON lines), the
Optuna ``NPSampler`` (np, gp, random) and, when PostgreSQL's server is installed, ``npopt run``
on a throwaway PostgreSQL cluster. Every point is compared bit for bit (JSON keeps a float's
shortest exact repr).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NPOPT = [sys.executable, "-m", "npopt"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

MIXED_SPACE = """direction: minimize
space:
  x: {type: float, low: -2, high: 2}
  lr: {type: float, low: 1e-5, high: 1e-1, log: true}
  layers: {type: int, low: 1, high: 8}
  kernel: {type: categorical, choices: [rbf, poly, sigmoid]}
  batch_size: 64
"""
MIXED_OBJECTIVE = """import math

def objective(x, lr, layers, kernel, batch_size):
    penalty = {"rbf": 0, "poly": 0.3, "sigmoid": 0.6}[kernel]
    return (x - 0.5) ** 2 + 0.25 * (math.log10(lr) + 3) ** 2 + 0.05 * (layers - 4) ** 2 + penalty
"""
SIX_D_SPACE = "space:\n" + "".join(f"  x{i}: {{type: float, low: 0, high: 1}}\n" for i in range(6))


def six_d(params: dict) -> float:
    """A smooth 6-D bowl with a ripple."""
    return sum((params[f"x{i}"] - 0.1 * i) ** 2 for i in range(6)) + 0.1 * math.sin(7 * params["x0"])


def npopt(*args: str, stdin: str | None = None) -> str:
    out = subprocess.run([*NPOPT, *args], input=stdin, capture_output=True, text=True, env=ENV, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"npopt {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def trials_of(study: str) -> list[dict]:
    return [{"number": t["number"], "params": t["params"], "value": t["value"]}
            for t in json.loads(npopt("show", "--study", study, "--format", "json"))]


def run_cases(tmp: Path, study_for) -> dict:
    """``npopt run`` on the mixed space, for each surrogate."""
    (tmp / "objective.py").write_text(MIXED_OBJECTIVE)
    (tmp / "space.yaml").write_text(MIXED_SPACE)
    out = {}
    for surrogate, budget in (("np", 12), ("gp", 8), ("random", 6)):
        study = study_for(f"run_{surrogate}")
        npopt("run", str(tmp / "objective.py"), "--space", str(tmp / "space.yaml"), "--budget", str(budget),
              "--surrogate", surrogate, "--seed", "3", "--study", study, "--quiet")
        out[f"run/{surrogate}"] = trials_of(study)
    return out


def ask_tell_case(tmp: Path) -> dict:
    """``npopt ask --n 2`` / ``npopt tell`` in 6-D with the np surrogate."""
    (tmp / "six.yaml").write_text(SIX_D_SPACE)
    study = str(tmp / "asktell.db")
    for step in range(5):
        lines = npopt("ask", "--study", study, "--space", str(tmp / "six.yaml"), "--n", "2", "--seed", "5").split("\n")
        for line in filter(None, lines):
            trial = json.loads(line)
            if step == 2 and trial["number"] % 2:
                npopt("tell", "--study", study, "--number", str(trial["number"]), "--state", "failed")
            else:
                value = repr(six_d(trial["params"]))
                npopt("tell", "--study", study, "--number", str(trial["number"]), "--value", value)
    return {"ask_tell/np": trials_of(study)}


def serve_case(tmp: Path) -> dict:
    """``npopt serve``: asks answered one at a time, tells sent in a second session."""
    study = str(tmp / "serve.db")
    for _ in range(3):
        asks = json.dumps({"op": "ask", "n": 2}) + "\n" + json.dumps({"op": "ask"}) + "\n"
        replies = [json.loads(x) for x in npopt("serve", "--study", study, "--space", str(tmp / "six.yaml"),
                                                  "--seed", "7", stdin=asks).splitlines()]
        tells = ""
        for reply in replies:
            for trial in reply["trials"]:
                tells += json.dumps({"op": "tell", "number": trial["number"], "value": six_d(trial["params"])}) + "\n"
        npopt("serve", "--study", study, stdin=tells)
    return {"serve/np": trials_of(study)}


def optuna_cases() -> dict:
    import optuna

    from npopt.integration.optuna import NPSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {}
    for surrogate, n in (("np", 10), ("gp", 7), ("random", 6)):
        study = optuna.create_study(sampler=NPSampler(surrogate=surrogate, seed=11))

        def objective(trial):
            x = trial.suggest_float("x", -2, 2)
            lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
            layers = trial.suggest_int("layers", 1, 8)
            act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
            return (x - 0.5) ** 2 + 0.25 * (math.log10(lr) + 3) ** 2 + 0.05 * (layers - 4) ** 2 + (act == "tanh")

        study.optimize(objective, n_trials=n)
        out[f"optuna/{surrogate}"] = [{"number": t.number, "params": t.params, "value": t.value} for t in study.trials]
    return out


def postgres_cases(tmp: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    import pg_cluster

    if pg_cluster.available() is not None:
        print(f"PostgreSQL skipped: {pg_cluster.available()}", file=sys.stderr)
        return {}
    cluster = pg_cluster.Cluster()
    try:
        cases = run_cases(tmp, lambda name: cluster.url(name))
    finally:
        cluster.stop()
    return {f"postgres/{k}": v for k, v in cases.items()}


def record(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = run_cases(tmp, lambda name: str(tmp / f"{name}.db"))
        cases |= ask_tell_case(tmp)
        cases |= serve_case(tmp)
        cases |= optuna_cases()
        cases |= postgres_cases(tmp)
    path.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"{path}: {len(cases)} cases, {sum(len(v) for v in cases.values())} trials")


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    bad = 0
    print(f"{'case':<22} {'trials':>6}  result")
    for case in sorted(set(a) | set(b)):
        if case not in a or case not in b:
            print(f"{case:<22} {'':>6}  only in {'before' if case in a else 'after'}")
            bad += 1
            continue
        same = a[case] == b[case]
        bad += not same
        print(f"{case:<22} {len(a[case]):>6}  {'identical' if same else 'DIFFERENT'}")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give --out FILE or --compare BEFORE AFTER")
    record(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
