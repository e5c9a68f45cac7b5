"""Gaussian-process maths shared by the meta-training families, the oracle GP, the
benchmark problems and the surrogates: kernels, the categorical encoding, Cholesky with
jitter, and the exact posterior. Plain torch, float64 by the callers' choice.

Two RBF forms live here on purpose: :func:`kernel` (batched, one kind per task; the
arithmetic the shipped priors were trained with) and :func:`rbf_kernel` (one task, by
``cdist``; the arithmetic the ``gp1d`` functions and its oracle were drawn with). Both
compute ``s^2 exp(-r^2 / 2 l^2)``; merging them would change committed results by rounding.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

KERNELS = ("rbf", "matern52", "periodic")


def kernel(kind: Tensor, x1: Tensor, x2: Tensor, lengthscale: Tensor, period: Tensor) -> Tensor:
    """Unit-variance stationary kernels, one kind per task.

    Args:
        kind: ``B`` indices into :data:`KERNELS`.
        x1: ``B x N x d``; x2: ``B x M x d``.
        lengthscale: ``B`` (isotropic) or ``B x d`` (ARD); period: ``B``.

    Returns:
        ``B x N x M`` kernel matrices.
    """
    ls = lengthscale if lengthscale.ndim == 2 else lengthscale[:, None]  # B x d (or B x 1)
    periodic_used = bool((kind == 2).any())
    if bool((ls == ls[:, :1]).all()):  # isotropic: the same arithmetic as the 1-D prior was trained with
        diff = x1[:, :, None, :] - x2[:, None, :, :]  # B x N x M x d
        ls = ls[:, :1, None]  # B x 1 x 1
        r = diff.pow(2).sum(-1).add(1e-12).sqrt() / ls
        if periodic_used:
            sin2 = torch.sin(math.pi * diff.abs() / period[:, None, None, None]).pow(2).sum(-1) / ls**2
    elif not periodic_used:
        # ARD without periodic tasks: squared distances of the scaled inputs by one matmul
        # (the B x N x M x d differences cost seconds at N = 260, d = 16)
        a, b = x1 / ls[:, None, :], x2 / ls[:, None, :]
        sq = (a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :] - 2 * a @ b.transpose(1, 2)
        r = sq.clamp_min(0.0).add(1e-12).sqrt()
    else:
        diff = x1[:, :, None, :] - x2[:, None, :, :]
        r = (diff / ls[:, None, None, :]).pow(2).sum(-1).add(1e-12).sqrt()
        sin2 = (torch.sin(math.pi * diff.abs() / period[:, None, None, None]) / ls[:, None, None, :]).pow(2).sum(-1)
    rbf = torch.exp(-0.5 * r * r)
    s5 = math.sqrt(5.0) * r
    matern = (1 + s5 + s5 * s5 / 3) * torch.exp(-s5)
    k = kind[:, None, None]
    if not periodic_used:
        return torch.where(k == 0, rbf, matern)
    periodic = torch.exp(-2 * sin2)
    return torch.where(k == 0, rbf, torch.where(k == 1, matern, periodic))


def rbf_kernel(a: Tensor, b: Tensor, lengthscale: float, signal_std: float) -> Tensor:
    """``s^2 exp(-|a - b|^2 / (2 l^2))`` between ``n x d`` and ``m x d`` points (``n x m``)."""
    return signal_std**2 * torch.exp(-0.5 * torch.cdist(a, b).square() / lengthscale**2)


def choice_index(x: Tensor, choices: Tensor) -> Tensor:
    """Choice indices of unit-cube coordinates ``x`` (``... x d``) for ``choices`` (``d``, >= 1):
    ``min(floor(x C), C - 1)``, the inverse of npopt's ``(i + 0.5) / C``."""
    C = choices.clamp_min(1).to(x.dtype)
    return torch.minimum(torch.floor(x.clamp(0.0, 1.0) * C), C - 1).long()


def hamming_kernel(x1: Tensor, x2: Tensor, choices: Tensor, lengthscale: Tensor) -> Tensor:
    """Exponentiated Hamming kernel ``exp(-sum_j [c_j != c'_j] / l_j)`` over the categorical
    inputs (``choices > 0``); x1: ``B x N x d``, x2: ``B x M x d``, lengthscale: ``B x d``.
    Returns ``B x N x M`` (ones if no input is categorical)."""
    cat = (choices > 0).nonzero().flatten()
    if cat.numel() == 0:
        return x1.new_ones(x1.shape[0], x1.shape[1], x2.shape[1])
    c1, c2 = choice_index(x1[..., cat], choices[cat]), choice_index(x2[..., cat], choices[cat])
    differ = (c1[:, :, None, :] != c2[:, None, :, :]).to(x1.dtype)  # B x N x M x k
    return torch.exp(-(differ / lengthscale[:, None, None, cat]).sum(-1))


def jittered_cholesky(A: Tensor, jitter: float) -> Tensor | None:
    """Lower Cholesky factor of ``A`` plus the smallest diagonal jitter that works, growing
    tenfold from ``jitter`` (relative to the mean diagonal); ``None`` if none does."""
    eye = torch.eye(A.shape[0], dtype=A.dtype)
    scale = A.diagonal().mean().clamp_min(1e-300)
    for k in range(7):
        L, info = torch.linalg.cholesky_ex(A + jitter * 10**k * scale * eye)
        if int(info) == 0:
            return L
    return None


def psd_sqrt(A: Tensor, jitter: float) -> Tensor:
    """A matrix ``S`` with ``S S^T ~= A`` for a PSD ``m x m`` matrix ``A``: the jittered
    Cholesky factor, or (not triangular) an eigendecomposition with negative eigenvalues
    clipped if no jitter makes Cholesky succeed."""
    L = jittered_cholesky(A, jitter)
    if L is not None:
        return L
    evals, evecs = torch.linalg.eigh(A)
    return evecs * evals.clamp_min(0).sqrt()


def posterior_from_factor(L: Tensor, y: Tensor, K_tc: Tensor, K_tt: Tensor) -> tuple[Tensor, Tensor]:
    """Exact GP posterior from the lower Cholesky factor ``L`` of the (noisy, jittered)
    context covariance: mean ``K_tc K_cc^-1 y`` and covariance ``K_tt - K_tc K_cc^-1 K_ct``.

    Args:
        L: ``... x n x n``; y: ``... x n`` (mean-free targets); K_tc: ``... x m x n``;
            K_tt: ``... x m x m`` (leading batch dimensions optional, shared).

    Returns:
        Mean ``... x m`` and covariance ``... x m x m``.
    """
    alpha = torch.cholesky_solve(y[..., None], L)  # ... x n x 1
    V = torch.linalg.solve_triangular(L, K_tc.transpose(-1, -2), upper=False)  # ... x n x m
    return (K_tc @ alpha)[..., 0], K_tt - V.transpose(-1, -2) @ V
