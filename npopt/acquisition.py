"""Thompson sampling over any :class:`~npopt.surrogates.base.Surrogate`.

Each suggested point is the argmin of ONE coherent function draw over a candidate set
(space-filling Sobol points plus local perturbations of the best observations), so a
batch of ``n`` points comes from ``n`` independent draws. Candidates close to points
that must not be repeated (pending trials, failed trials, points already observed or
already picked in this batch) are excluded.

Mixed spaces reach this module only as two facts about the unit cube, never as parameter
types: ``choices`` (per coordinate, the number of categories ``C >= 2`` or 0) and a
``snap`` function that moves ``m x d`` points to the unit points of the parameters they
stand for (integers and categories at their slice centres). Local perturbations resample
categories instead of adding noise to them; the gradient polish moves the other
coordinates only, and its result is snapped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from npopt.gpmath import choice_index
from npopt.optim import Adam
from npopt.surrogates.base import Surrogate


@contextmanager
def single_thread():
    """Run torch on one thread (also usable as a decorator), restoring the setting after.

    Suggestions are many small tensor ops; on a busy 2-core machine torch's thread pool
    made them up to 300x slower than one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


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


def standardisation(y: Tensor) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """:func:`standardise`'s values and its inverse: a map from standardised values (e.g.
    function draws) back to the units of ``y``, the compressed tail included."""
    y = y.to(torch.float64)
    if y.numel() < 2:
        shift = float(y[0]) if y.numel() else 0.0
        return torch.zeros_like(y), lambda s: s + shift
    mean1, std1 = y.mean(), y.std().clamp_min(1e-12)
    z = (y - mean1) / std1
    z = torch.where(z > 2.5, 2.5 + torch.log1p((z - 2.5).clamp_min(0.0)), z)
    mean2, std2 = z.mean(), z.std().clamp_min(1e-12)

    def inverse(s: Tensor) -> Tensor:
        w = s.to(torch.float64) * std2 + mean2
        w = torch.where(w > 2.5, 2.5 + torch.expm1((w - 2.5).clamp_min(0.0)), w)
        return w * std1 + mean1

    return (z - mean2) / std2, inverse


def candidate_set(
    dim: int,
    generator: torch.Generator,
    X: Tensor | None = None,
    y: Tensor | None = None,
    n_space_filling: int | None = None,
    n_best: int = 5,
    choices: Sequence[int] | None = None,
    lean: bool = False,
) -> Tensor:
    """A space-filling set plus local perturbations of the best observations.

    Continuous (and integer) coordinates of a perturbation get Gaussian noise at three
    scales. A categorical coordinate instead keeps its category or, with probability
    ``1 / (number of categorical coordinates)``, takes a uniformly drawn one (which may be
    the same); at least half of the perturbations change a categorical coordinate.
    Categorical coordinates of the perturbations are at category centres
    ``(i + 0.5) / C``; the Sobol points are left as drawn (snap them afterwards).

    Args:
        dim: input dimension ``d``.
        generator: randomness for the Sobol scramble and the perturbations.
        X: ``n x d`` observed points (optional), y: ``n`` standardised values.
        n_space_filling: number of Sobol points (default grows with ``d``; 0: none, only
            the perturbations, which then need ``X`` and ``y``).
        n_best: how many of the best observations get local perturbations.
        choices: per coordinate, the number of categories ``C >= 2`` of a categorical
            coordinate, 0 otherwise (``d`` entries; default: no categoricals).
        lean: about a third of the candidates (``min(2048, 256 + 128 d)`` Sobol points and
            ``16 d`` perturbations per best point and scale, instead of
            ``min(4096, 512 + 256 d)`` and ``64 d``), for a surrogate whose draws cost
            more per candidate than its conditioning (:attr:`Surrogate.lean_candidates`).

    Returns:
        ``m x d`` candidates in the unit cube (float64).
    """
    if n_space_filling is None:
        n_space_filling = min(2048, 256 + 128 * dim) if lean else min(4096, 512 + 256 * dim)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    observed = X is not None and y is not None and X.shape[0] > 0
    parts = []
    if n_space_filling:
        sobol = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)
        parts.append(sobol.draw(n_space_filling, dtype=torch.float64))
    elif not observed:
        raise ValueError("a candidate set without space-filling points needs observations to perturb")
    if observed:
        best = X[torch.argsort(y)[:n_best]]  # k x d
        per = (16 if lean else 64) * dim
        for scale in (0.01, 0.05, 0.15):
            noise = torch.randn(best.shape[0], per, dim, generator=generator, dtype=torch.float64)
            local = (best[:, None, :] + scale * noise).reshape(-1, dim).clamp(0.0, 1.0)  # k*per x d
            if choices is not None and any(c >= 2 for c in choices):
                local = _resample_categories(local, best.repeat_interleave(per, 0), choices, generator)
            parts.append(local)
    return torch.cat(parts, 0)


def _resample_categories(local: Tensor, centres: Tensor, choices: Sequence[int], generator: torch.Generator) -> Tensor:
    """``local`` (``m x d``) with its categorical coordinates set to category centres.

    Each categorical coordinate keeps the category of its row's centre point (``m x d``)
    or, with probability ``1 / d_cat``, takes a uniformly drawn one; every other row
    (the even ones) moves one random categorical coordinate to a different category."""
    cat = torch.tensor([j for j, c in enumerate(choices) if c >= 2])  # d_cat coordinate indices
    C = torch.tensor([float(choices[j]) for j in cat.tolist()], dtype=torch.float64)  # d_cat
    m, d_cat = local.shape[0], cat.numel()
    kept = choice_index(centres[:, cat], C).to(torch.float64)  # m x d_cat indices
    drawn = torch.floor(torch.rand(m, d_cat, generator=generator, dtype=torch.float64) * C)  # m x d_cat
    change = torch.rand(m, d_cat, generator=generator, dtype=torch.float64) < 1.0 / d_cat  # m x d_cat
    index = torch.where(change, drawn, kept)  # m x d_cat
    rows = torch.arange(0, m, 2)  # r rows that change for sure
    j = torch.randint(0, d_cat, (rows.numel(),), generator=generator)  # r coordinates
    u = torch.rand(rows.numel(), generator=generator, dtype=torch.float64)
    shift = 1 + torch.floor(u * (C[j] - 1))  # r, 1..C-1
    index[rows, j] = torch.remainder(kept[rows, j] + shift, C[j])
    out = local.clone()
    out[:, cat] = (index + 0.5) / C
    return out


def on_tensors(fn: Callable) -> Callable[[Tensor], Tensor]:
    """``fn`` (a numpy ``m x d -> m x d`` map such as :meth:`npopt.space.Space.snap_unit`) on
    float64 tensors: the ``snap`` that :func:`thompson_suggest` takes."""
    return lambda U: torch.from_numpy(fn(U.detach().to(torch.float64).cpu().numpy()))


def _too_close(candidates: Tensor, points: Tensor, radius: float) -> Tensor:
    """``m`` boolean mask: candidate within ``radius`` of any of ``points`` (``k x d``).

    A projection on one fixed direction never lengthens a distance, so after sorting the
    points' projections, each candidate is measured only against the points whose
    projection lies within ``radius`` of its own: a few pairs per candidate instead of the
    full ``m x k`` distance matrix (60 ms for 7,808 candidates and 1,000 points)."""
    m, k, d = candidates.shape[0], points.shape[0], candidates.shape[1]
    if points.numel() == 0:
        return torch.zeros(m, dtype=torch.bool)
    points = points.to(candidates)
    direction = torch.arange(1, d + 1, dtype=candidates.dtype).sqrt()  # distinct weights: snapped points still spread
    direction = direction / direction.norm()
    keys, order = torch.sort(points @ direction)
    projected = candidates @ direction
    lo = torch.searchsorted(keys, projected - radius)
    count = torch.searchsorted(keys, projected + radius, right=True) - lo  # m: points in each window
    total = int(count.sum())
    if total > 50 * (m + k):  # piled-up projections (a lattice of snapped points): measure everything
        return torch.cdist(candidates, points).min(dim=1).values <= radius
    which = torch.repeat_interleave(torch.arange(m), count)  # total pairs: candidate ...
    start = torch.cumsum(count, 0) - count
    near = order[lo[which] + torch.arange(total) - start[which]]  # ... and point
    within = (candidates[which] - points[near]).pow(2).sum(-1) <= radius**2
    close = torch.zeros(m, dtype=torch.bool)
    close[which[within]] = True
    return close


#: Gradient steps that polish each Thompson draw's argmin in 2 or more dimensions.
POLISH_STEPS = 15


def _polish(paths, i: int, start: Tensor, X: Tensor, avoid: Tensor | None, picked: list[Tensor],
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
    d = best_x.shape[0]
    others = [X.to(best_x), *(p[None] for p in picked)]
    if avoid is not None:
        others.append(avoid.reshape(-1, d).to(best_x))
    return start if bool(_too_close(best_x[None], torch.cat(others, 0), radius)[0]) else best_x


def thompson_suggest(surrogate: Surrogate, X: Tensor, y: Tensor, n: int, generator: torch.Generator,
                     *args, **kwargs) -> Tensor:
    """Suggest ``n`` distinct points by Thompson sampling: ``n x d``, the first choice of
    each draw of :func:`thompson_ranked` (same arguments, without ``keep``)."""
    return thompson_ranked(surrogate, X, y, n, generator, *args, keep=1, **kwargs)[:, 0]


@single_thread()
def thompson_ranked(
    surrogate: Surrogate,
    X: Tensor,
    y: Tensor,
    n: int,
    generator: torch.Generator,
    avoid: Tensor | None = None,
    candidates: Tensor | None = None,
    radius: float | None = None,
    polish_steps: int | None = None,
    *,
    grid: bool = False,
    choices: Sequence[int] | None = None,
    snap: Callable[[Tensor], Tensor] | None = None,
    keep: int = 1,
) -> Tensor:
    """Suggest ``n`` distinct points by Thompson sampling, each with ranked alternatives.

    Draw ``i``'s first choice is its (polished) argmin over the candidates that are not
    excluded; its alternatives are its next-lowest candidates, so that a caller that
    learns of new points to avoid later (another process's trials) can redo the exclusion
    without drawing again.

    Args:
        surrogate: any surrogate.
        X: ``n_obs x d`` observed points in the unit cube.
        y: ``n_obs`` standardised values (minimised).
        n: number of points to suggest.
        generator: randomness (same seed -> same suggestions).
        avoid: ``k x d`` points that must not be suggested again (pending, failed).
        candidates: ``m x d`` candidate set; default: :func:`candidate_set`.
        radius: exclusion radius around observed/avoided/picked points
            (default ``1e-6`` on a grid, ``1e-3 * sqrt(d)`` otherwise).
        polish_steps: gradient steps that move each draw's best candidate downhill on
            that same draw, for surrogates with differentiable :meth:`~Surrogate.paths`
            (never on a grid; 0: off). Default: :data:`POLISH_STEPS` for ``d >= 2``, 0 in 1-D, where the
            candidates already resolve a draw's minimum (polishing measured slightly
            worse on Forrester and cost 3x the time), and 0 where the surrogate's local
            search applies (:attr:`~Surrogate.local_search_dim`).
        grid: ``candidates`` are the only points allowed (e.g. a benchmark's fixed grid):
            every pick is one of them and nothing is polished.
        choices: per coordinate, the number of categories ``C >= 2`` of a categorical
            coordinate, 0 otherwise (``d`` entries). Local candidates resample categories;
            the polish leaves categorical coordinates where they are.
        snap: ``m x d -> m x d`` map of unit points to the points of the parameters they
            stand for (e.g. ``Space.snap_unit``); applied to the candidates (unless
            ``grid``) and to polished points, so that integers stay integers.
        keep: choices per draw: the first and ``keep - 1`` alternatives.

    Returns:
        ``n x keep x d`` points (float64); draw ``i``'s row is best first (the last is
        repeated where fewer candidates were free).
    """
    X = X.to(torch.float64)
    y = y.to(torch.float64)
    dim = X.shape[1] if X.ndim == 2 and X.shape[1] > 0 else (candidates.shape[1] if candidates is not None else None)
    if dim is None:
        raise ValueError("cannot infer the dimension: pass X with shape n x d or candidates")
    if grid and candidates is None:
        raise ValueError("grid=True needs the grid as candidates")
    movable = None if choices is None else torch.tensor([c < 2 for c in choices], dtype=torch.float64)  # d
    # a surrogate that trusts its draws only near its data, in a space of this many inputs:
    # search the perturbations of the best points, unpolished
    conditioned = X.shape[0] >= max(1, surrogate.min_observations)  # else the draws are uniform
    local_search = (candidates is None and conditioned and surrogate.local_candidates
                    and surrogate.local_search_dim is not None and dim >= surrogate.local_search_dim)
    if polish_steps is None:
        polish_steps = POLISH_STEPS if dim >= 2 and not local_search else 0
    if grid or (movable is not None and not movable.any()):
        polish_steps = 0
    if candidates is None:
        local = surrogate.local_candidates
        candidates = candidate_set(dim, generator, X if local else None, y if local else None, choices=choices,
                                   lean=surrogate.lean_candidates, n_space_filling=0 if local_search else None)
    candidates = candidates.to(torch.float64)
    if snap is not None and not grid:
        candidates = snap(candidates)  # points that stand for the same parameters coincide
    if radius is None:
        radius = 1e-6 if grid else 1e-3 * math.sqrt(dim)
    blocked = _too_close(candidates, X, radius)
    if avoid is not None and avoid.numel():
        blocked |= _too_close(candidates, avoid.reshape(-1, dim), radius)

    paths = None
    if not conditioned:
        draws = torch.rand(n, candidates.shape[0], generator=generator, dtype=torch.float64)
    else:
        surrogate.condition(X, y)
        paths = surrogate.paths(n, generator) if polish_steps else None
        if paths is not None:
            draws = paths(candidates).to(torch.float64)  # n x m, the same draws as sample()
        else:
            draws = surrogate.sample(candidates, n, generator).to(torch.float64)  # n x m

    picked: list[Tensor] = []
    ranked: list[Tensor] = []
    for i, row in enumerate(draws):
        row = row.masked_fill(blocked, math.inf)
        order = torch.topk(row, min(keep, row.numel()), largest=False).indices  # lowest first
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
            if paths is not None:
                point = _polish(paths, i, point, X, avoid, picked, radius, polish_steps, movable, snap)
            others = torch.cat([point[None], candidates[order[1:]]], 0)
        picked.append(point)
        ranked.append(torch.cat([others, others[-1:].expand(keep - others.shape[0], -1)], 0))
        blocked |= _too_close(candidates, point[None], radius)
    return torch.stack(ranked, 0)
