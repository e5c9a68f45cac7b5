"""Learning from past studies, measured: ``npopt benchmark --suite transfer``.

A family of related, real tuning tasks on data bundled with scikit-learn: kernel ridge
regression (RBF kernel) separating two handwritten digits, one task per pair of digits
(45 pairs). Each task tunes ``alpha`` (1e-5..10, log) and ``gamma`` (1e-4..10, log); the
value is log10 of the mean squared error of the +-1 labels on a fixed validation half of
the pair's images (the other half trains), deterministic, ~10 ms an evaluation. On the raw
error the bad corner (an error near 1) dwarfs the differences between good settings, and
every method's normalised regret is near 0 after a few evaluations; the log keeps them. The pairs share the
shape of the landscape (where regularisation and kernel width work for 8 x 8 digits) but
not its details, which is what a user tuning one model over new datasets has.

- Split: :data:`HELD_OUT` pairs (fixed, seed 0) are never seen in meta-training.
- Past studies: a random-search study of :data:`STUDY_TRIALS` evaluations per training
  pair, real SQLite study files made by the benchmark and cached in ``--cache``.
- ``np-transfer``: the shipped prior for the space fine-tuned on those studies with
  :func:`npopt.transfer.fine_tune_on_studies` (cached by seed and steps); ``np``: the shipped
  prior itself; ``gp``: BoTorch's GP; ``random``.
- Every method starts from the same :data:`N_INIT` random points per (task, repeat) and runs
  to :data:`BUDGET` evaluations. Normalised regret (HPO-B style) at a budget: the best
  value found minus the task's best known value, divided by the task's range (worst minus
  best on a 16 x 16 grid, the best also over every value any method found).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import torch

from npopt.benchmarks.problems import SpaceProblem
from npopt.seeds import hashed_seed
from npopt.space import Float

PAIRS = tuple(combinations(range(10), 2))
HELD_OUT = 9
STUDY_TRIALS = 40
N_INIT = 2
BUDGET = 25
BUDGETS = (5, 10, 25)
METHODS = ("np", "np-transfer", "gp", "random")
GRID = 16


def split_pairs(seed: int = 0) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(training pairs, held-out pairs)``, fixed by ``seed``."""
    order = torch.randperm(len(PAIRS), generator=torch.Generator().manual_seed(seed)).tolist()
    return [PAIRS[i] for i in order[HELD_OUT:]], [PAIRS[i] for i in order[:HELD_OUT]]


class DigitPair(SpaceProblem):
    """RBF kernel ridge regression telling digit ``a`` (+1) from ``b`` (-1)."""

    def __init__(self, a: int, b: int) -> None:
        from sklearn.datasets import load_digits

        super().__init__()
        self.name = f"digits_{a}v{b}"
        digits = load_digits()
        keep = (digits.target == a) | (digits.target == b)
        X = torch.tensor(digits.data[keep] / 16.0, dtype=torch.float64)
        y = torch.where(torch.tensor(digits.target[keep]) == a, 1.0, -1.0).to(torch.float64)
        order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(a * 10 + b))
        half = X.shape[0] // 2
        self.train = (X[order[:half]].numpy(), y[order[:half]].numpy())
        self.valid = (X[order[half:]].numpy(), y[order[half:]].numpy())
        self.optimal_value = math.nan  # set by the benchmark from the grid and every value found

    def parameters(self) -> dict:
        return {"alpha": Float(1e-5, 10.0, log=True), "gamma": Float(1e-4, 10.0, log=True)}

    def value(self, params: dict) -> float:
        from sklearn.kernel_ridge import KernelRidge

        model = KernelRidge(alpha=params["alpha"], kernel="rbf", gamma=params["gamma"]).fit(*self.train)
        return math.log10(float(((model.predict(self.valid[0]) - self.valid[1]) ** 2).mean()))

    def grid_range(self) -> tuple[float, float]:
        """Best and worst value on a ``GRID x GRID`` grid of the unit square."""
        ticks = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
        U = torch.cartesian_prod(ticks, ticks)
        values = self.evaluate(U)
        return float(values.min()), float(values.max())


def _seed(*key) -> int:
    return hashed_seed("npopt-transfer", *key)


def past_studies(cache: Path, pairs, trials: int = STUDY_TRIALS,
                 tick: Callable[[], None] | None = None) -> list[Path]:
    """A random-search study file per training pair (made once, then reused from ``cache``)."""
    from npopt.study import Study

    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for a, b in pairs:
        path = cache / f"study_{a}v{b}.db"
        problem = DigitPair(a, b)
        with Study.open_or_create(path, problem.space, surrogate="random", seed=_seed("study", a, b)) as study:
            done = sum(t.state.value == "complete" for t in study.trials)
            for _ in range(trials - done):
                trial = study.ask()[0]
                study.tell(trial.number, problem.value(trial.params))
        paths.append(path)
        if tick:
            tick()
    return paths


def run_transfer(
    cache: Path,
    repeats: int = 5,
    seed: int = 0,
    steps: int | None = None,
    methods: tuple[str, ...] = METHODS,
    progress: Callable[[int, int, str], None] | None = None,
    pairs: tuple[list, list] | None = None,
) -> dict:
    """Meta-train on the training pairs' studies, then run every method on the held-out pairs
    (``pairs``: other ``(training, held-out)`` pairs than :func:`split_pairs`, for tests)."""
    from npopt.benchmarks.suites import run_budget
    from npopt.neural.checkpoints import read_checkpoint
    from npopt.neural.transfer import DEFAULT_STEPS
    from npopt.optim import single_thread
    from npopt.surrogates import make_surrogate
    from npopt.transfer import fine_tune_on_studies

    t0 = time.perf_counter()
    steps = DEFAULT_STEPS if steps is None else steps
    training, held_out = pairs or split_pairs()
    total = len(training) + 1 + len(held_out) * repeats * len(methods)
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, label)

    with single_thread():
        studies = past_studies(cache, training, tick=lambda: tick("transfer: past studies"))
        prior = cache / f"np-transfer-steps{steps}.pt"
        if not prior.exists():
            fine_tune_on_studies(studies, prior, steps=steps, seed=0)
        tick("transfer: fine-tuned")
        factories = {
            "np": lambda: make_surrogate("np", 2),
            "np-transfer": lambda: make_surrogate("np", 2, checkpoint=prior),
            "gp": lambda: make_surrogate("gp", 2),
            "random": lambda: make_surrogate("random", 2),
        }
        curves: dict[str, list[list[float]]] = {m: [] for m in methods}
        tasks = []
        for a, b in held_out:
            problem = DigitPair(a, b)
            best, worst = problem.grid_range()
            runs = {m: [] for m in methods}
            for r in range(repeats):
                g0 = torch.Generator().manual_seed(_seed("init", seed, a, b, r))
                X0 = torch.rand(N_INIT, 2, generator=g0, dtype=torch.float64)
                for m in methods:
                    g = torch.Generator().manual_seed(_seed("bo", seed, a, b, r, m))
                    runs[m].append(run_budget(factories[m](), problem, X0, BUDGET, g, r).values)
                    tick(f"transfer: {m} on {problem.name}")
            best = min(best, *(min(v) for vs in runs.values() for v in vs))
            span = max(worst - best, 1e-12)
            for m, vs in runs.items():
                for values in vs:
                    so_far = torch.tensor(values).cummin(0).values
                    curves[m].append(((so_far - best) / span).tolist())
            tasks.append({"task": problem.name, "best": best, "worst": worst})
    summary = {"suite": "transfer", "seed": seed, "repeats": repeats, "n_init": N_INIT, "budget": BUDGET,
               "held_out_tasks": tasks, "training_tasks": [f"digits_{a}v{b}" for a, b in training],
               "budgets": {}, "curves": {}}
    for b in BUDGETS:
        summary["budgets"][str(b)] = {}
        for m in methods:
            at = torch.tensor([c[b - 1] for c in curves[m]])
            summary["budgets"][str(b)][m] = {"mean": float(at.mean()),
                                             "stderr": float(at.std() / math.sqrt(at.numel()))}
    for m in methods:
        c = torch.tensor(curves[m])
        summary["curves"][m] = {"mean": c.mean(0).tolist(), "stderr": (c.std(0) / math.sqrt(c.shape[0])).tolist()}
    summary["fine_tune"] = read_checkpoint(prior)["transfer"]["held_out_ll"] | {"steps": steps}
    summary["seconds"] = time.perf_counter() - t0
    return summary


def transfer_table(summary: dict):
    from rich.table import Table

    budgets = list(summary["budgets"])
    methods = list(summary["budgets"][budgets[0]])
    table = Table(title=f"Transfer: normalised regret on {len(summary['held_out_tasks'])} held-out digit pairs "
                        f"x {summary['repeats']} seeds (mean ± se, lower is better)")
    table.add_column("method")
    for b in budgets:
        table.add_column(f"{b} evaluations", justify="right")
    for m in methods:
        cells = []
        for b in budgets:
            row = summary["budgets"][b]
            best = min(row, key=lambda k: row[k]["mean"])
            text = f"{row[m]['mean']:.4f} ± {row[m]['stderr']:.4f}"
            cells.append(f"[bold]{text}[/]" if m == best else text)
        table.add_row(m, *cells)
    return table


def write_csv(summary: dict, path: Path) -> None:
    import csv

    from npopt.outputs import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["method", "evaluations", "normalised_regret_mean", "stderr"])
            for m, c in summary["curves"].items():
                for i, (mean, se) in enumerate(zip(c["mean"], c["stderr"], strict=True)):
                    w.writerow([m, i + 1, f"{mean:.6g}", f"{se:.6g}"])

    atomic_write(path, write)


def plot_transfer(summary: dict, path: Path) -> None:
    from npopt.display.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for m, c in summary["curves"].items():
        mean, se = torch.tensor(c["mean"]), torch.tensor(c["stderr"])
        x = torch.arange(1, mean.numel() + 1)
        ax.plot(x, mean, label=m, lw=2 if m == "np-transfer" else 1.3)
        ax.fill_between(x, (mean - se).clamp_min(1e-6), mean + se, alpha=0.15)
    ax.set_yscale("log")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("normalised regret (mean over tasks and seeds)")
    ax.set_title(f"Held-out digit pairs: kernel ridge (alpha, gamma), {summary['repeats']} seeds each", fontsize=9)
    ax.axvline(N_INIT + 0.5, color="grey", lw=0.6, ls=":")
    ax.legend()
    from npopt.display.figures import save

    save(fig, path, dpi=110)
    plt.close(fig)
