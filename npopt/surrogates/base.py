"""The one protocol every surrogate implements.

Inside npopt everything is in the internal convention: inputs in the unit cube
``[0, 1]^d``, outputs standardised and *minimised*. A surrogate is conditioned on
observations and then draws coherent function samples at candidate points; Thompson
sampling is a draw plus an argmin, so it works with any surrogate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor

from npopt.acquisition.options import AcquisitionOptions


class Surrogate(ABC):
    """Condition on ``(X, y)``; draw coherent function samples at candidates.

    Subclasses set :attr:`name` and may limit :attr:`max_dim`.
    """

    name: str = "base"
    #: The largest input dimension this surrogate supports (``None``: any).
    max_dim: int | None = None
    #: Smallest number of observations :meth:`condition` accepts.
    min_observations: int = 1
    #: How Thompson sampling searches this surrogate's draws (candidates, local search, polish).
    acquisition: AcquisitionOptions = AcquisitionOptions()
    #: Whether :meth:`paths` gives differentiable draws (Thompson sampling then polishes
    #: each draw's argmin by gradient); declared, never probed.
    has_paths: bool = False
    #: Per unit-cube coordinate, the number of choices ``C`` of a categorical parameter
    #: (0 for float and int coordinates); empty: every coordinate is continuous. Choice
    #: ``i`` of ``C`` sits at ``(i + 0.5) / C``; a unit coordinate ``u`` is choice
    #: ``min(floor(u * C), C - 1)`` (``Space.choices`` gives the tuple).
    choices: tuple[int, ...] = ()
    #: Whether :meth:`condition` expects standardised values (everything but the benchmark's
    #: oracle, which knows the raw functions' true kernel).
    standardised_y: bool = True

    def supports(self, dim: int) -> bool:
        return self.max_dim is None or dim <= self.max_dim

    @abstractmethod
    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition on observations.

        Args:
            X: ``n x d`` points in the unit cube (float64).
            y: ``n`` standardised values to be minimised (float64).
        """

    @abstractmethod
    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        """Draw coherent function samples.

        Args:
            candidates: ``m x d`` points in the unit cube (float64).
            n_draws: number of function draws.
            generator: the source of randomness (makes runs reproducible).

        Returns:
            ``n_draws x m`` tensor; row ``i`` is ONE function evaluated at all candidates.
            Draws may be of a monotone transform of the function (:meth:`to_units`).
        """

    def paths(self, n_draws: int, generator: torch.Generator):
        """Where :attr:`has_paths`: ``n_draws`` function draws as an object whose
        ``draw(i, x)`` evaluates draw ``i`` at ``k x d`` points differentiably and whose call
        ``paths(x)`` gives ``n_draws x m`` exactly as :meth:`sample` would with the same
        generator state. Surrogates without paths do not override this."""
        raise NotImplementedError(f"the {self.name} surrogate has no differentiable paths")

    #: Whether :meth:`predictive` is differentiable in its input (LogEI is then polished by L-BFGS-B).
    differentiable_predictive: bool = False

    def predictive(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """The Gaussian predictive of the function at ``candidates`` (mean and std, ``m``
        each, in the units of the draws), for :mod:`npopt.acquisition.logei`. Default:
        :meth:`predict`."""
        return self.predict(candidates)

    def lengthscales(self) -> Tensor | None:
        """``d`` positive lengthscales of the last :meth:`condition`'s fit, in unit-cube
        coordinates (relative values are what matter: they shape a trust region's box);
        ``None``: the surrogate has none (the box is then a cube)."""
        return None

    @property
    def output_warp(self) -> float | None:
        """The output warp the last :meth:`condition` chose, for the record (the NP's offset
        of its log-gap warp); ``None``: the values as given (default)."""
        return None

    def to_units(self, values: Tensor) -> Tensor:
        """Values of :meth:`sample`'s draws (or of :meth:`predict`) in the units of the
        values given to :meth:`condition`. A surrogate may draw a monotone transform of
        the function instead of the function (the same minima, which is all Thompson
        sampling reads); this maps such values back. Default: they are already in those units."""
        return values

    def predict(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """Predictive mean and std at ``candidates`` (``m`` each), for display/plots."""
        gen = torch.Generator().manual_seed(0)
        draws = self.sample(candidates, 64, gen)
        return draws.mean(0), draws.std(0)
