"""The ``np`` surrogate: a shipped, meta-trained Neural Process prior.

Conditioning is one forward pass (no fitting); each Thompson draw is one latent ``z``
decoded at every candidate, i.e. one coherent function.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from npopt.surrogates.base import Surrogate


@lru_cache(maxsize=4)
def _load(path: str):
    from npopt.neural.checkpoints import load_model

    model, _ = load_model(Path(path))
    return model


class NPSurrogate(Surrogate):
    """Thompson draws from a meta-trained Neural Process."""

    name = "np"
    min_observations = 1

    def __init__(self, checkpoint: str | Path) -> None:
        self.checkpoint = Path(checkpoint)
        self.model = _load(str(self.checkpoint))
        self.max_dim = self.model.config.x_dim
        self._X: Tensor | None = None
        self._y: Tensor | None = None

    @classmethod
    def for_dim(cls, dim: int, checkpoint: str | Path | None = None) -> "NPSurrogate":
        """The shipped prior for ``dim`` inputs (or ``checkpoint``); NoPriorError if none."""
        from npopt.neural.checkpoints import prior_path

        path = prior_path(str(checkpoint) if checkpoint else None, dim=dim)
        surrogate = cls(path)
        if surrogate.model.config.x_dim != dim:
            from npopt.errors import NoPriorError

            raise NoPriorError(
                f"prior {path} is {surrogate.model.config.x_dim}-D but the space is {dim}-D; "
                "use a matching prior or --surrogate gp"
            )
        return surrogate

    def condition(self, X: Tensor, y: Tensor) -> None:
        self._X, self._y = X.float(), y.float()

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        if self._X is None:
            raise RuntimeError("condition() the surrogate before sampling")
        return self.model.sample_functions(self._X, self._y, candidates.float(), n_draws, generator).double()

    def predict(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        mean, std = self.model.predict(self._X, self._y, candidates.float())
        return mean.double(), std.double()
