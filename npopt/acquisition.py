"""Thompson sampling over any :class:`~npopt.surrogates.base.Surrogate`.

Each suggested point is the argmin of ONE coherent function draw over a candidate set
(space-filling Sobol points plus Gaussian perturbations of the best observations), so a
batch of ``n`` points comes from ``n`` independent draws. Candidates close to points
that must not be repeated (pending trials, failed trials, points already observed or
already picked in this batch) are excluded.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import Tensor

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
    y = y.to(torch.float64)
    if y.numel() < 2:
        return torch.zeros_like(y)
    z = (y - y.mean()) / y.std().clamp_min(1e-12)
    z = torch.where(z > 2.5, 2.5 + torch.log1p((z - 2.5).clamp_min(0.0)), z)
    return (z - z.mean()) / z.std().clamp_min(1e-12)


def candidate_set(
    dim: int,
    generator: torch.Generator,
    X: Tensor | None = None,
    y: Tensor | None = None,
    n_space_filling: int | None = None,
    n_best: int = 5,
) -> Tensor:
    """A space-filling set plus local perturbations of the best observations.

    Args:
        dim: input dimension ``d``.
        generator: randomness for the Sobol scramble and the perturbations.
        X: ``n x d`` observed points (optional), y: ``n`` standardised values.
        n_space_filling: number of Sobol points (default grows with ``d``).
        n_best: how many of the best observations get local perturbations.

    Returns:
        ``m x d`` candidates in the unit cube (float64).
    """
    if n_space_filling is None:
        n_space_filling = min(4096, 512 + 256 * dim)
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sobol = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)
    parts = [sobol.draw(n_space_filling, dtype=torch.float64)]
    if X is not None and y is not None and X.shape[0] > 0:
        best = X[torch.argsort(y)[:n_best]]  # k x d
        per = 64 * dim
        for scale in (0.01, 0.05, 0.15):
            noise = torch.randn(best.shape[0], per, dim, generator=generator, dtype=torch.float64)
            parts.append((best[:, None, :] + scale * noise).reshape(-1, dim).clamp(0.0, 1.0))
    return torch.cat(parts, 0)


def _too_close(candidates: Tensor, points: Tensor, radius: float) -> Tensor:
    """``m`` boolean mask: candidate within ``radius`` of any of ``points`` (``k x d``)."""
    if points.numel() == 0:
        return torch.zeros(candidates.shape[0], dtype=torch.bool)
    return torch.cdist(candidates, points.to(candidates)).min(dim=1).values <= radius


#: Gradient steps that polish each Thompson draw's argmin in 2 or more dimensions.
POLISH_STEPS = 30


def _polish(paths, i: int, start: Tensor, X: Tensor, avoid: Tensor | None, picked: list[Tensor],
            radius: float, steps: int, lr: float = 0.01) -> Tensor:
    """Descend draw ``i`` from ``start`` by Adam steps inside the unit cube; return the
    lowest point visited (``start`` if none is lower or the best one is too close to a
    point that must not be repeated)."""
    x = start.clone()[None].requires_grad_(True)  # 1 x d
    opt = torch.optim.Adam([x], lr=lr)
    best_x, best_f = start, math.inf  # the first step's value is the start's
    with torch.enable_grad():
        for _ in range(steps):
            f = paths.draw(i, x)[0]
            if float(f.detach()) < best_f:
                best_x, best_f = x.detach()[0].clone(), float(f.detach())
            (x.grad,) = torch.autograd.grad(f, x)  # only x: the model's weights get no gradients
            opt.step()
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
    f = float(paths.draw(i, x.detach()).detach())
    if f < best_f:
        best_x = x.detach()[0].clone()
    d = best_x.shape[0]
    others = [X.to(best_x), *(p[None] for p in picked)]
    if avoid is not None:
        others.append(avoid.reshape(-1, d).to(best_x))
    return start if bool(_too_close(best_x[None], torch.cat(others, 0), radius)[0]) else best_x


@single_thread()
def thompson_suggest(
    surrogate: Surrogate,
    X: Tensor,
    y: Tensor,
    n: int,
    generator: torch.Generator,
    avoid: Tensor | None = None,
    candidates: Tensor | None = None,
    radius: float | None = None,
    polish_steps: int | None = None,
) -> Tensor:
    """Suggest ``n`` distinct points by Thompson sampling.

    Args:
        surrogate: any surrogate.
        X: ``n_obs x d`` observed points in the unit cube.
        y: ``n_obs`` standardised values (minimised).
        n: number of points to suggest.
        generator: randomness (same seed -> same suggestions).
        avoid: ``k x d`` points that must not be suggested again (pending, failed).
        candidates: ``m x d`` fixed candidate set (e.g. a grid); default: :func:`candidate_set`.
        radius: exclusion radius around observed/avoided/picked points
            (default ``1e-6`` for a fixed candidate set, ``1e-3 * sqrt(d)`` otherwise).
        polish_steps: gradient steps that move each draw's best candidate downhill on
            that same draw, for surrogates with differentiable :meth:`~Surrogate.paths`
            (never on a fixed candidate set; 0: off). Default: 30 for ``d >= 2``, 0 in
            1-D, where the candidates already resolve a draw's minimum (polishing measured
            slightly worse on Forrester and cost 3x the time).

    Returns:
        ``n x d`` points (float64).
    """
    X = X.to(torch.float64)
    y = y.to(torch.float64)
    dim = X.shape[1] if X.ndim == 2 and X.shape[1] > 0 else (candidates.shape[1] if candidates is not None else None)
    if dim is None:
        raise ValueError("cannot infer the dimension: pass X with shape n x d or candidates")
    fixed = candidates is not None
    if polish_steps is None:
        polish_steps = POLISH_STEPS if dim >= 2 else 0
    if candidates is None:
        local = surrogate.local_candidates
        candidates = candidate_set(dim, generator, X if local else None, y if local else None)
    candidates = candidates.to(torch.float64)
    if radius is None:
        radius = 1e-6 if fixed else 1e-3 * math.sqrt(dim)
    blocked = _too_close(candidates, X, radius)
    if avoid is not None and avoid.numel():
        blocked |= _too_close(candidates, avoid.reshape(-1, dim), radius)

    paths = None
    if X.shape[0] < max(1, surrogate.min_observations):
        draws = torch.rand(n, candidates.shape[0], generator=generator, dtype=torch.float64)
    else:
        surrogate.condition(X, y)
        paths = None if (fixed or not polish_steps) else surrogate.paths(n, generator)
        if paths is not None:
            draws = paths(candidates).to(torch.float64)  # n x m, the same draws as sample()
        else:
            draws = surrogate.sample(candidates, n, generator).to(torch.float64)  # n x m

    picked: list[Tensor] = []
    for i, row in enumerate(draws):
        row = row.masked_fill(blocked, math.inf)
        if torch.isinf(row).all():  # everything blocked: fall back to a uniform point
            point = torch.rand(dim, generator=generator, dtype=torch.float64)
            if fixed:
                free = (~blocked).nonzero().flatten()
                point = candidates[free[0]] if free.numel() else candidates[0]
        else:
            point = candidates[int(torch.argmin(row))]
            if paths is not None:
                point = _polish(paths, i, point, X, avoid, picked, radius, polish_steps)
        picked.append(point)
        blocked |= _too_close(candidates, point[None], radius)
    return torch.stack(picked, 0)
