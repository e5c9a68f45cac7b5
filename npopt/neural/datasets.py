"""Task families made of data instead of GP draws: handwritten digits as 2-D functions.

Image completion (the paper's Figure 4) treats an image as a function from pixel position
to intensity. scikit-learn bundles 1,797 handwritten digits of 8 x 8 pixels (intensities
0..16), the offline stand-in for MNIST: each image is one task with 64 points.

- Inputs: pixel ``(row, column)`` at the pixel's centre in the unit square,
  ``((r + 0.5) / 8, (c + 0.5) / 8)``.
- Values: intensities on a fixed scale shared by every image, ``2 (v + u) / 17 - 1`` in
  ``[-1, 1]`` with ``u ~ U(0, 1)``: uniform dequantisation, so that a continuous density on
  the integer intensities cannot grow without bound on the many pixels that are exactly 0.
  There is no per-image standardisation: with five context pixels it would be noise.
- Split: a fixed permutation (seed 0) puts :data:`HELD_OUT` images aside; training never
  sees them, the benchmark scores only them.
- Context: ``n`` pixels drawn at random without replacement; targets: all 64 pixels (as in
  the paper, the targets include the context).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

SIDE = 8  # pixels per row and column
PIXELS = SIDE * SIDE
LEVELS = 17  # intensities 0..16
HELD_OUT = 297  # images kept out of training (1,500 remain)
SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def _split() -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits

    images = torch.tensor(load_digits().data, dtype=torch.float64)  # 1797 x 64, values 0..16
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SPLIT_SEED))
    return images[order[HELD_OUT:]], images[order[:HELD_OUT]]


def digit_images(held_out: bool = False) -> Tensor:
    """``N x 64`` intensities (0..16, row-major) of the training or the held-out images."""
    return _split()[1 if held_out else 0]


def pixel_inputs() -> Tensor:
    """``64 x 2`` unit-square positions of the pixels, row-major."""
    r, c = torch.meshgrid(torch.arange(SIDE), torch.arange(SIDE), indexing="ij")
    return (torch.stack([r.flatten(), c.flatten()], -1).to(torch.float64) + 0.5) / SIDE


def pixel_values(images: Tensor, g: torch.Generator) -> Tensor:
    """Dequantised values in ``[-1, 1]`` of ``B x 64`` intensities (see the module doc)."""
    u = torch.rand(images.shape, generator=g, dtype=torch.float64)
    return 2 * (images + u) / LEVELS - 1


def to_intensity(values: Tensor) -> Tensor:
    """Values back on the 0..16 intensity scale (for pictures), clipped."""
    return ((values + 1) * LEVELS / 2 - 0.5).clamp(0, LEVELS - 1)


def digit_tasks(batch: int, n_context: int, g: torch.Generator, held_out: bool = False):
    """``batch`` random images as tasks: ``n_context`` random context pixels, all 64 as targets.

    Returns a :class:`~npopt.neural.priors.TaskBatch` on the fixed value scale (shift 0,
    scale 1, no hyperparameters: there is no oracle for data)."""
    from npopt.neural.priors import TaskBatch

    if not 1 <= n_context <= PIXELS:
        raise ValueError(f"an 8 x 8 image has 1..{PIXELS} context pixels, not {n_context}")
    images = digit_images(held_out)
    pick = torch.randint(images.shape[0], (batch,), generator=g)
    y = pixel_values(images[pick], g)  # B x 64
    x = pixel_inputs().expand(batch, -1, -1)  # B x 64 x 2
    order = torch.argsort(torch.rand(batch, PIXELS, generator=g), dim=1)[:, :n_context]  # B x n
    xc = torch.gather(x, 1, order[..., None].expand(-1, -1, 2))
    yc = torch.gather(y, 1, order)
    ones = torch.ones(batch, dtype=torch.float64)
    return TaskBatch(xc, yc, x.clone(), y, 0 * ones, ones, {})
