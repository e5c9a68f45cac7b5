"""Thompson sampling with constraints and several objectives: one draw per outcome, one score.

A study that declares constraints or several objectives has one surrogate per outcome,
each conditioned on its own column of :class:`~npopt.encoding.Observed`. Draw ``i`` of
the suggestion draws every outcome's function once (a coherent draw each) and scores a
point by those draws alone, so the rest of Thompson sampling -- candidates, trust region,
L-BFGS-B on the draw, exclusion, ranked alternatives -- runs unchanged on the score:

* **Constraints** (SCBO: Eriksson & Poloczek 2021, "Scalable Constrained Bayesian
  Optimization"): a point where every constraint's draw holds scores its objective draw;
  a point where one does not scores :data:`INFEASIBLE` plus its summed violation, so the
  draw's best feasible point wins, and where the draw has none, its least-violating one.
* **Several objectives** (Paria, Kandasamy & Poczos 2019, "A Flexible Framework for
  Multi-Objective Bayesian Optimization using Random Scalarizations"): each draw gets its
  own weights ``w`` drawn uniformly from the simplex and scores the augmented Chebyshev
  scalarisation ``max_k w_k u_k + RHO * sum_k w_k u_k`` of the objectives' draws ``u_k``,
  each measured from the draw's own ideal point and normalised by the span of the
  observed front (:meth:`OutcomeModels.ideal`, :meth:`OutcomeModels._normalisation`); the
  augmented term (Knowles 2006, ParEGO's ``rho = 0.05``) keeps weakly dominated points
  from tying with the points that dominate them. Different draws, different weights:
  a batch spreads along the front.

The trust region and the local candidates need one number per observation, the
:meth:`OutcomeModels.merit`: the same rules applied to the observed values (equal weights),
so the incumbent is the best feasible trial, or the least-violating one while none is
feasible (SCBO's rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from npopt.encoding import Observed
from npopt.surrogates.base import Surrogate

#: What a point whose draw breaks a constraint scores, before its violation is added: above
#: any objective score (standardised draws and Chebyshev scores are of order 1 to 100).
INFEASIBLE = 1e6
#: The weight of the augmented term of the Chebyshev scalarisation (ParEGO's).
RHO = 0.05


class OutcomeModels(Surrogate):
    """One surrogate per outcome column (objectives first), scored as one draw.

    Args:
        models: a surrogate per column of ``observed.Y``, of one kind.
        observed: the columns' bounds and how many are objectives (the values come with
            :meth:`condition`).
    """

    name = "outcomes"
    #: Whether each outcome's NP fits a constant mean (:attr:`NPSurrogate.constant_mean`, on
    #: for one objective). Off: on the constrained and multi-objective suites it changed one
    #: problem's comparison with GPSampler on one seed set of two in each, and it narrowed
    #: ZDT1's front in 24 trials (benchmarks/results/constant_mean; benchmarks/outcome_levers.py).
    constant_mean = False

    def __init__(self, models: Sequence[Surrogate], observed: Observed) -> None:
        if len(models) != observed.Y.shape[1]:
            raise ValueError(f"{len(models)} models for {observed.Y.shape[1]} outcome columns")
        self.models = list(models)
        for model in self.models:
            if hasattr(model, "constant_mean"):
                model.constant_mean = self.constant_mean
        self.objectives = observed.objectives
        self.lower, self.upper = observed.lower, observed.upper
        first = self.models[0]
        self.acquisition = first.acquisition
        self.choices = first.choices
        self.min_observations = max(m.min_observations for m in self.models)
        self.has_paths = all(m.has_paths for m in self.models)
        self.max_dim = first.max_dim
        self._ideal = torch.zeros(self.objectives, dtype=torch.float64)
        self._range = torch.ones(self.objectives, dtype=torch.float64)

    # ------------------------------------------------------------ the observations

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition each model on its column of ``y`` (``n x k``)."""
        for j, model in enumerate(self.models):
            model.condition(X, y[:, j])
        if y.shape[0]:
            self._ideal, self._range = self._normalisation(y)

    def merit(self, y: Tensor) -> Tensor:
        """``n`` numbers, smaller better, that order the observations ``y`` (``n x k``) as the
        draws' scores order points: feasible ones by their objective (equal weights with
        several), then infeasible ones by their summed violation."""
        objectives = y[:, :self.objectives]
        if not y.shape[0]:
            return y.new_zeros(0)
        if self.objectives > 1:
            ideal, span = self._normalisation(y)
            weights = torch.full((1, self.objectives), 1.0 / self.objectives, dtype=torch.float64)
            score = chebyshev((objectives - ideal) / span, weights)
        else:
            score = objectives[:, 0]
        violation = self._violation(y)
        worst = score.max() if score.numel() else torch.tensor(0.0, dtype=torch.float64)
        return torch.where(violation > 0, worst + 1.0 + violation, score)

    def _normalisation(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """The objectives' ideal point (the observed minima) and the span from it to the
        nadir of the observed front (its non-dominated feasible points; all points while
        none is feasible), per objective; where the front is flat in an objective, the span
        of all observations. Normalising by the front, not by every observation, keeps a
        few very bad points from flattening the front's trade-off into one objective."""
        objectives = y[:, :self.objectives]
        ideal = objectives.min(0).values
        feasible = self._violation(y) == 0
        pool = objectives[feasible] if bool(feasible.any()) else objectives
        front = pool[non_dominated(pool)]
        span = front.max(0).values - ideal
        overall = objectives.max(0).values - ideal
        span = torch.where(span > 1e-6, span, overall).clamp_min(1e-9)
        return ideal, span

    def lengthscales(self) -> Tensor | None:
        """The first objective's model's (they shape the trust region's box)."""
        return self.models[0].lengthscales()

    # ------------------------------------------------------------ draws and their score

    def _violation(self, values: Tensor) -> Tensor:
        """Summed violation of the constraint columns (last dim: outcomes)."""
        if values.shape[-1] == self.objectives:
            return torch.zeros(values.shape[:-1], dtype=values.dtype)
        c = values[..., self.objectives:]
        lower, upper = self.lower[self.objectives:].to(c), self.upper[self.objectives:].to(c)
        return ((c - upper).clamp_min(0.0) + (lower - c).clamp_min(0.0)).sum(-1)

    def ideal(self, values: Tensor) -> Tensor:
        """Per draw, the ideal point the scalarisation measures from: each objective's lowest
        value on the draw at the candidates (``values``: ``n x m x k``) or observed, whichever
        is lower (``n x objectives``). Measured from the observed minima alone, no point could
        extend the front beyond its current ends: a point that improves one objective past
        its observed minimum gains nothing under the max."""
        drawn = values[..., :self.objectives].min(1).values
        return torch.minimum(drawn, self._ideal.to(values))

    def score(self, values: Tensor, weights: Tensor, ideal: Tensor | None = None) -> Tensor:
        """Scores of outcome draws ``values`` (``... x k``, in the models' units) under
        per-draw ``weights`` and ``ideal`` points (``... x objectives``, broadcast against
        ``values``; ``ideal`` default: the observed minima)."""
        objectives = values[..., :self.objectives]
        if self.objectives > 1:
            ideal = self._ideal.to(values) if ideal is None else ideal
            score = chebyshev((objectives - ideal) / self._range.to(values), weights)
        else:
            score = objectives[..., 0]
        violation = self._violation(values)
        return torch.where(violation > 0, INFEASIBLE + violation, score)

    def _weights(self, n_draws: int, generator: torch.Generator) -> Tensor:
        """``n_draws x objectives`` weights, uniform on the simplex (normalised exponentials)."""
        e = -torch.rand(n_draws, self.objectives, generator=generator, dtype=torch.float64).clamp_min(1e-300).log()
        return e / e.sum(1, keepdim=True)

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        """``n_draws x m`` scores of joint draws of every outcome at ``candidates``."""
        weights = self._weights(n_draws, generator)
        draws = torch.stack([m.to_units(m.sample(candidates, n_draws, generator).double()) for m in self.models], -1)
        return self.score(draws, weights[:, None, :], self.ideal(draws)[:, None, :])

    def paths(self, n_draws: int, generator: torch.Generator):
        weights = self._weights(n_draws, generator)
        return _ScoredPaths(self, [m.paths(n_draws, generator) for m in self.models], weights)


class _ScoredPaths:
    """The outcomes' function paths seen as one score per draw (:meth:`OutcomeModels.score`)."""

    def __init__(self, owner: OutcomeModels, paths: list, weights: Tensor) -> None:
        self.owner, self.paths, self.weights = owner, paths, weights
        self.ideals: Tensor | None = None  # n x objectives, set by the call over the candidates

    def __call__(self, x: Tensor) -> Tensor:
        """``n x m`` scores at the candidates ``x``; fixes each draw's ideal point (the
        minima over ``x``) for the later :meth:`draw` calls that minimise it."""
        values = torch.stack([m.to_units(p(x).double()) for m, p in zip(self.owner.models, self.paths, strict=True)],
                             -1)  # n x m x k
        self.ideals = self.owner.ideal(values)
        return self.owner.score(values, self.weights[:, None, :], self.ideals[:, None, :])

    def draw(self, i: int, x: Tensor) -> Tensor:
        values = [m.to_units(p.draw(i, x).double()) for m, p in zip(self.owner.models, self.paths, strict=True)]
        ideal = None if self.ideals is None else self.ideals[i]
        return self.owner.score(torch.stack(values, -1), self.weights[i], ideal)  # k


def non_dominated(values: Tensor) -> Tensor:
    """``n`` booleans: the rows of ``values`` (``n x K``, minimised) that no other row dominates."""
    le = (values[:, None, :] <= values[None, :, :]).all(-1)  # le[i, j]: row i is nowhere worse than row j
    lt = (values[:, None, :] < values[None, :, :]).any(-1)
    return ~(le & lt).any(0)


def chebyshev(u: Tensor, weights: Tensor) -> Tensor:
    """The augmented Chebyshev scalarisation of normalised objectives ``u`` (``... x K``)
    under ``weights`` (broadcast): ``max_k w_k u_k + RHO * sum_k w_k u_k``."""
    weighted = u * weights
    return weighted.max(-1).values + RHO * weighted.sum(-1)
