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

The networks propose a basis; what the context's exact evidence then decides (the noise, the
basis' refinement, ``z``'s posterior) is :mod:`npopt.neural.fit`'s, into a ``Context``.

Removed (no shipped prior used them; see git history before the 16-D prior): the MLP
decoder, the amortised latent, learned basis functions, cross-attention and a direct noise
head; later the summary without ``log n`` (``count_feature=False``, in no config).
Checkpoints that name them with the values the model still implements load as before.

Shapes: ``B`` tasks, ``n`` context points, ``m`` targets, ``d`` input dims, ``D`` model
width, ``K`` spectral frequencies, ``R = 2K`` latent size, ``S`` function draws.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from npopt.gpmath import choice_index
from npopt.neural import fit
from npopt.neural.context import Context, Refinement

# ARD lengthscales (unit-cube units) live in exp(LOG_LS_MID +- LOG_LS_HALF_RANGE) = [0.005, 16]
LOG_LS_MID, LOG_LS_HALF_RANGE = math.log(0.3), 4.0
# a categorical input's Hamming lengthscale is this times its exp(log_ls): 1.2 at the middle
CAT_LS_SCALE = 4.0
# The settings that changed since checkpoint format 1: "added" with the value that rebuilds a checkpoint
# older than the setting; "removed" with the only value this model implements (None: any, it had no effect).
SETTINGS_HISTORY = {"added": dict(spectral="fixed", refine_steps=0, refine_max_points=256, summary_max_points=0,
                                   max_choices=0),
                    "removed": dict(decoder="linear", latent="bayesian", latent_dim=0, cross_layers=0,
                                    n_latent_samples=None)}


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
    count_feature: bool = True  # the heads see log(n) beside the mean, which alone hides n (False: removed)
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
        if not self.count_feature:
            raise ValueError("model setting count_feature=False was removed (only True remains)")

    @classmethod
    def from_dict(cls, d: dict) -> NPConfig:
        """Settings from a config or checkpoint; removed settings are accepted at the value
        the model still implements, and refused (naming them) otherwise."""
        d = dict(d)
        for key, kept in SETTINGS_HISTORY["removed"].items():
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


# ----------------------------------------------------------------- small parts
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
        S = D + 1  # width of the summary s: the mean of the tokens and log n
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
            # dimension, the bases RBF and Matern-5/2 spectra (`spectral_bases`), weighed by amplitudes
            self.register_buffer("base_freqs", spectral_bases(K, c.x_dim, g))  # K x d
            self.to_lengthscale = mlp(S, D, c.x_dim, 1)
            if c.max_choices:
                # random features of the Hamming kernel: a fixed standard-normal phase per
                # feature, input and choice (see `waves`)
                self.register_buffer("cat_phases", torch.randn(K, c.x_dim, c.max_choices, generator=g))  # K x d x C
        self.to_amplitude = mlp(S, D, K, 1)  # a learned spectral density per task

    def base_freqs_width(self) -> int:
        """The number ``K`` of frequencies of the basis in use (more in a :meth:`widened` model)."""
        return self.base_freqs.shape[0] if self.config.spectral == "ard" else self.config.spectral_features

    def widened(self, features: int) -> NeuralProcess:
        """This NP with a basis of ``features`` random frequencies instead of its trained ``K``,
        for inference: the same networks (shared, not copied), new base frequencies and
        categorical phases drawn the same way (seed 1), each family's amplitude power spread
        over its new frequencies (:func:`spread_power`). The same ARD kernel with less sampling
        error: 128 frequencies cannot express the kernels of 10-16-D functions at the
        lengthscales they need (README, "8-16 dimensions"), and their categorical phases blur
        a Hamming kernel (the mixed suite). The refinement, the noise and ``z`` use it."""
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

    # ----------------------------------------------------------------- inputs and the basis
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
            raise ValueError(f"this prior supports up to {c.max_choices} choices per categorical, "
                             f"not {int(choices.max())}")
        return choices.long()

    @staticmethod
    def cat_scale(log_ls: Tensor) -> Tensor:
        """``1 / sqrt(l_j)`` of categorical inputs with log lengthscales ``log_ls``, their
        Hamming lengthscales ``l_j = CAT_LS_SCALE exp(log_ls_j)``."""
        return torch.exp(-0.5 * log_ls) / math.sqrt(CAT_LS_SCALE)

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
        scale = self.cat_scale(log_ls[:, cat].to(xt.dtype))  # B x k: 1 / sqrt(l_j)
        angle = angle + torch.einsum("kbmj,bj->bmk", phases, scale)  # B x m x K
        return self._sinusoids(angle, amp)

    @staticmethod
    def _sinusoids(angle: Tensor, amp: Tensor) -> Tensor:
        """``[cos, sin](angle) * amp``: ``B x m x 2K`` from ``B x m x K`` angles."""
        amp = amp.to(angle.dtype)[:, None, :]
        return torch.cat([angle.cos() * amp, angle.sin() * amp], -1)

    def basis(self, ctx: Context, xt: Tensor) -> tuple[Tensor, Tensor]:
        """Mean ``m(x)`` (``B x m``) and basis ``Phi(x)`` (``B x m x R``) of the linear decoder:
        ``m`` from the target's embedding and the summary, ``Phi`` the spectral basis."""
        r = self.query(self.inputs(xt, ctx.choices))  # B x m x D
        # the decoder's first layer on [r, s], its summary half computed once for all m targets
        first, D = self.decoder[0], r.shape[-1]
        hidden = F.linear(r, first.weight[:, :D]) + F.linear(ctx.summary, first.weight[:, D:], first.bias)[:, None, :]
        mean = self.decoder[1:](hidden)[..., 0]  # B x m
        if ctx.offset is not None:
            mean = mean + ctx.offset[:, None].to(mean.dtype)
        return mean, self.waves(xt, ctx.amp, ctx.log_ls, ctx.choices)

    # ----------------------------------------------------------------- encoding
    def summarise(self, xc: Tensor, yc: Tensor, choices: Tensor | None = None) -> Context:
        """The first stage of :meth:`encode`: the summary ``s`` of the context and what the
        heads make of it (amplitudes, ARD lengthscales); no noise or ``z`` yet."""
        c = self.config
        choices = self.check_choices(choices)
        # the points the summary sees: all, or a fixed random subset of a large context
        xs, ys = fit.fixed_subset(c.summary_max_points, xc, yc) if c.summary_max_points else (xc, yc)
        tokens = self.h(torch.cat([self.inputs(xs, choices), ys[..., None]], -1))  # B x n x D
        for block in self.self_attn:
            tokens = block(tokens, tokens)
        summary = self.norm_tokens(tokens).mean(1)  # B x D: the order-invariant aggregate a(...)
        log_n = summary.new_full((summary.shape[0], 1), math.log(xs.shape[1]) / 4)  # B x 1
        summary = torch.cat([summary, log_n], -1)  # B x (D+1)
        amp = F.softplus(self.to_amplitude(summary)) / math.sqrt(c.spectral_features)  # B x K
        width = self.base_freqs_width()
        if width != c.spectral_features:  # a widened basis (:meth:`widened`)
            amp = spread_power(amp, width)
        log_ls = (LOG_LS_MID + LOG_LS_HALF_RANGE * torch.tanh(self.to_lengthscale(summary) / LOG_LS_HALF_RANGE)
                  if c.spectral == "ard" else None)  # B x d
        return Context(summary, amp, log_ls, choices)

    def encode(self, xc: Tensor, yc: Tensor, refine_steps: int | None = None,
               choices: Tensor | None = None, refinement: Refinement | None = None,
               constant_mean: bool = False) -> Context:
        """Encode the context and compute ``q(z | context)``.

        Args:
            xc: ``B x n x d`` context inputs in the unit cube, ``n >= 1``.
            yc: ``B x n`` standardised context values.
            refine_steps: evidence-ascent steps on the ARD hyperparameters (default: the config's).
            choices: ``d`` number of choices of each categorical input (0: continuous),
                shared by the batch; categorical coordinates are ``(i + 0.5) / C``.
            refinement: corrections found by an earlier refinement (``ctx.refinement`` of
                an encoding of part of this context), applied to this context's proposal
                instead of refining again; all but the noise's, which this context's own
                evidence chooses on the corrected basis (a noise the earlier points refined
                far down would else stay down after a surprising new point).
            constant_mean: also fit a constant added to the decoder's mean (``ctx.offset``):
                the generalised-least-squares constant (:func:`~npopt.neural.fit.kriging_constant`)
                of the values under the proposed basis and noise, before the noise and the
                refinement are fitted to what it leaves, then again under the basis and noise
                ``z`` will use: a GP's constant mean, fitted as a GP fits it (by the evidence; in
                two alternating steps here). Inference only (training never set it). Far from
                the observations a draw returns to the constant instead of to the decoder's
                mean, which matters in 8-16 dimensions, where almost every point is far.
        """
        c = self.config
        ctx = self.summarise(xc, yc, choices)
        if refinement is not None:  # the basis that z will use is the one the noise is chosen on
            ctx = fit.apply_refinement(ctx, refinement, c.refine_min_std, noise=False)
        m_c, psi_c = self.basis(ctx, xc)  # B x n, B x n x R
        psi, resid = psi_c.double(), (yc - m_c).double()  # B x n x R, B x n
        n, R = xc.shape[1], psi.shape[-1]
        # the sums over context pairs; below R points the noise choice takes the n x n kernel
        # instead, whose eigendecomposition z's posterior then reuses (if the basis stays)
        sums = fit.context_sums(psi, resid) if n >= R else None  # B x R x R, B x R
        eig = fit.kernel_eigh(psi) if sums is None and not torch.is_grad_enabled() else None
        offset = None

        def projection(r: Tensor) -> Tensor:  # Psi^T r of the current basis: the sums' half that r moves
            return (psi.transpose(1, 2) @ r[..., None])[..., 0]

        if constant_mean:  # the constant on the proposed basis and noise; what follows fits the rest
            noise = fit.choose_noise(self, ctx, fit.noise_evidence(self.noise_levels, psi, resid, sums, eig)).noise
            offset = fit.kriging_constant(psi, resid, noise, sums, eig)
            resid = resid - offset[:, None]
            sums = None if sums is None else (sums[0], projection(resid))
        ctx = fit.choose_noise(self, ctx, fit.noise_evidence(self.noise_levels, psi, resid, sums, eig))
        steps = c.refine_steps if refine_steps is None else refine_steps
        if c.spectral == "ard" and refinement is None and steps:
            ctx = fit.apply_refinement(ctx, fit.refine(self, ctx, xc, resid, steps), c.refine_min_std)
            psi = self.waves(xc, ctx.amp, ctx.log_ls, ctx.choices).double()
            sums, eig = None, None  # the basis moved
        if constant_mean:  # and again on the basis and noise z will use
            if sums is None and eig is None and fit.use_kernel_form(n, R):
                eig = fit.kernel_eigh(psi)  # z's kernel form reuses it
            again = fit.kriging_constant(psi, resid, ctx.noise, sums, eig)
            resid = resid - again[:, None]
            sums = None if sums is None else (sums[0], projection(resid))
            ctx = replace(ctx, offset=(offset + again).to(ctx.summary.dtype))
        if sums is None and fit.use_kernel_form(n, R, decomposed=eig is not None):
            return fit.z_posterior_kernel(ctx, psi, resid, eig)
        return fit.z_posterior(ctx, *(fit.context_sums(psi, resid) if sums is None else sums))

    # ----------------------------------------------------------------- the linear decoder
    @staticmethod
    def _times_factor(ctx: Context, v: Tensor) -> Tensor:
        """``v S`` for ``v``: ``B x m x R`` (``S`` symmetric in the kernel form; ``L^-T`` else)."""
        if ctx.z_kernel is None:
            return v @ ctx.z_factor
        W, w = ctx.z_kernel
        return v - ((v @ W) * w[:, None, :]) @ W.transpose(1, 2)

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
        return fit.gaussian_logpdf(yc.double() - m_c.double(), psi, ctx.noise.double())

    def log_likelihoods(self, xc: Tensor, yc: Tensor, xt: Tensor, yt: Tensor,
                        refine_steps: int | None = None, choices: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Joint and marginal log-likelihoods of the targets per target point, ``B`` each, from
        one encoding of the context. Joint: the density of all targets under one shared
        function (what coherent draws need); marginal: the mean of per-point densities."""
        ctx = self.encode(xc, yc, refine_steps, choices)
        mean, U, noise = self.linear_terms(ctx, xt)
        marginal = _pointwise_logpdf(mean, U, noise, yt).mean(-1)
        return fit.lowrank_gaussian_logpdf(yt - mean, U, noise) / xt.shape[1], marginal

    def point_log_likelihoods(self, ctx: Context, xt: Tensor, yt: Tensor) -> Tensor:
        """Each target's own log density under an encoded context's Gaussian marginal, ``B x m``
        (the terms whose mean is :meth:`log_likelihoods`' marginal)."""
        return _pointwise_logpdf(*self.linear_terms(ctx, xt), yt)

    def log_likelihood(self, xc: Tensor, yc: Tensor, xt: Tensor, yt: Tensor, joint: bool = True,
                       refine_steps: int | None = None, choices: Tensor | None = None) -> Tensor:
        """The joint (``joint=True``) or marginal log-likelihood per target point, ``B``."""
        return self.log_likelihoods(xc, yc, xt, yt, refine_steps, choices)[0 if joint else 1]

    def loss(self, xc: Tensor, yc: Tensor, xt: Tensor, yt: Tensor, marginal_weight: float = 0.0,
             choices: Tensor | None = None) -> Tensor:
        """Training loss: minus the target log-likelihood per point, batch mean.

        The joint term makes draws coherent; the joint density barely penalises a few
        over-wide directions of the covariance (their log-det cost is shared by all ``m``
        points), so ``marginal_weight`` mixes in the per-point marginals, which must each be
        sharp. Training never refines: the network learns to propose on its own."""
        joint, marginal = self.log_likelihoods(xc, yc, xt, yt, refine_steps=0, choices=choices)
        return -((1 - marginal_weight) * joint + marginal_weight * marginal).mean()

    # ----------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict(self, context_x: Tensor, context_y: Tensor, x: Tensor,
                choices: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Predictive mean and std of the *function* (no observation noise), ``m`` each, of a
        single task: ``context_x``: ``n x d``, ``context_y``: ``n``, ``x``: ``m x d``,
        ``choices``: ``d`` choices per categorical input (see :meth:`encode`)."""
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
        """Coherent function draws at ``x`` (``m x d``): ``n_draws x m``, ONE ``z`` per row
        decoded at all ``x``; the context as in :meth:`predict`, ``generator`` draws ``z``."""
        return self.draw_paths(context_x, context_y, n_draws, generator, choices)(x)


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


def _pointwise_logpdf(mean: Tensor, U: Tensor, noise: Tensor, y: Tensor) -> Tensor:
    """``log N(y_i; mean_i, |U_i|^2 + noise^2)`` per point, ``B x m``."""
    var = U.pow(2).sum(-1) + noise[:, None] ** 2  # B x m
    return -0.5 * (fit.LOG_2PI + var.log() + (y - mean) ** 2 / var)
