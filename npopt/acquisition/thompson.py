"""Thompson sampling over any :class:`~npopt.surrogates.base.Surrogate`.

Each suggested point is the argmin of ONE coherent function draw over a candidate set
(:mod:`npopt.acquisition.candidates`), so a batch of ``n`` points comes from ``n``
independent draws. Candidates close to points that must not be repeated (pending trials,
failed trials, points already observed or already picked in this batch) are excluded.

Mixed spaces reach this module only as a :class:`~npopt.encoding.UnitSpace`, never as
parameter types: ``choices`` (per coordinate, the number of categories ``C >= 2`` or 0) and
a ``snap`` function that moves ``m x d`` points to the unit points of the parameters they
stand for (integers and categories at their slice centres). Local perturbations resample
categories instead of adding noise to them; the gradient polish moves the other
coordinates only, and its result is snapped. How a surrogate's draws are searched is the
surrogate's declared :class:`~npopt.acquisition.options.AcquisitionOptions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from npopt.acquisition.candidates import candidate_set, resample_categories, taken_points, too_close
from npopt.acquisition.minimise import minimise
from npopt.acquisition.options import AcquisitionOptions
from npopt.acquisition.trust_region import box, candidates_in, replay
from npopt.encoding import GRID_RADIUS, UnitSpace
from npopt.optim import Adam, single_thread

if TYPE_CHECKING:
    from npopt.surrogates.base import Surrogate


def first_free(options: Tensor, taken: Tensor, r: float) -> Tensor:
    """The first of ``options`` (``k x d``, best first) farther than ``r`` from every point
    of ``taken`` (``m x d``); the first option if none is (or nothing is taken)."""
    if not taken.shape[0]:
        return options[0]
    free = torch.cdist(options, taken).min(dim=1).values > r
    return options[int(free.nonzero()[0])] if bool(free.any()) else options[0]


#: Gradient steps that polish each Thompson draw's argmin in 2 or more dimensions.
POLISH_STEPS = 15


def polish(paths, i: int, start: Tensor, X: Tensor, avoid: Tensor | None, picked: list[Tensor],
            radius: float, steps: int, movable: Tensor | None = None,
            snap: Callable[[Tensor], Tensor] | None = None, lr: float = 0.02) -> Tensor:
    """Descend draw ``i`` from ``start`` by Adam steps inside the unit cube.

    Only the ``movable`` coordinates (``d`` booleans; default all) move. Returns the lowest
    point visited; with ``snap`` (``m x d -> m x d``, e.g. integers to their slice centres)
    the steps move freely but each is judged where it lands, snapped (both in one draw
    call), so the point returned is the lowest snapped one. ``start`` if no visited point
    is lower than ``start`` on the same draw, or the lowest is too close to a point that
    must not be repeated."""
    x = start.clone()[None].requires_grad_(True)  # 1 x d
    opt = Adam([x], lr=lr)
    best_x, best_f, start_f = start, math.inf, math.inf

    def judged(f: Tensor, x: Tensor) -> tuple[float, Tensor]:  # (value, point) of a step
        return (float(f[1].detach()), x[1]) if snap is not None else (float(f[0].detach()), x[0])

    def both(x: Tensor) -> Tensor:  # the point, and its snapped twin when there is a snap
        return torch.cat([x, snap(x.detach())]) if snap is not None else x

    with torch.enable_grad():
        for step in range(steps):
            here = both(x)
            f = paths.draw(i, here)
            value, point = judged(f, here)
            if step == 0:
                start_f = value  # the first step's value is the start's (candidates come snapped)
            if value < best_f:
                best_x, best_f = point.detach().clone(), value
            (grad,) = torch.autograd.grad(f[0], x)  # only x: the model's weights get no gradients
            opt.step([grad if movable is None else grad * movable])  # zero-gradient coordinates stay put
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
    here = both(x.detach())
    value, point = judged(paths.draw(i, here), here)
    if value < best_f:
        best_x, best_f = point.clone(), value
    if snap is not None and not best_f < start_f:
        return start
    return start if bool(too_close(best_x[None], taken_points(X, avoid, picked), radius)[0]) else best_x


def trust_candidates(dim: int) -> int:
    """Candidates per trust region: ``min(100 d, 5000)``, TuRBO's."""
    return min(100 * dim, 5000)


def minimise_draw(paths, i: int, starts: Tensor, region: tuple[Tensor, Tensor], X: Tensor, avoid: Tensor | None,
                  picked: list[Tensor], radius: float, movable: Tensor | None = None,
                  snap: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """Draw ``i``'s lowest point reached by L-BFGS-B from ``starts`` (``k x d``, its lowest
    candidates, best first) inside ``region`` (``lo, hi``): the lowest end point that is
    not within ``radius`` of a point that must not be repeated, else the best start."""
    ends, values = minimise(lambda x: paths.draw(i, x), starts, *region, movable, snap)
    free = ~too_close(ends, taken_points(X, avoid, picked), radius)
    values = values.masked_fill(~free, float("inf"))
    j = int(values.argmin())
    return ends[j] if bool(free[j]) else starts[0]


def thompson_suggest(surrogate: Surrogate, X: Tensor, y: Tensor, n: int, generator: torch.Generator,
                     space: UnitSpace | None = None, **kwargs) -> Tensor:
    """Suggest ``n`` distinct points by Thompson sampling: ``n x d``, the first choice of
    each draw of :func:`thompson_ranked` (same arguments, without ``keep``)."""
    return thompson_ranked(surrogate, X, y, n, generator, space, keep=1, **kwargs)[:, 0]


@single_thread()
def thompson_ranked(
    surrogate: Surrogate,
    X: Tensor,
    y: Tensor,
    n: int,
    generator: torch.Generator,
    space: UnitSpace | None = None,
    *,
    options: AcquisitionOptions | None = None,
    avoid: Tensor | None = None,
    candidates: Tensor | None = None,
    grid: bool = False,
    keep: int = 1,
    remaining: int | None = None,
) -> Tensor:
    """Suggest ``n`` distinct points by Thompson sampling, each with ranked alternatives.

    Draw ``i``'s first choice is its (polished) argmin over the candidates that are not
    excluded; its alternatives are its next-lowest candidates, so that a caller that
    learns of new points to avoid later (another process's trials) can redo the exclusion
    without drawing again.

    Args:
        surrogate: any surrogate.
        X: ``n_obs x d`` observed points in the unit cube.
        y: ``n_obs`` standardised values (minimised); or ``n_obs x k``, one column per
            outcome, for a surrogate with a ``merit`` (:class:`~npopt.acquisition.several.OutcomeModels`),
            whose merit then places the trust region and the local candidates.
        n: number of points to suggest.
        generator: randomness (same seed -> same suggestions).
        space: the unit space (its categorical coordinates, its snap and its exclusion
            radius); default: ``d`` continuous coordinates, ``d`` read from ``X`` or
            ``candidates``. Local candidates resample categories; the polish leaves
            categorical coordinates where they are; the snap applies to the candidates
            (unless ``grid``) and to polished points, so that integers stay integers.
        options: how to search the draws; default: the surrogate's declared
            :attr:`~Surrogate.acquisition`. Its ``polish_steps`` default to
            :data:`POLISH_STEPS` for ``d >= 2``, 0 in 1-D, where the candidates already
            resolve a draw's minimum (polishing measured slightly worse on Forrester and
            cost 3x the time), and 0 where the local search applies; never on a grid, and
            only for surrogates with :attr:`~Surrogate.has_paths`.
        avoid: ``k x d`` points that must not be suggested again (pending, failed).
        candidates: ``m x d`` candidate set; default: :func:`candidate_set`.
        grid: ``candidates`` are the only points allowed (e.g. a benchmark's fixed grid):
            every pick is one of them, nothing is polished, and the exclusion radius is
            :data:`~npopt.encoding.GRID_RADIUS`.
        keep: choices per draw: the first and ``keep - 1`` alternatives.
        remaining: evaluations left in the caller's budget, these ``n`` included (``None``:
            unknown); see ``AcquisitionOptions.final_logei``.

    Returns:
        ``n x keep x d`` points (float64); draw ``i``'s row is best first (the last is
        repeated where fewer candidates were free).
    """
    X = X.to(torch.float64)
    y = y.to(torch.float64)
    rank = y if y.ndim == 1 else surrogate.merit(y)  # one number per observation, smaller better
    if space is None:
        dim = X.shape[1] if X.ndim == 2 and X.shape[1] > 0 else None
        dim = candidates.shape[1] if dim is None and candidates is not None else dim
        if dim is None:
            raise ValueError("cannot infer the dimension: pass X with shape n x d, candidates or the space")
        space = UnitSpace(dim)
    dim, choices, snap = space.dim, space.choices or None, space.snap
    if grid and candidates is None:
        raise ValueError("grid=True needs the grid as candidates")
    options = surrogate.acquisition if options is None else options
    final = remaining is not None and remaining <= options.final_logei
    if ((options.rule == "logei" or final) and candidates is None and not grid and y.ndim == 1
            and X.shape[0] >= max(1, surrogate.min_observations)):
        from npopt.acquisition.logei import logei_ranked

        return logei_ranked(surrogate, X, y, n, generator, space, options=options, avoid=avoid, keep=keep)
    movable = space.movable  # d, or None: every coordinate moves
    # a surrogate that trusts its draws only near its data, in a space of this many inputs:
    # search the perturbations of the best points, unpolished
    conditioned = X.shape[0] >= max(1, surrogate.min_observations)  # else the draws are uniform
    trust = (candidates is None and conditioned and not grid and options.trust_region_dim is not None
             and dim >= options.trust_region_dim)
    local_search = (not trust and candidates is None and conditioned and options.local_candidates
                    and options.local_search_dim is not None and dim >= options.local_search_dim)
    polish_steps = options.polish_steps
    if polish_steps is None:
        polish_steps = POLISH_STEPS if dim >= 2 and not local_search else 0
    if grid or trust or not surrogate.has_paths or (movable is not None and not movable.any()):
        polish_steps = 0
    region = None
    if trust:  # the draws are searched in a box around the incumbent
        surrogate.condition(X, y)
        state = replay(rank, dim)
        centre = X[state.incumbent]
        lo, hi = box(centre, state.length, surrogate.lengthscales(), movable)
        region = lo, hi
        candidates = candidates_in(lo, hi, centre, trust_candidates(dim), generator)
        if choices is not None and any(c >= 2 for c in choices):  # the local search's categorical moves
            candidates = resample_categories(candidates, centre.expand_as(candidates), choices, generator)
    elif candidates is None:
        local = options.local_candidates
        candidates = candidate_set(dim, generator, X if local else None, rank if local else None, choices=choices,
                                   lean=options.lean_candidates, n_space_filling=0 if local_search else None)
    candidates = candidates.to(torch.float64)
    if snap is not None and not grid:
        candidates = snap(candidates)  # points that stand for the same parameters coincide
    radius = GRID_RADIUS if grid else space.radius
    blocked = too_close(candidates, X, radius)
    if avoid is not None and avoid.numel():
        blocked |= too_close(candidates, avoid.reshape(-1, dim), radius)

    paths = None
    if not conditioned:
        draws = torch.rand(n, candidates.shape[0], generator=generator, dtype=torch.float64)
    else:
        if not trust:
            surrogate.condition(X, y)
        minimised = polish_steps or (trust and surrogate.has_paths and options.starts)
        paths = surrogate.paths(n, generator) if minimised else None
        if paths is not None:
            draws = paths(candidates).to(torch.float64)  # n x m, the same draws as sample()
        else:
            draws = surrogate.sample(candidates, n, generator).to(torch.float64)  # n x m

    picked: list[Tensor] = []
    ranked: list[Tensor] = []
    for i, row in enumerate(draws):
        row = row.masked_fill(blocked, math.inf)
        order = torch.topk(row, min(max(keep, options.starts if trust else 1), row.numel()),
                           largest=False).indices  # lowest first
        order = order[torch.isfinite(row[order])]
        if not order.numel():  # everything blocked: fall back to a uniform point
            point = torch.rand(dim, generator=generator, dtype=torch.float64)
            if grid:
                free = (~blocked).nonzero().flatten()
                point = candidates[free[0]] if free.numel() else candidates[0]
            elif snap is not None:
                point = snap(point[None])[0]
            others = point[None]
        else:
            point = candidates[int(order[0])]
            if paths is not None and region is not None:  # trust region: L-BFGS-B from the lowest candidates
                point = minimise_draw(paths, i, candidates[order[:options.starts]], region, X, avoid, picked,
                                      radius, movable, snap)
            elif paths is not None:
                point = polish(paths, i, point, X, avoid, picked, radius, polish_steps, movable, snap)
            others = torch.cat([point[None], candidates[order[1:keep]]], 0)
        picked.append(point)
        ranked.append(torch.cat([others, others[-1:].expand(keep - others.shape[0], -1)], 0))
        blocked |= too_close(candidates, point[None], radius)
    return torch.stack(ranked, 0)
