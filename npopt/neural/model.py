"""The Neural Process, in one file that reads top to bottom.

Garnelo et al. (2018): an encoder ``h`` embeds each context pair ``(x, y)`` (here followed
by self-attention over the set, as in Attentive NPs); a mean aggregator ``a`` turns the set
into one order-invariant representation ``s``; a global latent ``z`` carries the function's
uncertainty; a decoder ``g`` gives the value at each target ``x``.

The decoder is linear in ``z``: ``g(z, x) = m(x, s) + Phi(x, s) . z`` with homoscedastic noise.
``Phi`` is a spectral basis: random Fourier features of an ARD kernel whose lengthscales
and amplitudes come from ``s`` (or, for the 1-D prior, sinusoids of fixed frequencies).
Because ``g`` is linear, ``q(z | context)`` is the exact conjugate posterior of ``z ~ N(0, I)``
(Bayesian aggregation: each context pair adds to its natural parameters, an order-invariant
sum), the targets' marginal is an exact Gaussian with low-rank covariance, training uses the
exact joint log-likelihood, and each function draw is one ``z`` decoded at all points.
Categorical inputs multiply the features by random features of a Hamming kernel.

Removed (no shipped prior used them; see git history before the 16-D prior): the MLP
decoder, the amortised latent, learned basis functions, cross-attention and a direct noise
head. Checkpoints that name them with the values the model still implements load as before.

Shapes: ``B`` tasks, ``n`` context points, ``m`` targets, ``d`` input dims, ``D`` model
width, ``K`` spectral frequencies, ``R = 2K`` latent size, ``S`` function draws.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from npopt.gpmath import choice_index
from npopt.optim import Adam

LOG_2PI = math.log(2 * math.pi)
# ARD lengthscales (unit-cube units) live in exp(LOG_LS_MID +- LOG_LS_HALF_RANGE) = [0.005, 16]
LOG_LS_MID, LOG_LS_HALF_RANGE = math.log(0.3), 4.0
# a categorical input's Hamming lengthscale is this times its exp(log_ls): 1.2 at the middle
CAT_LS_SCALE = 4.0
# settings older checkpoints and configs may name, with the only value this model implements
# (None: any value, it had no effect on that model)
REMOVED_SETTINGS = {"decoder": "linear", "latent": "bayesian", "latent_dim": 0, "cross_layers": 0,
                    "n_latent_samples": None}


@dataclass
class NPConfig:
    """Everything needed to rebuild a :class:`NeuralProcess` (saved in checkpoints).

    The defaults are the shipped 16-D prior's (``configs/np16d.yaml``)."""

    x_dim: int = 16
    d_model: int = 128
    n_heads: int = 4
    encoder_layers: int = 2  # self-attention blocks over the context (0: plain per-pair h)
    decoder_hidden: int = 128
    decoder_layers: int = 2
    fourier_features: int = 8  # sin/cos pairs per input dim, what the networks see of x
    fourier_max_freq: float = 16.0  # highest of those frequencies, in cycles per unit length
    min_std: float = 0.005  # lower bound of the observation-noise std (standardised units)
    spectral_features: int = 128  # K frequencies: the basis a_k(s) [cos, sin](w_k . x), z has 2K entries
    spectral: str = "ard"  # "ard": base frequencies / per-task ARD lengthscales; "fixed": set frequencies
    spectral_max_freq: float = 32.0  # largest |w_k|, cycles per unit length ("fixed" spectra)
    refine_steps: int = 60  # inference: ascent steps on the context's exact evidence ("ard" only)
    refine_lr: float = 0.1  # their step size (Adam, on log lengthscales, log signal scale, log noise)
    refine_prior_std: float = 1.0  # sd of the Gaussian that keeps refined log values near the network's
    refine_max_points: int = 128  # refine on at most this many context points (a fixed random subset)
    # the refinement may lower the noise std to this, below min_std (training's floor); measured in
    # benchmarks/results/refine_leash: at 0.005 sharp optima (Branin, Hartmann3) stayed blurred
    refine_min_std: float = 0.0005
    # the sd of that Gaussian for categorical inputs' log lengthscales: looser, as training drew
    # categorical correlations of at most 0.82 and real choices often share more (refine_leash)
    refine_cat_prior_std: float = 3.0
    summary_max_points: int = 128  # inference: encode the summary from at most this many points (0: all)
    count_feature: bool = True  # give the heads log(n): mean aggregation alone hides n
    noise_grid: int = 8  # noise from the context's exact evidence over this many levels
    max_choices: int = 12  # categorical inputs with up to this many choices (0: none; spectral "ard")

    def __post_init__(self) -> None:
        if self.spectral not in ("fixed", "ard"):
            raise ValueError(f"spectral must be 'fixed' or 'ard', not {self.spectral!r}")
        if self.spectral_features < 1:
            raise ValueError("need spectral_features >= 1 (the basis of the decoder)")
        if self.noise_grid < 1:
            raise ValueError("need noise_grid >= 1 (the noise levels the evidence chooses from)")
        if self.refine_steps and self.spectral != "ard":
            raise ValueError("refine_steps needs spectral 'ard'")
        if self.max_choices == 1 or self.max_choices < 0:
            raise ValueError("max_choices is 0 (no categorical inputs) or at least 2")
        if self.max_choices and self.spectral != "ard":
            raise ValueError("max_choices needs spectral 'ard'")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")

    @classmethod
    def from_dict(cls, d: dict) -> NPConfig:
        """Settings from a config or checkpoint; removed settings are accepted at the value
        the model still implements, and refused (naming them) otherwise."""
        d = dict(d)
        for key, kept in REMOVED_SETTINGS.items():
            if key in d:
                value = d.pop(key)
                if kept is not None and value != kept:
                    raise ValueError(f"model setting {key}={value!r} was removed (only {kept!r} remains)")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


def mlp(n_in: int, n_hidden: int, n_out: int, n_layers: int) -> nn.Sequential:
    """``n_layers`` hidden layers of width ``n_hidden`` with GELU, then a linear output."""
    layers: list[nn.Module] = []
    for i in range(n_layers):
        layers += [nn.Linear(n_in if i == 0 else n_hidden, n_hidden), nn.GELU()]
    layers.append(nn.Linear(n_hidden if n_layers else n_in, n_out))
    return nn.Sequential(*layers)


class FourierEmbedding(nn.Module):
    """``x`` (``... x d``) -> ``[x, sin(2 pi f x), cos(2 pi f x)]`` with fixed frequencies.

    Frequencies are geometric from 1 to ``max_freq`` cycles per unit, so the network can
    represent functions from nearly linear to very wiggly.
    """

    def __init__(self, x_dim: int, n_freq: int, max_freq: float) -> None:
        super().__init__()
        freqs = torch.logspace(0.0, math.log10(max_freq), n_freq) if n_freq else torch.zeros(0)
        self.register_buffer("freqs", 2 * math.pi * freqs, persistent=False)
        self.out_dim = x_dim * (1 + 2 * n_freq)

    def forward(self, x: Tensor) -> Tensor:
        angles = x[..., None] * self.freqs  # ... x d x F
        feats = torch.cat([x[..., None], angles.sin(), angles.cos()], dim=-1)  # ... x d x (2F+1)
        return feats.flatten(-2)  # ... x d(2F+1)


class AttentionBlock(nn.Module):
    """Pre-norm attention (queries attend to keys/values) followed by an MLP."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(d_model)
        self.mlp = mlp(d_model, 2 * d_model, d_model, 1)

    def forward(self, q: Tensor, kv: Tensor) -> Tensor:
        kv_n = self.norm_kv(kv)
        q = q + self.attn(self.norm_q(q), kv_n, kv_n, need_weights=False)[0]
        return q + self.mlp(self.norm_mlp(q))


@dataclass
class Context:
    """A context encoded once, reusable for decoding any number of targets."""

    summary: Tensor  # B x S, the mean-aggregated representation s (plus log n)
    z_mean: Tensor  # B x R
    z_factor: Tensor | None  # B x R x R, S with Cov(z | C) = S S^T; None in the kernel form
    noise: Tensor  # B, observation-noise std (set by the evidence grid)
    amp: Tensor  # B x K, amplitudes of the spectral basis
    log_ls: Tensor | None = None  # B x d, log ARD lengthscales (spectral "ard")
    choices: Tensor | None = None  # d, choices of each categorical input (0: continuous); None: all continuous
    refinement: Refinement | None = None  # the evidence refinement's corrections, if it ran
    # the kernel form of Cov(z | C) (:meth:`NeuralProcess.z_posterior_kernel`): W (B x R x n)
    # and w (B x n) with S = I - W diag(w) W^T symmetric, S S^T = Cov(z | C)
    z_kernel: tuple[Tensor, Tensor] | None = None

    def task(self, i: int) -> Context:
        """The encoding of the batch's ``i``-th context alone (a batch of one)."""

        def one(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[i:i + 1]

        r = self.refinement
        return Context(one(self.summary), one(self.z_mean), one(self.z_factor), one(self.noise), one(self.amp),
                       one(self.log_ls), self.choices,
                       None if r is None else Refinement(one(r.log_ls), one(r.log_scale), one(r.log_noise)),
                       None if self.z_kernel is None else (one(self.z_kernel[0]), one(self.z_kernel[1])))


@dataclass
class Refinement:
    """What the evidence refinement added to the network's proposal (float64, per task):
    log lengthscales ``B x d``, log signal scale ``B``, log noise ``B`` (before its clamp)."""

    log_ls: Tensor
    log_scale: Tensor
    log_noise: Tensor


class NeuralProcess(nn.Module):
    """A latent-variable Neural Process with a linear decoder on a spectral basis."""

    def __init__(self, config: NPConfig) -> None:
        super().__init__()
        self.config = c = config
        D, K = c.d_model, c.spectral_features
        self.embed = FourierEmbedding(c.x_dim, c.fourier_features, c.fourier_max_freq)
        # with categorical inputs the network also sees log(C) / log(max_choices) per input
        in_dim = self.embed.out_dim + (c.x_dim if c.max_choices else 0)
        # h: per-pair encoder, then self-attention over the set
        self.h = mlp(in_dim + 1, D, D, 2)
        self.self_attn = nn.ModuleList(AttentionBlock(D, c.n_heads) for _ in range(c.encoder_layers))
        self.norm_tokens = nn.LayerNorm(D)
        S = D + int(c.count_feature)  # width of the summary s
        # decoder mean m(x, s), from a per-target embedding and the summary
        self.query = mlp(in_dim, D, D, 1)
        self.decoder = mlp(D + S, c.decoder_hidden, 1, c.decoder_layers)
        self.to_noise = nn.Linear(S, c.noise_grid)  # prior logits over the noise grid
        self.register_buffer("noise_levels", torch.logspace(math.log10(c.min_std), 0.0, c.noise_grid,
                                                            dtype=torch.float64), persistent=False)
        g = torch.Generator().manual_seed(0)
        if c.spectral == "fixed":
            # fixed frequencies: magnitudes evenly spaced up to the maximum, directions random
            dirs = F.normalize(torch.randn(K, c.x_dim, generator=g), dim=-1)
            mags = torch.linspace(0.0, c.spectral_max_freq, K)
            self.register_buffer("freqs", 2 * math.pi * dirs * mags[:, None])  # K x d
        else:
            # random Fourier features of ARD kernels: angular frequency = base / lengthscale per
            # dimension; half the bases are standard normal (the RBF spectrum), half Student-t
            # with 5 degrees of freedom (the Matern-5/2 spectrum); the amplitudes weigh them
            self.register_buffer("base_freqs", spectral_bases(K, c.x_dim, g))  # K x d
            self.to_lengthscale = mlp(S, D, c.x_dim, 1)
            if c.max_choices:
                # random features of the Hamming kernel: a fixed standard-normal phase per
                # feature, input and choice (see `waves`)
                self.register_buffer("cat_phases", torch.randn(K, c.x_dim, c.max_choices, generator=g))  # K x d x C
        self.to_amplitude = mlp(S, D, K, 1)  # a learned spectral density per task

    def base_freqs_width(self) -> int:
        """The number of frequencies ``K`` of the basis in use (``spectral_features``, or
        more in a :meth:`widened` model)."""
        return self.base_freqs.shape[0] if self.config.spectral == "ard" else self.config.spectral_features

    def widened(self, features: int) -> NeuralProcess:
        """This NP with a basis of ``features`` random frequencies instead of its trained
        ``K``, for inference: the same networks (shared, not copied), new base frequencies
        and categorical phases drawn the same way (half Gaussian, half Student-t; seed 1),
        and each family's amplitude power, as the network proposes it, spread evenly over
        its new frequencies (:func:`spread_power`). The kernel such a basis expresses is
        the same ARD kernel with less sampling error: 128 random frequencies cannot express
        the kernels of 10-16-D functions at the lengthscales they need (README, "8-16
        dimensions"), and its categorical phases blur a Hamming kernel (the mixed suite).
        The evidence refinement, the noise choice and ``z`` use the wide basis."""
        c = self.config
        if c.spectral != "ard":
            raise ValueError("only an 'ard' spectral basis can be widened")
        wide = copy.copy(self)  # shares the networks' parameters and submodules
        wide._buffers = dict(self._buffers)  # but not the basis
        g = torch.Generator().manual_seed(1)
        wide.base_freqs = spectral_bases(features, c.x_dim, g)
        if c.max_choices:
            wide.cat_phases = torch.randn(features, c.x_dim, c.max_choices, generator=g)
        return wide

    # ----------------------------------------------------------------- encoding
    def inputs(self, x: Tensor, choices: Tensor | None) -> Tensor:
        """What the networks see of ``x`` (``B x m x d``): its Fourier features, and with
        categorical support a per-input code ``log C / log max_choices`` (0: continuous)."""
        feats = self.embed(x)
        if not self.config.max_choices:
            return feats
        code = x.new_zeros(self.config.x_dim)
        if choices is not None:
            scaled = choices.clamp_min(1).to(x.dtype).log() / math.log(self.config.max_choices)
            code = torch.where(choices > 0, scaled, code)
        return torch.cat([feats, code.expand(*x.shape[:-1], -1)], -1)

    def check_choices(self, choices: Tensor | None) -> Tensor | None:
        """``choices`` as a ``d`` long tensor, or ``None`` when no input is categorical."""
        if choices is None or not bool((choices > 0).any()):
            return None
        c = self.config
        if not c.max_choices:
            raise ValueError("this prior has no categorical inputs")
        if int(choices.max()) > c.max_choices:
            raise ValueError(
                f"this prior supports up to {c.max_choices} choices per categorical, not {int(choices.max())}"
            )
        return choices.long()

    def encode(self, xc: Tensor, yc: Tensor, refine_steps: int | None = None,
               choices: Tensor | None = None, refinement: Refinement | None = None) -> Context:
        """Encode the context and compute ``q(z | context)``.

        Args:
            xc: ``B x n x d`` context inputs in the unit cube, ``n >= 1``.
            yc: ``B x n`` standardised context values.
            refine_steps: evidence-ascent steps on the ARD hyperparameters (default: the
                config's ``refine_steps``; training passes 0).
            choices: ``d`` number of choices of each categorical input (0: continuous),
                shared by the batch; categorical coordinates are ``(i + 0.5) / C``.
            refinement: corrections found by an earlier refinement (``ctx.refinement`` of
                an encoding of part of this context), applied to this context's proposal
                instead of refining again; all but the noise's, which this context's own
                evidence chooses on the corrected basis (a noise the earlier points refined
                far down would else stay down after a surprising new point).
        """
        c = self.config
        ctx = self.summarise(xc, yc, choices)
        kept = refinement is not None
        if kept:  # the basis that z will use is the one the noise is chosen on
            self._apply(ctx, refinement, noise=False)
        # Bayesian aggregation: each context pair adds psi psi^T / noise^2 and psi y / noise^2 to
        # the natural parameters of z ~ N(0, I); the sum over pairs is order-invariant.
        m_c, psi_c = self.basis(ctx, xc)  # B x n, B x n x R
        psi, resid = psi_c.double(), (yc - m_c).double()  # B x n x R, B x n
        n, R = xc.shape[1], psi.shape[-1]
        # the sums over context pairs; below R points the noise choice takes the n x n kernel
        # instead, whose eigendecomposition z's posterior then reuses (if the basis stays)
        gram, proj = context_sums(psi, resid) if n >= R else (None, None)
        eig = kernel_eigh(psi) if gram is None and not torch.is_grad_enabled() else None
        self.choose_noise(ctx, gram, proj, resid.pow(2).sum(-1), n, psi=psi, resid=resid, eig=eig)
        steps = c.refine_steps if refine_steps is None else refine_steps
        if c.spectral == "ard" and not kept and steps:
            self._apply(ctx, self._refine(ctx, xc, resid, steps), noise=True)
            psi = self.waves(xc, ctx.amp, ctx.log_ls, ctx.choices).double()
            gram, eig = None, None  # the basis moved
        if gram is None and use_kernel_form(n, R, decomposed=eig is not None):
            self.z_posterior_kernel(ctx, psi, resid, eig)
            return ctx
        if gram is None:
            gram, proj = context_sums(psi, resid)
        self.z_posterior(ctx, gram, proj)
        return ctx

    def summarise(self, xc: Tensor, yc: Tensor, choices: Tensor | None = None) -> Context:
        """The first half of :meth:`encode`: the summary ``s`` of the context and what the
        heads make of it (amplitudes, ARD lengthscales); ``z`` and the noise still unset."""
        c = self.config
        choices = self.check_choices(choices)
        # the points the summary sees: all, or a fixed random subset of a large context
        xs, ys = fixed_subset(c.summary_max_points, xc, yc) if c.summary_max_points else (xc, yc)
        tokens = self.h(torch.cat([self.inputs(xs, choices), ys[..., None]], -1))  # B x n x D
        for block in self.self_attn:
            tokens = block(tokens, tokens)
        summary = self.norm_tokens(tokens).mean(1)  # B x D: the order-invariant aggregate a(...)
        if c.count_feature:  # B x (D+1): the aggregate plus log(n)
            summary = torch.cat([summary, summary.new_full((summary.shape[0], 1), math.log(xs.shape[1]) / 4)], -1)
        amp = F.softplus(self.to_amplitude(summary)) / math.sqrt(c.spectral_features)  # B x K
        width = self.base_freqs_width()
        if width != c.spectral_features:  # a widened basis (:meth:`widened`)
            amp = spread_power(amp, width)
        ctx = Context(summary, summary.new_zeros(0), summary.new_zeros(0), summary.new_zeros(0), amp, choices=choices)
        if c.spectral == "ard":
            ctx.log_ls = LOG_LS_MID + LOG_LS_HALF_RANGE * torch.tanh(self.to_lengthscale(summary) / LOG_LS_HALF_RANGE)
        return ctx

    def choose_noise(self, ctx: Context, gram: Tensor | None, proj: Tensor | None, rr: Tensor, n: int,
                     psi: Tensor | None = None, resid: Tensor | None = None,
                     eig: tuple[Tensor, Tensor] | None = None) -> None:
        """Set ``ctx.noise`` from the context's sums (``gram = Psi^T Psi``, ``proj = Psi^T r``,
        ``rr = r^T r``, ``n`` points): the noise the context itself supports, its exact
        evidence at each level plus the network's prior over levels; the posterior mean of
        log(noise) is used. The evidence only selects (no gradient through its J Choleskys:
        4x faster training). Given the basis ``psi`` (``B x n x R``) and residuals ``resid``
        of fewer points than features, the same evidence comes from the smaller ``n x n``
        kernel (:func:`kernel_grid_evidence`; ``eig``: that kernel's eigendecomposition, if
        already taken), and ``gram`` and ``proj`` may be ``None``."""
        with torch.no_grad():
            if psi is not None and resid is not None and n < psi.shape[-1]:
                evidence = kernel_grid_evidence(psi, resid, self.noise_levels, eig)  # B x J
            else:
                evidence = grid_evidence(gram, proj, rr, n, self.noise_levels)  # B x J
        weights = torch.softmax(self.to_noise(ctx.summary).double() + evidence, -1)  # B x J
        ctx.noise = (weights @ self.noise_levels.log()).exp().to(ctx.summary.dtype)

    def z_posterior(self, ctx: Context, gram: Tensor, proj: Tensor) -> None:
        """Set ``q(z | context)`` of ``ctx`` (its noise chosen) from the context's sums."""
        var = ctx.noise.double()[:, None, None] ** 2
        R = gram.shape[-1]
        precision = torch.eye(R, dtype=torch.float64) + gram / var  # B x R x R
        L = torch.linalg.cholesky(precision)
        rhs = proj[..., None] / var  # B x R x 1
        dtype = ctx.summary.dtype
        ctx.z_mean = torch.cholesky_solve(rhs, L)[..., 0].to(dtype)  # B x R
        eye = torch.eye(R, dtype=torch.float64).expand_as(L)
        ctx.z_factor = torch.linalg.solve_triangular(L, eye, upper=False).transpose(1, 2).to(dtype)  # L^-T
        ctx.z_kernel = None

    def z_posterior_kernel(self, ctx: Context, psi: Tensor, resid: Tensor,
                           eig: tuple[Tensor, Tensor] | None = None) -> None:
        """:meth:`z_posterior` from the ``n x n`` kernel of fewer points than features.

        With ``Psi Psi^T = U diag(mu) U^T``, ``W = Psi^T U`` and ``s = sqrt(mu + noise^2)``:
        ``E z = W diag(1 / s^2) U^T r`` and ``Cov z = (I + Psi^T Psi / noise^2)^-1 = S S^T`` with the
        symmetric ``S = I - W diag(w) W^T``, ``w = 1 / (s (s + noise))`` (finite as ``mu -> 0``).
        ``O(n^2 R)`` instead of :meth:`z_posterior`'s ``O(R^3)``; the same posterior (no
        gradients: an eigendecomposition; training takes :meth:`z_posterior`). ``eig``: the
        kernel's eigendecomposition (:func:`kernel_eigh` of ``psi``), if already taken."""
        psi, resid = psi.double(), resid.double()  # B x n x R, B x n
        var = ctx.noise.double()[:, None] ** 2  # B x 1
        mu, U = kernel_eigh(psi) if eig is None else eig  # B x n, B x n x n
        s2 = mu.clamp_min(0.0) + var  # B x n
        W = psi.transpose(1, 2) @ U  # B x R x n
        dtype = ctx.summary.dtype
        coef = (U.transpose(1, 2) @ resid[..., None])[..., 0] / s2  # B x n
        ctx.z_mean = (W @ coef[..., None])[..., 0].to(dtype)  # B x R
        ctx.z_factor = None
        s = s2.sqrt()
        ctx.z_kernel = W.to(dtype), (1.0 / (s * (s + var.sqrt()))).to(dtype)

    @staticmethod
    def _times_factor(ctx: Context, v: Tensor) -> Tensor:
        """``v S`` for ``v``: ``B x m x R`` (``S`` symmetric in the kernel form; ``L^-T`` else)."""
        if ctx.z_kernel is None:
            return v @ ctx.z_factor
        W, w = ctx.z_kernel
        return v - ((v @ W) * w[:, None, :]) @ W.transpose(1, 2)

    # ----------------------------------------------------------------- the linear decoder
    def basis(self, ctx: Context, xt: Tensor) -> tuple[Tensor, Tensor]:
        """Mean ``m(x)`` (``B x m``) and basis ``Phi(x)`` (``B x m x R``) of the linear decoder:
        ``m`` from the target's embedding and the summary, ``Phi`` the spectral basis."""
        r = self.query(self.inputs(xt, ctx.choices))  # B x m x D
        # the decoder's first layer on [r, s], its summary half computed once for all m targets
        first, D = self.decoder[0], r.shape[-1]
        hidden = F.linear(r, first.weight[:, :D]) + F.linear(ctx.summary, first.weight[:, D:], first.bias)[:, None, :]
        mean = self.decoder[1:](hidden)[..., 0]  # B x m
        return mean, self.waves(xt, ctx.amp, ctx.log_ls, ctx.choices)

    def waves(self, xt: Tensor, amp: Tensor, log_ls: Tensor | None, choices: Tensor | None = None) -> Tensor:
        """The spectral basis, ``B x m x 2K``: ``amp_k [cos, sin](theta_k(x))``.

        ``theta_k = w_k . x`` with a fixed frequency ``w_k`` (spectral "fixed") or
        ``base_k / lengthscale`` per dimension (spectral "ard", ``log_ls``: ``B x d``). With
        categorical inputs (``choices``: ``d``) the continuous part sees only the continuous
        inputs and each categorical input ``j`` adds a phase ``v_kj(c_j) / sqrt(l_j)``, with a
        fixed standard-normal ``v`` per feature, input and choice and ``l_j = 4 exp(log_ls_j)``.
        Two different choices then shift a feature's phase by ``N(0, 2 / l_j)``, so
        ``E cos(theta_k(x) - theta_k(x')) = k_ARD(x - x') prod_j exp(-[c_j != c'_j] / l_j)``:
        random features of the ARD kernel times an exponentiated Hamming kernel. Every
        feature keeps unit power whatever the number of categorical inputs."""
        if log_ls is None:
            return self._sinusoids(xt @ self.freqs.to(xt.dtype).T, amp)  # B x m x K angles
        freqs = self.base_freqs.to(xt.dtype)[None] * torch.exp(-log_ls.to(xt.dtype))[:, None, :]  # B x K x d
        if choices is None:
            return self._sinusoids(xt @ freqs.transpose(1, 2), amp)
        cat = (choices > 0).nonzero().flatten()  # k categorical inputs
        angle = (xt * (choices == 0).to(xt.dtype)) @ freqs.transpose(1, 2)  # B x m x K
        idx = choice_index(xt[..., cat].detach(), choices[cat])  # B x m x k
        phases = self.cat_phases[:, cat][:, torch.arange(cat.numel()), idx].to(xt.dtype)  # K x B x m x k
        scale = torch.exp(-0.5 * log_ls[:, cat].to(xt.dtype)) / math.sqrt(CAT_LS_SCALE)  # B x k: 1 / sqrt(l_j)
        angle = angle + torch.einsum("kbmj,bj->bmk", phases, scale)  # B x m x K
        return self._sinusoids(angle, amp)

    @staticmethod
    def _sinusoids(angle: Tensor, amp: Tensor) -> Tensor:
        """``[cos, sin](angle) * amp``: ``B x m x 2K`` from ``B x m x K`` angles."""
        amp = amp.to(angle.dtype)[:, None, :]
        return torch.cat([angle.cos() * amp, angle.sin() * amp], -1)

    def _refine(self, ctx: Context, xc: Tensor, resid: Tensor, steps: int) -> Refinement:
        """Move the ARD lengthscales, a signal scale and the noise of ``ctx`` uphill on the
        context's exact log evidence, plus a Gaussian penalty (sd ``refine_prior_std``;
        ``refine_cat_prior_std`` for categorical inputs' lengthscales) around the network's
        values: the network proposes, the data's evidence adjusts. The noise may go down to
        ``refine_min_std``, below the network's floor ``min_std``.

        ``resid``: ``B x n`` context values minus the decoder's mean. This is the NP analogue
        of a GP's hyperparameter fit, but on the ``2K``-feature basis with a good starting
        point, so a few dozen cheap steps suffice. The fixed number of steps from the
        network's proposal also regularises: warm-starting each ask from the previous
        ask's result (12 steps instead of 60) measured worse regret on the synthetic suite
        (Levy4 0.98 vs 0.37, Hartmann6 0.42 vs 0.14), as the hyperparameters drift towards
        the penalised optimum over many asks. Returns the corrections (``ctx`` is left as
        it is; :meth:`_apply` adds them).

        The gradients are written out (:class:`EvidenceGradient`), not taken by autograd:
        the same Adam steps at a fraction of the cost (the graph bookkeeping of ~30 small
        ops per step cost more than the maths)."""
        c = self.config
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
        gradient = EvidenceGradient(self, xc.double(), resid.double(), ctx.choices)
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

    def _apply(self, ctx: Context, refinement: Refinement, noise: bool = True) -> None:
        """Add a refinement's corrections to the proposal in ``ctx`` (and keep them there);
        the noise's only if ``noise``."""
        dtype = ctx.amp.dtype
        lo, hi = math.log(self.config.refine_min_std), 0.0
        ctx.log_ls = (ctx.log_ls.double() + refinement.log_ls).to(dtype)
        ctx.amp = (ctx.amp.double() * refinement.log_scale.exp()[:, None]).to(dtype)
        if noise:
            ctx.noise = (ctx.noise.double().log() + refinement.log_noise).clamp(lo, hi).exp().to(dtype)
        ctx.refinement = refinement

    def linear_terms(self, ctx: Context, xt: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mean (``B x m``), factor ``U = Phi S`` (``B x m x R``) and noise std (``B``) of the
        exact Gaussian marginal ``N(mean, U U^T + noise^2 I)`` of the decoder."""
        m_t, phi = self.basis(ctx, xt)
        mean = m_t + (phi @ ctx.z_mean[..., None])[..., 0]  # B x m
        return mean, self._times_factor(ctx, phi), ctx.noise

    def _draw_z(self, ctx: Context, S: int, generator: torch.Generator | None) -> Tensor:
        eps = torch.randn((S, *ctx.z_mean.shape), generator=generator).to(ctx.z_mean)  # S x B x R
        if ctx.z_kernel is None:
            return ctx.z_mean + (ctx.z_factor @ eps[..., None])[..., 0]  # S x B x R
        return ctx.z_mean + self._times_factor(ctx, eps.transpose(0, 1)).transpose(0, 1)  # S x B x R (S = S^T)

    # ----------------------------------------------------------------- likelihoods
    @torch.no_grad()
    def evidence(self, ctx: Context, xc: Tensor, yc: Tensor) -> Tensor:
        """The exact log evidence of ``ctx``'s own context under its encoding (``B``):
        ``log N(yc; m(xc), Phi Phi^T + noise^2 I)`` with the decoder's mean ``m``, the basis
        ``Phi`` and the noise as encoded (refined, if the refinement ran)."""
        m_c, psi = self.basis(ctx, xc)
        return gaussian_logpdf(yc.double() - m_c.double(), psi, ctx.noise.double())

    def log_likelihoods(self, xc: Tensor, yc: Tensor, xt: Tensor, yt: Tensor,
                        refine_steps: int | None = None, choices: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Joint and marginal log-likelihoods of the targets per target point, ``B`` each,
        from one encoding of the context.

        Joint: the density of all targets under one shared function (what coherent draws
        need); marginal: the mean of per-point marginal densities.
        """
        ctx = self.encode(xc, yc, refine_steps, choices)
        mean, U, noise = self.linear_terms(ctx, xt)
        var = U.pow(2).sum(-1) + noise[:, None] ** 2  # B x m
        marginal = (-0.5 * (LOG_2PI + var.log() + (yt - mean) ** 2 / var)).mean(-1)
        return lowrank_gaussian_logpdf(yt - mean, U, noise) / xt.shape[1], marginal

    def log_likelihood(self, xc: Tensor, yc: Tensor, xt: Tensor, yt: Tensor, joint: bool = True,
                       refine_steps: int | None = None, choices: Tensor | None = None) -> Tensor:
        """The joint (``joint=True``) or marginal log-likelihood per target point, ``B``."""
        return self.log_likelihoods(xc, yc, xt, yt, refine_steps, choices)[0 if joint else 1]

    def loss(self, xc: Tensor, yc: Tensor, xt: Tensor, yt: Tensor, marginal_weight: float = 0.0,
             choices: Tensor | None = None) -> Tensor:
        """Training loss: minus the target log-likelihood per point, batch mean.

        The joint term makes draws coherent; the joint density barely penalises a few
        over-wide directions of the covariance (their log-det cost is shared by all
        ``m`` points), so ``marginal_weight`` mixes in the per-point marginals, which
        must each be sharp. Training never refines (``refine_steps=0``): the network
        learns to propose hyperparameters on its own.
        """
        joint, marginal = self.log_likelihoods(xc, yc, xt, yt, refine_steps=0, choices=choices)
        return -((1 - marginal_weight) * joint + marginal_weight * marginal).mean()

    # ----------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict(self, context_x: Tensor, context_y: Tensor, x: Tensor,
                choices: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Predictive mean and std of the *function* (no observation noise), ``m`` each.

        Args:
            context_x: ``n x d``; context_y: ``n``; x: ``m x d`` (a single task);
            choices: ``d`` choices per categorical input (see :meth:`encode`).
        """
        return self.predict_from(self.encode(context_x[None], context_y[None], choices=choices), x)

    @torch.no_grad()
    def predict_from(self, ctx: Context, x: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`predict` from an encoded single-task context (``x``: ``m x d``)."""
        mean, U, _ = self.linear_terms(ctx, x[None])
        return mean[0], U[0].pow(2).sum(-1).sqrt()

    @torch.no_grad()
    def draw_paths(self, context_x: Tensor, context_y: Tensor, n_draws: int,
                   generator: torch.Generator | None = None, choices: Tensor | None = None) -> FunctionPaths:
        """``n_draws`` function draws that can be evaluated anywhere, differentiably in ``x``;
        the same ``generator`` state gives the same functions as :meth:`sample_functions`."""
        return self.paths_from(self.encode(context_x[None], context_y[None], choices=choices), n_draws, generator)

    @torch.no_grad()
    def paths_from(self, ctx: Context, n_draws: int, generator: torch.Generator | None = None) -> FunctionPaths:
        """:meth:`draw_paths` from an encoded single-task context."""
        return FunctionPaths(self, ctx, self._draw_z(ctx, n_draws, generator)[:, 0])

    @torch.no_grad()
    def sample_functions(self, context_x: Tensor, context_y: Tensor, x: Tensor, n_draws: int,
                         generator: torch.Generator | None = None, choices: Tensor | None = None) -> Tensor:
        """Coherent function draws: ``n_draws x m``, ONE ``z`` per row decoded at all ``x``.

        Args:
            context_x: ``n x d`` context inputs (unit cube); context_y: ``n`` standardised values.
            x: ``m x d`` points at which to evaluate each drawn function.
            n_draws: number of functions ``S``.
            generator: randomness for ``z``.
            choices: ``d`` choices per categorical input (see :meth:`encode`).
        """
        return self.draw_paths(context_x, context_y, n_draws, generator, choices)(x)


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
        model: the NP (its base frequencies and categorical phases).
        x: ``B x m x d`` context inputs, r: ``B x m`` residuals (float64 both).
        choices: ``d`` choices per input (0: continuous), or ``None``.
    """

    def __init__(self, model: NeuralProcess, x: Tensor, r: Tensor, choices: Tensor | None) -> None:
        self.r = r
        self.base = model.base_freqs.double()  # K x d
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
            scale = torch.exp(-0.5 * log_ls[:, self.cat]) / math.sqrt(CAT_LS_SCALE)  # B x k
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


class FunctionPaths:
    """Function draws ``f_s(x) = m(x) + Phi(x) . z_s`` of a conditioned NP."""

    def __init__(self, model: NeuralProcess, ctx: Context, z: Tensor) -> None:
        self.model, self.ctx, self.z = model, ctx, z  # z: S x R

    def __call__(self, x: Tensor) -> Tensor:
        """All draws at ``x`` (``m x d``): ``S x m``."""
        m_t, phi = self.model.basis(self.ctx, x[None])
        return m_t[0] + self.z @ phi[0].T

    def draw(self, i: int, x: Tensor) -> Tensor:
        """Draw ``i`` at ``x`` (``k x d``): ``k`` values, differentiable in ``x``."""
        m_t, phi = self.model.basis(self.ctx, x[None])
        return m_t[0] + phi[0] @ self.z[i]


def spectral_bases(K: int, x_dim: int, generator: torch.Generator) -> Tensor:
    """``K x x_dim`` base frequencies of the ARD basis: the first ``K // 2`` standard
    normal (the RBF spectrum), the rest Student-t with 5 degrees of freedom (Matern-5/2)."""
    base = torch.randn(K, x_dim, generator=generator)
    chi2 = torch.randn(K - K // 2, 5, generator=generator).pow(2).sum(-1) / 5
    base[K // 2:] /= chi2.sqrt()[:, None]
    return base


def spread_power(amp: Tensor, width: int) -> Tensor:
    """``B x K`` amplitudes of a basis of ``K`` frequencies (first half Gaussian, second
    Student-t) as ``B x width`` amplitudes of a wider one: each half's total power
    ``sum amp^2`` spread evenly over that half's new frequencies."""
    K = amp.shape[-1]
    halves = ((amp[:, :K // 2], width // 2), (amp[:, K // 2:], width - width // 2))
    return torch.cat([(a.pow(2).sum(-1, keepdim=True) / n).sqrt().expand(-1, n) for a, n in halves], -1)


def pad_inputs(X: Tensor, x_dim: int, pad_value: float) -> Tensor:
    """``... x d`` points as the ``... x x_dim`` float32 inputs of a prior with more inputs:
    the extra ones held at ``pad_value``, where its training held unused inputs."""
    extra = x_dim - X.shape[-1]
    X = X.float()
    return torch.cat([X, X.new_full((*X.shape[:-1], extra), pad_value)], -1) if extra else X


def fixed_subset(cap: int, *tensors: Tensor) -> tuple[Tensor, ...]:
    """``tensors`` (``B x n x ...`` each) cut to the same fixed random ``cap`` of their ``n``
    points (seed 0, so the same context always gives the same subset); unchanged if
    ``n <= cap``."""
    n = tensors[0].shape[1]
    if n <= cap:
        return tensors
    keep = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:cap]
    return tuple(t[:, keep] for t in tensors)


#: :meth:`NeuralProcess.encode` takes ``z``'s posterior in the kernel form
#: (:meth:`~NeuralProcess.z_posterior_kernel`) from this many basis functions on, outside
#: training: the widened bases (1,024 and more) of 7+ parameters and of categorical spaces,
#: where the ``R x R`` form costs ~60 ms (one thread). For contexts of at most half as many
#: points, or of fewer points than basis functions when the noise choice has already
#: decomposed the ``n x n`` kernel; decomposing it for ``z`` alone costs 3 ms at n = 100,
#: 33 ms at 400, 69 ms at 600, 159 ms at 800, overtaking the ``R x R`` form near n = R / 2.
#: Below, the ``R x R`` form is kept (a few ms at R = 256), so that the committed runs of
#: those spaces replay bit for bit.
KERNEL_FORM_FROM = 1024


def use_kernel_form(n: int, R: int, decomposed: bool = False) -> bool:
    """Whether ``z``'s posterior from ``n`` points on ``R`` basis functions takes the kernel
    form; ``decomposed``: the ``n x n`` kernel's eigendecomposition is already at hand."""
    return R >= KERNEL_FORM_FROM and (2 * n <= R or (decomposed and n < R)) and not torch.is_grad_enabled()


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
