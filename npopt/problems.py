"""Benchmark problems with known optima, as tiny classes.

A problem has a name, ``dim``, ``bounds`` (``2 x d``, user units), ``optimal_value`` and
``evaluate_true`` (user units); :meth:`Problem.evaluate` takes unit-cube points, which is
what the optimiser proposes. The multi-D functions are BoTorch's ``test_functions``;
Forrester is not in BoTorch and is written here. :func:`gp1d_function` draws the
``gp1d`` suite's functions: 1-D GP samples on a 400-point grid (Garnelo et al. 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from npopt.errors import ConfigError
from npopt.surrogates.oracle import rbf_kernel


class Problem:
    """A function to minimise over a box."""

    name: str
    dim: int
    bounds: Tensor  # 2 x d
    optimal_value: float

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


def _botorch(name: str) -> Problem:
    from botorch.test_functions import Branin, Hartmann, Levy

    functions = {
        "branin": Branin,
        "hartmann3": lambda: Hartmann(dim=3),
        "levy4": lambda: Levy(dim=4),
        "hartmann6": lambda: Hartmann(dim=6),
    }
    return BoTorchProblem(name, functions[name]())


#: The ``synthetic`` suite, in order of dimension.
SYNTHETIC = ("forrester", "branin", "hartmann3", "levy4", "hartmann6")


def make_problem(name: str) -> Problem:
    """The synthetic problem called ``name`` (one of :data:`SYNTHETIC`)."""
    if name == "forrester":
        return Forrester()
    if name in SYNTHETIC:
        return _botorch(name)
    raise ConfigError(f"unknown problem {name!r}; choose from {', '.join(SYNTHETIC)}")


# ---------------------------------------------------------------------------- gp1d

GP1D_DOMAIN = (-2.0, 2.0)
GP1D_LENGTHSCALE = (0.1, 0.6)
GP1D_SIGNAL_STD = (0.1, 1.0)


def derived_seed(*parts: int) -> int:
    """A 63-bit seed from integers (e.g. the suite seed and a function index)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


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
