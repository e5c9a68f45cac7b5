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

from npopt.neural.tasks import TaskBatch

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


# ---------------------------------------------------------------------- the wheel bandit
#
# Riquelme et al. (2018): contexts uniform in the unit disk, 5 arms. Arm 0 pays N(1.2, s^2);
# arms 1-4 pay N(1.0, s^2), except that beyond radius delta the arm of the context's quadrant
# pays N(50, s^2); s = 0.01. As a function for the NP, a (context, arm) pair is a point of
# the unit cube: the context's two coordinates mapped from [-1, 1] to [0, 1], and the arm a
# categorical input of 5 choices, arm a at (a + 0.5) / 5 (as npopt encodes a choice). One
# latent draw decoded at the 5 arms of a context is one coherent guess of all 5 arms'
# rewards. Values are log(reward) / 2 (0, 0.09 and 1.96 for the means 1, 1.2 and 50): the
# log keeps the 1.2-vs-1.0 difference of the inner disk visible next to the 50 of the
# outer ring, and is monotone, so a draw's best arm is the same on either scale.

ARMS = 5
WHEEL_NOISE = 0.01
WHEEL_CHOICES = (0, 0, ARMS)  # continuous, continuous, 5-choice categorical


def disk_contexts(shape: tuple[int, ...], g: torch.Generator) -> Tensor:
    """``shape x 2`` contexts uniform in the unit disk."""
    radius = torch.rand(shape, generator=g, dtype=torch.float64).sqrt()
    angle = 2 * torch.pi * torch.rand(shape, generator=g, dtype=torch.float64)
    return torch.stack([radius * angle.cos(), radius * angle.sin()], -1)


def quadrant_arm(contexts: Tensor) -> Tensor:
    """The arm (1-4) of each context's quadrant: (+, +) 1, (+, -) 2, (-, -) 3, (-, +) 4."""
    right, up = contexts[..., 0] >= 0, contexts[..., 1] >= 0
    return torch.where(right, torch.where(up, 1, 2), torch.where(up, 4, 3))


def wheel_means(contexts: Tensor, delta: Tensor) -> Tensor:
    """``... x 5`` expected rewards of the arms; ``delta`` broadcasts against ``contexts[..., 0]``."""
    means = torch.ones(*contexts.shape[:-1], ARMS, dtype=torch.float64)
    means[..., 0] = 1.2
    outside = contexts.norm(dim=-1) > delta
    high = torch.nn.functional.one_hot(quadrant_arm(contexts), ARMS).bool() & outside[..., None]
    return torch.where(high, torch.tensor(50.0, dtype=torch.float64), means)


def wheel_points(contexts: Tensor, arms: Tensor) -> Tensor:
    """Unit-cube points ``... x 3`` of (context, arm) pairs."""
    return torch.cat([(contexts + 1) / 2, ((arms.to(torch.float64) + 0.5) / ARMS)[..., None]], -1)


def wheel_values(rewards: Tensor) -> Tensor:
    """The NP's values of rewards: ``log(reward) / 2`` (rewards are positive at this noise)."""
    return rewards.clamp_min(1e-3).log() / 2


def wheel_tasks(batch: int, n_context: int, n_target: int, g: torch.Generator):
    """``batch`` wheel problems with ``delta ~ U(0, 1)``, arms played uniformly at random."""

    N = n_context + n_target
    delta = torch.rand(batch, 1, generator=g, dtype=torch.float64)
    contexts = disk_contexts((batch, N), g)
    arms = torch.randint(ARMS, (batch, N), generator=g)
    means = torch.gather(wheel_means(contexts, delta), -1, arms[..., None])[..., 0]
    y = wheel_values(means + WHEEL_NOISE * torch.randn(batch, N, generator=g, dtype=torch.float64))
    x = wheel_points(contexts, arms)
    ones = torch.ones(batch, dtype=torch.float64)
    return TaskBatch(x[:, :n_context], y[:, :n_context], x[:, n_context:], y[:, n_context:], 0 * ones, ones,
                     {"choices": torch.tensor(WHEEL_CHOICES), "delta": delta[:, 0]})
