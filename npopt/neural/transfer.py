"""Fine-tune a prior on the user's own past studies: ``npopt train --from-studies``.

Each completed study is one task (:class:`StudyTask`, read by :mod:`npopt.transfer`), a
sample of the function family the user tunes: its complete trials mapped to the unit cube
by the space, values turned to minimisation and standardised per study as npopt
standardises them at ask time. A training step draws a
batch of random context/target splits of a few studies; with probability
:data:`SYNTHETIC_RATIO` it draws a batch of the base prior's own synthetic family instead,
so that the prior does not forget how to handle a task unlike the past ones. A share of
the studies (:data:`HELD_OUT_SHARE`, at least one when there are three or more) is held
out: the log-likelihood of their second halves given their first halves, before and after,
says whether the fine-tuning helped. The checkpoint records the space and the studies.
"""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from npopt.errors import NpoptError
from npopt.neural.model import pad_inputs

MIN_TRIALS = 6  # complete trials a study needs to be a task (a split needs a context and targets)
SYNTHETIC_RATIO = 0.25  # share of steps on the base prior's synthetic family
HELD_OUT_SHARE = 0.2
DEFAULT_STEPS = 600
LEARNING_RATE = 1e-4  # a tenth of meta-training's: adjust the prior, do not re-learn it
BATCH = 16


class TransferError(NpoptError):
    """The studies cannot be used to fine-tune a prior (named problem, suggested fix)."""

    code = "bad_studies"


@dataclass(eq=False)  # a task is itself: ``in`` must not compare tensors field by field
class StudyTask:
    """One past study as a task: ``X`` (``n x d`` unit points), ``y`` (``n``, standardised,
    minimised), and what the checkpoint records of it."""

    name: str
    X: torch.Tensor
    y: torch.Tensor
    complete: int
    trials: int


def _split_batch(tasks: Sequence[StudyTask], g: torch.Generator, x_dim: int, pad_value: float, batch: int):
    """``batch`` random context/target splits of random studies, all of one size."""
    pick = torch.randint(len(tasks), (batch,), generator=g).tolist()
    size = min(tasks[i].X.shape[0] for i in pick)
    n = int(torch.randint(1, size, (1,), generator=g))  # context 1..size-1, the rest are targets
    xs, ys = [], []
    for i in pick:
        order = torch.randperm(tasks[i].X.shape[0], generator=g)[:size]
        xs.append(tasks[i].X[order])
        ys.append(tasks[i].y[order])
    X = pad_inputs(torch.stack(xs), x_dim, pad_value)
    Y = torch.stack(ys).float()
    return X[:, :n], Y[:, :n], X[:, n:], Y[:, n:]


@torch.no_grad()
def held_out_ll(model, tasks: Sequence[StudyTask], choices, pad_value: float) -> float:
    """Mean log-likelihood per target point of each task's second half given its first half
    (a fixed split, seed 0), with the model's inference-time refinement."""
    total, count = 0.0, 0
    x_dim = model.config.x_dim
    for task in tasks:
        order = torch.randperm(task.X.shape[0], generator=torch.Generator().manual_seed(0))
        half = task.X.shape[0] // 2
        X = pad_inputs(task.X[order][None], x_dim, pad_value)
        y = task.y[order][None].float()
        _, marginal = model.log_likelihoods(X[:, :half], y[:, :half], X[:, half:], y[:, half:], None, choices)
        total += float(marginal.sum()) * (X.shape[1] - half)
        count += X.shape[1] - half
    return total / count


def fine_tune(
    space,
    tasks: Sequence[StudyTask],
    skipped: Sequence[str],
    out: Path,
    base: str | None = None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    synthetic_ratio: float = SYNTHETIC_RATIO,
    on_step: Callable[[dict], None] | None = None,
) -> dict:
    """Fine-tune ``base`` (default: the shipped prior for ``space``, an :class:`npopt.Space`) on
    the studies' ``tasks`` (:func:`npopt.transfer.tasks_from_studies` reads them, and says
    which studies it ``skipped``) and write ``out``; returns the summary the checkpoint records."""
    from npopt.neural.checkpoints import load_model, prior_path, save_checkpoint
    from npopt.neural.priors import sample_sizes, sample_tasks
    from npopt.neural.train import checkpoint_setup, ctrl_c_between_steps

    if steps < 1:
        raise TransferError("--steps must be at least 1")
    if not 0 <= synthetic_ratio < 1:
        raise TransferError("the synthetic ratio must be in [0, 1)")
    skipped = list(skipped)
    for message in skipped:
        warnings.warn(message, stacklevel=2)
    most = max(space.choices, default=0)
    base_path = prior_path(base, dim=space.dim, choices=most)
    model, ckpt = load_model(base_path)
    setup = checkpoint_setup(ckpt, str(base_path))
    if space.dim > model.config.x_dim:
        raise TransferError(f"prior {base_path} has {model.config.x_dim} inputs; the studies' space has {space.dim}")
    choices = torch.tensor(list(space.choices) + [0] * (model.config.x_dim - space.dim)) if most else None
    if choices is not None:
        model.check_choices(choices)  # too many choices for the base: its clear message
    pad_value = setup.prior.pad_value
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    order = torch.randperm(len(tasks), generator=g).tolist()
    n_held = max(1, round(HELD_OUT_SHARE * len(tasks))) if len(tasks) >= 3 else 0
    held, train_tasks = [tasks[i] for i in order[:n_held]], [tasks[i] for i in order[n_held:]]
    scored = held or train_tasks  # with fewer than three studies: the training studies' own halves

    model.eval()
    before = held_out_ll(model, scored, choices, pad_value)
    opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    start = time.perf_counter()
    with ctrl_c_between_steps() as stop_requested:
        for step in range(1, steps + 1):
            model.train()
            if float(torch.rand(1, generator=g)) < synthetic_ratio:
                tb = sample_tasks(setup.prior, BATCH, *sample_sizes(setup.prior, g, space.dim), g,
                                  active_dims=space.dim).float()
                xc, yc, xt, yt, ch = tb.xc, tb.yc, tb.xt, tb.yt, tb.choices
            else:
                xc, yc, xt, yt = _split_batch(train_tasks, g, model.config.x_dim, pad_value, BATCH)
                ch = choices
            loss = model.loss(xc, yc, xt, yt, setup.train.marginal_weight, ch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), setup.train.grad_clip)
            opt.step()
            if on_step:
                on_step({"step": step, "steps": steps, "loss": loss.item(), "held_out_ll_before": before})
            if stop_requested():  # Ctrl-C: stop between steps (see ctrl_c_between_steps)
                raise KeyboardInterrupt
    model.eval()
    after = held_out_ll(model, scored, choices, pad_value)
    transfer = {
        "base": str(base or base_path.stem),
        "space": space.to_dict(),
        "studies": [{"file": t.name, "complete": t.complete, "trials": t.trials, "held_out": t in held}
                    for t in tasks],
        "skipped": skipped,
        "steps": steps,
        "seed": seed,
        "synthetic_ratio": synthetic_ratio,
        "held_out_ll": {"before": before, "after": after, "on": "held-out studies" if held else "training studies"},
        "seconds": time.perf_counter() - start,
    }
    name = f"{Path(out).stem} (fine-tuned from {transfer['base']})"
    save_checkpoint(out, model, name=name, description=f"{setup.description} Fine-tuned on {len(tasks)} studies.",
                    setup=setup.to_dict(), step=steps, elapsed_seconds=transfer["seconds"], history=[],
                    machine=f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}",
                    transfer=transfer)
    return transfer

