"""Fitting a context: what its exact Gaussian evidence decides once the Neural Process
(:mod:`npopt.neural.model`) has proposed a basis, kept beside the model as BoTorch keeps
``fit``. Each step takes a :class:`~npopt.neural.context.Context` and returns a new one.

- The noise: the network's prior over a grid of levels times the context's exact evidence at
  each (:func:`grid_evidence` from the summed statistics, :func:`kernel_grid_evidence` from
  the ``n x n`` kernel of fewer points than basis functions); :func:`choose_noise`.
- The evidence refinement (inference only): a few Adam steps on the ARD lengthscales, a
  signal scale and the noise, uphill on the evidence with its gradients written out
  (:class:`EvidenceGradient`, :func:`refine`); :func:`apply_refinement` adds them.
- ``z``'s exact conjugate posterior: from the ``R x R`` sums (:func:`z_posterior`, the form
  training takes) or, for wide bases and few points, the ``n x n`` kernel
  (:func:`use_kernel_form`, :func:`z_posterior_kernel`).
- Gaussian log densities with a low-rank covariance (the training loss uses them too).

Functions here take the model as an argument and never import it: the model imports this
module, not the other way round. Shapes as in :mod:`npopt.neural.model`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor, nn

from npopt.gpmath import choice_index
from npopt.neural.context import Context, Refinement
from npopt.optim import Adam

LOG_2PI = math.log(2 * math.pi)

#: :meth:`~npopt.neural.model.NeuralProcess.encode` takes ``z``'s posterior in the kernel form
#: (:func:`z_posterior_kernel`) from this many basis functions on, outside training: the widened
#: bases (1,024 and more) of 7+ parameters and of categorical spaces, where the ``R x R`` form
#: costs ~60 ms (one thread). For contexts of at most half as many points, or of fewer points
#: than basis functions when the noise choice has already decomposed the ``n x n`` kernel;
#: decomposing it for ``z`` alone costs 3 ms at n = 100, 33 ms at 400, 69 ms at 600, 159 ms at
#: 800, overtaking the ``R x R`` form near n = R / 2. Below, the ``R x R`` form is kept (a few
#: ms at R = 256), so that the committed runs of those spaces replay bit for bit.
KERNEL_FORM_FROM = 1024


def fixed_subset(cap: int, *tensors: Tensor) -> tuple[Tensor, ...]:
    """``tensors`` (``B x n x ...`` each) cut to the same fixed random ``cap`` of their ``n``
    points (seed 0, so the same context always gives the same subset); unchanged if
    ``n <= cap``."""
    n = tensors[0].shape[1]
    if n <= cap:
        return tensors
    keep = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:cap]
    return tuple(t[:, keep] for t in tensors)


# ----------------------------------------------------------------- the noise
def context_sums(psi: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
    """The context's sums over its points: ``gram = Psi^T Psi`` (``B x R x R``) and
    ``proj = Psi^T r`` (``B x R``), from the basis ``psi`` (``B x n x R``) and values ``r``
    (``B x n``)."""
    return psi.transpose(1, 2) @ psi, (psi.transpose(1, 2) @ r[..., None])[..., 0]


def grid_evidence(gram: Tensor, proj: Tensor, rr: Tensor, n: int, levels: Tensor) -> Tensor:
    """Log evidence ``log N(r; 0, Psi Psi^T + s^2 I)`` of the context for each noise level ``s``.

    Uses only the summed statistics (order-invariant): ``gram = Psi^T Psi`` (``B x R x R``),
    ``proj = Psi^T r`` (``B x R``), ``rr = r^T r`` (``B``), ``n`` points; ``levels``: ``J``.
    One eigendecomposition ``gram = V diag(lam) V^T`` serves every level:
    ``logdet = n log s^2 + sum log(1 + lam / s^2)`` and
    ``quad = rr / s^2 - sum (V^T proj)^2 / (s^2 (lam + s^2))``.

    Returns:
        ``B x J`` log evidences (float64).
    """
    lam, V = torch.linalg.eigh(gram)  # B x R, B x R x R
    lam = lam.clamp_min(0.0)[:, None, :]  # B x 1 x R
    c2 = (V.transpose(1, 2) @ proj[..., None])[..., 0].pow(2)[:, None, :]  # B x 1 x R
    var = levels.pow(2)[None, :, None]  # 1 x J x 1
    quad = rr[:, None] / var[..., 0] - (c2 / (var * (lam + var))).sum(-1)
    logdet = n * var[..., 0].log() + torch.log1p(lam / var).sum(-1)
    return -0.5 * (quad + logdet + n * LOG_2PI)


def kernel_eigh(psi: Tensor) -> tuple[Tensor, Tensor]:
    """The eigendecomposition ``Psi Psi^T = U diag(mu) U^T`` of the ``n x n`` kernel of the
    basis ``psi`` (``B x n x R``): ``mu`` (``B x n``), ``U`` (``B x n x n``), float64."""
    psi = psi.double()
    return torch.linalg.eigh(psi @ psi.transpose(1, 2))


def kernel_grid_evidence(psi: Tensor, r: Tensor, levels: Tensor, eig: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """:func:`grid_evidence` from the basis itself (``psi``: ``B x n x R``, ``r``: ``B x n``),
    by one eigendecomposition of the ``n x n`` kernel ``Psi Psi^T = U diag(mu) U^T``
    (``eig``, if already taken): ``logdet = sum log(mu + s^2)``, ``quad = sum (U^T r)^2 /
    (mu + s^2)``. Cheaper than the ``R x R`` form when ``n < R``."""
    r = r.double()
    mu, U = kernel_eigh(psi) if eig is None else eig  # B x n, B x n x n
    mu = mu.clamp_min(0.0)[:, None, :]  # B x 1 x n
    c2 = (U.transpose(1, 2) @ r[..., None])[..., 0].pow(2)[:, None, :]  # B x 1 x n
    var = levels.pow(2)[None, :, None]  # 1 x J x 1
    n = r.shape[1]
    return -0.5 * ((c2 / (mu + var)).sum(-1) + torch.log(mu + var).sum(-1) + n * LOG_2PI)


@torch.no_grad()
def noise_evidence(levels: Tensor, psi: Tensor, resid: Tensor, sums: tuple[Tensor, Tensor] | None = None,
                   eig: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """The context's log evidence at each noise level, ``B x J`` (``levels``: ``J``), from
    its basis ``psi`` (``B x n x R``) and residuals ``resid`` (``B x n``): by
    :func:`grid_evidence` from ``sums`` (:func:`context_sums`), or without them by
    :func:`kernel_grid_evidence` (``eig``: the kernel's eigendecomposition, if taken). No
    gradient: the evidence only selects (none through its J Choleskys: 4x faster training)."""
    if sums is None:
        return kernel_grid_evidence(psi, resid, levels, eig)
    return grid_evidence(*sums, resid.pow(2).sum(-1), resid.shape[1], levels)


def choose_noise(model: nn.Module, ctx: Context, evidence: Tensor) -> Context:
    """``ctx`` with the noise its context supports: the network's prior over the model's
    ``noise_levels`` (its ``to_noise`` head on the summary) plus the context's exact log
    ``evidence`` at each level (``B x J``, :func:`noise_evidence`); the posterior mean of
    log(noise) is used."""
    weights = torch.softmax(model.to_noise(ctx.summary).double() + evidence, -1)  # B x J
    return replace(ctx, noise=(weights @ model.noise_levels.log()).exp().to(ctx.summary.dtype))


# ----------------------------------------------------------------- z's posterior
def z_posterior(ctx: Context, gram: Tensor, proj: Tensor) -> Context:
    """``ctx`` (its noise chosen) with ``q(z | context)`` from the context's sums
    ``gram = Psi^T Psi`` (``B x R x R``) and ``proj = Psi^T r`` (``B x R``): each context
    pair adds ``psi psi^T / noise^2`` and ``psi y / noise^2`` to the natural parameters of
    ``z ~ N(0, I)``, an order-invariant sum (Bayesian aggregation)."""
    var = ctx.noise.double()[:, None, None] ** 2
    R = gram.shape[-1]
    precision = torch.eye(R, dtype=torch.float64) + gram / var  # B x R x R
    L = torch.linalg.cholesky(precision)
    rhs = proj[..., None] / var  # B x R x 1
    dtype = ctx.summary.dtype
    eye = torch.eye(R, dtype=torch.float64).expand_as(L)
    return replace(ctx, z_mean=torch.cholesky_solve(rhs, L)[..., 0].to(dtype),  # B x R
                   z_factor=torch.linalg.solve_triangular(L, eye, upper=False).transpose(1, 2).to(dtype),  # L^-T
                   z_kernel=None)


def kriging_constant(psi: Tensor, resid: Tensor, noise: Tensor, sums: tuple[Tensor, Tensor] | None = None,
                     eig: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """The constant ``c`` (``B``) that maximises the evidence of ``resid ~ N(c 1, K)``,
    ``K = Psi Psi^T + noise^2 I``: the generalised-least-squares mean ``1^T K^-1 r / 1^T K^-1 1``
    (ordinary kriging's; a GP's fitted constant mean). ``psi``: ``B x n x R``, ``resid``:
    ``B x n``, ``noise``: ``B``. Reuses the context's sums ``Psi^T Psi`` (the ``R x R``
    Woodbury form) or the kernel's eigendecomposition (:func:`kernel_eigh`) when given;
    else takes the smaller of the ``n x n`` and ``R x R`` forms."""
    psi, resid, var = psi.double(), resid.double(), noise.double()[:, None] ** 2  # var: B x 1
    n, R = psi.shape[1], psi.shape[2]
    V = torch.stack([resid, torch.ones_like(resid)], -1)  # B x n x 2: K^-1 of both
    if eig is not None:
        mu, U = eig
        UtV = U.transpose(1, 2) @ V  # B x n x 2
        KV_sum = (UtV * (U.sum(1)[..., None] / (mu.clamp_min(0.0) + var)[..., None])).sum(1)  # B x 2: 1^T K^-1 V
    elif sums is None and n <= R:
        K = psi @ psi.transpose(1, 2) + var[..., None] * torch.eye(n, dtype=psi.dtype)
        KV_sum = torch.cholesky_solve(V, torch.linalg.cholesky(K)).sum(1)
    else:  # K^-1 = (I - Psi P^-1 Psi^T / noise^2) / noise^2, P = I + Psi^T Psi / noise^2
        gram = psi.transpose(1, 2) @ psi if sums is None else sums[0]
        P = torch.eye(R, dtype=psi.dtype) + gram / var[..., None]
        ones_psi = psi.sum(1)[..., None]  # B x R x 1: Psi^T 1
        inner = torch.cholesky_solve(psi.transpose(1, 2) @ V, torch.linalg.cholesky(P))  # B x R x 2
        KV_sum = (V.sum(1) - (ones_psi * inner).sum(1) / var) / var
    return KV_sum[:, 0] / KV_sum[:, 1]


def use_kernel_form(n: int, R: int, decomposed: bool = False) -> bool:
    """Whether ``z``'s posterior from ``n`` points on ``R`` basis functions takes the kernel
    form; ``decomposed``: the ``n x n`` kernel's eigendecomposition is already at hand."""
    return R >= KERNEL_FORM_FROM and (2 * n <= R or (decomposed and n < R)) and not torch.is_grad_enabled()


def z_posterior_kernel(ctx: Context, psi: Tensor, resid: Tensor, eig: tuple[Tensor, Tensor] | None = None) -> Context:
    """:func:`z_posterior` from the ``n x n`` kernel of fewer points than features.

    With ``Psi Psi^T = U diag(mu) U^T``, ``W = Psi^T U`` and ``s = sqrt(mu + noise^2)``:
    ``E z = W diag(1 / s^2) U^T r`` and ``Cov z = (I + Psi^T Psi / noise^2)^-1 = S S^T`` with the
    symmetric ``S = I - W diag(w) W^T``, ``w = 1 / (s (s + noise))`` (finite as ``mu -> 0``).
    ``O(n^2 R)`` instead of :func:`z_posterior`'s ``O(R^3)``; the same posterior (no
    gradients: an eigendecomposition; training takes :func:`z_posterior`). ``eig``: the kernel's
    eigendecomposition (:func:`kernel_eigh` of ``psi``), if already taken."""
    psi, resid = psi.double(), resid.double()  # B x n x R, B x n
    var = ctx.noise.double()[:, None] ** 2  # B x 1
    mu, U = kernel_eigh(psi) if eig is None else eig  # B x n, B x n x n
    s2 = mu.clamp_min(0.0) + var  # B x n
    W = psi.transpose(1, 2) @ U  # B x R x n
    dtype = ctx.summary.dtype
    coef = (U.transpose(1, 2) @ resid[..., None])[..., 0] / s2  # B x n
    s = s2.sqrt()
    return replace(ctx, z_mean=(W @ coef[..., None])[..., 0].to(dtype),  # B x R
                   z_factor=None, z_kernel=(W.to(dtype), (1.0 / (s * (s + var.sqrt()))).to(dtype)))


# ----------------------------------------------------------------- the evidence refinement
class EvidenceGradient:
    """The context's exact log evidence ``log N(r; 0, Phi Phi^T + noise^2 I)`` and its
    gradients with respect to the spectral basis' hyperparameters, written out.

    ``Phi = [a cos(theta), a sin(theta)]`` (:meth:`NeuralProcess.waves`) with
    ``theta_ik = sum_j x_ij base_kj exp(-l_j)`` over continuous inputs plus
    ``sum_j v_kj(c_ij) exp(-l_j / 2) / sqrt(4)`` over categorical ones. With
    ``K = Phi Phi^T + s^2 I``, ``alpha = K^-1 r`` and ``M = alpha alpha^T - K^-1``:
    ``dE/dPhi = M Phi``, ``dE/dlog s = s^2 tr(M)``, ``dE/dlog a = sum (M Phi) * Phi``, and
    ``dE/dtheta = a (G_sin cos(theta) - G_cos sin(theta))`` chains to the lengthscales.
    Everything that does not depend on the hyperparameters (the inputs, the categorical
    phases) is prepared once.

    Args:
        model: the NP (its base frequencies, categorical phases and their scale).
        x: ``B x m x d`` context inputs, r: ``B x m`` residuals (float64 both).
        choices: ``d`` choices per input (0: continuous), or ``None``.
    """

    def __init__(self, model: nn.Module, x: Tensor, r: Tensor, choices: Tensor | None) -> None:
        self.r = r
        self.base = model.base_freqs.double()  # K x d
        self.cat_scale = model.cat_scale
        self.eye = torch.eye(x.shape[1], dtype=torch.float64)
        self.cat = None
        if choices is None:
            self.x = x
        else:
            self.x = x * (choices == 0).double()  # only continuous inputs turn the phases
            self.cat = (choices > 0).nonzero().flatten()  # k categorical inputs
            idx = choice_index(x[..., self.cat], choices[self.cat])  # B x m x k
            phases = model.cat_phases[:, self.cat][:, torch.arange(self.cat.numel()), idx]  # K x B x m x k
            self.phases = phases.double().permute(1, 2, 0, 3)  # B x m x K x k

    def __call__(self, amp: Tensor, log_ls: Tensor, noise: Tensor,
                 with_evidence: bool = True) -> tuple[Tensor | None, Tensor, Tensor, Tensor]:
        """Evidence (``B``; ``None`` unless ``with_evidence``) and its gradients: lengthscales
        ``B x d`` (w.r.t. ``log_ls``), signal scale ``B`` (w.r.t. a common log factor of
        ``amp``, ``B x K``), noise ``B`` (w.r.t. log ``noise``, ``B``)."""
        freqs = self.base[None] * torch.exp(-log_ls)[:, None, :]  # B x K x d
        angle = self.x @ freqs.transpose(1, 2)  # B x m x K
        if self.cat is not None:
            scale = self.cat_scale(log_ls[:, self.cat])  # B x k
            angle = angle + (self.phases @ scale[:, None, :, None])[..., 0]
        a = amp[:, None, :]  # B x 1 x K
        cos, sin = angle.cos() * a, angle.sin() * a
        phi = torch.cat([cos, sin], -1)  # B x m x 2K
        var = noise.pow(2)  # B
        L = torch.linalg.cholesky(phi @ phi.transpose(1, 2) + var[:, None, None] * self.eye)
        alpha = torch.cholesky_solve(self.r[..., None], L)  # B x m x 1
        m = self.r.shape[1]
        evidence = None
        if with_evidence:
            evidence = -0.5 * ((self.r * alpha[..., 0]).sum(-1) + 2 * L.diagonal(dim1=1, dim2=2).log().sum(-1)
                               + m * LOG_2PI)
        M = alpha @ alpha.transpose(1, 2) - torch.cholesky_inverse(L)  # B x m x m: 2 dE/dK
        G = M @ phi  # B x m x 2K: dE/dPhi
        g_scale = (G * phi).sum((1, 2))
        Kh = cos.shape[-1]
        g_angle = G[..., Kh:] * cos - G[..., :Kh] * sin  # B x m x K
        g_ls = -(self.x * (g_angle @ freqs)).sum(1)  # B x d
        if self.cat is not None:
            g_cat = (g_angle[..., None] * self.phases).sum((1, 2))  # B x k
            g_ls[:, self.cat] = g_ls[:, self.cat] - 0.5 * scale * g_cat
        g_noise = var * M.diagonal(dim1=1, dim2=2).sum(-1)
        return evidence, g_ls, g_scale, g_noise


def refine(model: nn.Module, ctx: Context, xc: Tensor, resid: Tensor, steps: int) -> Refinement:
    """Move the ARD lengthscales, a signal scale and the noise of ``ctx`` uphill on the
    context's exact log evidence, plus a Gaussian penalty (sd ``refine_prior_std``;
    ``refine_cat_prior_std`` for categorical inputs' lengthscales) around the network's
    values: the network proposes, the data's evidence adjusts. The noise may go down to
    ``refine_min_std``, below the network's floor ``min_std``.

    ``xc``: ``B x n x d`` context inputs, ``resid``: ``B x n`` their values minus the
    decoder's mean. This is the NP analogue of a GP's hyperparameter fit, but on the
    ``2K``-feature basis with a good starting point, so a few dozen cheap steps suffice. The
    fixed number of steps from the network's proposal also regularises: warm-starting each
    ask from the previous ask's result (12 steps instead of 60) measured worse regret on the
    synthetic suite (Levy4 0.98 vs 0.37, Hartmann6 0.42 vs 0.14), as the hyperparameters
    drift towards the penalised optimum over many asks. Returns the corrections
    (:func:`apply_refinement` adds them).

    The gradients are written out (:class:`EvidenceGradient`), not taken by autograd:
    the same Adam steps at a fraction of the cost (the graph bookkeeping of ~30 small
    ops per step cost more than the maths)."""
    c = model.config
    # hyperparameters need far fewer points than n = 1000
    xc, resid = fixed_subset(c.refine_max_points, xc, resid.detach())
    log_ls0, amp0 = ctx.log_ls.detach().double(), ctx.amp.detach().double()
    log_noise0 = ctx.noise.detach().double().log()
    d = log_ls0.shape[1]
    # one tensor [lengthscales | scale | noise] for Adam (elementwise: the same steps as three)
    delta = torch.zeros(log_ls0.shape[0], d + 2, dtype=torch.float64)
    d_ls, d_scale, d_noise = delta[:, :d], delta[:, d], delta[:, d + 1]  # views
    opt = Adam([delta], lr=c.refine_lr)
    lo, hi = math.log(c.refine_min_std), 0.0
    gradient = EvidenceGradient(model, xc.double(), resid.double(), ctx.choices)
    prior_var = torch.full((d + 2,), c.refine_prior_std**2, dtype=torch.float64)  # per entry of delta
    if ctx.choices is not None:
        prior_var[:d][ctx.choices > 0] = c.refine_cat_prior_std**2
    with torch.no_grad():
        for _ in range(steps):
            log_noise = log_noise0 + d_noise
            _, g_ls, g_scale, g_log_noise = gradient(amp0 * d_scale.exp()[:, None], log_ls0 + d_ls,
                                                     log_noise.clamp(lo, hi).exp(), with_evidence=False)
            inside = ((log_noise >= lo) & (log_noise <= hi)).to(g_log_noise.dtype)  # the clamp's gradient
            grad = torch.cat([g_ls, g_scale[:, None], (g_log_noise * inside)[:, None]], 1)
            opt.step([delta / prior_var - grad])
    return Refinement(d_ls.clone(), d_scale.clone(), d_noise.clone())


def apply_refinement(ctx: Context, refinement: Refinement, min_std: float, noise: bool = True) -> Context:
    """``ctx`` with a refinement's corrections added to its lengthscales and amplitudes, and
    to its noise (clamped to ``[min_std, 1]``) if ``noise``; the refinement kept with it."""
    dtype = ctx.amp.dtype
    new_noise = ctx.noise
    if noise:
        new_noise = (ctx.noise.double().log() + refinement.log_noise).clamp(math.log(min_std), 0.0).exp().to(dtype)
    return replace(ctx, log_ls=(ctx.log_ls.double() + refinement.log_ls).to(dtype),
                   amp=(ctx.amp.double() * refinement.log_scale.exp()[:, None]).to(dtype),
                   noise=new_noise, refinement=refinement)


# ----------------------------------------------------------------- Gaussian densities
def gaussian_logpdf(r: Tensor, U: Tensor, noise: Tensor) -> Tensor:
    """``log N(r; 0, U U^T + noise^2 I)`` (``B``), by whichever of the ``m x m`` covariance
    and the ``R x R`` Woodbury form is smaller; ``r``: ``B x m``, ``U``: ``B x m x R``."""
    m, R = U.shape[1], U.shape[2]
    if R <= m:
        return lowrank_gaussian_logpdf(r, U, noise)
    r, U, var = r.double(), U.double(), noise.double() ** 2
    cov = U @ U.transpose(1, 2) + var[:, None, None] * torch.eye(m, dtype=U.dtype)  # B x m x m
    L = torch.linalg.cholesky(cov)
    w = torch.linalg.solve_triangular(L, r[..., None], upper=False)[..., 0]  # B x m
    logdet = 2 * L.diagonal(dim1=1, dim2=2).log().sum(-1)
    return (-0.5 * ((w * w).sum(-1) + logdet + m * LOG_2PI)).to(noise.dtype)


def lowrank_gaussian_logpdf(r: Tensor, U: Tensor, noise: Tensor) -> Tensor:
    """``log N(r; 0, U U^T + noise^2 I)`` by the Woodbury identity, in float64.

    Args:
        r: ``B x m`` residuals; U: ``B x m x R`` factor; noise: ``B`` std.

    Returns:
        ``B`` log densities (summed over the ``m`` points). Cost ``O(m R^2 + R^3)``.
    """
    r, U, var = r.double(), U.double(), noise.double()[:, None] ** 2  # var: B x 1
    m, R = U.shape[1], U.shape[2]
    A = torch.eye(R, dtype=U.dtype) + U.transpose(1, 2) @ U / var[..., None]  # B x R x R
    L = torch.linalg.cholesky(A)
    b = (U.transpose(1, 2) @ r[..., None]) / var[..., None]  # B x R x 1
    w = torch.linalg.solve_triangular(L, b, upper=False)[..., 0]  # B x R
    quad = (r * r).sum(-1) / var[:, 0] - (w * w).sum(-1)
    logdet = 2 * L.diagonal(dim1=1, dim2=2).log().sum(-1) + m * var[:, 0].log()
    return (-0.5 * (quad + logdet + m * LOG_2PI)).to(noise.dtype)
