"""Multi-start L-BFGS-B on one differentiable function of ``k x d`` points, inside a box.

A Thompson draw of a surrogate with paths (the NP: one ``z`` times the random-feature
basis) and the LogEI of a Gaussian predictive are cheap, smooth functions of the input;
their minimum is found as BoTorch and Optuna's GPSampler find an acquisition's: the best
few candidates start L-BFGS-B (bounded quasi-Newton), all starts in one problem whose
objective is the sum of the starts' values (each start's gradient touches only its own
coordinates, so the sum is minimised by minimising each).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

#: L-BFGS-B iterations per minimisation (the starts run together).
MAX_ITERATIONS = 50


def minimise(fn: Callable[[Tensor], Tensor], starts: Tensor, lo: Tensor, hi: Tensor,
             movable: Tensor | None = None, snap: Callable[[Tensor], Tensor] | None = None,
             max_iterations: int = MAX_ITERATIONS) -> tuple[Tensor, Tensor]:
    """Minimise ``fn`` (``k x d -> k``, differentiable) from each of ``starts`` (``k x d``).

    Args:
        lo, hi: ``d`` corners of the box the points stay in.
        movable: ``d`` booleans; the other coordinates stay at their starts' values.
        snap: ``m x d -> m x d``; the end points are judged snapped (integers at their slice
            centres), and a start is kept where its snapped end is not lower.

    Returns:
        The ``k`` end points (each no higher on ``fn`` than its start) and their values. With
        ``snap``, every point is snapped (and may then lie up to half a slice outside the box).
    """
    starts = starts.detach().to(torch.float64)
    k, d = starts.shape
    lower = lo.to(starts).expand(k, d).clone()
    upper = hi.to(starts).expand(k, d).clone()
    if movable is not None:
        fixed = ~movable.to(torch.bool).expand(k, d)
        lower[fixed], upper[fixed] = starts[fixed], starts[fixed]
    x0 = torch.minimum(torch.maximum(starts, lower), upper)
    if snap is not None:  # a start clamped into the box is snapped again: every point returned is a valid one
        x0 = snap(x0)
    with torch.no_grad():
        start_values = fn(x0).detach().double()

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = torch.from_numpy(np.array(flat, dtype=np.float64)).reshape(k, d).requires_grad_(True)
        with torch.enable_grad():
            f = fn(x).sum()
            (grad,) = torch.autograd.grad(f, x)
        return float(f.detach()), grad.double().reshape(-1).numpy()

    from scipy.optimize import minimize

    bounds = list(zip(lower.reshape(-1).tolist(), upper.reshape(-1).tolist(), strict=True))
    result = minimize(objective, x0.reshape(-1).numpy(), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": max_iterations})
    end = torch.from_numpy(np.array(result.x, dtype=np.float64)).reshape(k, d)
    end = torch.minimum(torch.maximum(end, lower), upper)
    if snap is not None:
        end = snap(end)
    with torch.no_grad():
        end_values = fn(end).detach().double()
    better = end_values < start_values
    points = torch.where(better[:, None], end, x0)
    return points, torch.where(better, end_values, start_values)
