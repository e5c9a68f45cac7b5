"""Benchmark problems with known optima, as tiny classes.

A problem has a name, ``dim``, ``bounds`` (``2 x d``, user units), ``optimal_value`` and
``evaluate_true`` (user units); :meth:`Problem.evaluate` takes unit-cube points, which is
what the optimiser proposes. The multi-D functions are BoTorch's ``test_functions``;
Forrester is not in BoTorch and is written here. :func:`gp1d_function` draws the
``gp1d`` suite's functions: 1-D GP samples on a 400-point grid (Garnelo et al. 2018).

Problems with int or categorical parameters (the ``mixed`` suite, :class:`SpaceProblem`)
declare an :class:`npopt.Space`; their unit points are decoded by that space, so they
see exactly what an objective would, and the benchmark snaps candidates with it.

Over 400 lines because it is a catalogue: each problem is a short class, and splitting the
list would only scatter it.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from npopt.benchmarks.broad import BROAD
from npopt.errors import ConfigError, NpoptError
from npopt.gpmath import rbf_kernel
from npopt.seeds import derived_seed
from npopt.space import Categorical, Float, Int, Space


class Problem:
    """A function to minimise over a box."""

    name: str
    dim: int
    bounds: Tensor  # 2 x d
    optimal_value: float
    #: The parameters as a :class:`~npopt.space.Space`, for problems with ints or
    #: categoricals (``None``: every coordinate is a float, the box ``bounds``).
    space: Space | None = None

    @property
    def choices(self) -> tuple[int, ...]:
        """Per coordinate, the number of choices of a categorical (0: float or int)."""
        return self.space.choices if self.space is not None else (0,) * self.dim

    def snap(self, U: Tensor) -> Tensor:
        """``m x d`` unit points with int and categorical coordinates snapped (unchanged
        for a problem without them)."""
        if self.space is None or not self.space.has_discrete:
            return U
        from npopt.encoding import on_tensors

        return on_tensors(self.space.snap_unit)(U)

    def evaluate_true(self, X: Tensor) -> Tensor:
        """``n x d`` points in user units -> ``n`` values."""
        raise NotImplementedError

    def evaluate(self, U: Tensor) -> Tensor:
        """``n x d`` unit-cube points -> ``n`` values (float64)."""
        lo, hi = self.bounds.to(torch.float64)
        return self.evaluate_true(lo + U.to(torch.float64) * (hi - lo)).to(torch.float64)


class Forrester(Problem):
    """``(6x - 2)^2 sin(12x - 4)`` on ``[0, 1]``; minimum -6.02074 at x = 0.75725."""

    name = "forrester"
    dim = 1
    bounds = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    optimal_value = -6.0207400557670825

    def evaluate_true(self, X: Tensor) -> Tensor:
        x = X[..., 0]
        return (6 * x - 2) ** 2 * torch.sin(12 * x - 4)


class BoTorchProblem(Problem):
    """One of BoTorch's synthetic test functions (noise-free, minimised)."""

    def __init__(self, name: str, function) -> None:
        self.name = name
        self.function = function.to(torch.float64)
        self.dim = function.dim
        self.bounds = function.bounds.to(torch.float64)
        self.optimal_value = float(function.optimal_value)

    def evaluate_true(self, X: Tensor) -> Tensor:
        return self.function.evaluate_true(X)


class Embedded(Problem):
    """``inner`` on the inputs ``active`` of a ``dim``-dimensional box; the others are ignored."""

    def __init__(self, name: str, inner: Problem, dim: int, active: tuple[int, ...]) -> None:
        self.name, self.inner, self.dim, self.active = name, inner, dim, list(active)
        lo, hi = torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)
        lo[self.active], hi[self.active] = inner.bounds[0], inner.bounds[1]
        self.bounds = torch.stack([lo, hi])
        self.optimal_value = inner.optimal_value

    def evaluate_true(self, X: Tensor) -> Tensor:
        return self.inner.evaluate_true(X[..., self.active])


#: Inputs of ``hartmann6_12`` that Hartmann6 sees (0-based), spread over the 12 so that
#: padding or ordering tricks gain nothing; the other 6 are ignored.
HARTMANN6_12_ACTIVE = (1, 3, 4, 7, 9, 10)
#: Minimiser of ``(x^4 - 16 x^2 + 5 x) / 2`` (a root of ``4x^3 - 32x + 5``).
STYBLINSKI_TANG_X = -2.903534027771178


class ShiftedQuadratic(Problem):
    """``sum_i c^(i / (d - 1)) (R (x - x*))_i^2`` on ``[-5, 5]^d``: the sphere (``c = 1``, no
    rotation) or the ellipsoid of condition number ``c`` seen through a random rotation ``R``
    (BBOB's f2/f10 family, Hansen et al. 2009). The optimum ``x*`` is drawn uniformly from
    ``[-4, 4]^d`` (away from the box's centre, where a search that favours the middle would
    find it for free); it and ``R`` are fixed by ``seed``. Minimum 0."""

    def __init__(self, name: str, dim: int, condition: float, rotate: bool, seed: int) -> None:
        self.name, self.dim = name, dim
        self.bounds = torch.tensor([[-5.0] * dim, [5.0] * dim], dtype=torch.float64)
        self.optimal_value = 0.0
        g = torch.Generator().manual_seed(seed)
        self.optimum = (torch.rand(dim, generator=g, dtype=torch.float64) * 8 - 4)  # d
        exponents = torch.arange(dim, dtype=torch.float64) / max(dim - 1, 1)
        self.weights = torch.tensor(float(condition), dtype=torch.float64) ** exponents  # d
        q = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))[0]
        self.rotation = q if rotate else torch.eye(dim, dtype=torch.float64)  # d x d

    def evaluate_true(self, X: Tensor) -> Tensor:
        z = (X - self.optimum) @ self.rotation.T  # n x d
        return (self.weights * z.pow(2)).sum(-1)


#: The quadratic problems: (dimension, condition number, rotated, seed of the optimum and rotation).
QUADRATICS = {"sphere10": (10, 1.0, False, 10), "ellipsoid10": (10, 1e6, True, 11)}
#: Inputs of ``rosenbrock4_16`` that Rosenbrock-4 sees (0-based); the other 12 are ignored.
ROSENBROCK4_16_ACTIVE = (2, 6, 11, 13)


def _botorch(name: str) -> Problem:
    from botorch.test_functions import Ackley, Branin, Hartmann, Levy, Rosenbrock, StyblinskiTang

    functions = {
        "branin": Branin,
        "hartmann3": lambda: Hartmann(dim=3),
        "levy4": lambda: Levy(dim=4),
        "hartmann6": lambda: Hartmann(dim=6),
        "ackley10": lambda: Ackley(dim=10),
        "levy10": lambda: Levy(dim=10),
        "styblinski16": lambda: StyblinskiTang(dim=16),
        "rosenbrock10": lambda: Rosenbrock(dim=10),
        "rosenbrock4": lambda: Rosenbrock(dim=4),
    }
    if name == "hartmann6_12":
        return Embedded(name, _botorch("hartmann6"), 12, HARTMANN6_12_ACTIVE)
    if name == "rosenbrock4_16":
        return Embedded(name, _botorch("rosenbrock4"), 16, ROSENBROCK4_16_ACTIVE)
    if name in QUADRATICS:
        return ShiftedQuadratic(name, *QUADRATICS[name])
    problem = BoTorchProblem(name, functions[name]())
    if name == "styblinski16":  # BoTorch's optimum is rounded to 5 decimals per input
        x = STYBLINSKI_TANG_X
        problem.optimal_value = 16 * 0.5 * (x**4 - 16 * x**2 + 5 * x)
    return problem


#: The ``synthetic`` suite, in order of dimension (1-6-D first: their seeds depend on
#: their position, so new problems are appended).
SYNTHETIC = (
    "forrester", "branin", "hartmann3", "levy4", "hartmann6",
    "ackley10", "levy10", "hartmann6_12", "styblinski16",
    "sphere10", "ellipsoid10", "rosenbrock10", "rosenbrock4_16",
)
#: The 8-16-D problems of the synthetic suite.
HIGH_DIMENSIONAL = tuple(name for name in SYNTHETIC[5:])



# ---------------------------------------------------------------------------- mixed


class SpaceProblem(Problem):
    """A problem over an :class:`~npopt.space.Space` with ints or categoricals.

    Unit points are decoded by the space (``Space.from_unit``), so :meth:`value` sees the
    parameter dict an objective would see. ``bounds`` is the unit box: the user units
    are the space's business.
    """

    #: A parameter dict at which :meth:`value` is ``optimal_value`` (``None`` if unknown).
    minimiser: dict | None = None

    def __init__(self) -> None:
        self.space = Space(self.parameters())
        self.dim = self.space.dim
        self.bounds = torch.stack([torch.zeros(self.dim), torch.ones(self.dim)]).to(torch.float64)

    def parameters(self) -> dict:
        """The space: ``{name: Float | Int | Categorical}``."""
        raise NotImplementedError

    def value(self, params: dict) -> float:
        """The objective at one parameter dict (user units, choices as declared)."""
        raise NotImplementedError

    def evaluate_true(self, X: Tensor) -> Tensor:
        """``n x d`` unit points (the bounds are the unit box) -> ``n`` values."""
        return torch.tensor([self.value(self.space.from_unit(u)) for u in X.tolist()], dtype=torch.float64)


class BraninShift(SpaceProblem):
    """Branin plus an offset chosen by a 4-choice categorical; choice ``"b"`` adds nothing.

    Minimum 0.397887 at ``x1 = pi, x2 = 2.275, shift = "b"`` (and Branin's two other minima).
    """

    name = "branin_shift"
    OFFSETS = {"a": 2.0, "b": 0.0, "c": 5.0, "d": 0.5}
    optimal_value = 0.39788735772973816
    minimiser = {"x1": math.pi, "x2": 2.275, "shift": "b"}

    def __init__(self) -> None:
        super().__init__()
        self.branin = _botorch("branin")

    def parameters(self) -> dict:
        return {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0), "shift": Categorical(list(self.OFFSETS))}

    def value(self, params: dict) -> float:
        x = torch.tensor([[params["x1"], params["x2"]]], dtype=torch.float64)
        return float(self.branin.evaluate_true(x)[0]) + self.OFFSETS[params["shift"]]


class Hartmann3Categorical(SpaceProblem):
    """Hartmann3 scaled by a weight that a 5-choice categorical ``mode`` selects (``"b"``:
    weight 1, the others 0.4-0.85), plus a 3-choice categorical ``unused`` that is ignored.

    Minimum -3.86278 (BoTorch's, rounded) at ``x = (0.114614, 0.555649, 0.852547)``,
    ``mode = "b"``, any ``unused``.
    """

    name = "hartmann3_cat"
    WEIGHTS = {"a": 0.7, "b": 1.0, "c": 0.4, "d": 0.85, "e": 0.55}
    minimiser = {"x0": 0.114614, "x1": 0.555649, "x2": 0.852547, "mode": "b", "unused": "y"}

    def __init__(self) -> None:
        super().__init__()
        self.hartmann = _botorch("hartmann3")
        self.optimal_value = self.hartmann.optimal_value

    def parameters(self) -> dict:
        return {
            "x0": Float(0.0, 1.0), "x1": Float(0.0, 1.0), "x2": Float(0.0, 1.0),
            "mode": Categorical(list(self.WEIGHTS)), "unused": Categorical(["x", "y", "z"]),
        }

    def value(self, params: dict) -> float:
        x = torch.tensor([[params["x0"], params["x1"], params["x2"]]], dtype=torch.float64)
        return self.WEIGHTS[params["mode"]] * float(self.hartmann.evaluate_true(x)[0])


class Mix6(SpaceProblem):
    """Three floats, two ints and a 10-choice categorical ``coef`` that selects the
    centre, the per-input weights and an offset of a bumpy bowl::

        sum_j W[c, j] ((x_j - T[c, j])^2 + 0.2 (1 - cos(4 pi (x_j - T[c, j]))))
            + 0.1 (k0 - 2)^2 + 0.05 (k1 - 7)^2 + B[c]

    Every term is >= 0 and ``B`` is 0 only for ``c = 2``: minimum 0 at
    ``x = T[2] = (0.45, 0.6, -0.35), k0 = 2, k1 = 7, coef = 2``.
    """

    name = "mix6"
    optimal_value = 0.0
    T = ((0.3, -0.5, 0.1), (-0.6, 0.2, 0.7), (0.45, 0.6, -0.35), (-0.2, -0.7, -0.6), (0.75, 0.05, 0.4),
         (-0.4, 0.55, -0.1), (0.1, -0.25, 0.65), (-0.7, -0.45, 0.25), (0.6, 0.35, -0.75), (-0.05, 0.8, 0.5))
    W = ((1.0, 0.5, 2.0), (1.5, 1.0, 0.5), (0.5, 2.0, 1.0), (2.0, 1.5, 1.5), (1.0, 1.0, 0.5),
         (0.5, 0.5, 2.0), (1.5, 2.0, 1.0), (1.0, 0.5, 1.5), (2.0, 1.0, 1.0), (0.5, 1.5, 0.5))
    B = (0.6, 1.2, 0.0, 0.9, 0.3, 1.5, 0.45, 0.75, 1.05, 0.15)
    minimiser = {"x0": 0.45, "x1": 0.6, "x2": -0.35, "k0": 2, "k1": 7, "coef": 2}

    def parameters(self) -> dict:
        return {
            "x0": Float(-1.0, 1.0), "x1": Float(-1.0, 1.0), "k0": Int(-5, 5),
            "coef": Categorical(list(range(10))), "x2": Float(-1.0, 1.0), "k1": Int(0, 10),
        }

    def value(self, params: dict) -> float:
        c = params["coef"]
        total = 0.1 * (params["k0"] - 2) ** 2 + 0.05 * (params["k1"] - 7) ** 2 + self.B[c]
        for j in range(3):
            t = params[f"x{j}"] - self.T[c][j]
            total += self.W[c][j] * (t * t + 0.2 * (1.0 - math.cos(4.0 * math.pi * t)))
        return total


def _bundled_dataset(loader: str, problem: str) -> tuple[np.ndarray, np.ndarray]:
    """``X, y`` of a dataset bundled with scikit-learn (``loader``: the name of its
    ``sklearn.datasets`` function), or a clear error naming ``problem`` without it."""
    try:
        import sklearn.datasets
    except ImportError:
        raise NpoptError(f"the {problem} problem needs scikit-learn: pip install scikit-learn",
                         code="missing_extra") from None
    return getattr(sklearn.datasets, loader)(return_X_y=True)


#: Best 3-fold CV error of :class:`SVCCancer` found by a dense random search:
#: ``python -c "from npopt.benchmarks.problems import SVCCancer, dense_random_search as d;
#: print(d(SVCCancer(), 4000, 0))"``
#: (4,000 uniform points of the unit cube, seed 0; 88 s on one thread). Regret is measured
#: against it.
SVC_CANCER_BEST = 0.01931681054488077


class SVCCancer(SpaceProblem):
    """A real tuning task: an RBF/polynomial/sigmoid SVC on scikit-learn's bundled
    breast-cancer data (569 samples, 30 features, standardised in each fold).

    The value is the 3-fold stratified cross-validated error (1 - accuracy; folds fixed by
    ``random_state=0``), deterministic, a few milliseconds to ~0.1 s per evaluation. ``degree``
    only matters for ``poly``, ``coef0`` only for ``poly`` and ``sigmoid``. The "optimum" is
    :data:`SVC_CANCER_BEST`, the best of a dense random search, so regret is relative to it
    (clipped at 0 if a method beats it).
    """

    name = "svc_cancer"
    optimal_value = SVC_CANCER_BEST

    def __init__(self) -> None:
        super().__init__()
        self.X, self.y = _bundled_dataset("load_breast_cancer", self.name)

    def parameters(self) -> dict:
        return {
            "kernel": Categorical(["rbf", "poly", "sigmoid"]), "C": Float(1e-2, 1e3, log=True),
            "gamma": Float(1e-4, 1e1, log=True), "degree": Int(2, 5), "coef0": Float(-1.0, 1.0),
        }

    def value(self, params: dict) -> float:
        import warnings

        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        model = make_pipeline(StandardScaler(), SVC(max_iter=100_000, **params))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
            scores = cross_val_score(model, self.X, self.y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
        return float(1.0 - scores.mean())


#: Best value of :class:`KRRDiabetes` known: a dense random search (4,000 points, best
#: -0.722264) refined by Nelder-Mead from the best three points of every kernel and degree
#: (``python benchmarks/krr_diabetes_best.py``, 5 minutes on one thread; all three rbf
#: starts end here; the best other kernel, poly, at -0.719596). Regret is measured against it.
KRR_DIABETES_BEST = -0.7228729564757606


class KRRDiabetes(SpaceProblem):
    """A real tuning task with a continuous loss: kernel ridge regression on scikit-learn's
    bundled diabetes data (442 patients, 10 features, standardised in each fold; the target
    standardised once).

    The value is the natural log of the 5-fold cross-validated mean squared error (folds
    fixed by ``random_state=0``), deterministic, ~0.05 s per evaluation. The log is what a
    user would take: the sigmoid and high-degree polynomial kernels blow the error up to
    1e7 and more, which would squash every other difference. ``degree`` only matters for
    ``poly``, ``coef0`` only for ``poly`` and ``sigmoid``. A fit whose error is not finite
    scores :data:`KRRDiabetes.FAILED`. The optimum is :data:`KRR_DIABETES_BEST`, the best
    value known (regret is clipped at 0 if a method beats it).

    Unlike ``svc_cancer``, whose error moves in steps of one misclassified sample and which
    random search already solves within its budget, this loss is continuous, so how close a
    method gets is measured and not rounded away.
    """

    name = "krr_diabetes"
    optimal_value = KRR_DIABETES_BEST
    minimiser = {"kernel": "rbf", "alpha": 0.4426554442412534, "gamma": 0.01531790609427869, "degree": 4,
                 "coef0": 1.7068089199848062}
    #: The value of a fit whose cross-validated error is not finite (log of 1e13).
    FAILED = 30.0

    def __init__(self) -> None:
        super().__init__()
        self.X, y = _bundled_dataset("load_diabetes", self.name)
        self.y = (y - y.mean()) / y.std()

    def parameters(self) -> dict:
        return {
            "kernel": Categorical(["rbf", "laplacian", "poly", "sigmoid"]),
            "alpha": Float(1e-4, 1e2, log=True), "gamma": Float(1e-4, 1e1, log=True),
            "degree": Int(1, 5), "coef0": Float(0.0, 3.0),
        }

    def value(self, params: dict) -> float:
        import warnings

        from sklearn.kernel_ridge import KernelRidge
        from sklearn.model_selection import KFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), KernelRidge(**params))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ill-conditioned solves fall back to least squares
            scores = cross_val_score(model, self.X, self.y, cv=KFold(5, shuffle=True, random_state=0),
                                     scoring="neg_mean_squared_error", error_score=np.nan)
        mse = float(-scores.mean())
        return math.log(mse) if math.isfinite(mse) and mse > 0 else self.FAILED


def dense_random_search(problem: Problem, n: int, seed: int = 0) -> float:
    """The best value of ``problem`` at ``n`` uniform points of the unit cube (snapped)."""
    U = problem.snap(torch.rand(n, problem.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return float(problem.evaluate(U).min())


#: The ``mixed`` suite: problems with int and categorical parameters.
MIXED = ("branin_shift", "hartmann3_cat", "mix6", "svc_cancer", "krr_diabetes")
_SPACE_PROBLEMS = {cls.name: cls for cls in (BraninShift, Hartmann3Categorical, Mix6, SVCCancer, KRRDiabetes)}
#: Every problem's suite, for ``--problems`` and seeds (a problem's seed depends on its
#: position in its suite).
SUITES = {"synthetic": SYNTHETIC, "mixed": MIXED, "broad": BROAD}


def make_problem(name: str) -> Problem:
    """The problem called ``name`` (one of :data:`SYNTHETIC` or :data:`MIXED`)."""
    if name == "forrester":
        return Forrester()
    if name in SYNTHETIC:
        return _botorch(name)
    if name in _SPACE_PROBLEMS:
        return _SPACE_PROBLEMS[name]()
    if name in BROAD:
        return make_broad(name)
    raise ConfigError(f"unknown problem {name!r}; choose from {', '.join(SYNTHETIC + MIXED + SUITES['broad'])}")

# ---------------------------------------------------------------------------- broad

class Moved(Problem):
    """A BoTorch function with its optimum moved (the ``broad`` suite: :mod:`npopt.benchmarks.broad`)."""

    def __init__(self, name: str, inner: BoTorchProblem, move: str) -> None:
        self.name, self.inner, self.move = name, inner, move
        self.dim, self.bounds, self.optimal_value = inner.dim, inner.bounds, inner.optimal_value
        g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        lo, hi = self.bounds
        self.shift = torch.zeros(self.dim, dtype=torch.float64)
        self.flip = torch.zeros(self.dim, dtype=torch.bool)
        self.order = torch.arange(self.dim)
        if move == "shift":
            optimiser = inner.function.optimizers[0].to(torch.float64)
            width = hi - lo
            low = torch.maximum(-0.25 * width, lo - optimiser)  # the optimiser + s stays in the box
            high = torch.minimum(0.25 * width, hi - optimiser)
            self.shift = low + (high - low) * torch.rand(self.dim, generator=g, dtype=torch.float64)
        elif move == "reflect":
            self.flip = torch.rand(self.dim, generator=g) < 0.5
            self.order = torch.randperm(self.dim, generator=g)
        else:
            raise ValueError(f"unknown move {move!r}")

    def inner_point(self, X: Tensor) -> Tensor:
        """Where the original function is evaluated for points ``X`` (user units)."""
        lo, hi = self.bounds
        X = X[..., self.order]
        X = torch.where(self.flip, lo + hi - X, X)
        return X - self.shift

    def evaluate_true(self, X: Tensor) -> Tensor:
        # BoTorch's evaluate_true refuses points outside the original box, where a shifted
        # function is evaluated on purpose (safe: see npopt.benchmarks.broad); and it does not negate
        function = self.inner.function
        values = function._evaluate_true(self.inner_point(X))
        return -values if function.negate else values


def make_broad(name: str) -> Problem:
    """The broad suite's problem called ``name``."""
    import botorch.test_functions as functions

    from npopt.benchmarks.broad import BROAD_PROBLEMS

    cls, kwargs, move = BROAD_PROBLEMS[name]
    inner = BoTorchProblem(name, getattr(functions, cls)(**kwargs))
    if not (inner.bounds[0] == inner.bounds[0, 0]).all() or not (inner.bounds[1] == inner.bounds[1, 0]).all():
        assert move == "shift", f"{name}: a permutation needs the same bounds on every input"
    return Moved(name, inner, move)


# ---------------------------------------------------------------------------- gp1d

GP1D_DOMAIN = (-2.0, 2.0)
GP1D_LENGTHSCALE = (0.1, 0.6)
GP1D_SIGNAL_STD = (0.1, 1.0)


@dataclass
class GP1DFunction(Problem):
    """One draw from a zero-mean 1-D GP with an RBF kernel, on a grid over ``[-2, 2]``.

    The optimiser sees the unit interval: ``x_unit = (x + 2) / 4``, so the lengthscale
    in unit coordinates is ``lengthscale / 4``.
    """

    index: int
    lengthscale: float  # in the original units of [-2, 2]
    signal_std: float
    grid: Tensor  # G x 1, unit interval
    values: Tensor  # G
    start: int  # the grid index every method starts from
    name: str = "gp1d"
    dim: int = 1
    bounds: Tensor = field(default_factory=lambda: torch.tensor([[-2.0], [2.0]], dtype=torch.float64))

    @property
    def optimal_value(self) -> float:  # type: ignore[override]
        return float(self.values.min())

    @property
    def argmin(self) -> int:
        return int(torch.argmin(self.values))

    @property
    def lengthscale_unit(self) -> float:
        return self.lengthscale / (GP1D_DOMAIN[1] - GP1D_DOMAIN[0])

    def evaluate(self, U: Tensor) -> Tensor:
        """Values at the grid points nearest to ``n x 1`` unit points."""
        return self.values[torch.cdist(U.to(torch.float64), self.grid).argmin(1)]

    def evaluate_true(self, X: Tensor) -> Tensor:
        return self.evaluate((X - GP1D_DOMAIN[0]) / (GP1D_DOMAIN[1] - GP1D_DOMAIN[0]))


def gp1d_function(index: int, seed: int = 0, grid_size: int = 400) -> GP1DFunction:
    """Function ``index`` of the ``gp1d`` suite with seed ``seed``.

    Lengthscale ~ U[0.1, 0.6] and signal std ~ U[0.1, 1.0] on ``[-2, 2]``; the values on
    ``grid_size`` evenly spaced points are an exact joint GP draw (eigendecomposition,
    no jitter, so the function is smooth down to the grid spacing).
    """
    g = torch.Generator().manual_seed(derived_seed(seed, index))
    lengthscale = GP1D_LENGTHSCALE[0] + (GP1D_LENGTHSCALE[1] - GP1D_LENGTHSCALE[0]) * float(
        torch.rand((), generator=g, dtype=torch.float64)
    )
    signal_std = GP1D_SIGNAL_STD[0] + (GP1D_SIGNAL_STD[1] - GP1D_SIGNAL_STD[0]) * float(
        torch.rand((), generator=g, dtype=torch.float64)
    )
    x = torch.linspace(*GP1D_DOMAIN, grid_size, dtype=torch.float64)[:, None]  # G x 1
    K = rbf_kernel(x, x, lengthscale, signal_std)  # G x G
    evals, evecs = torch.linalg.eigh(K)
    z = torch.randn(grid_size, generator=g, dtype=torch.float64)
    values = evecs @ (evals.clamp_min(0).sqrt() * z)  # G
    start = int(torch.randint(0, grid_size, (1,), generator=g))
    grid = (x - GP1D_DOMAIN[0]) / (GP1D_DOMAIN[1] - GP1D_DOMAIN[0])
    return GP1DFunction(index, lengthscale, signal_std, grid, values, start)
