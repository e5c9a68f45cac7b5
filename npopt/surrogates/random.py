"""Random search as a surrogate: every draw is iid uniform noise.

The argmin of a row of iid uniform values is a uniformly random candidate, so Thompson
sampling over this surrogate *is* random search and goes through the same code path as
the model-based surrogates. It covers every parameter type: the candidates are uniform
in the unit cube and snapped by the space (ints and categories to their slice centres,
each with its share of the cube), whatever :attr:`choices` says.
"""

from __future__ import annotations

import torch
from torch import Tensor

from npopt.acquisition.options import AcquisitionOptions
from npopt.surrogates.base import Surrogate


class RandomSurrogate(Surrogate):
    """Ignores the observations; draws iid ``U(0, 1)`` values at the candidates."""

    name = "random"
    min_observations = 0
    acquisition = AcquisitionOptions(local_candidates=False)  # uniform search: nothing near the incumbent

    def __init__(self, choices: tuple[int, ...] = ()) -> None:
        self.choices = tuple(choices) if any(choices) else ()

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Nothing to learn."""

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        """``n_draws x m`` iid uniform values (``m`` = number of candidates)."""
        return torch.rand(n_draws, candidates.shape[0], generator=generator, dtype=torch.float64)
