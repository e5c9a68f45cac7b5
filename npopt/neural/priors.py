"""Function families for meta-training, and the oracle GP that knows their true kernel.

A *family* is a GP with one kernel (``rbf``, ``matern52`` or ``periodic``) whose
hyperparameters are drawn per task from distributions in the YAML config. A prior is a
weighted mixture of families, plus things every family shares: a random constant offset
and linear trend (both known to the oracle as extra kernel terms), small observation
noise, and the numbers of context and target points.

All inputs live in the unit cube. Lengthscales and periods are in unit-cube units: the
paper's setting, lengthscale ~ U[0.1, 0.6] on [-2, 2], is U[0.025, 0.15] here.
Mixed tasks make some inputs categorical: choice ``i`` of ``C`` sits at ``(i + 0.5) / C``,
as npopt encodes it, and the kernel is multiplied by an exponentiated Hamming kernel over
those inputs (:func:`hamming_kernel`), or (``cat_sum_prob``) a weighted sum of that product
and both kernels alone; the continuous kernel and the trend ignore them.

A sampled :class:`TaskBatch` is standardised the way npopt standardises observations
(context mean and std), and keeps the raw values and hyperparameters so that the oracle
GP can score the same targets exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from npopt.gpmath import KERNELS, choice_index, hamming_kernel, kernel, posterior_from_factor
from npopt.neural import datasets
from npopt.neural.tasks import TaskBatch

JITTER = 1e-6  # relative to the signal variance, part of the "true" function kernel
SOURCES = ("gp", "digits", "wheel")


@dataclass
class Dist:
    """A scalar distribution: ``uniform``, ``loguniform`` or ``fixed``."""

    dist: str = "uniform"
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.dist not in ("uniform", "loguniform", "fixed"):
            raise ValueError(f"unknown distribution {self.dist!r} (uniform, loguniform, fixed)")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform distribution needs low > 0")
        if self.high < self.low:
            raise ValueError(f"distribution has high ({self.high}) < low ({self.low})")

    def sample(self, n: int, g: torch.Generator) -> Tensor:
        u = torch.rand(n, generator=g, dtype=torch.float64)
        if self.dist == "fixed":
            return torch.full((n,), self.low, dtype=torch.float64)
        if self.dist == "uniform":
            return self.low + (self.high - self.low) * u
        lo, hi = math.log(self.low), math.log(self.high)
        return torch.exp(lo + (hi - lo) * u)


@dataclass
class Family:
    """One GP family: a kernel and distributions of its hyperparameters."""

    name: str
    kernel: str = "rbf"
    weight: float = 1.0
    lengthscale: Dist = field(default_factory=lambda: Dist("loguniform", 0.02, 1.0))
    signal_std: Dist = field(default_factory=lambda: Dist("uniform", 0.1, 1.0))
    period: Dist = field(default_factory=lambda: Dist("loguniform", 0.1, 1.0))  # periodic only

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"family {self.name!r}: unknown kernel {self.kernel!r} ({', '.join(KERNELS)})")
        for key in ("lengthscale", "signal_std", "period"):
            value = getattr(self, key)
            if isinstance(value, dict):
                setattr(self, key, Dist(**value))


@dataclass
class PriorConfig:
    """A weighted mixture of families and the task layout (context/target sizes)."""

    x_dim: int = 1
    families: list[Family] = field(default_factory=lambda: [Family("rbf")])
    noise_std: Dist = field(default_factory=lambda: Dist("loguniform", 0.005, 0.1))  # x signal std
    offset_std: float = 1.0  # x signal std
    trend_std: float = 1.0  # x signal std, slope per unit length
    context_min: int = 1
    context_max: int = 50
    targets: int = 50
    # Several dimensions in one model: each batch uses d active inputs (the first d), the
    # rest are held at `pad_value`, as npopt pads a d-dimensional space. Defaults: x_dim.
    active_dims_min: int | None = None
    active_dims_max: int | None = None
    pad_value: float = 0.5
    context_per_dim: int = 0  # context_max grows by this much per active dimension
    ard: bool = False  # one lengthscale per dimension
    irrelevant_prob: float = 0.0  # chance that a dimension's lengthscale is 10x (nearly irrelevant)
    lengthscale_sqrt_dim: bool = False  # multiply lengthscales by sqrt(d), as BoTorch's priors do
    # Tasks are standardised by their context's mean and std, as npopt standardises what it
    # has observed; the std is floored at this fraction of the task's overall std, so that a
    # few nearly equal context values do not blow targets up to tens of standard deviations
    # (heavy-tailed tasks whose gradients swamp every other task's).
    scale_floor: float = 0.05
    # Categorical inputs: with probability `cat_prob` a batch makes 1..`cat_dims_max` of its
    # active dimensions categorical, each with `choices_min`..`choices_max` choices, encoded
    # as npopt encodes them (choice i of C at (i + 0.5) / C). Their kernel is the
    # exponentiated Hamming kernel exp(-[c != c'] / l) with l ~ `cat_lengthscale` per
    # dimension (times 10 for an irrelevant one), multiplying the continuous kernel.
    cat_prob: float = 0.0
    cat_dims_max: int = 0
    choices_min: int = 2
    choices_max: int = 10
    cat_lengthscale: Dist = field(default_factory=lambda: Dist("loguniform", 0.3, 5.0))
    # With probability `cat_sum_prob` a categorical task's kernel is a weighted sum instead
    # of the product alone: w1 K_cont K_cat + w2 K_cont + w3 K_cat, weights ~ Dirichlet(1, 1, 1)
    # and the same lengthscales in every term (BoTorch's mixed kernel has this structure):
    # a part of the function every choice shares, and per-choice offsets.
    cat_sum_prob: float = 0.0
    # Where tasks come from: "gp" (draws of the families above), "digits" (8 x 8 images of
    # handwritten digits as functions of pixel position; x_dim 2) or "wheel" (the wheel
    # bandit's rewards of (context, arm) pairs, delta ~ U(0, 1); x_dim 3), both in
    # npopt.neural.datasets, without the families' GP settings and without an oracle.
    source: str = "gp"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r} ({', '.join(SOURCES)})")
        if self.source == "digits" and self.x_dim != 2:
            raise ValueError("the digits source has 2 inputs (row, column): set x_dim: 2")
        if self.source == "wheel" and self.x_dim != 3:
            raise ValueError("the wheel source has 3 inputs (2 context coordinates and the arm): set x_dim: 3")
        self.families = [f if isinstance(f, Family) else Family(**f) for f in self.families]
        if isinstance(self.noise_std, dict):
            self.noise_std = Dist(**self.noise_std)
        if isinstance(self.cat_lengthscale, dict):
            self.cat_lengthscale = Dist(**self.cat_lengthscale)
        if not 0.0 <= self.cat_prob <= 1.0:
            raise ValueError("need 0 <= cat_prob <= 1")
        if not 0.0 <= self.cat_sum_prob <= 1.0:
            raise ValueError("need 0 <= cat_sum_prob <= 1")
        if self.cat_prob > 0 and not (self.cat_dims_max >= 1 and 2 <= self.choices_min <= self.choices_max):
            raise ValueError("categorical tasks need cat_dims_max >= 1 and 2 <= choices_min <= choices_max")
        if not self.families:
            raise ValueError("a prior needs at least one family")
        if not 1 <= self.context_min <= self.context_max:
            raise ValueError("need 1 <= context_min <= context_max")
        self.active_dims_min = self.active_dims_min or self.x_dim
        self.active_dims_max = self.active_dims_max or self.x_dim
        if not 1 <= self.active_dims_min <= self.active_dims_max <= self.x_dim:
            raise ValueError("need 1 <= active_dims_min <= active_dims_max <= x_dim")


def full_kernel(hyper: dict[str, Tensor], x1: Tensor, x2: Tensor) -> Tensor:
    """The true function covariance (no noise): kernel + offset + trend terms, ``B x N x M``.

    With categorical inputs (``hyper["choices"]``) the continuous kernel and the trend see
    only the continuous inputs, and the kernel is multiplied by :func:`hamming_kernel`; with
    ``hyper["cat_weights"]`` (``B x 3``) it is ``w1 K_cont K_cat + w2 K_cont + w3 K_cat``."""
    s2 = hyper["signal_std"][:, None, None] ** 2
    choices = hyper.get("choices")
    if choices is not None:
        cont = (choices == 0).to(x1.dtype)  # d: categorical inputs held at 0 for the continuous part
        x1, x2, raw1, raw2 = x1 * cont, x2 * cont, x1, x2
    k = kernel(hyper["kind"], x1, x2, hyper["lengthscale"], hyper["period"])
    if choices is not None:
        kh = hamming_kernel(raw1, raw2, choices, hyper["cat_lengthscale"])
        w = hyper.get("cat_weights")
        if w is None:
            k = k * kh
        else:
            w = w.to(k.dtype)[:, :, None, None]
            k = w[:, 0] * k * kh + w[:, 1] * k + w[:, 2] * kh
        trend = ((x1 - 0.5) * cont) @ ((x2 - 0.5) * cont).transpose(1, 2)
    else:
        trend = (x1 - 0.5) @ (x2 - 0.5).transpose(1, 2)
    return s2 * (k + hyper["offset_std"][:, None, None] ** 2 + hyper["trend_std"][:, None, None] ** 2 * trend)


def draw_choices(cfg: PriorConfig, active_dims: int, g: torch.Generator) -> Tensor | None:
    """``x_dim`` choice counts for one batch (0: continuous), or ``None`` for a continuous batch."""
    if cfg.cat_prob <= 0 or float(torch.rand(1, generator=g)) >= cfg.cat_prob:
        return None
    k = int(torch.randint(1, min(cfg.cat_dims_max, active_dims) + 1, (1,), generator=g))
    dims = torch.randperm(active_dims, generator=g)[:k]
    choices = torch.zeros(cfg.x_dim, dtype=torch.long)
    choices[dims] = torch.randint(cfg.choices_min, cfg.choices_max + 1, (k,), generator=g)
    return choices


def draw_active_dims(cfg: PriorConfig, g: torch.Generator) -> int:
    """How many leading inputs vary in a batch (no draw when the prior has one choice)."""
    if cfg.active_dims_max == cfg.active_dims_min:
        return cfg.active_dims_min
    return int(torch.randint(cfg.active_dims_min, cfg.active_dims_max + 1, (1,), generator=g))


def sample_tasks(cfg: PriorConfig, batch: int, n_context: int, n_target: int, g: torch.Generator,
                 active_dims: int | None = None, held_out: bool = False) -> TaskBatch:
    """Draw ``batch`` functions from the prior at random inputs and split them.

    Args:
        cfg: the prior; batch: ``B``; n_context: ``n``; n_target: ``m``; g: randomness.
        active_dims: how many leading inputs vary (default: random in the prior's range).
        held_out: a data source's held-out tasks (validation); GP draws ignore it.
    """
    if cfg.source == "digits":
        return datasets.digit_tasks(batch, n_context, g, held_out=held_out)
    if cfg.source == "wheel":
        return datasets.wheel_tasks(batch, n_context, n_target, g)
    B, N, d = batch, n_context + n_target, cfg.x_dim
    if active_dims is None:
        active_dims = draw_active_dims(cfg, g)
    weights = torch.tensor([f.weight for f in cfg.families], dtype=torch.float64)
    fam = torch.multinomial(weights, B, replacement=True, generator=g)
    n_ls = active_dims if cfg.ard else 1
    hyper = {"lengthscale": torch.empty(B, n_ls, dtype=torch.float64)}
    hyper |= {key: torch.empty(B, dtype=torch.float64) for key in ("signal_std", "period")}
    kind = torch.empty(B, dtype=torch.long)
    for i, family in enumerate(cfg.families):
        sel = fam == i
        k = int(sel.sum())
        if k:
            hyper["lengthscale"][sel] = family.lengthscale.sample(k * n_ls, g).reshape(k, n_ls)
            hyper["signal_std"][sel] = family.signal_std.sample(k, g)
            hyper["period"][sel] = family.period.sample(k, g)
        kind[sel] = KERNELS.index(family.kernel)
    if cfg.irrelevant_prob > 0:
        irrelevant = torch.rand(B, n_ls, generator=g, dtype=torch.float64) < cfg.irrelevant_prob
        hyper["lengthscale"] *= torch.where(irrelevant, 10.0, 1.0)
    if cfg.lengthscale_sqrt_dim:
        hyper["lengthscale"] *= math.sqrt(active_dims)
    # inactive (padded) dimensions are constant, so their lengthscale does not matter
    hyper["lengthscale"] = torch.cat([hyper["lengthscale"].expand(B, active_dims),
                                      torch.ones(B, d - active_dims, dtype=torch.float64)], 1)
    hyper["kind"] = kind
    hyper["offset_std"] = torch.full((B,), cfg.offset_std, dtype=torch.float64)
    hyper["trend_std"] = torch.full((B,), cfg.trend_std, dtype=torch.float64)
    hyper["noise_std"] = cfg.noise_std.sample(B, g) * hyper["signal_std"]

    x = torch.rand(B, N, d, generator=g, dtype=torch.float64)
    x[..., active_dims:] = cfg.pad_value
    choices = draw_choices(cfg, active_dims, g)
    if choices is not None:
        cat = choices > 0
        C = choices[cat].to(torch.float64)
        x[..., cat] = (choice_index(x[..., cat], choices[cat]) + 0.5) / C  # snapped to choice centres
        ls = torch.full((B, d), math.inf, dtype=torch.float64)
        ls[:, cat] = cfg.cat_lengthscale.sample(B * int(cat.sum()), g).reshape(B, -1)
        if cfg.irrelevant_prob > 0:
            ls[:, cat] *= torch.where(torch.rand(B, int(cat.sum()), generator=g, dtype=torch.float64)
                                      < cfg.irrelevant_prob, 10.0, 1.0)
        hyper["choices"], hyper["cat_lengthscale"] = choices, ls
        if cfg.cat_sum_prob > 0:
            # a product (1, 0, 0) or, with probability cat_sum_prob, Dirichlet(1, 1, 1) weights
            e = -torch.rand(B, 3, generator=g, dtype=torch.float64).log()
            summed = torch.rand(B, generator=g, dtype=torch.float64) < cfg.cat_sum_prob
            product = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).expand(B, 3)
            hyper["cat_weights"] = torch.where(summed[:, None], e / e.sum(1, keepdim=True), product)
    K = full_kernel(hyper, x, x)
    K = K + JITTER * hyper["signal_std"][:, None, None] ** 2 * torch.eye(N, dtype=torch.float64)
    L = torch.linalg.cholesky(K)
    f = (L @ torch.randn(B, N, 1, generator=g, dtype=torch.float64))[..., 0]  # B x N
    y = f + hyper["noise_std"][:, None] * torch.randn(B, N, generator=g, dtype=torch.float64)

    yc, yt = y[:, :n_context], y[:, n_context:]
    shift = yc.mean(1)
    spread = y.std(1)
    scale = yc.std(1) if n_context >= 2 else spread
    scale = torch.maximum(scale, cfg.scale_floor * spread).clamp_min(1e-8)
    st = lambda v: (v - shift[:, None]) / scale[:, None]  # noqa: E731
    return TaskBatch(x[:, :n_context], st(yc), x[:, n_context:], st(yt), shift, scale, hyper)


def sample_sizes(cfg: PriorConfig, g: torch.Generator, active_dims: int | None = None) -> tuple[int, int]:
    """Random context size in ``[context_min, context_max + context_per_dim * d]``, and the
    target count. Without ``active_dims`` the largest d of the prior sets the range."""
    d = active_dims or cfg.active_dims_max
    n = int(torch.randint(cfg.context_min, cfg.context_max + cfg.context_per_dim * d + 1, (1,), generator=g))
    if cfg.source == "digits":

        return min(n, datasets.PIXELS), datasets.PIXELS
    return n, cfg.targets


def sample_layout(cfg: PriorConfig, g: torch.Generator, active_dims: int | None = None) -> tuple[int, int, int]:
    """One batch's layout: active dimensions ``d``, context size ``n``, target count ``m``."""
    if active_dims is None:
        active_dims = draw_active_dims(cfg, g)
    n, m = sample_sizes(cfg, g, active_dims)
    return active_dims, n, m


def gp_posterior(hyper: dict[str, Tensor], xc: Tensor, yc: Tensor, xt: Tensor) -> tuple[Tensor, Tensor]:
    """Exact posterior of the function under the true kernel (raw units, float64).

    Args:
        hyper: per-task hyperparameters (``B`` each); xc: ``B x n x d``; yc: ``B x n`` raw
            values; xt: ``B x m x d``.

    Returns:
        Mean ``B x m`` and covariance ``B x m x m`` of the function (observation noise not added).
    """
    jitter = JITTER * hyper["signal_std"][:, None, None] ** 2
    noise2 = hyper["noise_std"][:, None, None] ** 2
    n, m = xc.shape[1], xt.shape[1]
    L = torch.linalg.cholesky(full_kernel(hyper, xc, xc) + (jitter + noise2) * torch.eye(n, dtype=torch.float64))
    K_tt = full_kernel(hyper, xt, xt) + jitter * torch.eye(m, dtype=torch.float64)
    return posterior_from_factor(L, yc, full_kernel(hyper, xt, xc), K_tt)


def oracle_log_likelihood(tasks: TaskBatch) -> tuple[Tensor, Tensor]:
    """Exact GP posterior with the true kernel, scored on the standardised targets.

    Returns:
        ``(marginal, joint)``: per-target-point log-likelihoods, ``B`` each, in the same
        standardised units as the NP's (raw log-density + log(scale)).
    """
    h = tasks.hyper
    if "kind" not in h:  # tasks made of data: no true kernel
        nan = torch.full((tasks.xc.shape[0],), math.nan, dtype=torch.float64)
        return nan, nan
    yc = tasks.shift[:, None] + tasks.scale[:, None] * tasks.yc.double()
    yt = tasks.shift[:, None] + tasks.scale[:, None] * tasks.yt.double()
    mean, cov = gp_posterior(h, tasks.xc.double(), yc, tasks.xt.double())
    m = yt.shape[1]
    cov = cov + h["noise_std"][:, None, None] ** 2 * torch.eye(m, dtype=torch.float64)  # predictive
    var = cov.diagonal(dim1=1, dim2=2)
    log_scale = tasks.scale.log()[:, None]
    marginal = (-0.5 * (math.log(2 * math.pi) + var.log() + (yt - mean) ** 2 / var) + log_scale).mean(1)
    dist = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    joint = dist.log_prob(yt) / m + tasks.scale.log()
    return marginal, joint
