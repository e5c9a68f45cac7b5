"""A batch of regression tasks, the unit every prior samples and every training step reads."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class TaskBatch:
    """``B`` tasks, standardised by their context (the way npopt standardises)."""

    xc: Tensor  # B x n x d
    yc: Tensor  # B x n  (standardised)
    xt: Tensor  # B x m x d
    yt: Tensor  # B x m  (standardised)
    shift: Tensor  # B, raw = shift + scale * standardised
    scale: Tensor  # B
    hyper: dict[str, Tensor]  # per-task true hyperparameters (for the oracle)

    @property
    def choices(self) -> Tensor | None:
        """``d`` choice counts of the inputs (0: continuous), or ``None`` if none is categorical."""
        return self.hyper.get("choices")

    def float(self) -> TaskBatch:
        f = lambda t: t.float()  # noqa: E731
        return TaskBatch(f(self.xc), f(self.yc), f(self.xt), f(self.yt), self.shift, self.scale, self.hyper)
