"""Constraints and several objectives, measured: ``npopt benchmark --suite constrained`` and
``--suite multiobjective``.

Each problem is a dict-returning objective over a space with declared
:class:`~npopt.outcomes.Outcomes`, as a user would write it. For every (problem, repeat)
all methods start from the same two scrambled-Sobol points and run to the problem's budget
(``10 d + 10``). npopt's methods (``np``, ``gp``, ``random``) ask by the product's path,
:func:`npopt.suggest.suggest` and :func:`~npopt.suggest.settle` with one surrogate per
outcome; Optuna's samplers (``optuna-gp``: GPSampler, ``tpe``: TPESampler, ``nsga2``:
NSGAIISampler, several objectives only) run through Optuna's ask/tell with
``constraints_func`` and ``directions``, at their defaults.

- **constrained**: the score is the best *feasible* value's regret against the known
  optimum; a run with no feasible point scores the problem's ``worst`` value (its maximum
  over a dense reference design), so it ranks below every run that found one.
- **multiobjective**: the score is the hypervolume of the feasible front (BoTorch's
  :class:`~botorch.utils.multi_objective.hypervolume.Hypervolume`) against the stated
  reference point, as a fraction of the true front's where it is known (BoTorch's test
  problems' maxima), else of the front of a dense reference design and every point any
  method found.

Problems with published optima: Gramacy et al. 2016 (the toy of "Modeling an augmented
Lagrangian for blackbox constrained optimization"), the tension-compression spring and the
pressure vessel (Coello 2000's engineering set; the vessel in its continuous relaxation),
Hartmann-6 under ``sum(x) <= 1.5`` (its optimum found by SLSQP from 64 and 256 starts,
recorded with its minimiser; Gramacy's too, to more digits than published), Branin-Currin,
ZDT1-3 in 6 inputs and DTLZ2 with 3 objectives in 6 inputs (BoTorch's
``botorch.test_functions.multi_objective`` reference points and maxima); one real task each,
an RBF support vector machine on scikit-learn's bundled digits (3 vs 8) whose number of
support vectors (the cost of a prediction) is bounded or traded against its loss.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from npopt.benchmarks.suites import RunStore, _median, _quantiles, synthetic_start
from npopt.encoding import to_params
from npopt.errors import ConfigError
from npopt.outcomes import Outcomes
from npopt.space import Float, Space
from npopt.trial import Trial, TrialState

SUITES = ("constrained", "multiobjective")
METHODS = {"constrained": ("np", "gp", "optuna-gp", "tpe", "random"),
           "multiobjective": ("np", "gp", "optuna-gp", "tpe", "nsga2", "random")}
N_INIT = 2


@dataclass
class OutcomeProblem:
    """A benchmark problem: a space, its outcomes and a dict-returning objective.

    ``optimum`` (constrained: the best feasible value) and ``worst`` (its score without a
    feasible point); ``reference`` (several objectives: the hypervolume's reference point,
    minimised) and ``max_hv`` (the true front's hypervolume, ``None``: estimated)."""

    name: str
    space: Space
    outcomes: Outcomes
    objective: Callable[..., dict]
    optimum: float | None = None
    worst: float | None = None
    reference: tuple[float, ...] | None = None
    max_hv: float | None = None

    @property
    def dim(self) -> int:
        return self.space.dim

    @property
    def budget(self) -> int:
        return 10 * self.dim + 10

    def values(self, params: dict) -> dict[str, float]:
        return {k: float(v) for k, v in self.objective(**params).items()}

    @functools.cached_property
    def design(self) -> list[dict]:
        """The values at a dense design (1,024 scrambled Sobol points, seed 1234), made once:
        the reference of a problem whose optimum, worst value or front is not known."""
        sobol = torch.quasirandom.SobolEngine(self.dim, scramble=True, seed=1234).draw(1024, dtype=torch.float64)
        return [self.values(p) for p in to_params(self.space, sobol)]

    def no_feasible(self) -> float:
        """A constrained run's score while it has no feasible point: ``worst``, or for a real
        task the largest value over :attr:`design`."""
        return self.worst if self.worst is not None else max(v["value"] for v in self.design)


# ---------------------------------------------------------------- constrained problems


def _box(*bounds: tuple[float, float]) -> Space:
    return Space({f"x{i}": Float(lo, hi) for i, (lo, hi) in enumerate(bounds)})


def gramacy(x0, x1):
    c1 = 1.5 - x0 - 2 * x1 - 0.5 * math.sin(2 * math.pi * (x0 ** 2 - 2 * x1))
    return {"value": x0 + x1, "c1": c1, "c2": x0 ** 2 + x1 ** 2 - 1.5}


def spring(x0, x1, x2):
    d, coil, n = x0, x1, x2
    return {"value": (n + 2) * coil * d ** 2,
            "c1": 1 - coil ** 3 * n / (71785 * d ** 4),
            "c2": (4 * coil ** 2 - d * coil) / (12566 * (coil * d ** 3 - d ** 4)) + 1 / (5108 * d ** 2) - 1,
            "c3": 1 - 140.45 * d / (coil ** 2 * n),
            "c4": (d + coil) / 1.5 - 1}


def vessel(x0, x1, x2, x3):
    shell, head, radius, length = x0, x1, x2, x3
    cost = (0.6224 * shell * radius * length + 1.7781 * head * radius ** 2 + 3.1661 * shell ** 2 * length
            + 19.84 * shell ** 2 * radius)
    volume = math.pi * radius ** 2 * length + 4 / 3 * math.pi * radius ** 3
    return {"value": cost, "c1": 0.0193 * radius - shell, "c2": 0.00954 * radius - head,
            "c3": (1_296_000 - volume) / 1e5}


_HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
               [17, 8, 0.05, 10, 0.1, 14]]
_HARTMANN_P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
               [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
_HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6_sum(**x):
    u = [x[f"x{i}"] for i in range(6)]
    value = -sum(a * math.exp(-sum(A * (ui - p) ** 2 for A, ui, p in zip(row, u, prow, strict=True)))
                 for a, row, prow in zip(_HARTMANN_ALPHA, _HARTMANN_A, _HARTMANN_P, strict=True))
    return {"value": value, "total": sum(u)}


class _DigitsSVC:
    """An RBF SVC telling 3 from 8 (bundled digits, one fixed half to train, the other to
    score): log10 of the validation squared hinge loss, and its number of support vectors."""

    def __init__(self) -> None:
        self._data = None

    def data(self):
        if self._data is None:
            from sklearn.datasets import load_digits

            digits = load_digits()
            keep = (digits.target == 3) | (digits.target == 8)
            X = digits.data[keep] / 16.0
            y = torch.where(torch.tensor(digits.target[keep]) == 3, 1.0, -1.0).numpy()
            order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(38)).numpy()
            half = X.shape[0] // 2
            self._data = (X[order[:half]], y[order[:half]]), (X[order[half:]], y[order[half:]])
        return self._data

    def __call__(self, C, gamma):
        from sklearn.svm import SVC

        (Xt, yt), (Xv, yv) = self.data()
        model = SVC(kernel="rbf", C=C, gamma=gamma).fit(Xt, yt)
        margin = torch.tensor(model.decision_function(Xv) * yv)
        loss = math.log10(float((1.0 - margin).clamp_min(0).pow(2).mean()) + 1e-4)
        return {"value": loss, "loss": loss, "support_vectors": float(model.n_support_.sum())}


_SVC = _DigitsSVC()
SVC_SPACE = Space({"C": Float(1e-2, 1e3, log=True), "gamma": Float(1e-4, 10.0, log=True)})
#: The support vectors a prediction may use in ``svc-budget``: the unconstrained optimum
#: needs 36; 4% of a dense Sobol design of the space meets 25.
SVC_MAX_SUPPORT = 25


def svc_budget(C, gamma):
    out = _SVC(C, gamma)
    return {"value": out["value"], "support_vectors": out["support_vectors"]}


def svc_tradeoff(C, gamma):
    out = _SVC(C, gamma)
    return {"loss": out["loss"], "support_vectors": out["support_vectors"]}


def _le0(*names: str) -> dict:
    return {n: {"max": 0.0} for n in names}


def constrained_problems() -> dict[str, OutcomeProblem]:
    """The constrained suite (optima: the literature's, or SLSQP's with its minimiser in the test)."""
    value = Outcomes.declare
    return {p.name: p for p in (
        OutcomeProblem("gramacy", _box((0, 1), (0, 1)), value(None, _le0("c1", "c2")), gramacy,
                       optimum=0.59978805, worst=2.0),
        OutcomeProblem("spring", _box((0.05, 2.0), (0.25, 1.3), (2.0, 15.0)), value(None, _le0("c1", "c2", "c3", "c4")),
                       spring, optimum=0.0126652328, worst=(15 + 2) * 1.3 * 4.0),
        OutcomeProblem("vessel", _box((0.0, 6.1875), (0.0, 6.1875), (10.0, 200.0), (10.0, 200.0)),
                       value(None, _le0("c1", "c2", "c3")), vessel, optimum=5885.3327736, worst=VESSEL_WORST),
        OutcomeProblem("hartmann6-sum", _box(*[(0.0, 1.0)] * 6), value(None, {"total": {"max": 1.5}}),
                       hartmann6_sum, optimum=HARTMANN_SUM_OPTIMUM, worst=0.0),
        OutcomeProblem("svc-budget", SVC_SPACE, value(None, {"support_vectors": {"max": SVC_MAX_SUPPORT}}),
                       svc_budget),
    )}


#: The vessel's cost at the box's upper corner (its largest value there).
VESSEL_WORST = vessel(6.1875, 6.1875, 200.0, 200.0)["value"]
#: Hartmann-6 under ``sum(x) <= 1.5``: SLSQP from 64 and from 256 Sobol starts found the
#: same minimum, at :data:`HARTMANN_SUM_MINIMISER` (tests/test_outcome_suites.py checks it
#: is feasible and scores this, and that no point of a dense design does better).
HARTMANN_SUM_OPTIMUM = -2.5951083
HARTMANN_SUM_MINIMISER = (0.108514, 0.037957, 0.205771, 0.248037, 0.283342, 0.616379)


# ---------------------------------------------------------------- several objectives


def branin_currin(x0, x1):
    a, b = 15 * x0 - 5, 15 * x1
    branin = ((b - 5.1 / (4 * math.pi ** 2) * a ** 2 + 5 / math.pi * a - 6) ** 2
              + 10 * (1 - 1 / (8 * math.pi)) * math.cos(a) + 10)
    x1c = max(x1, 1e-12)
    currin = ((1 - math.exp(-1 / (2 * x1c))) * (2300 * x0 ** 3 + 1900 * x0 ** 2 + 2092 * x0 + 60)
              / (100 * x0 ** 3 + 500 * x0 ** 2 + 4 * x0 + 20))
    return {"f1": branin, "f2": currin}


def _zdt(kind: int):
    def zdt(**x):
        u = [x[f"x{i}"] for i in range(6)]
        g = 1 + 9 * sum(u[1:]) / 5
        ratio = u[0] / g
        if kind == 1:
            h = 1 - math.sqrt(ratio)
        elif kind == 2:
            h = 1 - ratio ** 2
        else:
            h = 1 - math.sqrt(ratio) - ratio * math.sin(10 * math.pi * u[0])
        return {"f1": u[0], "f2": g * h}
    return zdt


def dtlz2(**x):
    u = [x[f"x{i}"] for i in range(6)]
    g = sum((v - 0.5) ** 2 for v in u[2:])
    a, b = u[0] * math.pi / 2, u[1] * math.pi / 2
    return {"f1": (1 + g) * math.cos(a) * math.cos(b), "f2": (1 + g) * math.cos(a) * math.sin(b),
            "f3": (1 + g) * math.sin(a)}


def multiobjective_problems() -> dict[str, OutcomeProblem]:
    """The multi-objective suite (reference points and true hypervolumes: BoTorch's)."""
    two = Outcomes.declare({"f1": "minimize", "f2": "minimize"})
    unit6 = _box(*[(0.0, 1.0)] * 6)
    return {p.name: p for p in (
        OutcomeProblem("branin-currin", _box((0, 1), (0, 1)), two, branin_currin, reference=(18.0, 6.0),
                       max_hv=59.36011874867746),
        OutcomeProblem("zdt1", unit6, two, _zdt(1), reference=(11.0, 11.0), max_hv=120 + 2 / 3),
        OutcomeProblem("zdt2", unit6, two, _zdt(2), reference=(11.0, 11.0), max_hv=120 + 1 / 3),
        OutcomeProblem("zdt3", unit6, two, _zdt(3), reference=(11.0, 11.0), max_hv=128.77811613069076),
        OutcomeProblem("dtlz2", unit6, Outcomes.declare({"f1": "minimize", "f2": "minimize", "f3": "minimize"}),
                       dtlz2, reference=(1.1, 1.1, 1.1), max_hv=1.1 ** 3 - math.pi / 6),
        OutcomeProblem("svc-tradeoff", SVC_SPACE,
                       Outcomes.declare({"loss": "minimize", "support_vectors": "minimize"}), svc_tradeoff,
                       reference=(-1.0, 50.0)),  # near the front's nadir (-1.13 at 20, -1.23 at 36)
    )}


def problems(suite: str) -> dict[str, OutcomeProblem]:
    if suite == "constrained":
        return constrained_problems()
    if suite == "multiobjective":
        return multiobjective_problems()
    raise ConfigError(f"unknown suite {suite!r}; choose {', '.join(SUITES)}")


# ---------------------------------------------------------------- scores


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """The hypervolume the minimised ``points`` dominate up to ``reference`` (BoTorch's algorithm)."""
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

    if not len(points):
        return 0.0
    Y = -torch.tensor(points, dtype=torch.float64)  # BoTorch maximises
    ref = -torch.tensor(reference, dtype=torch.float64)
    Y = Y[(Y > ref).all(-1)]
    if not Y.shape[0]:
        return 0.0
    return float(Hypervolume(ref).compute(Y[is_non_dominated(Y)]))


def best_feasible(problem: OutcomeProblem, history: Sequence[dict]) -> list[float]:
    """After each evaluation, the best feasible value so far (``worst`` while none)."""
    out, best = [], math.inf
    for values in history:
        if problem.outcomes.violation(values) == 0:
            best = min(best, values["value"])
        out.append(best if math.isfinite(best) else problem.no_feasible())
    return out


def front_volumes(problem: OutcomeProblem, history: Sequence[dict], every: int = 1) -> list[float]:
    """After each ``every`` evaluations (and the last), the hypervolume of the feasible
    minimised objectives so far."""
    names = [n for n, _ in problem.outcomes.objectives]
    signs = [-1.0 if d == "maximize" else 1.0 for _, d in problem.outcomes.objectives]
    points, out = [], []
    for i, values in enumerate(history, 1):
        if problem.outcomes.violation(values) == 0:
            points.append([s * values[n] for s, n in zip(signs, names, strict=True)])
        if i % every == 0 or i == len(history):
            out.append(hypervolume(points, problem.reference))
    return out


# ---------------------------------------------------------------- running the methods


@dataclass
class OutcomeRun:
    method: str
    problem: str
    repeat: int
    history: list[dict] = field(default_factory=list)
    ask_seconds: list[float] = field(default_factory=list)


def run_npopt(method: str, problem: OutcomeProblem, X0: torch.Tensor, seed: int) -> OutcomeRun:
    """``np``, ``gp`` or ``random`` by the product's path: suggest + settle over trial records."""
    from npopt.suggest import settle, suggest
    from npopt.surrogates import make_surrogate

    space, outcomes = problem.space, problem.outcomes
    models = [make_surrogate(method, space.dim, choices=space.choices) for _ in outcomes.names]
    run = OutcomeRun(method, problem.name, 0)
    trials: list[Trial] = []

    def tell(params: dict) -> None:
        values = problem.values(params)
        run.history.append(values)
        trials.append(Trial(len(trials), TrialState.COMPLETE, params, outcomes.value_in(values), None, "", None,
                            values))

    for params in to_params(space, X0):
        tell(params)
    while len(trials) < problem.budget:
        t0 = time.perf_counter()
        suggestion = suggest(space, outcomes.direction, models, trials, 1, seed,
                             remaining=problem.budget - len(trials), outcomes=outcomes)
        (params,) = settle(space, suggestion, trials)
        run.ask_seconds.append(time.perf_counter() - t0)
        tell(params)
    return run


def run_optuna(method: str, problem: OutcomeProblem, X0: torch.Tensor, seed: int) -> OutcomeRun:
    """Optuna's sampler ``method`` through its ask/tell, from the same start."""
    from npopt.benchmarks.peers import _optuna
    from npopt.integration.optuna import distributions

    optuna = _optuna()
    space, outcomes = problem.space, problem.outcomes
    constrained = bool(outcomes.constraints)
    func = (lambda t: t.user_attrs["constraints"]) if constrained else None
    samplers = optuna.samplers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GPSampler's constraints_func is deprecated in favour of set_constraint
        sampler = {"optuna-gp": lambda: samplers.GPSampler(seed=seed, constraints_func=func),
                   "tpe": lambda: samplers.TPESampler(seed=seed, constraints_func=func),
                   "nsga2": lambda: samplers.NSGAIISampler(seed=seed, constraints_func=func)}[method]()
    directions = [d for _, d in outcomes.objectives]
    study = optuna.create_study(directions=directions, sampler=sampler)
    dists = distributions(space)
    names = [n for n, _ in outcomes.objectives]
    run = OutcomeRun(method, problem.name, 0)

    def objective_values(values: dict) -> list[float]:
        return [values[n] for n in names]

    for params in to_params(space, X0):
        values = problem.values(params)
        run.history.append(values)
        attrs = {"constraints": outcomes.signed_constraints(values)} if constrained else {}
        study.add_trial(optuna.trial.create_trial(
            params={n: params[n] for n in space.names}, distributions=dists, values=objective_values(values),
            user_attrs=attrs, system_attrs=attrs))
    while len(run.history) < problem.budget:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = study.ask(dists)
        run.ask_seconds.append(time.perf_counter() - t0)
        values = problem.values(dict(trial.params))
        run.history.append(values)
        if constrained:
            trial.set_user_attr("constraints", outcomes.signed_constraints(values))
        study.tell(trial, objective_values(values))
    return run


def run_suite(suite: str, methods: Sequence[str], repeats: int, seed: int, names: Sequence[str] | None = None,
              progress: Callable[[int, int, str], None] | None = None, runs: str | Path | None = None) -> dict:
    """Every method on every problem of ``suite``, ``repeats`` times; the summary (JSON-able).

    ``runs``: a :class:`~npopt.benchmarks.suites.RunStore` file: each finished run is kept there
    and a run it already holds (same suite, seed set, problem, budget, method and repeat) is
    reused, so an interrupted suite goes on where it stopped."""
    chosen = problems(suite)
    unknown = [n for n in names or () if n not in chosen]
    if unknown:
        raise ConfigError(f"the {suite} suite has no problem {', '.join(unknown)}; choose from {', '.join(chosen)}")
    allowed = METHODS[suite]
    bad = [m for m in methods if m not in allowed]
    if bad:
        raise ConfigError(f"the {suite} suite has no method {', '.join(bad)}; choose from {', '.join(allowed)}")
    chosen = {n: p for n, p in chosen.items() if not names or n in names}
    total, done, start = len(chosen) * len(methods) * repeats, 0, time.perf_counter()
    positions = {n: i for i, n in enumerate(problems(suite))}
    store = None if runs is None else RunStore(
        runs, {"suite": suite, "seed": seed, "n_init": N_INIT}, {n: {"budget": p.budget} for n, p in chosen.items()},
        record=OutcomeRun)
    finished: list[OutcomeRun] = []
    for name, problem in chosen.items():
        for r in range(repeats):
            X0, generator = synthetic_start(seed, positions[name], r, problem.dim, N_INIT)
            study_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            for method in methods:
                if progress is not None:
                    progress(done, total, f"{suite}: {name} {method} {r + 1}/{repeats}")
                key = None if store is None else store.key(method, "", name, r)
                run = None if store is None else store.get(key)
                if run is None:
                    execute = run_npopt if method in ("np", "gp", "random") else run_optuna
                    run = execute(method, problem, X0, study_seed)
                    run.repeat = r
                    if store is not None:
                        store.add(key, run)
                finished.append(run)
                done += 1
    if progress is not None:
        progress(done, total, suite)
    return summarise(suite, chosen, finished, seed, time.perf_counter() - start)


def summarise(suite: str, chosen: dict[str, OutcomeProblem], runs: list[OutcomeRun], seed: int,
              seconds: float) -> dict:
    """Per problem and method: the score after each evaluation (median and quartiles over
    repeats) and the final scores; constrained: regret and runs without a feasible point;
    several objectives: the hypervolume fraction."""
    out: dict = {"suite": suite, "seed": seed, "seconds": seconds, "problems": {}}
    for name, problem in chosen.items():
        mine = [r for r in runs if r.problem == name]
        if suite == "constrained":
            optimum = problem.optimum
            if optimum is None:  # a real task: the best feasible value over the reference design and every run
                optimum = min([reference_optimum(problem)] + [min(best_feasible(problem, r.history)) for r in mine])
            curves = {id(r): [v - optimum for v in best_feasible(problem, r.history)] for r in mine}
            entry = {"optimum": optimum, "worst": problem.no_feasible(), "budget": problem.budget, "dim": problem.dim,
                     "methods": {}}
        else:
            volumes = {id(r): front_volumes(problem, r.history) for r in mine}
            best = problem.max_hv if problem.max_hv is not None else max(
                [reference_volume(problem)] + [v[-1] for v in volumes.values()])
            curves = {key: [v / best for v in volume] for key, volume in volumes.items()}
            entry = {"max_hv": best, "estimated": problem.max_hv is None, "reference": list(problem.reference),
                     "budget": problem.budget, "dim": problem.dim, "methods": {}}
        for method in dict.fromkeys(r.method for r in mine):
            theirs = [r for r in mine if r.method == method]
            finals = [curves[id(r)][-1] for r in theirs]
            record = {"finals": finals, "median": _median(finals), "curves": [curves[id(r)] for r in theirs],
                      "ask_seconds": _median([s for r in theirs for s in r.ask_seconds])}
            if suite == "constrained":
                record["infeasible_runs"] = sum(
                    all(problem.outcomes.violation(v) > 0 for v in r.history) for r in theirs)
            entry["methods"][method] = record
        out["problems"][name] = entry
    return out


def reference_optimum(problem: OutcomeProblem) -> float:
    """The best feasible value over a dense Sobol design (for a problem without a known optimum)."""
    feasible = [v["value"] for v in problem.design if problem.outcomes.violation(v) == 0]
    return min(feasible) if feasible else math.inf


def reference_volume(problem: OutcomeProblem) -> float:
    """The hypervolume of a dense Sobol design's feasible front."""
    return front_volumes(problem, problem.design, every=10 ** 9)[-1]


# ---------------------------------------------------------------- tables and plots


def comparisons(summary: dict, peers: Sequence[str] = ("optuna-gp", "tpe")) -> dict[str, tuple[int, int]]:
    """Per peer: on how many problems np's median is at least as good (regret <=, or
    hypervolume fraction >=), of how many both ran."""
    higher = summary["suite"] == "multiobjective"
    out = {}
    for peer in peers:
        wins = total = 0
        for entry in summary["problems"].values():
            methods = entry["methods"]
            if "np" in methods and peer in methods:
                total += 1
                a, b = methods["np"]["median"], methods[peer]["median"]
                wins += (a >= b) if higher else (a <= b)
        out[peer] = (wins, total)
    return out


def outcome_table(summary: dict):
    """Problem x method: median final score (quartiles); constrained runs without a feasible point."""
    from rich.table import Table

    constrained = summary["suite"] == "constrained"
    what = "best feasible regret (lower is better)" if constrained else \
        "hypervolume / the true front's (higher is better; * estimated front)"
    table = Table(title=f"{summary['suite']}: median {what}, quartiles, seed {summary['seed']}")
    table.add_column("problem (d, budget)")
    table.add_column("method", no_wrap=True)
    table.add_column("median", justify="right")
    table.add_column("quartiles", justify="right", no_wrap=True)
    if constrained:
        table.add_column("no feasible", justify="right")
    table.add_column("ask ms", justify="right")
    for name, entry in summary["problems"].items():
        methods = entry["methods"]
        medians = {m: r["median"] for m, r in methods.items()}
        best = (min if constrained else max)(medians, key=medians.get)
        label = f"{name}{'*' if entry.get('estimated') else ''} ({entry['dim']}, {entry['budget']})"
        for i, (m, r) in enumerate(methods.items()):
            lo, hi = _quantiles(r["finals"])
            text = f"{r['median']:.4g}"
            cells = [f"[bold]{text}[/]" if m == best else text, f"{lo:.3g} - {hi:.3g}"]
            if constrained:
                cells.append(f"{r['infeasible_runs']}/{len(r['finals'])}")
            cells.append(f"{1000 * r['ask_seconds']:.0f}" if r["ask_seconds"] is not None else "-")
            table.add_row(label if i == 0 else "", m, *cells)
        table.add_section()
    wins = comparisons(summary)
    table.caption = "np at least as good as: " + ", ".join(f"{p} on {w} of {t}" for p, (w, t) in wins.items())
    return table


def plot_outcomes(summary: dict, path) -> None:
    """One panel per problem: the median score after each evaluation per method (log scale
    for regret), with the interquartile band."""
    from npopt.display.figures import pyplot, save

    plt = pyplot()
    constrained = summary["suite"] == "constrained"
    names = list(summary["problems"])
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        entry = summary["problems"][name]
        for method, record in entry["methods"].items():
            curves = torch.tensor(record["curves"], dtype=torch.float64)
            if constrained:
                curves = curves.clamp_min(1e-6)
            x = torch.arange(1, curves.shape[1] + 1)
            q = torch.quantile(curves, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64), dim=0)
            line, = ax.plot(x, q[1], label=method, lw=2.2 if method == "np" else 1.3)
            ax.fill_between(x, q[0], q[2], color=line.get_color(), alpha=0.12)
        if constrained:
            ax.set_yscale("log")
        ax.set_title(f"{name} ({entry['dim']}-D)", fontsize=10)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best feasible regret" if constrained else "hypervolume fraction")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{summary['suite']}: median and quartiles over {len(record['curves'])} repeats, "
                 f"seed {summary['seed']}", fontsize=11)
    save(fig, path, dpi=110)
    plt.close(fig)
