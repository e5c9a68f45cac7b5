"""The ``np`` surrogate: a shipped, meta-trained Neural Process prior.

Conditioning is one forward pass (no fitting); each Thompson draw is one latent ``z``
decoded at every candidate, i.e. one coherent function.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from npopt.acquisition.options import AcquisitionOptions
from npopt.neural.model import pad_inputs
from npopt.surrogates.base import Surrogate


@lru_cache(maxsize=4)
def _load(path: str):
    from npopt.neural.checkpoints import covered_dims, load_model, max_choices

    model, ckpt = load_model(Path(path))
    pad = ckpt.get("setup", {}).get("prior", {}).get("pad_value", 0.5)
    return model, covered_dims(ckpt), pad, max_choices(ckpt)


class NPSurrogate(Surrogate):
    """Thompson draws from a meta-trained Neural Process.

    A prior trained on padded inputs (``x_dim`` inputs of which the first ``d`` vary)
    serves a ``d``-dimensional space: the other inputs are held at the pad value.

    :meth:`condition` encodes the context once (one forward pass plus the evidence
    refinement of the kernel hyperparameters); draws and predictions reuse it.

    Args:
        checkpoint: the prior's file.
        dim: the space's dimension ``d`` (default: the prior's ``x_dim``).
        choices: ``d`` numbers of choices, one per input (0: continuous), as
            :attr:`npopt.space.Space.choices` gives them.
    """

    name = "np"
    min_observations = 1
    # the lean candidate set; local search from 6 inputs on (measured: docs/results.md, local search; trust
    # regions instead lost 3 of 5 8-16-D problems: benchmarks/results/thompson_tr/README.md)
    acquisition = AcquisitionOptions(lean_candidates=True, local_search_dim=6)
    has_paths = True
    differentiable_predictive = True
    # fit a constant mean as a GP does (NeuralProcess.encode's constant_mean; measured:
    # docs/results.md, "A constant mean"); False: the decoder's mean alone, as before
    constant_mean = True

    def __init__(self, checkpoint: str | Path, dim: int | None = None, choices=None) -> None:
        from npopt.errors import NoPriorError

        self.checkpoint = Path(checkpoint)
        self.model, dims, self.pad_value, most = _load(str(self.checkpoint))
        self.max_dim = max(dims)
        self.dim = dim if dim is not None else self.model.config.x_dim
        if self.dim not in dims:
            raise NoPriorError(
                f"prior {self.checkpoint} serves d = {dims.start}..{dims.stop - 1} but the space has "
                f"{self.dim} dimensions; use a matching prior or --surrogate gp"
            )
        self.choices = tuple(int(c) for c in choices) if choices else ()
        if self.choices and len(self.choices) != self.dim:
            raise ValueError(f"choices has {len(self.choices)} entries for a {self.dim}-dimensional space")
        if max(self.choices, default=0) > most:
            fix = "a prior with categorical inputs (np16d)" if not most else f"at most {most} choices"
            raise NoPriorError(
                f"prior {self.checkpoint.stem} serves categorical parameters with at most {most} choices, "
                f"not {max(self.choices)}; use {fix} or --surrogate gp"
            )
        if (self.dim >= WIDE_FROM_DIM or any(self.choices)) and self.model.config.spectral == "ard":
            self.model = self.model.widened(WIDE_FEATURES)
        extra = self.model.config.x_dim - self.dim
        self._choices = torch.tensor([*self.choices, *[0] * extra], dtype=torch.long) if any(self.choices) else None
        self._ctx = None
        self._key: tuple | None = None  # the data the context was encoded from
        self._fit: tuple | None = None  # (the data of the kept basis fit, its refinement, its warp)
        self._warp = None  # the inverse of the chosen output warp, if any

    @classmethod
    def for_dim(cls, dim: int, checkpoint: str | Path | None = None, choices=None) -> NPSurrogate:
        """The shipped prior for ``dim`` inputs (or ``checkpoint``) that serves the
        categorical ``choices``; NoPriorError if none."""
        from npopt.neural.checkpoints import prior_path

        most = max(choices, default=0) if choices else 0
        return cls(prior_path(str(checkpoint) if checkpoint else None, dim=dim, choices=most), dim=dim,
                   choices=choices)

    def _pad(self, X: Tensor) -> Tensor:
        """``n x d`` float64 -> ``n x x_dim`` float32, extra inputs at the pad value."""
        return pad_inputs(X, self.model.config.x_dim, self.pad_value)

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Encode the observations. The evidence refinement's corrections to the basis
        hyperparameters (amplitudes, lengthscales; the costly part) are those of the first
        ``n0 =`` :func:`refit_point` ``(n)`` observations, refitted as ``n`` passes each such
        point and kept in between; the summary, the noise and ``z`` are always all ``n``
        observations'.

        At each fit the values are also given an output warp (:data:`OUTPUT_WARPS`): the one
        whose encoding, refined, gives the ``n0`` points the highest exact evidence plus the
        log Jacobian of the warp (the density of the values as given; :meth:`_fit_warped`).
        The draws are of the warped function, which has the same minima; :meth:`to_units`
        maps draw values back. The warp is kept with the fit (its offsets recomputed on all
        ``n`` values).

        The kept fit is a function of those ``n0`` points only (their values re-standardised
        among themselves and rounded to 1e-9), so a fresh process (``npopt ask``) and a
        long-running one (``npopt run``) condition the same way. Values that the caller's
        standardisation changes at every ask (:func:`npopt.acquisition.standardise`
        compresses an upper tail with a logarithm whose start moves with each observation)
        change that key too, and the fit is then redone at every ask: correct, not fast."""
        key = (tuple(X.shape), X.detach().double().numpy().tobytes(), y.detach().double().numpy().tobytes())
        if self._ctx is not None and key == self._key:  # the same data again: the same posterior
            return
        self._key = key
        self._warp = None
        c = self.model.config
        if not (c.spectral == "ard" and c.refine_steps):  # nothing costly to keep (np1d): encode afresh
            self._ctx = self._encode(X, y)
            return
        n0 = refit_point(X.shape[0])
        X0, y0 = X[:n0].detach().double(), y[:n0].detach().double()
        if n0 > 1:
            y0 = (y0 - y0.mean()) / y0.std().clamp_min(1e-12)
        y0 = torch.round(y0 * 1e9) / 1e9
        fit_key = (X0.numpy().tobytes(), y0.numpy().tobytes())
        if self._fit is None or self._fit[0] != fit_key:
            offset, fit, inverse = self._fit_warped(X0, y0)
            self._fit = fit_key, fit.refinement, offset
            if n0 == X.shape[0]:  # the fit is the encoding (of y within 1e-9): no second pass
                self._ctx, self._warp = fit, inverse
                return
        offset = self._fit[2]
        if offset is not None:
            y, _, self._warp = warp_values(y.detach().double(), offset)
        self._ctx = self._encode(X, y, refinement=self._fit[1])

    def _fit_warped(self, X: Tensor, y: Tensor):
        """The output warp (an offset of :data:`OUTPUT_WARPS`, ``None``: none) whose refined
        encoding of ``X`` and warped ``y`` has the highest evidence plus log Jacobian, that
        encoding, and the warp's inverse (``None`` for no warp). On the trained basis the
        four warps are encoded as one batch of four contexts (each refined on its own
        evidence, as if alone; :data:`BATCH_WARPS_UP_TO`). Fewer than
        :data:`WARP_MIN_POINTS` values are not warped."""
        if X.shape[0] < WARP_MIN_POINTS:
            return None, self._encode(X, y), None
        warped = [(y, 0.0, None) if offset is None else warp_values(y, offset) for offset in OUTPUT_WARPS]
        values = torch.stack([w for w, _, _ in warped])  # warps x n
        jacobians = torch.tensor([j for _, j, _ in warped], dtype=torch.float64)
        size = len(warped) if self.model.base_freqs_width() <= BATCH_WARPS_UP_TO else 1
        xp = self._pad(X)[None].expand(size, -1, -1)
        best = None
        for start in range(0, len(warped), size):
            part = values[start:start + size]
            ctx = self._encode(X, part)
            score = self.model.evidence(ctx, xp, part) + jacobians[start:start + size]
            i = int(score.argmax())
            if best is None or score[i] > best[0]:
                best = score[i], start + i, ctx.task(i)
        _, i, ctx = best
        return OUTPUT_WARPS[i], ctx, warped[i][2]

    @property
    def output_warp(self) -> float | None:
        """The offset of the log-gap warp the last fit chose (:data:`OUTPUT_WARPS`); ``None``: no warp."""
        return None if self._fit is None else self._fit[2]

    def to_units(self, values: Tensor) -> Tensor:
        """Draw values (or predictions) of the warped function back in the units of the
        values last given to :meth:`condition` (the identity when no warp was chosen)."""
        return values if self._warp is None else self._warp(values)

    @torch.no_grad()
    def _encode(self, X: Tensor, y: Tensor, refinement=None):
        """The prior's encoding of ``n x d`` points and their ``n`` values (padded inputs,
        float32 values, the space's choices); ``y`` of ``B x n``: a batch of ``B`` contexts
        on the same points."""
        values = y.float() if y.dim() == 2 else y.float()[None]
        xp = self._pad(X)[None].expand(values.shape[0], -1, -1)
        return self.model.encode(xp, values, choices=self._choices, refinement=refinement,
                                 constant_mean=self.constant_mean)

    def _context(self):
        if self._ctx is None:
            raise RuntimeError("condition() the surrogate before sampling")
        return self._ctx

    def sample(self, candidates: Tensor, n_draws: int, generator: torch.Generator) -> Tensor:
        return self.paths(n_draws, generator)(candidates)

    def paths(self, n_draws: int, generator: torch.Generator):
        return _PaddedPaths(self.model.paths_from(self._context(), n_draws, generator), self._pad)

    def predictive(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        """The exact Gaussian predictive of the decoder at ``candidates`` (``z``'s posterior
        through the linear basis; no observation noise), differentiable in ``candidates``."""
        mean, U, _ = self.model.linear_terms(self._context(), self._pad(candidates)[None])
        return mean[0].double(), U[0].double().pow(2).sum(-1).clamp_min(1e-30).sqrt()

    def lengthscales(self) -> Tensor | None:
        """The ARD lengthscales of the context's (refined) basis on the space's ``d``
        inputs; ``None`` for a prior without them (np1d)."""
        log_ls = self._context().log_ls
        return None if log_ls is None else log_ls[0, : self.dim].detach().double().exp()

    def predict(self, candidates: Tensor) -> tuple[Tensor, Tensor]:
        mean, std = self.model.predict_from(self._context(), self._pad(candidates))
        return mean.double(), std.double()


#: Spaces of at least this many parameters, and every space with a categorical parameter,
#: get the prior with a basis of :data:`WIDE_FEATURES` frequencies
#: (:meth:`NeuralProcess.widened`) instead of its trained 128: measured on the 8-16-D problems
#: (benchmarks/results/wide_basis/README.md) and on the mixed suite, where the categorical
#: phases' sampling error falls with the number of features
#: (benchmarks/results/mixed_wide_basis/README.md).
WIDE_FROM_DIM = 7
WIDE_FEATURES = 512

#: The output warps the evidence chooses from at each fit (:meth:`NPSurrogate.condition`):
#: ``None``, the values as given, or an offset ``c`` of the log gap to the best value,
#: ``log(y - min y + c)`` re-standardised (``y`` standardised: ``c`` is in standard
#: deviations). A small ``c`` spreads the values near the best one and squeezes the rest.
#: Measured on the mixed and synthetic suites: benchmarks/results/output_warp/README.md.
OUTPUT_WARPS: tuple[float | None, ...] = (None, 0.05, 0.2, 1.0)

#: Fewer observations than this are never warped.
WARP_MIN_POINTS = 5

#: A basis of at most this many frequencies (np6d's trained 128: continuous
#: spaces of 2-6 parameters) encodes the four warps as one batch: the same warps chosen on
#: every replayed Branin and Hartmann6 context, fits 1.7-2.3 times faster. The widened basis
#: (:data:`WIDE_FEATURES`: mixed spaces, 7+ parameters) encodes them one at a time as before,
#: so that those results stay the committed runs' bit for bit; a batch measured 1.2-1.5
#: times faster there in one replay and no faster in another:
#: benchmarks/results/warp_choice/README.md.
BATCH_WARPS_UP_TO = 128


def warp_values(y: Tensor, offset: float):
    """The log-gap warp of ``n`` values ``y`` (float64): the warped values ``w`` (mean 0,
    std 1), the log Jacobian ``sum_i log |dw_i/dy_i|`` of the elementwise map with its
    constants (``min y``, the mean and std of the logs) held at their values, and the inverse
    map ``w -> y``."""
    gap = y - y.min() + offset
    g = gap.log()
    mean, std = g.mean(), g.std().clamp_min(1e-12)
    low = y.min() - offset

    def inverse(w: Tensor) -> Tensor:
        return (w.double() * std + mean).exp() + low

    return (g - mean) / std, float(-g.sum() - y.numel() * std.log()), inverse


#: Up to this many observations the basis is refitted at every ask (the refinement's
#: cap, ``refine_max_points``: every budget of the 1-6-D and mixed suites). A fit kept
#: from 16 on, as first tried, measured slightly worse regret on Hartmann3 and Hartmann6.
REFIT_EVERY_ASK = 128


def refit_point(n: int) -> int:
    """The number of observations ``n0 <= n`` whose basis fit serves ``n`` observations:
    ``n`` itself up to :data:`REFIT_EVERY_ASK`, then the points of ``s -> s + s // 8``
    (128, 144, 162, 182, 204, ..., 929, 1045, ...): a fit serves at most an eighth more
    observations than it saw, and at ``n`` observations a refit comes once in about ``n / 8`` asks."""
    if n <= REFIT_EVERY_ASK:
        return n
    s = REFIT_EVERY_ASK
    while s + s // 8 <= n:
        s += s // 8
    return s


class _PaddedPaths:
    """NP function paths on the space's own ``d`` inputs (padded to the prior's), float64 out."""

    def __init__(self, paths, pad) -> None:
        self._paths, self._pad = paths, pad

    def __call__(self, x: Tensor) -> Tensor:
        with torch.no_grad():
            return self._paths(self._pad(x)).double()

    def draw(self, i: int, x: Tensor) -> Tensor:
        return self._paths.draw(i, self._pad(x)).double()
