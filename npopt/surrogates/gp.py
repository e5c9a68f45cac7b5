"""BoTorch Gaussian process surrogate fitted by marginal likelihood.

``SingleTaskGP`` on continuous spaces; with categorical coordinates BoTorch's
``MixedSingleTaskGP`` (its categorical kernel on the choice indices, ``floor(u * C)``,
combined with the continuous kernel by a sum and a product). Conditioning fits the
hyperparameters (BoTorch's default priors, ``fit_gpytorch_mll``); a failed fit falls back
to the initial, prior-mode hyperparameters with a :class:`GPFitWarning` instead of
crashing. Function draws: exact joint posterior samples for up to ``joint_max``
candidates. Beyond that, where an ``m x m`` Cholesky would be slow, ``SingleTaskGP`` uses
BoTorch's pathwise (Matheron) draws with random Fourier features; BoTorch has no
features for the categorical kernel, so the mixed model draws exactly at a random subset
of ``joint_max`` candidates and gives every other candidate that draw's conditional mean
(:meth:`GPSurrogate._subset_draws`). All are deterministic under the
``torch.Generator`` passed to :meth:`GPSurrogate.sample`.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from npopt.gpmath import choice_index, jittered_cholesky
from npopt.surrogates.base import Surrogate


class GPFitWarning(UserWarning):
    """The marginal-likelihood fit failed; the prior's hyperparameters are used instead."""


class GPSurrogate(Surrogate):
    """BoTorch ``SingleTaskGP`` (``MixedSingleTaskGP`` with categoricals) on unit-cube
    inputs and standardised outputs.

    Args:
        joint_max: largest candidate set drawn from the exact joint posterior; larger
            sets use pathwise (Matheron) draws, or subset draws for the mixed model.
        fit_seed: seed of the fit's random restarts, so conditioning is deterministic.
        choices: per coordinate, the number of choices of a categorical (0: continuous);
            see :attr:`Surrogate.choices`.
        mixed_maxiter: L-BFGS iterations of the mixed model's fit. Unbounded, BoTorch's
            fit crept on for ~2,000 iterations (14-19 s per fit at n = 50-150 in 6-D, one
            thread) to gain another 0.04-0.12 nats of marginal likelihood per observation
            over 200 iterations (1.4-2.8 s). ``None``: BoTorch's default. ``SingleTaskGP``
            is never capped.
    """

    name = "gp"
    min_observations = 2

    def __init__(self, joint_max: int = 1000, fit_seed: int = 0, choices: tuple[int, ...] = (),
                 mixed_maxiter: int | None = 200) -> None:
        self.joint_max = joint_max
        self.mixed_maxiter = mixed_maxiter
        self.fit_seed = fit_seed
        self.choices = tuple(choices) if any(choices) else ()
        self.cat_dims = [i for i, c in enumerate(self.choices) if c]
        self.model = None
        #: Whether the last :meth:`condition` fell back to the prior hyperparameters.
        self.fit_failed = False

    def _inputs(self, U: Tensor) -> Tensor:
        """``m x d`` unit points -> model inputs (float64): categorical coordinates become
        choice indices ``min(floor(u * C), C - 1)``, the others stay as they are."""
        U = U.to(torch.float64)
        if not self.cat_dims:
            return U
        out = U.clone()
        cat = torch.tensor(self.cat_dims)
        out[:, cat] = choice_index(U[:, cat], torch.tensor([self.choices[i] for i in self.cat_dims])).to(U.dtype)
        return out

    def _new_model(self, X: Tensor, Y: Tensor):
        from botorch.models import MixedSingleTaskGP, SingleTaskGP

        if self.cat_dims:
            return MixedSingleTaskGP(X, Y, cat_dims=self.cat_dims)
        return SingleTaskGP(X, Y)

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Build the GP on ``X`` (``n x d``), ``y`` (``n``) and fit it."""
        from botorch.fit import fit_gpytorch_mll
        from gpytorch.mlls import ExactMarginalLogLikelihood

        if X.shape[0] < self.min_observations:
            raise ValueError(f"the GP needs at least {self.min_observations} observations")
        if self.choices and X.shape[1] != len(self.choices):
            raise ValueError(f"X has {X.shape[1]} columns but choices has {len(self.choices)} entries")
        X = self._inputs(X)
        Y = y.to(torch.float64).reshape(-1, 1)  # n x 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # input-scaling notes; fit warnings are retried
            model = self._new_model(X, Y)
            error = None
            try:
                with torch.random.fork_rng():
                    torch.manual_seed(self.fit_seed)
                    fit_kwargs = {}
                    if self.cat_dims and self.mixed_maxiter is not None:
                        fit_kwargs = {"optimizer_kwargs": {"options": {"maxiter": self.mixed_maxiter}}}
                    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model), **fit_kwargs)
            except Exception as exc:  # any fit failure: keep going with the prior
                error = exc
                model = self._new_model(X, Y)
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
        candidates = self._inputs(candidates)
        if candidates.shape[0] <= self.joint_max:
            base = torch.randn(n_draws, candidates.shape[0], generator=generator, dtype=torch.float64)
            try:
                return self._joint_draws(candidates, base)
            except NotPSDError:  # not positive definite even with jitter: pathwise draws
                pass
        if self.cat_dims:  # BoTorch has no random features for the categorical kernel
            return self._subset_draws(candidates, n_draws, generator)
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

    def _subset_draws(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        """Exact joint draws at a subset ``S`` of ``joint_max`` candidates; every other
        candidate ``r`` gets the draw's conditional mean ``E[f(r) | f(S), data]``.

        ``S`` holds the half of ``joint_max`` candidates with the lowest lower confidence
        bound (posterior mean - 2 std: where a draw's minimum most likely is) and a random
        draw of the others, so the exact part of each draw covers the promising candidates.
        Each row is one coherent function, exact in distribution on ``S``; off ``S`` it lacks
        the residual variance. Computed in the model's standardised output space from the
        fitted kernel, then untransformed.
        """
        from npopt.errors import NpoptError

        model, m = self.model, candidates.shape[0]
        with torch.no_grad():
            X = model.train_inputs[0]  # n x d
            kernel = model.covar_module
            K = kernel(X).to_dense() + model.likelihood.noise * torch.eye(X.shape[0], dtype=X.dtype)
            L = jittered_cholesky(K, 1e-8)  # n x n
            if L is None:
                raise NpoptError("the mixed GP's kernel matrix is not positive definite even with jitter; "
                                 "try --surrogate np or random", code="gp_failed")
            resid = (model.train_targets - model.mean_module(X)).reshape(-1, 1)  # n x 1
            A = torch.linalg.solve_triangular(L, kernel(candidates, X).to_dense().T, upper=False)  # n x m
            weights = torch.linalg.solve_triangular(L, resid, upper=False).squeeze(-1)  # n
            mean = model.mean_module(candidates) + A.T @ weights
            # the mixed kernels are stationary: every candidate has the prior variance of the first
            # (gpytorch's diag=True evaluates the whole m x m matrix for this kernel: 15 s)
            prior_var = kernel(candidates[:1]).to_dense()[0, 0]
            std = (prior_var - A.pow(2).sum(0)).clamp_min(0).sqrt()  # m
            s = min(self.joint_max, m)
            best = torch.argsort(mean - 2 * std)[: s // 2]  # the most promising half of S
            rest = torch.ones(m, dtype=torch.bool)
            rest[best] = False
            others = rest.nonzero().flatten()
            others = others[torch.randperm(others.numel(), generator=generator)]
            S, R = torch.cat([best, others[: s - best.numel()]]), others[s - best.numel():]
            z = torch.randn(n_draws, S.numel(), generator=generator, dtype=torch.float64)
            cov_SS = kernel(candidates[S]).to_dense() - A[:, S].T @ A[:, S]  # s x s
            L_S = jittered_cholesky(cov_SS, 1e-8)  # s x s
            if L_S is None:
                raise NpoptError("the mixed GP's posterior at the candidates is not positive definite; "
                                 "try --surrogate np or random", code="gp_failed")
            draws = torch.empty(n_draws, m, dtype=torch.float64)
            draws[:, S] = mean[S] + z @ L_S.T
            if R.numel():  # cov_SS^-1 (f_S - mean_S) = L_S^-T z, so the conditional mean at R is:
                cov_RS = kernel(candidates[R], candidates[S]).to_dense() - A[:, R].T @ A[:, S]  # (m - s) x s
                draws[:, R] = mean[R] + (cov_RS @ torch.linalg.solve_triangular(L_S.T, z.T, upper=True)).T
            draws = model.outcome_transform.untransform(draws.unsqueeze(-1))[0].squeeze(-1)  # Standardize
        return draws  # n_draws x m

    differentiable_predictive = True

    def predictive(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """The posterior of the latent function (mean, std), differentiable in the
        continuous coordinates of ``candidates``."""
        posterior = self.model.posterior(self._inputs(candidates))
        return posterior.mean.squeeze(-1), posterior.variance.clamp_min(1e-30).sqrt().squeeze(-1)

    def lengthscales(self) -> Tensor | None:
        """The fitted ARD lengthscales (``d``), or ``None`` where the kernel has none per input."""
        for module in self.model.covar_module.modules():
            ls = getattr(module, "lengthscale", None)
            if ls is not None and ls.numel() == self.model.train_inputs[0].shape[-1]:
                return ls.detach().double().reshape(-1)
        return None

    def predict(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and std of the latent function (``m`` each)."""
        with torch.no_grad():
            posterior = self.model.posterior(self._inputs(candidates))
            return posterior.mean.squeeze(-1), posterior.variance.clamp_min(0).sqrt().squeeze(-1)
