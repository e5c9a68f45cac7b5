"""Benchmarks: methods x problems x seeds -> records. No printing; progress via a callback.

(About 570 lines: the three suites share their run records, the resumable :class:`RunStore`
and the method builder; they split from those when the suites go through the product's
suggest + settle path, the open part of the restructuring issue.)

Two suites (issue 5):

- ``gp1d`` (Garnelo et al. 2018, Table 1): functions drawn from a 1-D GP on a 400-point
  grid. Every method starts from the same random grid point (drawn with the function)
  and, at each step, evaluates one grid point NOT yet evaluated: the argmin of one
  Thompson draw over the unevaluated points (random search: a uniform one). A function
  is solved when its grid minimum has been evaluated. ``steps`` counts evaluations,
  the shared starting point included, so random search needs ``(G + 1) / 2`` on
  average and a method that knows the argmin needs at most 2; steps are capped at
  ``max_steps`` (default: the grid size).
- ``synthetic``: problems with known optima (:data:`npopt.benchmarks.problems.SYNTHETIC`, 1-D to
  16-D). For each repeat every method starts from the same ``n_init`` scrambled Sobol
  points and runs to ``budget`` evaluations (default ``10 d + 10``); the score is the
  final simple regret ``best value - optimal value``. Each ask takes the product's path:
  the trials so far go through :func:`npopt.suggest.suggest` and :func:`npopt.suggest.settle`
  exactly as in a study of the problem, with a study seed shared by the repeat's methods.
- ``mixed``: the same protocol on problems with int and categorical parameters
  (:data:`npopt.benchmarks.problems.MIXED`), whose space is the study's: it snaps the
  starting points and the candidates, and gives the surrogates the number of choices.

Surrogates see standardised values (:func:`npopt.encoding.standardise`); on the gp1d grid
the ``gp-oracle``, whose known prior is in raw units (``standardised_y = False``), sees them raw. Each
(method, function/repeat) pair uses the same seeded generator, so methods face common
random numbers. A method whose surrogate cannot be built for a problem is recorded with
status ``no_prior`` (:class:`~npopt.errors.NoPriorError`) or ``failed`` (anything else),
never silently skipped.
"""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from npopt.acquisition.thompson import thompson_suggest
from npopt.benchmarks.problems import SUITES, GP1DFunction, Problem, gp1d_function, make_problem
from npopt.encoding import standardisation, standardise, to_params, unit_points
from npopt.errors import ConfigError, NoPriorError, NpoptError
from npopt.optim import single_thread
from npopt.seeds import derived_seed
from npopt.space import Float, Space
from npopt.suggest import settle, suggest
from npopt.surrogates import SURROGATES
from npopt.surrogates.base import Surrogate
from npopt.trial import Trial, TrialState

#: Methods the benchmark knows by name: every registered surrogate, the gp1d oracle and Optuna's samplers.
METHODS = (*SURROGATES, "np-logei", "gp-logei", "gp-oracle", "tpe", "optuna-gp")
#: ``progress(done, total, label)`` is called after every (method, function/problem) unit.
Progress = Callable[[int, int, str], None]
#: Builds the surrogate a method uses on one problem.
Factory = Callable[[Problem], Surrogate]


def build_surrogate(method: str, problem: Problem) -> Surrogate:
    """The surrogate that ``method`` uses on ``problem``."""
    if method == "gp-oracle":
        from npopt.surrogates.oracle import OracleGPSurrogate

        if not isinstance(problem, GP1DFunction):
            raise ConfigError("gp-oracle needs the true kernel, so it only runs on the gp1d suite")
        return OracleGPSurrogate(problem.lengthscale_unit, problem.signal_std)
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if method in ("tpe", "optuna-gp"):
        from npopt.benchmarks.peers import OptunaMethod

        if isinstance(problem, GP1DFunction):
            raise ConfigError(f"{method} runs on the synthetic and mixed suites (gp1d picks from a fixed grid)")
        return OptunaMethod(method)
    from npopt.surrogates import make_surrogate

    if method.endswith("-logei"):  # the yardstick: the same surrogate, LogEI instead of Thompson sampling
        if isinstance(problem, GP1DFunction):
            raise ConfigError(f"{method} runs on the synthetic, mixed and broad suites (gp1d picks from a fixed grid)")
        return make_surrogate(method.removesuffix("-logei"), problem.dim, choices=problem.choices, acquisition="logei")
    return make_surrogate(method, problem.dim, choices=problem.choices)


def resolve_methods(methods: Sequence[str] | Mapping[str, Factory]) -> dict[str, Factory]:
    """Method names (or a ``{name: factory}`` mapping) -> factories; random always included."""
    if isinstance(methods, Mapping):
        factories = dict(methods)
    else:
        for m in methods:
            if m not in METHODS:
                raise ConfigError(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
        factories = {m: (lambda p, m=m: build_surrogate(m, p)) for m in dict.fromkeys(methods)}
    factories.setdefault("random", lambda p: build_surrogate("random", p))
    return factories


@dataclass
class Run:
    """One method on one function (gp1d) or one repeat of one problem (synthetic)."""

    method: str
    problem: str
    run: int
    optimal_value: float
    values: list[float] = field(default_factory=list)  # every evaluation, in order
    ask_seconds: list[float] = field(default_factory=list)  # one per suggested point
    # per suggested point, the output warp the surrogate's fit chose (Surrogate.output_warp; np)
    warps: list[float | None] = field(default_factory=list)
    solved: bool | None = None  # gp1d only

    @property
    def steps(self) -> int:
        return len(self.values)

    @property
    def best_so_far(self) -> list[float]:
        out, best = [], math.inf
        for v in self.values:
            best = min(best, v)
            out.append(best)
        return out

    @property
    def regret(self) -> float:
        """Final simple regret (clipped at 0: published optima are rounded)."""
        return max(0.0, min(self.values) - self.optimal_value)


@dataclass
class Status:
    """Why a method has no results on a problem: ``no_prior`` or ``failed``."""

    status: str
    message: str


@dataclass
class BenchmarkResult:
    """Everything a suite produced; :meth:`summary` is the JSON the CLI writes."""

    suite: str
    seed: int
    methods: list[str]
    problems: list[str]
    settings: dict
    runs: list[Run] = field(default_factory=list)
    status: dict[tuple[str, str], Status] = field(default_factory=dict)  # (problem, method)
    seconds: float = 0.0

    def runs_of(self, method: str, problem: str | None = None) -> list[Run]:
        return [r for r in self.runs if r.method == method and problem in (None, r.problem)]

    def summary(self) -> dict:
        out = {"suite": self.suite, **self.settings, "seed": self.seed, "wall_seconds": round(self.seconds, 3),
               "environment": environment()}
        if self.suite == "gp1d":
            out["methods"] = {m: self._gp1d_entry(m) for m in self.methods}
        else:
            out["problems"] = {p: {m: self._synthetic_entry(p, m) for m in self.methods} for p in self.problems}
        if self.suite == "broad":
            out["bands"] = band_scores(out["problems"], out["dims"])
        return out

    def _state(self, problem: str, method: str) -> dict:
        st = self.status.get((problem, method))
        return {"status": "ok"} if st is None else {"status": st.status, "message": st.message}

    def _gp1d_entry(self, method: str) -> dict:
        entry = self._state("gp1d", method)
        runs = self.runs_of(method)
        entry.update(mean_steps=None, stderr=None, ratio_to_random=None, median_step_seconds=None)
        if entry["status"] != "ok" or not runs:
            return entry
        steps = [r.steps for r in runs]
        random_runs = self.runs_of("random")
        random_mean = statistics.fmean(r.steps for r in random_runs) if random_runs else None
        mean = statistics.fmean(steps)
        entry.update(
            mean_steps=mean,
            stderr=statistics.stdev(steps) / math.sqrt(len(steps)) if len(steps) > 1 else 0.0,
            ratio_to_random=mean / random_mean if random_mean else None,
            median_step_seconds=_median([t for r in runs for t in r.ask_seconds]),
            functions=len(runs),
            solved=sum(bool(r.solved) for r in runs),
            total_seconds=round(sum(sum(r.ask_seconds) for r in runs), 3),
        )
        return entry

    def _synthetic_entry(self, problem: str, method: str) -> dict:
        entry = self._state(problem, method)
        runs = self.runs_of(method, problem)
        entry.update(median_regret=None, iqr=None, normalised_score=None, median_ask_seconds=None)
        if entry["status"] != "ok" or not runs:
            return entry
        regrets = [r.regret for r in runs]
        random_regrets = [r.regret for r in self.runs_of("random", problem)]
        median = statistics.median(regrets)
        q25, q75 = _quantiles(regrets)
        random_median = statistics.median(random_regrets) if random_regrets else None
        score = None
        if random_median is not None:
            score = median / random_median if random_median > 0 else (1.0 if median == 0 else None)
        entry.update(
            median_regret=median,
            iqr=q75 - q25,
            q25=q25,
            q75=q75,
            normalised_score=score,
            median_ask_seconds=_median([t for r in runs for t in r.ask_seconds]),
            repeats=len(runs),
        )
        return entry

    def csv_rows(self) -> list[dict]:
        """One row per (method, function/repeat, step) with the best value so far."""
        rows = []
        for r in self.runs:
            for step, (v, b) in enumerate(zip(r.values, r.best_so_far, strict=True), start=1):
                rows.append(
                    dict(suite=self.suite, method=r.method, problem=r.problem, run=r.run, step=step,
                         value=v, best_so_far=b, regret=max(0.0, b - r.optimal_value))
                )
        return rows


def band_scores(problems: Mapping[str, Mapping[str, dict]], dims: Mapping[str, int]) -> dict:
    """Per dimension band (:data:`npopt.benchmarks.broad.BANDS`) and method: the mean
    normalised score over the band's problems that every method finished, and how many
    problems that is; ``multimodal``: the same over the band's multimodal functions only."""
    from npopt.benchmarks.broad import MULTIMODAL, band_of

    out: dict = {}
    for subset, keep in (("all", lambda p: True), ("multimodal", lambda p: p in MULTIMODAL)):
        for problem, methods in problems.items():
            if not keep(problem):
                continue
            scores = {m: e.get("normalised_score") for m, e in methods.items()}
            if any(v is None for v in scores.values()):
                continue  # a method failed here: the band compares like with like
            band = out.setdefault(subset, {}).setdefault(band_of(dims[problem]), {})
            for m, v in scores.items():
                band.setdefault(m, []).append(v)
    return {subset: {band: {m: {"mean_score": statistics.fmean(v), "problems": len(v)} for m, v in methods.items()}
                     for band, methods in sorted(bands.items())}
            for subset, bands in out.items()}


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _quantiles(xs: list[float]) -> tuple[float, float]:
    t = torch.tensor(xs, dtype=torch.float64)
    return float(torch.quantile(t, 0.25)), float(torch.quantile(t, 0.75))


def _seen_by(surrogate: Surrogate, y: Tensor) -> Tensor:
    """The values a surrogate conditions on: standardised, raw for the oracle."""
    return standardise(y) if surrogate.standardised_y else y


def _timed_grid_suggest(surrogate: Surrogate, X: Tensor, y: Tensor, generator, grid: Tensor):
    """One Thompson suggestion among the ``grid`` points; returns ``(point, seconds)``."""
    y_in = _seen_by(surrogate, y)
    t0 = time.perf_counter()
    point = thompson_suggest(surrogate, X, y_in, 1, generator, candidates=grid, grid=True)[0]
    return point, time.perf_counter() - t0


def run_grid(surrogate: Surrogate, fn: GP1DFunction, generator: torch.Generator, max_steps: int) -> Run:
    """The gp1d protocol for one method on one function."""
    run = Run("", fn.name, fn.index, fn.optimal_value)
    G = fn.grid.shape[0]
    evaluated = torch.zeros(G, dtype=torch.bool)
    order = [fn.start]
    evaluated[fn.start] = True
    while not evaluated[fn.argmin] and len(order) < max_steps:
        free = (~evaluated).nonzero().flatten()  # unevaluated grid indices
        idx = torch.tensor(order)
        point, seconds = _timed_grid_suggest(surrogate, fn.grid[idx], fn.values[idx], generator, fn.grid[free])
        pick = int(free[torch.cdist(point[None], fn.grid[free]).argmin()])
        order.append(pick)
        evaluated[pick] = True
        run.ask_seconds.append(seconds)
    run.values = fn.values[torch.tensor(order)].tolist()
    run.solved = bool(evaluated[fn.argmin])
    return run


def study_space(problem: Problem) -> Space:
    """The space a study of ``problem`` has: the problem's own, or for a box of floats the
    unit box (its :meth:`~Problem.evaluate` maps unit points to its bounds)."""
    if problem.space is not None:
        return problem.space
    return Space({f"x{i}": Float(0.0, 1.0) for i in range(problem.dim)})


def _told(space: Space, number: int, params: dict, problem: Problem) -> Trial:
    """Trial ``number`` at ``params``, evaluated and complete."""
    value = float(problem.evaluate(unit_points(space, [params]))[0])
    return Trial(number, TrialState.COMPLETE, params, value, None, "", None)


def study_seed(generator: torch.Generator) -> int:
    """The study seed of a run, the first draw of its generator (every method of a repeat gets the same)."""
    return int(torch.randint(0, 2**31 - 1, (1,), generator=generator))


def synthetic_start(seed: int, position: int, index: int, dim: int, n_init: int = 2) -> tuple[Tensor, torch.Generator]:
    """Repeat ``index`` of seed set ``seed`` on the suite's problem at ``position``: its
    ``n_init x dim`` scrambled-Sobol starting points and the generator of its study seed."""
    s = derived_seed(seed, position, index)
    X0 = torch.quasirandom.SobolEngine(dim, scramble=True, seed=s % 2**31).draw(n_init, dtype=torch.float64)
    return X0, torch.Generator().manual_seed(s)


def run_budget(
    surrogate: Surrogate, problem: Problem, X0: Tensor, budget: int, generator: torch.Generator, index: int
) -> Run:
    """The synthetic protocol: start from ``X0`` (``n_init x d``), run to ``budget`` evaluations.

    A surrogate runs as in a study of the problem (:func:`study_space`), by the path every
    ``ask`` takes: :func:`npopt.suggest.suggest` then :func:`npopt.suggest.settle`, with a
    study seed drawn from ``generator`` (so every method of one repeat gets the same). On a
    problem with int or categorical parameters, ``X0`` is snapped by the problem's space."""
    run = Run("", problem.name, index, problem.optimal_value)
    space = study_space(problem)
    if space.has_discrete:
        X0 = problem.snap(X0)
    seed = study_seed(generator)
    if not isinstance(surrogate, Surrogate):  # an Optuna sampler, through Optuna's ask/tell
        return surrogate.run(problem, X0, budget, seed, run)
    trials = [_told(space, i, params, problem) for i, params in enumerate(to_params(space, X0))]
    while len(trials) < budget:
        t0 = time.perf_counter()
        suggestion = suggest(space, "minimize", surrogate, trials, 1, seed, remaining=budget - len(trials))
        (params,) = settle(space, suggestion, trials)
        run.ask_seconds.append(time.perf_counter() - t0)
        run.warps.append(surrogate.output_warp)
        trials.append(_told(space, len(trials), params, problem))
    run.values = [t.value for t in trials]
    return run


class RunStore:
    """Finished runs kept in a JSON-lines file, so that a long benchmark can stop and go on.

    Each line is one :class:`Run` plus the key it answers: suite, seed, settings, method,
    the method's ``variant`` (e.g. its prior) and problem, and what made it
    (:func:`environment`: not part of the key, for the record). A later benchmark with the same
    key reuses the run instead of computing it again; anything else in the file is left
    alone. Lines are appended and fsynced one at a time; a torn last line (a crash while
    writing) is skipped. Delete the file, or use another, to compute everything afresh."""

    def __init__(self, path: str | Path, context: dict, per_problem: Mapping[str, dict] | None = None,
                 record: type = Run) -> None:
        self.path = Path(path)
        self.record = record  # the dataclass of a run (Run; the outcome suites' OutcomeRun)
        self.context = json.loads(json.dumps(context))  # as it reads back from the file
        self.per_problem = json.loads(json.dumps(per_problem or {}))  # e.g. each problem's budget
        self.runs: dict[str, dict] = {}
        self._torn = False  # the file ends inside a line: the next record starts a new one
        if self.path.is_dir():
            raise ConfigError(f"--runs {self.path} is a directory; give a file such as {self.path / 'runs.jsonl'}")
        if self.path.exists():
            text = self.path.read_text(encoding="utf-8", errors="replace")
            self._torn = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    record = json.loads(line)
                    self.record(**record["run"])  # a line of another format is skipped, not trusted
                    self.runs[record["key"]] = record["run"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn or foreign line

    def key(self, method: str, variant: str, problem: str, index: int) -> str:
        return json.dumps({**self.context, **self.per_problem.get(problem, {}), "method": method,
                           "variant": variant, "problem": problem, "run": index}, sort_keys=True)

    def get(self, key: str):
        data = self.runs.get(key)
        return None if data is None else self.record(**data)

    def add(self, key: str, run) -> None:
        data = asdict(run)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                record = {"key": key, "run": data, "made_with": environment()}
                fh.write(("\n" if self._torn else "") + json.dumps(record) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise ConfigError(f"cannot write the --runs file {self.path}: {exc.strerror or exc}") from None
        self._torn = False
        self.runs[key] = data


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """What a run was made with: npopt's commit (with ``+dirty`` for uncommitted changes,
    when run from a git checkout), Python, the numerical packages and the CPU. Stored beside
    every run in a ``--runs`` file and in the JSON summary, since runs of the same key made
    by other code, other package versions or another CPU need not agree bit for bit (a near
    tie in one argmin and a run takes another path)."""
    import platform
    import subprocess
    from importlib import metadata

    out: dict[str, str] = {"python": platform.python_version(), "machine": platform.machine()}
    here = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            out["npopt_commit"] = head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    for package in ("npopt", "torch", "botorch", "gpytorch", "numpy", "scipy", "optuna", "scikit-learn"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            out["cpu"] = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        out["cpu"] = platform.processor() or "unknown"
    return out


#: What else than its name distinguishes a method's runs on a problem (e.g. its prior).
Variant = Callable[[Problem], str]


def prior_fingerprint(checkpoint: str | Path | None = None) -> Variant:
    """The ``np`` method's variant: a hash of the prior it uses on a problem (``checkpoint``,
    or the shipped prior chosen for the problem's dimension and choices), so stored runs of
    another prior, or of a retrained one, are never reused."""
    import hashlib

    from npopt.neural.checkpoints import prior_path

    def variant(problem: Problem) -> str:
        try:
            path = (
                Path(checkpoint) if checkpoint
                else prior_path(dim=problem.dim, choices=max(problem.choices, default=0))
            )
            return path.stem + ":" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        except (NpoptError, OSError):
            return ""  # no prior: nothing is run or stored

    return variant


def _run_methods(result, factories, tasks, execute, progress, store: RunStore | None = None,
                 variants: Mapping[str, Variant] | None = None) -> BenchmarkResult:
    """Shared loop: every method on every ``(problem, index)`` task; statuses recorded.

    With a ``store``, runs it already holds are reused and new ones added to it;
    ``variants`` says what else distinguishes a method's runs (default: the np method's
    prior, :func:`prior_fingerprint`)."""
    variants = {"np": prior_fingerprint(), "np-logei": prior_fingerprint(), **(variants or {})}
    if any(m in factories for m in ("tpe", "optuna-gp")):
        from npopt.benchmarks.peers import version

        variants = {"tpe": lambda p: version(), "optuna-gp": lambda p: version(), **variants}
    total, done = len(factories) * len(tasks), 0
    t0 = time.perf_counter()
    for method, factory in factories.items():
        for problem, index in tasks:
            key = (problem.name, method)
            if key not in result.status:  # a method that failed on a problem is not retried
                run, run_key = None, None
                if store is not None:
                    variant = variants.get(method)
                    run_key = store.key(method, variant(problem) if variant else "", problem.name, index)
                    run = store.get(run_key)
                try:
                    if run is None:
                        run = execute(factory(problem), problem, index)
                        run.method = method
                    else:
                        run_key = None  # reused, not written again
                except NoPriorError as exc:
                    result.status[key] = Status("no_prior", f"no prior for this space ({exc})")
                    run = None
                except Exception as exc:  # a broken method must not stop the others
                    result.status[key] = Status("failed", f"{type(exc).__name__}: {exc}")
                    run = None
                if run is not None:
                    result.runs.append(run)
                    if store is not None and run_key is not None:
                        store.add(run_key, run)  # outside the try: a failed write is an error, not a failed method
            done += 1
            if progress is not None:
                progress(done, total, f"{method} · {problem.name} #{index}")
    result.seconds = time.perf_counter() - t0
    return result


@single_thread()
def run_gp1d(
    methods: Sequence[str] | Mapping[str, Factory] = ("np", "gp", "random"),
    functions: int = 100,
    seed: int = 0,
    grid_size: int = 400,
    max_steps: int | None = None,
    progress: Progress | None = None,
    runs: str | Path | None = None,
    variants: Mapping[str, str] | None = None,
) -> BenchmarkResult:
    """The ``gp1d`` suite (see the module docstring); ``runs``: a :class:`RunStore` file."""
    if functions < 1 or grid_size < 2:
        raise ConfigError("gp1d needs --functions >= 1 and a grid of at least 2 points")
    max_steps = grid_size if max_steps is None else min(max_steps, grid_size)
    factories = resolve_methods(methods)
    fns = [gp1d_function(i, seed, grid_size) for i in range(functions)]
    settings = {"functions": functions, "grid_size": grid_size, "max_steps": max_steps}
    result = BenchmarkResult("gp1d", seed, list(factories), ["gp1d"], settings)

    def execute(surrogate, fn, index):
        gen = torch.Generator().manual_seed(derived_seed(seed, index, 1))
        return run_grid(surrogate, fn, gen, max_steps)

    store = None if runs is None else RunStore(runs, {"suite": "gp1d", "seed": seed, **settings})
    return _run_methods(result, factories, [(fn, fn.index) for fn in fns], execute, progress, store, variants)


@single_thread()
def run_synthetic(
    methods: Sequence[str] | Mapping[str, Factory] = ("np", "gp", "random"),
    problems: Sequence[str] | None = None,
    repeats: int = 5,
    budget: int | None = None,
    seed: int = 0,
    n_init: int = 2,
    progress: Progress | None = None,
    suite: str = "synthetic",
    runs: str | Path | None = None,
    variants: Mapping[str, str] | None = None,
) -> BenchmarkResult:
    """The ``synthetic`` or ``mixed`` suite: budget ``10 d + 10`` unless ``budget`` is given.

    Args:
        problems: names from the suite (default: all of ``npopt.benchmarks.problems.SUITES[suite]``).
        suite: ``synthetic`` or ``mixed``; a problem's seeds depend on its position there.
        runs: a :class:`RunStore` file: its matching runs are reused, new ones added.
        variants: per method, what else distinguishes its runs (e.g. ``{"np": "my.pt"}``).
    """
    if suite not in SUITES:
        raise ConfigError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    names = SUITES[suite]
    problems = names if problems is None else problems
    unknown = [p for p in problems if p not in names]
    if unknown:
        raise ConfigError(f"unknown {suite} problem {unknown[0]!r}; choose from {', '.join(names)}")
    if repeats < 1:
        raise ConfigError("--repeats must be at least 1")
    if budget is not None and budget <= n_init:
        raise ConfigError(f"--budget must exceed the {n_init} initial points")
    factories = resolve_methods(methods)
    probs = [make_problem(p) for p in problems]
    budgets = {p.name: budget if budget is not None else 10 * p.dim + 10 for p in probs}
    dims = {p.name: p.dim for p in probs}
    settings = {"repeats": repeats, "n_init": n_init, "budgets": budgets, "dims": dims}
    if suite == "mixed":
        settings["choices"] = {p.name: list(p.choices) for p in probs}
    result = BenchmarkResult(suite, seed, list(factories), [p.name for p in probs], settings)
    result.settings["optimal_values"] = {p.name: p.optimal_value for p in probs}

    def execute(surrogate, problem, index):
        X0, gen = synthetic_start(seed, names.index(problem.name), index, problem.dim, n_init)
        return run_budget(surrogate, problem, X0, budgets[problem.name], gen, index)

    tasks = [(p, r) for p in probs for r in range(repeats)]
    store = None
    if runs is not None:  # a run depends on its own problem's budget, not on the other problems
        # "path": runs made before the suites went through suggest + settle are not reused
        store = RunStore(runs, {"suite": suite, "seed": seed, "n_init": n_init, "path": "suggest+settle"},
                         {p.name: {"budget": budgets[p.name]} for p in probs})
    return _run_methods(result, factories, tasks, execute, progress, store, variants)


def thompson_frames(
    surrogate: Surrogate, fn: GP1DFunction, iterations: int = 5, n_draws: int = 3, seed: int = 0
) -> list[dict]:
    """Figure 5 data: ``iterations`` Thompson steps on one gp1d function.

    Each frame holds the context (grid indices evaluated so far), ``n_draws`` function
    draws over the whole grid in the function's units (standardised draws are mapped
    back through the inverse of the standardisation, its compressed tail included; the
    first draw is the one that picks; NaN while the surrogate has too few observations
    and the pick is uniform), and the picked index: the argmin of the first draw over
    the unevaluated grid points.
    """
    gen = torch.Generator().manual_seed(derived_seed(seed, fn.index, 2))
    G = fn.grid.shape[0]
    order, frames = [fn.start], []
    for _ in range(iterations):
        idx = torch.tensor(order)
        X, y = fn.grid[idx], fn.values[idx]
        if X.shape[0] >= max(1, surrogate.min_observations):
            seen, back = standardisation(y) if surrogate.standardised_y else (y, lambda s: s)
            surrogate.condition(X, seen)
            draws = back(surrogate.to_units(surrogate.sample(fn.grid, n_draws, gen)))  # the function's units
            score = draws[0].clone()
        else:
            draws = torch.full((n_draws, G), math.nan, dtype=torch.float64)
            score = torch.rand(G, generator=gen, dtype=torch.float64)
        score[idx] = math.inf
        pick = int(score.argmin())
        frames.append({"context": list(order), "draws": draws, "pick": pick})
        order.append(pick)
    return frames
