"""Trust regions for Thompson sampling (TuRBO: Eriksson et al. 2019, "Scalable Global
Optimization via Local Bayesian Optimization", NeurIPS).

Each draw is minimised inside a box around the incumbent instead of over the whole cube.
The box's side grows after a run of successes (new points that improve on the best) and
shrinks after a run of failures; when it has collapsed, it starts again at its initial
size. The constants are the paper's (its section 2 and appendix): initial side 0.8, at most
1.6, at least ``0.5 ** 7``; 3 successes double it, ``max(4, d)`` failures halve it (batch size
1: a batch of ``q`` points counts as ``q`` trials here); an improvement must beat the best
by ``1e-3`` (in standardised units, as the values reach the surrogate). The side of each
coordinate is scaled by the surrogate's lengthscale there over their geometric mean, so
the box is long where the function is smooth.

The paper keeps this state in the optimiser's memory. Here it is a pure function of the
study's complete trials in the order of their numbers (:func:`replay`), so a fresh
``npopt ask`` process, a long ``npopt run`` and several workers sharing a study all see the
same region for the same trials. One difference from the paper follows: where TuRBO
restarts from a fresh design (forgetting its data), a collapsed region here restarts at
its initial side around the incumbent, with every observation kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

#: TuRBO's initial, largest and smallest side (in the unit cube, before the lengthscale weights).
LENGTH_INIT, LENGTH_MAX, LENGTH_MIN = 0.8, 1.6, 0.5**7
#: Consecutive successes that double the side.
SUCCESS_TOLERANCE = 3
#: An improvement beats the best value by more than this (standardised units).
IMPROVEMENT = 1e-3


def failure_tolerance(dim: int) -> int:
    """Consecutive failures that halve the side: ``max(4, d)`` (TuRBO with batch size 1)."""
    return max(4, dim)


@dataclass(frozen=True)
class TrustRegion:
    """The region after a sequence of values: its side, the incumbent's index and how it got there."""

    length: float
    incumbent: int
    successes: int = 0
    failures: int = 0
    restarts: int = 0


def replay(y: Tensor, dim: int) -> TrustRegion:
    """The trust region after observing the values ``y`` (``n >= 1``, minimised) in order."""
    values = y.detach().double().tolist()
    length, successes, failures, restarts = LENGTH_INIT, 0, 0, 0
    best, incumbent = values[0], 0
    tolerance = failure_tolerance(dim)
    for i, v in enumerate(values[1:], 1):
        if v < best - IMPROVEMENT:
            successes, failures = successes + 1, 0
        else:
            successes, failures = 0, failures + 1
        if v < best:
            best, incumbent = v, i
        if successes == SUCCESS_TOLERANCE:
            length, successes = min(2 * length, LENGTH_MAX), 0
        elif failures == tolerance:
            length, failures = length / 2, 0
        if length < LENGTH_MIN:
            length, successes, failures, restarts = LENGTH_INIT, 0, 0, restarts + 1
    return TrustRegion(length, incumbent, successes, failures, restarts)


def box(centre: Tensor, length: float, lengthscales: Tensor | None = None,
        movable: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The region's lower and upper corners (``d`` each, inside the unit cube).

    Args:
        centre: ``d`` incumbent.
        length: the side before weighting.
        lengthscales: ``d`` positive lengthscales (``None``: a cube); each side is
            ``length * l_j / geomean(l)``, the mean over the movable coordinates.
        movable: ``d`` booleans; coordinates that are not (categorical ones) span ``[0, 1]``.
    """
    side = torch.full_like(centre, length)
    if lengthscales is not None:
        ls = lengthscales.to(centre).clamp_min(1e-12)
        moving = ls.log() if movable is None else ls.log()[movable.to(torch.bool)]
        if moving.numel():  # the geometric mean of the coordinates that move (categories span [0, 1])
            side = length * ls / moving.mean().exp()
    lo = (centre - side / 2).clamp(0.0, 1.0)
    hi = (centre + side / 2).clamp(0.0, 1.0)
    if movable is not None:
        movable = movable.to(torch.bool)
        lo = torch.where(movable, lo, torch.zeros_like(lo))
        hi = torch.where(movable, hi, torch.ones_like(hi))
    return lo, hi


def candidates_in(lo: Tensor, hi: Tensor, centre: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``n x d`` candidates in the box: Sobol points of which each coordinate is kept, with
    probability ``min(1, 20 / d)``, and otherwise set to the incumbent's (TuRBO's perturbation
    mask for high dimensions: a draw is searched along few coordinates at a time, as a
    local method would); every row changes at least one coordinate."""
    dim = centre.shape[0]
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sobol = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed).draw(n, dtype=torch.float64)
    points = lo + (hi - lo) * sobol  # n x d
    keep = torch.rand(n, dim, generator=generator, dtype=torch.float64) < min(1.0, 20.0 / dim)
    none = ~keep.any(1)
    keep[none, torch.randint(0, dim, (int(none.sum()),), generator=generator)] = True
    return torch.where(keep, points, centre.expand(n, dim))
