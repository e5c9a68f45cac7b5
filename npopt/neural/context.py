"""What the Neural Process knows of one context: the data that :mod:`npopt.neural.model`
proposes and :mod:`npopt.neural.fit` completes, shared by both (it imports neither).

Shapes as in :mod:`npopt.neural.model`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class Refinement:
    """What the evidence refinement added to the network's proposal (float64, per task):
    log lengthscales ``B x d``, log signal scale ``B``, log noise ``B`` (before its clamp)."""

    log_ls: Tensor
    log_scale: Tensor
    log_noise: Tensor


@dataclass(frozen=True)
class Context:
    """A context encoded once, reusable for decoding any number of targets.

    Built in stages, each a whole new ``Context`` (:func:`dataclasses.replace`):
    :meth:`~npopt.neural.model.NeuralProcess.summarise` gives the networks' proposal (the
    first four fields); :mod:`npopt.neural.fit` adds the noise, the refinement's
    corrections and ``z``'s posterior."""

    summary: Tensor  # B x (D+1), the mean-aggregated representation s plus log n
    amp: Tensor  # B x K, amplitudes of the spectral basis
    log_ls: Tensor | None  # B x d, log ARD lengthscales (spectral "ard"; None: "fixed")
    choices: Tensor | None  # d, choices of each categorical input (0: continuous); None: all continuous
    noise: Tensor | None = None  # B, observation-noise std (chosen by the evidence grid)
    z_mean: Tensor | None = None  # B x R
    z_factor: Tensor | None = None  # B x R x R, S with Cov(z | C) = S S^T; None in the kernel form
    # the kernel form of Cov(z | C) (:func:`npopt.neural.fit.z_posterior_kernel`): W (B x R x n)
    # and w (B x n) with S = I - W diag(w) W^T symmetric, S S^T = Cov(z | C)
    z_kernel: tuple[Tensor, Tensor] | None = None
    refinement: Refinement | None = None  # the evidence refinement's corrections, if it ran
    offset: Tensor | None = None  # B, the kriging constant added to the decoder's mean

    def task(self, i: int) -> Context:
        """The encoding of the batch's ``i``-th context alone (a batch of one)."""

        def one(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[i:i + 1]

        r, k = self.refinement, self.z_kernel
        return Context(one(self.summary), one(self.amp), one(self.log_ls), self.choices, one(self.noise),
                       one(self.z_mean), one(self.z_factor), None if k is None else (one(k[0]), one(k[1])),
                       None if r is None else Refinement(one(r.log_ls), one(r.log_scale), one(r.log_noise)),
                       one(self.offset))
