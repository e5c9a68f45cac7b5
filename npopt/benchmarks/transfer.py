"""Learning from past studies, measured: ``npopt benchmark --suite transfer``.

Families of related, real tuning tasks on data bundled with scikit-learn, one task per pair
of handwritten digits (45 pairs: the model separates digit ``a`` (+1) from ``b`` (-1),
trained on one fixed half of the pair's images and scored on the other). The pairs of one
family share the shape of its landscape (where a setting works for 8 x 8 digits) but not its
details, which is what a user tuning one model over new datasets has. The value is the log10
of a validation loss, deterministic; on the raw loss the bad corner dwarfs the differences
between good settings.

- ``digits-krr`` (:class:`DigitKRR`): kernel ridge regression, RBF kernel; ``alpha`` and
  ``gamma`` (log). 2 parameters, ~10 ms an evaluation.
- ``digits-svc`` (:class:`DigitSVC`): a support vector machine with a ``kernel`` chosen among
  rbf, poly and sigmoid, ``C`` and ``gamma`` (log); squared hinge loss. 3 parameters, one
  categorical.
- ``digits-sgd`` (:class:`DigitSGD`): a linear model by stochastic gradient descent (modified
  Huber loss, elastic net): ``alpha`` (log), ``l1_ratio``, ``eta0`` (log), ``power_t``,
  ``epochs`` (int); modified Huber loss. 5 parameters.

- Split: :data:`HELD_OUT` pairs (fixed, seed 0) are never seen in fine-tuning.
- Past studies: a random-search study of :data:`STUDY_TRIALS` evaluations per training
  pair, real SQLite study files made by the benchmark and cached in ``--cache``; the
  fine-tuning sees the first 4, 8 or all 36 of them (:data:`STUDY_COUNTS`).
- ``np-transfer-N``: the shipped prior for the space fine-tuned on N of those studies with
  :func:`npopt.transfer.fine_tune_on_studies` (validated on its own held-out studies, cached by
  family, N and steps); ``np``: the shipped prior itself; ``gp``: BoTorch's GP; ``optuna-gp``:
  Optuna's GPSampler; ``random``.
- Every method starts from the same :data:`N_INIT` random points per (task, repeat) and runs
  to :data:`BUDGET` evaluations. Normalised regret (HPO-B style) at a budget: the best
  value found minus the task's best known value, divided by the task's range (worst minus
  best over :func:`reference_points`, the best also over every value any method found).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import torch

from npopt.benchmarks.problems import SpaceProblem
from npopt.seeds import hashed_seed
from npopt.space import Categorical, Float, Int

PAIRS = tuple(combinations(range(10), 2))
HELD_OUT = 9
STUDY_TRIALS = 40
STUDY_COUNTS = (4, 8, 36)
N_INIT = 2
BUDGET = 25
BUDGETS = (5, 10, 25)
METHODS = ("np", "np-transfer", "gp", "optuna-gp", "random")
GRID = 16


def split_pairs(seed: int = 0) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(training pairs, held-out pairs)``, fixed by ``seed``."""
    order = torch.randperm(len(PAIRS), generator=torch.Generator().manual_seed(seed)).tolist()
    return [PAIRS[i] for i in order[HELD_OUT:]], [PAIRS[i] for i in order[:HELD_OUT]]


class DigitTask(SpaceProblem):
    """A model telling digit ``a`` (+1) from ``b`` (-1); subclasses name the model and its space."""

    family = ""

    def __init__(self, a: int, b: int) -> None:
        from sklearn.datasets import load_digits

        super().__init__()
        self.name = f"{self.family}_{a}v{b}"
        digits = load_digits()
        keep = (digits.target == a) | (digits.target == b)
        X = torch.tensor(digits.data[keep] / 16.0, dtype=torch.float64)
        y = torch.where(torch.tensor(digits.target[keep]) == a, 1.0, -1.0).to(torch.float64)
        order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(a * 10 + b))
        half = X.shape[0] // 2
        self.train = (X[order[:half]].numpy(), y[order[:half]].numpy())
        self.valid = (X[order[half:]].numpy(), y[order[half:]].numpy())
        self.optimal_value = math.nan  # set by the benchmark from the reference points and every value found

    def reference_range(self) -> tuple[float, float]:
        """Best and worst value over :func:`reference_points`."""
        values = self.evaluate(reference_points(self.dim))
        return float(values.min()), float(values.max())


class DigitKRR(DigitTask):
    """RBF kernel ridge regression on the +-1 labels; log10 of the validation mean squared error."""

    family = "digits"  # the name the single-family suite gave its tasks

    def parameters(self) -> dict:
        return {"alpha": Float(1e-5, 10.0, log=True), "gamma": Float(1e-4, 10.0, log=True)}

    def value(self, params: dict) -> float:
        from sklearn.kernel_ridge import KernelRidge

        model = KernelRidge(alpha=params["alpha"], kernel="rbf", gamma=params["gamma"]).fit(*self.train)
        return math.log10(float(((model.predict(self.valid[0]) - self.valid[1]) ** 2).mean()))


class DigitSVC(DigitTask):
    """A support vector machine with a chosen kernel; log10 of the validation squared hinge loss."""

    family = "svc"

    def parameters(self) -> dict:
        return {"kernel": Categorical(["rbf", "poly", "sigmoid"]), "C": Float(1e-2, 1e3, log=True),
                "gamma": Float(1e-4, 10.0, log=True)}

    def value(self, params: dict) -> float:
        from sklearn.svm import SVC

        model = SVC(kernel=params["kernel"], C=params["C"], gamma=params["gamma"], degree=3, max_iter=20_000)
        margin = model.fit(*self.train).decision_function(self.valid[0]) * self.valid[1]
        return math.log10(float((torch.tensor(1.0 - margin).clamp_min(0) ** 2).mean()) + 1e-4)


class DigitSGD(DigitTask):
    """A linear classifier by SGD (modified Huber loss, elastic net, inverse-scaling step);
    log10 of the logistic loss of its validation margins (smooth, never exactly 0)."""

    family = "sgd"

    def parameters(self) -> dict:
        return {"alpha": Float(1e-6, 1.0, log=True), "l1_ratio": Float(0.0, 1.0), "eta0": Float(1e-4, 1.0, log=True),
                "power_t": Float(0.05, 1.0), "epochs": Int(1, 30)}

    def value(self, params: dict) -> float:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDClassifier

        model = SGDClassifier(loss="modified_huber", penalty="elasticnet", alpha=params["alpha"],
                              l1_ratio=params["l1_ratio"], learning_rate="invscaling", eta0=params["eta0"],
                              power_t=params["power_t"], max_iter=params["epochs"], tol=None, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(*self.train)
        z = torch.tensor(model.decision_function(self.valid[0]) * self.valid[1])
        return math.log10(float(torch.nn.functional.softplus(-z).mean()))  # logistic loss of the margins


@dataclass(frozen=True)
class Family:
    name: str
    task: type[DigitTask]


FAMILIES = {f.name: f for f in (Family("digits-krr", DigitKRR), Family("digits-svc", DigitSVC),
                                Family("digits-sgd", DigitSGD))}


def reference_points(dim: int) -> torch.Tensor:
    """Where a task's range is measured: a ``GRID x GRID`` grid of the unit square in 2-D,
    else 256 scrambled Sobol points (seed 0)."""
    if dim == 2:
        ticks = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
        return torch.cartesian_prod(ticks, ticks)
    return torch.quasirandom.SobolEngine(dim, scramble=True, seed=0).draw(256).to(torch.float64)


def _seed(*key) -> int:
    return hashed_seed("npopt-transfer", *key)


def past_studies(cache: Path, pairs, trials: int = STUDY_TRIALS, task: type[DigitTask] = DigitKRR,
                 tick: Callable[[], None] | None = None) -> list[Path]:
    """A random-search study file per training pair (made once, then reused from ``cache``)."""
    from npopt.study import Study

    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for a, b in pairs:
        path = cache / f"study_{a}v{b}.db"
        problem = task(a, b)
        key = ("study", a, b) if task is DigitKRR else ("study", task.family, a, b)  # the KRR studies as before
        with Study.open_or_create(path, problem.space, surrogate="random", seed=_seed(*key)) as study:
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
    families: tuple[str, ...] = tuple(FAMILIES),
    counts: tuple[int, ...] = STUDY_COUNTS,
) -> dict:
    """For each family: fine-tune on the first N training pairs' studies for each N in
    ``counts``, then run every method on the held-out pairs (``pairs``: other ``(training,
    held-out)`` pairs than :func:`split_pairs`, for tests). ``np-transfer`` in ``methods``
    stands for one ``np-transfer-N`` per N."""
    from npopt.benchmarks.suites import build_surrogate, run_budget
    from npopt.neural.checkpoints import read_checkpoint
    from npopt.neural.transfer import DEFAULT_STEPS
    from npopt.optim import single_thread
    from npopt.surrogates import make_surrogate
    from npopt.transfer import fine_tune_on_studies

    t0 = time.perf_counter()
    steps = DEFAULT_STEPS if steps is None else steps
    training, held_out = pairs or split_pairs()
    counts = tuple(sorted({min(n, len(training)) for n in counts}))
    names = [m for m in methods if m != "np-transfer"]
    if "np-transfer" in methods:
        names[1:1] = [f"np-transfer-{n}" for n in counts]
    total = len(families) * (len(training) + len(counts) + len(held_out) * repeats * len(names))
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, label)

    summary = {"suite": "transfer", "seed": seed, "repeats": repeats, "n_init": N_INIT, "budget": BUDGET,
               "steps": steps, "counts": list(counts), "families": {}}
    with single_thread():
        for family in families:
            task = FAMILIES[family].task
            where = cache / family
            studies = past_studies(where, training, task=task, tick=lambda f=family: tick(f"{f}: past studies"))
            priors, fine_tunes = {}, {}
            for n in counts:
                prior = where / f"np-transfer-n{n}-steps{steps}.pt"
                if not prior.exists():
                    fine_tune_on_studies(studies[:n], prior, steps=steps, seed=0)
                ft = read_checkpoint(prior)["transfer"]
                priors[f"np-transfer-{n}"] = prior
                fine_tunes[str(n)] = {"held_out_ll": ft["held_out_ll"], "kept_steps": ft["kept_steps"],
                                      "verdict": ft["verdict"], "seconds": ft["seconds"]}
                tick(f"{family}: fine-tuned on {n}")
            curves: dict[str, list[list[float]]] = {m: [] for m in names}
            tasks = []
            for a, b in held_out:
                problem = task(a, b)
                best, worst = problem.reference_range()
                runs = {m: [] for m in names}
                for r in range(repeats):
                    g0 = torch.Generator().manual_seed(_seed("init", seed, a, b, r))
                    X0 = torch.rand(N_INIT, problem.dim, generator=g0, dtype=torch.float64)
                    for m in names:
                        g = torch.Generator().manual_seed(_seed("bo", seed, a, b, r, m))
                        if m in priors:
                            surrogate = make_surrogate("np", problem.dim, choices=problem.choices,
                                                       checkpoint=priors[m])
                        else:
                            surrogate = build_surrogate(m, problem)
                        runs[m].append(run_budget(surrogate, problem, X0, BUDGET, g, r).values)
                        tick(f"{family}: {m} on {problem.name}")
                best = min(best, *(min(v) for vs in runs.values() for v in vs))
                span = max(worst - best, 1e-12)
                for m, vs in runs.items():
                    for values in vs:
                        so_far = torch.tensor(values).cummin(0).values
                        curves[m].append(((so_far - best) / span).tolist())
                tasks.append({"task": problem.name, "best": best, "worst": worst})
            entry = {"dim": problem.dim, "held_out_tasks": tasks,
                     "training_tasks": [f"{task.family}_{a}v{b}" for a, b in training],
                     "fine_tune": fine_tunes, "budgets": {}, "curves": {}}
            for b in BUDGETS:
                entry["budgets"][str(b)] = {}
                for m in names:
                    at = torch.tensor([c[b - 1] for c in curves[m]])
                    entry["budgets"][str(b)][m] = {"mean": float(at.mean()),
                                                   "stderr": float(at.std() / math.sqrt(at.numel())),
                                                   "runs": at.tolist()}  # (task, repeat) order: paired
            for m in names:
                c = torch.tensor(curves[m])
                entry["curves"][m] = {"mean": c.mean(0).tolist(), "stderr": (c.std(0) / math.sqrt(c.shape[0])).tolist()}
            summary["families"][family] = entry
    summary["seconds"] = time.perf_counter() - t0
    return summary


def transfer_table(summary: dict):
    """Family x method rows, normalised regret at each budget (mean ± se); the best per family bold."""
    from rich.table import Table

    families = summary["families"]
    budgets = [str(b) for b in BUDGETS]
    table = Table(title=f"Transfer: normalised regret on {HELD_OUT} held-out digit pairs per family x "
                        f"{summary['repeats']} seeds (mean ± se, lower is better)")
    table.add_column("family (params)")
    table.add_column("method", no_wrap=True)
    for b in budgets:
        table.add_column(f"{b} evals", justify="right", no_wrap=True)
    for family, entry in families.items():
        for i, m in enumerate(entry["budgets"][budgets[0]]):
            cells = []
            for b in budgets:
                row = entry["budgets"][b]
                best = min(row, key=lambda k: row[k]["mean"])
                text = f"{row[m]['mean']:.4f} ± {row[m]['stderr']:.4f}"
                cells.append(f"[bold]{text}[/]" if m == best else text)
            table.add_row(f"{family} ({entry['dim']})" if i == 0 else "", m, *cells)
        table.add_section()
    return table


def fine_tune_lines(summary: dict) -> list[str]:
    """One line per family and number of studies: the held-out log-likelihoods, steps kept, verdict."""
    lines = []
    for family, entry in summary["families"].items():
        for n, ft in entry["fine_tune"].items():
            ll = ft["held_out_ll"]
            lines.append(f"{family}, {n} studies: held-out ll {ll['before']:.3f} -> {ll['after']:.3f} on {ll['on']}, "
                         f"{ft['kept_steps']} steps kept, {ft['seconds'] / 60:.1f} min: {ft['verdict']}")
    return lines


def write_csv(summary: dict, path: Path) -> None:
    import csv

    from npopt.outputs import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["family", "method", "evaluations", "normalised_regret_mean", "stderr"])
            for family, entry in summary["families"].items():
                for m, c in entry["curves"].items():
                    for i, (mean, se) in enumerate(zip(c["mean"], c["stderr"], strict=True)):
                        w.writerow([family, m, i + 1, f"{mean:.6g}", f"{se:.6g}"])

    atomic_write(path, write)


def plot_transfer(summary: dict, path: Path) -> None:
    """One panel per family: mean normalised regret along the budget, each method."""
    from npopt.display.figures import pyplot, save

    plt = pyplot()
    families = summary["families"]
    fig, axes = plt.subplots(1, len(families), figsize=(4.6 * len(families), 4.0), squeeze=False)
    for ax, (family, entry) in zip(axes[0], families.items(), strict=True):
        for m, c in entry["curves"].items():
            mean, se = torch.tensor(c["mean"]), torch.tensor(c["stderr"])
            x = torch.arange(1, mean.numel() + 1)
            ax.plot(x, mean, label=m, lw=2 if m.startswith("np-transfer") else 1.2,
                    ls="-" if m.startswith("np") else "--")
            ax.fill_between(x, (mean - se).clamp_min(1e-6), mean + se, alpha=0.12)
        ax.set_yscale("log")
        ax.set_xlabel("evaluations")
        ax.set_title(f"{family} ({entry['dim']} parameters)", fontsize=9)
        ax.axvline(N_INIT + 0.5, color="grey", lw=0.6, ls=":")
    axes[0][0].set_ylabel("normalised regret (mean over pairs and seeds)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(f"Learning from past studies: seed set {summary['seed']}, "
                 f"{summary['repeats']} seeds per held-out pair", fontsize=10)
    save(fig, path, dpi=110)
    plt.close(fig)
