"""The one conversion between a study's trials and what the models see.

Outward, a study holds params in user units (floats, log floats, ints, categories) and
values in either direction. Inward, surrogates and Thompson sampling see points in the
unit cube ``[0, 1]^d``, values standardised and always *minimised*. This module is the
only place that converts, both ways; nothing downstream of it branches on parameter
types or directions. The acquisition learns of a space only through :class:`UnitSpace`:
its dimension, which coordinates are categorical (and of how many choices), how unit
points snap to the params they stand for, and the exclusion radius.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from npopt.space import Space, to_minimise
from npopt.trial import Trial

#: The exclusion radius on a fixed grid of allowed points: only the points themselves.
GRID_RADIUS = 1e-6


def default_radius(dim: int) -> float:
    """Points closer than this in the ``dim``-dimensional unit cube count as the same point."""
    return 1e-3 * math.sqrt(dim)


@dataclass(frozen=True)
class UnitSpace:
    """A search space as the acquisition sees it.

    Attributes:
        dim: number of unit-cube coordinates ``d``.
        choices: per coordinate, the number of categories ``C >= 2`` of a categorical
            coordinate, 0 otherwise (``d`` entries); empty: every coordinate is continuous.
        snap: ``m x d -> m x d`` map of unit points to the points of the params they stand
            for (ints and categories at their slice centres); ``None``: nothing to snap.
        radius: candidates closer than this to a point that must not be repeated are excluded.
    """

    dim: int
    choices: tuple[int, ...] = ()
    snap: Callable[[Tensor], Tensor] | None = None
    radius: float | None = None

    def __post_init__(self) -> None:
        if self.radius is None:
            object.__setattr__(self, "radius", default_radius(self.dim))

    @classmethod
    def of(cls, space: Space) -> UnitSpace:
        """The unit space of a study's search space."""
        return cls(space.dim, space.choices, on_tensors(space.snap_unit) if space.has_discrete else None)

    @property
    def movable(self) -> Tensor | None:
        """``d`` floats, 1 for coordinates a gradient may move (not categorical); ``None``: all."""
        if not self.choices:
            return None
        return torch.tensor([c < 2 for c in self.choices], dtype=torch.float64)


def on_tensors(fn: Callable) -> Callable[[Tensor], Tensor]:
    """``fn`` (a numpy ``m x d -> m x d`` map such as :meth:`npopt.space.Space.snap_unit`) on
    float64 tensors."""
    return lambda U: torch.from_numpy(fn(U.detach().to(torch.float64).cpu().numpy()))


def unit_points(space: Space, params: Sequence[Mapping[str, Any]]) -> Tensor:
    """``len(params) x d`` unit-cube points of parameter dicts in user units (float64)."""
    return torch.tensor([space.to_unit(p) for p in params], dtype=torch.float64).reshape(-1, space.dim)


def unit(space: Space, trials: Sequence[Trial]) -> Tensor:
    """``len(trials) x d`` unit-cube points of the trials' params (float64)."""
    return unit_points(space, [t.params for t in trials])


def minimised(direction: str, trials: Sequence[Trial]) -> Tensor:
    """``len(trials)`` values of complete trials, sign-adjusted so that smaller is better."""
    return torch.tensor([to_minimise(t.value, direction) for t in trials], dtype=torch.float64)


def to_params(space: Space, U: Tensor) -> list[dict[str, Any]]:
    """``m x d`` unit points -> ``m`` parameter dicts in user units (fixed values included)."""
    return [space.from_unit(u) for u in U.tolist()]


def standardise(y: Tensor) -> Tensor:
    """Standardise observations that are to be minimised.

    Values are centred and scaled (mean/std, as in the NP's meta-training); outliers in
    the upper (bad) tail, beyond 2.5 standard deviations, are compressed with a
    logarithm so that a few catastrophic evaluations do not squash the region that
    matters for minimisation. The map is monotone and smooth, so the order of
    observations is unchanged, and it leaves GP-like data (few points beyond 2.5 sd)
    almost untouched.

    Args:
        y: ``n`` raw values (minimised).

    Returns:
        ``n`` standardised values.
    """
    return standardisation(y)[0]


def _finite(y: Tensor) -> Tensor:
    """``y`` with infinite values clipped to the finite ones' range (as Optuna's GPSampler
    does): an infinite value still ranks worst (or best) but does not break the model."""
    finite = torch.isfinite(y)
    if bool(finite.all()):  # the usual case, and an empty y
        return y
    if not bool(finite.any()):  # nothing finite to rank against
        return torch.zeros_like(y)
    return y.clamp(float(y[finite].min()), float(y[finite].max()))


def standardisation(y: Tensor) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """:func:`standardise`'s values and its inverse: a map from standardised values (e.g.
    function draws) back to the units of ``y``, the compressed tail included."""
    forward, inverse = standardisation_maps(y)
    return forward(_finite(y.to(torch.float64))), inverse


def standardisation_maps(y: Tensor) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
    """The map :func:`standardise` applies to ``y``, as a function that takes other values
    too (a constraint's bound, into the units of its standardised values), and its inverse."""
    y = _finite(y.to(torch.float64))
    if y.numel() < 2:
        shift = float(y[0]) if y.numel() else 0.0
        return (lambda v: v.to(torch.float64) - shift), (lambda s: s + shift)
    # Values near the float maximum would overflow the mean and the squares of the std: work
    # in units of a power of two, which is exact, so ordinary values give the same bits.
    scale = float(torch.ldexp(torch.tensor(1.0, dtype=torch.float64), torch.frexp(y.abs().max())[1] - 1))

    def compress(z: Tensor) -> Tensor:
        return torch.where(z > 2.5, 2.5 + torch.log1p((z - 2.5).clamp_min(0.0)), z)

    scaled = y / scale
    # the floor of 1e-12 is in the values' own units (capped where subnormal values would overflow it)
    mean1, std1 = scaled.mean(), scaled.std().clamp_min(min(1e-12 / scale, 1e280))
    z = compress((scaled - mean1) / std1)
    mean2, std2 = z.mean(), z.std().clamp_min(1e-12)

    def forward(v: Tensor) -> Tensor:
        return (compress((v.to(torch.float64) / scale - mean1) / std1) - mean2) / std2

    def inverse(s: Tensor) -> Tensor:
        w = s.to(torch.float64) * std2 + mean2
        w = torch.where(w > 2.5, 2.5 + torch.expm1((w - 2.5).clamp_min(0.0)), w)
        return (w * std1 + mean1) * scale

    return forward, inverse


@dataclass(frozen=True)
class Observed:
    """A study's complete trials as the models see them when it declares several outcomes.

    Attributes:
        Y: ``n x k`` values, one column per outcome (the objectives first, minimised), each
            standardised as :func:`standardise` does.
        lower, upper: ``k`` bounds of each column in its standardised units (a constraint's
            ``min`` and ``max``; ``-inf`` / ``inf`` where none, and for every objective).
        objectives: how many of the columns are objectives.
    """

    Y: Tensor
    lower: Tensor
    upper: Tensor
    objectives: int


def observed(outcomes, trials: Sequence[Trial]) -> Observed:
    """The outcome columns of complete ``trials`` of a study with ``outcomes``
    (:class:`~npopt.outcomes.Outcomes`): objectives minimised, every column standardised,
    constraint bounds mapped into their column's units by the same (monotone) map."""
    columns, lower, upper = [], [], []
    for name, direction in outcomes.objectives:
        raw = torch.tensor([to_minimise(outcomes.values(t)[name], direction) for t in trials], dtype=torch.float64)
        columns.append(standardise(raw))
        lower.append(-math.inf)
        upper.append(math.inf)
    for c in outcomes.constraints:
        raw = torch.tensor([outcomes.values(t)[c.name] for t in trials], dtype=torch.float64)
        forward, _ = standardisation_maps(raw)
        columns.append(forward(raw))
        bounds = torch.tensor([-math.inf if c.low is None else c.low, math.inf if c.high is None else c.high],
                              dtype=torch.float64)
        mapped = forward(bounds.clamp(-1e300, 1e300))
        lower.append(-math.inf if c.low is None else float(mapped[0]))
        upper.append(math.inf if c.high is None else float(mapped[1]))
    n = len(trials)
    Y = torch.stack(columns, 1) if columns and n else torch.zeros(n, len(columns), dtype=torch.float64)
    return Observed(Y, torch.tensor(lower, dtype=torch.float64), torch.tensor(upper, dtype=torch.float64),
                    len(outcomes.objectives))
