"""The wheel bandit (the paper's Table 2): ``npopt benchmark --suite wheel``.

Riquelme et al. (2018), "Deep Bayesian Bandits Showdown": the problem is in
:mod:`npopt.neural.datasets`. Every agent plays ``steps`` rounds on the same contexts and
reward noise per (delta, repeat), all runs of all deltas batched together:

- ``np``: the Neural Process meta-trained on wheel problems with ``delta ~ U(0, 1)``
  (``configs/wheel.yaml``). Each round it conditions on the whole history of (context,
  arm, reward), draws ONE latent ``z`` and decodes it at the round's context with each of
  the 5 arms (the arm is a categorical input), and plays that draw's best arm: Thompson
  sampling with one coherent function draw, as in the paper. The exact conjugate update of
  ``z`` takes every new reward at once; the network's summary of the history (its
  lengthscales and amplitudes) is recomputed every round for the first
  :data:`SUMMARY_EVERY_FROM` rounds and every :data:`SUMMARY_EVERY` rounds after, which
  keeps 2,000 rounds affordable on a CPU.
- ``uniform``: a uniformly random arm (the normaliser).
- ``linfullpost``: Bayesian linear regression per arm on ``[context, 1]`` with a
  normal-inverse-gamma prior (``lambda = 0.25``, ``a0 = b0 = 6``, as Riquelme et al.),
  Thompson sampling: noise variance and weights drawn from the exact posterior.
- ``rff-linear``: the same model on 64 random Fourier features of the context (an RBF
  kernel of lengthscale 0.3) plus the intercept: the cheap non-linear model a bandit user
  would try next (a kernel bandit in linear time, "NeuralLinear" with fixed features).

Regret of a round: the best arm's expected reward minus the played arm's. Cumulative:
summed over all rounds; simple: the mean over the last 500 rounds. Both are reported as
percentages of the uniform agent's mean on the same delta (uniform = 100).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from npopt.neural import fit
from npopt.neural.datasets import (
    ARMS,
    WHEEL_CHOICES,
    WHEEL_NOISE,
    disk_contexts,
    wheel_means,
    wheel_points,
    wheel_values,
)
from npopt.seeds import hashed_seed

DELTAS = (0.5, 0.7, 0.9, 0.95, 0.99)
STEPS = 2000
SIMPLE_WINDOW = 500
METHODS = ("np", "uniform", "linfullpost", "rff-linear")
WHEEL_MODEL = Path(__file__).parent / "checkpoints" / "wheel.pt"
SUMMARY_EVERY_FROM, SUMMARY_EVERY = 32, 16
RFF_FEATURES, RFF_LENGTHSCALE = 64, 0.3


def _generator(*key) -> torch.Generator:
    return torch.Generator().manual_seed(hashed_seed("npopt-wheel", *key))


def wheel_runs(deltas: tuple[float, ...], repeats: int, steps: int, seed: int):
    """Per run (all deltas x repeats): its delta ``N``, contexts ``N x T x 2`` and the reward
    noise of every arm ``N x T x 5``, each run from its own seeded generator."""
    delta, contexts, noise = [], [], []
    for d in deltas:
        for r in range(repeats):
            g = _generator(seed, d, r)
            delta.append(d)
            contexts.append(disk_contexts((steps,), g))
            noise.append(WHEEL_NOISE * torch.randn(steps, ARMS, generator=g, dtype=torch.float64))
    return torch.tensor(delta, dtype=torch.float64), torch.stack(contexts), torch.stack(noise)


# ---------------------------------------------------------------------- agents
class Uniform:
    def __init__(self, runs: int, seed: int) -> None:
        self.g = _generator(seed, "uniform")
        self.runs = runs

    def choose(self, contexts: torch.Tensor) -> torch.Tensor:
        return torch.randint(ARMS, (self.runs,), generator=self.g)

    def update(self, contexts: torch.Tensor, arms: torch.Tensor, rewards: torch.Tensor) -> None:
        pass


class LinearPosterior:
    """Bayesian linear regression per arm, normal-inverse-gamma prior, Thompson sampling.

    ``features``: contexts ``N x 2`` -> ``N x p``."""

    def __init__(self, runs: int, seed: int, features: Callable[[torch.Tensor], torch.Tensor], p: int,
                 lam: float = 0.25, a0: float = 6.0, b0: float = 6.0) -> None:
        self.features, self.a0, self.b0 = features, a0, b0
        self.precision = lam * torch.eye(p, dtype=torch.float64).repeat(runs, ARMS, 1, 1)  # N x A x p x p
        self.xy = torch.zeros(runs, ARMS, p, dtype=torch.float64)
        self.yy = torch.zeros(runs, ARMS, dtype=torch.float64)
        self.count = torch.zeros(runs, ARMS, dtype=torch.float64)
        self.g = _generator(seed, "linear", p)
        self.rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=self.g)))
        self.lam = lam

    def choose(self, contexts: torch.Tensor) -> torch.Tensor:
        L = torch.linalg.cholesky(self.precision)  # N x A x p x p
        mu = torch.cholesky_solve(self.xy[..., None], L)[..., 0]  # N x A x p
        a = self.a0 + self.count / 2
        quad = (mu * (self.precision @ mu[..., None])[..., 0]).sum(-1)
        b = self.b0 + 0.5 * (self.yy - quad).clamp_min(0)
        sigma2 = torch.from_numpy(b.numpy() / self.rng.gamma(a.numpy()))  # N x A, inverse gamma
        eps = torch.randn(mu.shape, generator=self.g, dtype=torch.float64)
        # beta = mu + sigma L^-T eps has covariance sigma^2 precision^-1
        step = torch.linalg.solve_triangular(L.transpose(-1, -2), eps[..., None], upper=True)[..., 0]
        beta = mu + sigma2.sqrt()[..., None] * step
        phi = self.features(contexts)  # N x p
        return (beta @ phi[:, :, None])[..., 0].argmax(-1)

    def update(self, contexts: torch.Tensor, arms: torch.Tensor, rewards: torch.Tensor) -> None:
        phi = self.features(contexts)  # N x p
        rows = torch.arange(phi.shape[0])
        self.precision[rows, arms] += phi[:, :, None] * phi[:, None, :]
        self.xy[rows, arms] += phi * rewards[:, None]
        self.yy[rows, arms] += rewards**2
        self.count[rows, arms] += 1


def linfullpost(runs: int, seed: int) -> LinearPosterior:
    return LinearPosterior(runs, seed, lambda c: torch.cat([c, torch.ones(c.shape[0], 1, dtype=c.dtype)], 1), 3)


def rff_linear(runs: int, seed: int) -> LinearPosterior:
    g = _generator(seed, "rff")
    W = torch.randn(2, RFF_FEATURES, generator=g, dtype=torch.float64) / RFF_LENGTHSCALE
    b = 2 * math.pi * torch.rand(RFF_FEATURES, generator=g, dtype=torch.float64)

    def features(c: torch.Tensor) -> torch.Tensor:
        rff = math.sqrt(2 / RFF_FEATURES) * torch.cos(c @ W + b)
        return torch.cat([rff, torch.ones(c.shape[0], 1, dtype=c.dtype)], 1)

    return LinearPosterior(runs, seed, features, RFF_FEATURES + 1)


class NPAgent:
    """Thompson sampling with the wheel-trained Neural Process (see the module doc)."""

    def __init__(self, runs: int, seed: int, model, steps: int) -> None:
        self.model, self.runs = model, runs
        self.g = _generator(seed, "np")
        self.choices = torch.tensor(WHEEL_CHOICES)
        self.X = torch.zeros(runs, steps, 3)
        self.Y = torch.zeros(runs, steps)
        self.t = 0  # rounds recorded
        self.ctx = None
        self.covered = 0  # points in the sums
        self.last_summary = 0

    def _sums(self, start: int, stop: int):
        m, psi = self.model.basis(self.ctx, self.X[:, start:stop])
        psi, resid = psi.double(), (self.Y[:, start:stop] - m).double()
        return (*fit.context_sums(psi, resid), resid.pow(2).sum(-1))

    @torch.no_grad()
    def choose(self, contexts: torch.Tensor) -> torch.Tensor:
        if self.t == 0:
            return torch.randint(ARMS, (self.runs,), generator=self.g)
        model, t = self.model, self.t
        if self.ctx is None or t <= SUMMARY_EVERY_FROM or t - self.last_summary >= SUMMARY_EVERY:
            self.ctx = model.summarise(self.X[:, :t], self.Y[:, :t], self.choices)
            self.gram, self.proj, self.rr = self._sums(0, t)
            self.last_summary = t
        elif self.covered < t:  # the new rounds, with the summary kept
            gram, proj, rr = self._sums(self.covered, t)
            self.gram, self.proj, self.rr = self.gram + gram, self.proj + proj, self.rr + rr
        self.covered = t
        ctx = fit.choose_noise(model, self.ctx, fit.grid_evidence(self.gram, self.proj, self.rr, t, model.noise_levels))
        z = model._draw_z(fit.z_posterior(ctx, self.gram, self.proj), 1, self.g)[0]  # N x R: one function per run
        points = wheel_points(contexts[:, None, :].expand(-1, ARMS, -1), torch.arange(ARMS).expand(self.runs, -1))
        m, psi = model.basis(self.ctx, points.float())  # N x 5, N x 5 x R
        return (m + (psi @ z[..., None])[..., 0]).argmax(-1)

    def update(self, contexts: torch.Tensor, arms: torch.Tensor, rewards: torch.Tensor) -> None:
        self.X[:, self.t] = wheel_points(contexts, arms).float()
        self.Y[:, self.t] = wheel_values(rewards).float()
        self.t += 1


def play(agent, delta: torch.Tensor, contexts: torch.Tensor, noise: torch.Tensor,
         tick: Callable[[], None] | None = None) -> torch.Tensor:
    """Run ``agent`` over all rounds; the regret of every run and round, ``N x T``."""
    N, T = contexts.shape[:2]
    regret = torch.empty(N, T, dtype=torch.float64)
    rows = torch.arange(N)
    for t in range(T):
        c = contexts[:, t]
        means = wheel_means(c, delta)  # N x 5
        arms = agent.choose(c)
        regret[:, t] = means.max(-1).values - means[rows, arms]
        agent.update(c, arms, means[rows, arms] + noise[rows, t, arms])
        if tick and (t + 1) % 50 == 0:
            tick()
    return regret


def run_wheel(
    wheel_model: Path = WHEEL_MODEL,
    deltas: tuple[float, ...] = DELTAS,
    repeats: int = 20,
    steps: int = STEPS,
    seed: int = 0,
    methods: tuple[str, ...] = METHODS,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Play every method on every delta; the JSON summary (uniform = 100)."""
    from npopt.neural.checkpoints import load_model
    from npopt.optim import single_thread

    if steps <= SIMPLE_WINDOW:
        raise ValueError(f"need more than {SIMPLE_WINDOW} steps (simple regret: the mean of the last {SIMPLE_WINDOW})")
    methods = tuple(dict.fromkeys(["uniform", *methods]))
    t0 = time.perf_counter()
    delta, contexts, noise = wheel_runs(deltas, repeats, steps, seed)
    N = delta.shape[0]
    total, done = len(methods) * (steps // 50), 0
    regrets, seconds = {}, {}
    with single_thread():
        for name in methods:
            def tick(name=name) -> None:
                nonlocal done
                done += 1
                if progress:
                    progress(done, total, f"wheel: {name}")

            if name == "np":
                agent = NPAgent(N, seed, load_model(wheel_model)[0], steps)
            else:
                agent = {"uniform": Uniform, "linfullpost": linfullpost, "rff-linear": rff_linear}[name](N, seed)
            start = time.perf_counter()
            regrets[name] = play(agent, delta, contexts, noise, tick)
            seconds[name] = time.perf_counter() - start
    out = {"suite": "wheel", "steps": steps, "repeats": repeats, "seed": seed, "deltas": {}}
    for d in deltas:
        rows = delta == d
        cumulative = {m: r[rows].sum(1) for m, r in regrets.items()}
        simple = {m: r[rows, -SIMPLE_WINDOW:].mean(1) for m, r in regrets.items()}
        cu, su = float(cumulative["uniform"].mean()), float(simple["uniform"].mean())
        entry = {}
        for m in methods:
            c, s = 100 * cumulative[m] / cu, 100 * simple[m] / su
            entry[m] = {"cumulative": float(c.mean()), "cumulative_se": _se(c),
                        "simple": float(s.mean()), "simple_se": _se(s)}
        entry["uniform_raw"] = {"cumulative": cu, "simple": su}
        out["deltas"][str(d)] = entry
    out["seconds_per_method"] = seconds
    out["seconds"] = time.perf_counter() - t0
    return out


def _se(values: torch.Tensor) -> float:
    return float(values.std() / math.sqrt(values.numel())) if values.numel() > 1 else 0.0


def wheel_table(summary: dict):
    """A rich table shaped like the paper's Table 2: cumulative and simple regret per delta."""
    from rich.table import Table

    deltas = list(summary["deltas"])
    methods = [m for m in summary["deltas"][deltas[0]] if m != "uniform_raw"]
    table = Table(title=f"Wheel bandit, {summary['steps']} steps, {summary['repeats']} seeds per delta: "
                        "regret, uniform = 100 (mean ± se)")
    table.add_column("method")
    for kind in ("cumulative", "simple"):
        for d in deltas:
            table.add_column(f"{kind[:3]}. δ={d}", justify="right")
    for m in methods:
        cells = []
        for kind in ("cumulative", "simple"):
            for d in deltas:
                row = summary["deltas"][d]
                best = min((k for k in row if k != "uniform_raw"), key=lambda k: row[k][kind])
                text = f"{row[m][kind]:.1f} ± {row[m][kind + '_se']:.1f}"
                cells.append(f"[bold]{text}[/]" if m == best else text)
        table.add_row(m, *cells)
    return table
