"""LogEI on a surrogate's Gaussian predictive: the yardstick beside Thompson sampling.

Not the default (Thompson sampling is the design): it tells, on every suite, how far the
draws are from the exploit-heavy alternative that Optuna's GPSampler uses, and whether a
remaining gap is the model's or the acquisition's. The NP's decoder is linear in ``z``, so
its predictive at a point is exactly Gaussian (:meth:`NPSurrogate.predictive`); BoTorch's
GP's is too.

``log EI(x) = log sigma(x) + log h((f* - mu(x)) / sigma(x))`` with ``h(z) = phi(z) + z Phi(z)``,
computed without underflow far below the incumbent as in Ament et al. 2023 ("Unexpected
Improvements to Expected Improvement for Bayesian Optimization", NeurIPS, eq. 9). The
incumbent ``f*`` is the lowest predictive mean at the observed points (noise-robust; the
values the surrogate models may be warped). It is optimised as the draws are: the lowest
of the candidate set start multi-start L-BFGS-B (:mod:`npopt.acquisition.minimise`) over the
whole cube. A batch of ``n`` takes the ``n`` best distinct points of that one acquisition
(no fantasies: a yardstick, not a batch method).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from npopt.acquisition.candidates import candidate_set, taken_points, too_close
from npopt.acquisition.minimise import minimise
from npopt.acquisition.options import AcquisitionOptions
from npopt.encoding import UnitSpace

if TYPE_CHECKING:
    from npopt.surrogates.base import Surrogate

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_LOG_SQRT_PI_2 = 0.5 * math.log(math.pi / 2)
_EPS_Z = 1 / math.sqrt(torch.finfo(torch.float64).eps)  # beyond this, the asymptotic form


def log_h(z: Tensor) -> Tensor:
    """``log(phi(z) + z Phi(z))``, accurate and differentiable for every ``z`` (float64)."""
    z = z.double()
    upper = z > -1
    zu = torch.where(upper, z, torch.zeros_like(z))  # each branch sees only safe inputs
    direct = torch.log(torch.exp(-0.5 * zu**2 - _LOG_SQRT_2PI) + zu * torch.special.ndtr(zu))
    zl = torch.where(upper, -torch.ones_like(z), z).clamp_min(-_EPS_Z)
    # h(z) = phi(z) (1 - |z| Q(|z|) / phi(|z|)) and Q(u) / phi(u) = sqrt(pi/2) erfcx(u / sqrt 2)
    t = torch.log(torch.special.erfcx(-zl / math.sqrt(2)) * (-zl)) + _LOG_SQRT_PI_2  # log of that ratio term, < 0
    log1mexp = torch.where(t > -math.log(2), torch.log(-torch.expm1(t)), torch.log1p(-torch.exp(t)))
    middle = -0.5 * zl**2 - _LOG_SQRT_2PI + log1mexp
    far = -0.5 * z**2 - _LOG_SQRT_2PI - 2 * torch.log((-z).clamp_min(1.0))
    return torch.where(upper, direct, torch.where(z > -_EPS_Z, middle, far))


def log_ei(mean: Tensor, std: Tensor, best: float | Tensor) -> Tensor:
    """LogEI of a minimisation at predictive ``mean`` and ``std`` against the incumbent ``best``."""
    std = std.clamp_min(1e-12)
    return log_h((best - mean) / std) + std.log()


def logei_ranked(surrogate: Surrogate, X: Tensor, y: Tensor, n: int, generator: torch.Generator,
                 space: UnitSpace, *, options: AcquisitionOptions, avoid: Tensor | None = None,
                 keep: int = 1) -> Tensor:
    """``n x keep x d``: ``n`` distinct points of highest LogEI, each with ``keep - 1`` ranked
    alternatives (as :func:`~npopt.acquisition.thompson.thompson_ranked` returns them)."""
    dim, snap, movable, radius = space.dim, space.snap, space.movable, space.radius
    surrogate.condition(X, y)
    candidates = candidate_set(dim, generator, X, y, choices=space.choices or None, lean=options.lean_candidates)
    if snap is not None:
        candidates = snap(candidates)
    blocked = too_close(candidates, X, radius)
    if avoid is not None and avoid.numel():
        blocked |= too_close(candidates, avoid.reshape(-1, dim), radius)
    with torch.no_grad():
        best = surrogate.predictive(X)[0].min().detach()
        score = -log_ei(*surrogate.predictive(candidates), best)  # lower is better

    def negative(x: Tensor) -> Tensor:
        return -log_ei(*surrogate.predictive(x), best)

    lo, hi = torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)
    picked: list[Tensor] = []
    ranked: list[Tensor] = []
    for _ in range(n):
        row = score.masked_fill(blocked, math.inf)
        order = torch.topk(row, min(max(keep, options.starts), row.numel()), largest=False).indices
        order = order[torch.isfinite(row[order])]
        if not order.numel():  # everything blocked: a uniform point
            point = torch.rand(dim, generator=generator, dtype=torch.float64)
            point = snap(point[None])[0] if snap is not None else point
            others = point[None]
        else:
            point = candidates[int(order[0])]
            if options.starts and surrogate.differentiable_predictive:
                ends, values = minimise(negative, candidates[order[: options.starts]], lo, hi, movable, snap)
                values = values.masked_fill(too_close(ends, taken_points(X, avoid, picked), radius), math.inf)
                if bool(torch.isfinite(values).any()):
                    point = ends[int(values.argmin())]
            others = torch.cat([point[None], candidates[order[1:keep]]], 0)
        picked.append(point)
        ranked.append(torch.cat([others, others[-1:].expand(keep - others.shape[0], -1)], 0))
        blocked |= too_close(candidates, point[None], radius)
    return torch.stack(ranked, 0)
