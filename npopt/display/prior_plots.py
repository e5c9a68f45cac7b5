"""Pictures of a prior: NP function draws next to the oracle GP (matplotlib extra)."""

from __future__ import annotations

from pathlib import Path

import torch

from npopt.display.figures import pyplot, save
from npopt.errors import NpoptError
from npopt.neural.model import NeuralProcess
from npopt.neural.priors import gp_posterior
from npopt.neural.tasks import TaskBatch


def oracle_posterior(tb: TaskBatch, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact GP posterior of the function (task 0 of ``tb``) at ``x`` (``m x d``), standardised units."""
    h = {k: v[:1] for k, v in tb.hyper.items()}
    yc = tb.shift[:1, None] + tb.scale[:1, None] * tb.yc[:1].double()
    mean, cov = gp_posterior(h, tb.xc[:1].double(), yc, x[None].double())
    std = cov[0].diagonal().clamp_min(0).sqrt()
    return (mean[0] - tb.shift[0]) / tb.scale[0], std / tb.scale[0]


def plot_draws(model: NeuralProcess, tasks: list[TaskBatch], truths: list[torch.Tensor], x: torch.Tensor,
               out: Path, n_draws: int = 12, seed: int = 0) -> None:
    """One panel per task: NP draws, the oracle GP's mean and 2-sigma band, context, truth."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4), squeeze=False)
    g = torch.Generator().manual_seed(seed)
    for ax, tb, truth in zip(axes[0], tasks, truths, strict=True):
        xc, yc = tb.xc[0].float(), tb.yc[0].float()
        draws = model.sample_functions(xc, yc, x.float(), n_draws, g)
        mean, std = oracle_posterior(tb, x)
        xs = x[:, 0].numpy()
        ax.fill_between(xs, (mean - 2 * std).numpy(), (mean + 2 * std).numpy(), color="tab:orange", alpha=0.25,
                        label="oracle GP mean ± 2σ")
        ax.plot(xs, mean.numpy(), color="tab:orange", lw=2)
        for i, d in enumerate(draws):
            ax.plot(xs, d.numpy(), color="tab:blue", lw=0.8, alpha=0.6,
                    label="NP draws (one z each)" if i == 0 else None)
        ax.plot(xs, truth.numpy(), "k--", lw=1, label="true function")
        ax.scatter(xc[:, 0].numpy(), yc.numpy(), color="k", zorder=5, label=f"{xc.shape[0]} context points")
        ax.set_title(f"{xc.shape[0]} context points")
        ax.set_xlabel("x (unit interval)")
        ax.legend(loc="best", fontsize=8)
    save(fig, out)
    plt.close(fig)


def demo_tasks(prior, sizes: tuple[int, ...] = (5, 20), family: str | None = None, seed: int = 0, grid: int = 400):
    """One function from ``prior`` (optionally one family), conditioned on nested contexts.

    Returns ``(tasks, truths, x)``: a TaskBatch per context size (first k of the same
    random points, each standardised by its own context), the function on ``x`` in each
    task's units, and the ``grid x 1`` evaluation points.
    """
    from dataclasses import replace

    from npopt.neural.priors import sample_tasks

    if family is not None:
        chosen = [f for f in prior.families if f.name == family]
        if not chosen:
            raise NpoptError(f"no family {family!r} in this prior ({', '.join(f.name for f in prior.families)})")
        prior = replace(prior, families=chosen)
    g = torch.Generator().manual_seed(seed)
    k = max(sizes)
    tb = sample_tasks(prior, 1, k, grid, g)
    order = torch.argsort(tb.xt[0, :, 0])
    x = tb.xt[0, order]  # grid x 1 (random, sorted)
    raw_c = tb.shift[0] + tb.scale[0] * tb.yc[0]
    raw_t = tb.shift[0] + tb.scale[0] * tb.yt[0, order]
    tasks, truths = [], []
    for n in sizes:
        yc = raw_c[:n]
        shift, scale = yc.mean(), (yc.std() if n >= 2 else tb.scale[0])
        tasks.append(TaskBatch(tb.xc[:, :n], ((yc - shift) / scale)[None], x[None], ((raw_t - shift) / scale)[None],
                               shift[None], scale[None], tb.hyper))
        truths.append((raw_t - shift) / scale)
    return tasks, truths, x
