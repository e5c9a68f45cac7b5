"""The exact GP posterior under a KNOWN RBF kernel: the ``gp-oracle`` of the ``gp1d`` suite.

The paper's upper bound (Garnelo et al. 2018, Table 1): the functions are drawn from a
zero-mean GP with an RBF kernel, and this surrogate conditions on the observations with
exactly that kernel and those hyperparameters -- nothing is fitted. Because its prior is
the true one (zero mean, true signal variance), it must see the *raw* observed values,
not standardised ones: :attr:`OracleGPSurrogate.standardised_y` is ``False`` and the
benchmark honours it. Plain torch linear algebra in float64.
"""

from __future__ import annotations

import torch
from torch import Tensor

from npopt.gpmath import jittered_cholesky, posterior_from_factor, psd_sqrt, rbf_kernel
from npopt.surrogates.base import Surrogate


class OracleGPSurrogate(Surrogate):
    """Exact posterior of a zero-mean GP with a known RBF kernel.

    Args:
        lengthscale: the true lengthscale in unit-cube coordinates.
        signal_std: the true signal standard deviation (in the raw output units).
        jitter: relative diagonal jitter (the functions are noise-free).
    """

    name = "gp-oracle"
    min_observations = 1
    #: The oracle's prior is the true one, so it conditions on raw values.
    standardised_y = False

    def __init__(self, lengthscale: float, signal_std: float, jitter: float = 1e-8) -> None:
        self.lengthscale = float(lengthscale)
        self.signal_std = float(signal_std)
        self.jitter = jitter
        self.X: Tensor | None = None

    def _k(self, a: Tensor, b: Tensor) -> Tensor:
        return rbf_kernel(a, b, self.lengthscale, self.signal_std)

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Cholesky of the ``n x n`` kernel matrix of the observations."""
        self.X = X.to(torch.float64)
        L = jittered_cholesky(self._k(self.X, self.X), self.jitter)  # n x n, lower triangular
        if L is None:  # cholesky_solve and solve_triangular below need a triangular factor
            raise RuntimeError("the oracle's kernel matrix is not positive definite even with jitter")
        self.L, self.y = L, y.to(torch.float64)

    def _posterior(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean (``m``) and covariance (``m x m``) at ``candidates``."""
        C = candidates.to(torch.float64)
        return posterior_from_factor(self.L, self.y, self._k(C, self.X), self._k(C, C))

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        """``n_draws x m`` exact joint posterior draws."""
        if self.X is None:
            raise RuntimeError("condition() the oracle before sampling")
        mean, cov = self._posterior(candidates)
        S = psd_sqrt(cov, self.jitter)  # m x m
        z = torch.randn(n_draws, mean.shape[0], generator=generator, dtype=torch.float64)
        return mean + z @ S.T

    def predict(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        mean, cov = self._posterior(candidates)
        return mean, cov.diagonal().clamp_min(0).sqrt()
