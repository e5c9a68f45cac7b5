"""Adam in a few lines, for the short inner loops of an ask.

The evidence refinement (60 steps) and the Thompson polish (15 steps) move a handful of
small tensors; ``torch.optim.Adam``'s bookkeeping (state dicts, hooks, grad checks) cost
about as much per step as the maths. :class:`Adam` does the same arithmetic as
``torch.optim.Adam`` with its defaults (single-tensor path, no weight decay, no amsgrad),
so results are unchanged, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch
from torch import Tensor


class Adam:
    """Adam on ``params`` (updated in place); :meth:`step` takes their gradients."""

    def __init__(self, params: Sequence[Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor]) -> None:
        self.t += 1
        step = float(self.t)
        bias_correction1 = 1 - self.beta1**step
        bias_correction2_sqrt = (1 - self.beta2**step) ** 0.5
        step_size = self.lr / bias_correction1
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            m.lerp_(g, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)


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
