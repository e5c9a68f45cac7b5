"""BoTorch Gaussian process surrogate: ``SingleTaskGP`` fitted by marginal likelihood.

Conditioning fits the hyperparameters (BoTorch's default priors, ``fit_gpytorch_mll``);
a failed fit falls back to the initial, prior-mode hyperparameters with a
:class:`GPFitWarning` instead of crashing. Function draws use BoTorch's own machinery:
exact joint posterior samples for up to ``joint_max`` candidates, pathwise (Matheron)
draws with random Fourier features beyond that, where an ``m x m`` Cholesky would be slow.
Both are deterministic under the ``torch.Generator`` passed to :meth:`GPSurrogate.sample`.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from npopt.surrogates.base import Surrogate


class GPFitWarning(UserWarning):
    """The marginal-likelihood fit failed; the prior's hyperparameters are used instead."""


class GPSurrogate(Surrogate):
    """BoTorch ``SingleTaskGP`` on unit-cube inputs and standardised outputs.

    Args:
        joint_max: largest candidate set drawn from the exact joint posterior; larger
            sets use pathwise (Matheron) draws.
        fit_seed: seed of the fit's random restarts, so conditioning is deterministic.
    """

    name = "gp"
    min_observations = 2

    def __init__(self, joint_max: int = 1000, fit_seed: int = 0) -> None:
        self.joint_max = joint_max
        self.fit_seed = fit_seed
        self.model = None
        #: Whether the last :meth:`condition` fell back to the prior hyperparameters.
        self.fit_failed = False

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Build a ``SingleTaskGP`` on ``X`` (``n x d``), ``y`` (``n``) and fit it."""
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from gpytorch.mlls import ExactMarginalLogLikelihood

        if X.shape[0] < self.min_observations:
            raise ValueError(f"the GP needs at least {self.min_observations} observations")
        X = X.to(torch.float64)
        Y = y.to(torch.float64).reshape(-1, 1)  # n x 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # input-scaling notes; fit warnings are retried
            model = SingleTaskGP(X, Y)
            error = None
            try:
                with torch.random.fork_rng():
                    torch.manual_seed(self.fit_seed)
                    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            except Exception as exc:  # any fit failure: keep going with the prior
                error = exc
                model = SingleTaskGP(X, Y)
        self.fit_failed = error is not None
        if error is not None:
            warnings.warn(
                f"GP hyperparameter fit failed ({type(error).__name__}: {error}); "
                "using the prior's hyperparameters",
                GPFitWarning,
                stacklevel=2,
            )
        model.eval()
        self.model = model

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        """``n_draws x m`` joint posterior draws of the latent function at ``candidates``."""
        from linear_operator.utils.errors import NotPSDError

        if self.model is None:
            raise RuntimeError("condition() the GP before sampling")
        candidates = candidates.to(torch.float64)
        if candidates.shape[0] <= self.joint_max:
            base = torch.randn(n_draws, candidates.shape[0], generator=generator, dtype=torch.float64)
            try:
                return self._joint_draws(candidates, base)
            except NotPSDError:  # not positive definite even with jitter: pathwise draws
                pass
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        return self._pathwise_draws(candidates, n_draws, seed)

    def _joint_draws(self, candidates: Tensor, base: Tensor) -> Tensor:
        """Exact joint draws ``mean + L @ base`` via Cholesky of the ``m x m`` posterior."""
        import gpytorch
        from linear_operator.utils.warnings import NumericalWarning

        m = candidates.shape[0]
        with torch.no_grad(), gpytorch.settings.max_cholesky_size(max(800, m + 1)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumericalWarning)  # jitter notes
                posterior = self.model.posterior(candidates)
                draws = posterior.rsample_from_base_samples(torch.Size([base.shape[0]]), base)
        return draws.squeeze(-1)  # n_draws x m

    def _pathwise_draws(self, candidates: Tensor, n_draws: int, seed: int) -> Tensor:
        """Matheron draws: prior paths (random Fourier features) plus a data update."""
        from botorch.sampling.pathwise import draw_matheron_paths

        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed)
            paths = draw_matheron_paths(self.model, torch.Size([n_draws]))
            return paths(candidates).reshape(n_draws, -1)  # n_draws x m

    def predict(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and std of the latent function (``m`` each)."""
        with torch.no_grad():
            posterior = self.model.posterior(candidates.to(torch.float64))
            return posterior.mean.squeeze(-1), posterior.variance.clamp_min(0).sqrt().squeeze(-1)
