"""Fine-tune a prior on the user's own past studies: ``npopt train --from-studies``.

Each completed study is one task (:class:`StudyTask`, read by :mod:`npopt.transfer`), a
sample of the function family the user tunes: its complete trials mapped to the unit cube
by the space, values turned to minimisation and standardised per study as npopt
standardises them at ask time. A training step draws a batch of random context/target
splits of a few studies; with probability :data:`SYNTHETIC_RATIO` it draws a batch of the
base prior's own synthetic family instead, so that the prior does not forget how to handle
a task unlike the past ones.

Validated: the held-out studies decide. A share of the studies (:data:`HELD_OUT_SHARE`, at
least one; every study but one when there are two) is never trained on; every
:data:`VALIDATE_EVERY` steps the log-likelihood of their trials given a few of their own
(:func:`held_out_points`: contexts of an eighth, a quarter and a half of each study) is
measured, and the checkpoint with the highest one is kept: early stopping on a validation
set (Prechelt 1998, "Early Stopping - But When?"). When that is the base prior itself, it is
written unchanged and the summary says so: the fine-tuning cannot make a prior worse than
its base on the studies held out. With a single study nothing can be held out, and the base
prior is kept.
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
DEFAULT_STEPS = 600  # the most steps; validation chooses how many of them to keep
VALIDATE_EVERY = 50
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
def held_out_points(model, tasks: Sequence[StudyTask], choices, pad_value: float) -> torch.Tensor:
    """The log-likelihood of every target point of fixed context/target splits of ``tasks``,
    with the model's inference-time refinement: per task, contexts of an eighth, a quarter
    and half of its trials (at least 2; each split its own fixed permutation), the rest as
    targets. Early contexts are what a new study's first asks see, so they are scored too."""
    x_dim = model.config.x_dim
    points = []
    for t, task in enumerate(tasks):
        n = task.X.shape[0]
        for k, size in enumerate(sorted({max(2, n // 8), max(2, n // 4), n // 2})):
            order = torch.randperm(n, generator=torch.Generator().manual_seed(1000 * t + k))
            X = pad_inputs(task.X[order][None], x_dim, pad_value)
            y = task.y[order][None].float()
            ctx = model.encode(X[:, :size], y[:, :size], None, choices)
            points.append(model.point_log_likelihoods(ctx, X[:, size:], y[:, size:])[0])
    return torch.cat(points).double()


def best_checkpoint(scores: Sequence[torch.Tensor]) -> int:
    """Index of the checkpoint (the base first) whose per-point held-out log-likelihoods
    ``scores`` have the highest mean; the earliest of equals."""
    means = [float(s.mean()) for s in scores]
    return max(range(len(scores)), key=lambda i: (means[i], -i))


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
    n_held = max(1, round(HELD_OUT_SHARE * len(tasks))) if len(tasks) >= 2 else 0
    held, train_tasks = [tasks[i] for i in order[:n_held]], [tasks[i] for i in order[n_held:]]

    model.eval()
    start = time.perf_counter()
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    checkpoints = [(0, base_state, held_out_points(model, held, choices, pad_value))] if held else []
    before = float(checkpoints[0][2].mean()) if held else float("nan")
    if held:  # with one study there is nothing to validate on: the base is kept, untrained
        opt = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
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
                if step % VALIDATE_EVERY == 0 or step == steps:
                    model.eval()
                    checkpoints.append((step, {k: v.clone() for k, v in model.state_dict().items()},
                                        held_out_points(model, held, choices, pad_value)))
                if on_step:
                    on_step({"step": step, "steps": steps, "loss": loss.item(), "held_out_ll_before": before,
                             "held_out_ll": float(checkpoints[-1][2].mean())})
                if stop_requested():  # Ctrl-C: stop between steps (see ctrl_c_between_steps)
                    raise KeyboardInterrupt
    chosen = best_checkpoint([c[2] for c in checkpoints]) if held else 0
    kept_steps, state, _ = checkpoints[chosen] if held else (0, base_state, None)
    model.load_state_dict(state)
    model.eval()
    after = float(checkpoints[chosen][2].mean()) if held else float("nan")
    if not held:
        verdict = "no gain: a single study leaves none to hold out, so nothing can show a gain; kept the base prior"
    elif kept_steps == 0:
        verdict = "no gain: kept the base prior (no step raised the held-out log-likelihood)"
    else:
        verdict = (f"learned: {after - before:+.2f} nats/point on {len(held)} held-out "
                   f"{'study' if len(held) == 1 else 'studies'}")
    transfer = {
        "base": str(base or base_path.stem),
        "space": space.to_dict(),
        "studies": [{"file": t.name, "complete": t.complete, "trials": t.trials, "held_out": t in held}
                    for t in tasks],
        "skipped": skipped,
        "steps": steps,
        "kept_steps": kept_steps,
        "kept_base": kept_steps == 0,
        "verdict": verdict,
        "validation": [{"step": c[0], "held_out_ll": float(c[2].mean())} for c in checkpoints],
        "seed": seed,
        "synthetic_ratio": synthetic_ratio,
        "held_out_ll": {"before": before, "after": after,
                        "on": f"{len(held)} held-out {'study' if len(held) == 1 else 'studies'}"},
        "seconds": time.perf_counter() - start,
    }
    name = (f"{Path(out).stem} (the base prior {transfer['base']}, kept: fine-tuning did not help)" if kept_steps == 0
            else f"{Path(out).stem} (fine-tuned from {transfer['base']})")
    note = (f"Fine-tuned on {len(tasks)} studies for {kept_steps} steps." if kept_steps
            else f"Unchanged: fine-tuning on {len(tasks)} studies did not raise the held-out log-likelihood.")
    save_checkpoint(out, model, name=name, description=f"{setup.description} {note}",
                    setup=setup.to_dict(), step=kept_steps, elapsed_seconds=transfer["seconds"], history=[],
                    machine=f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}",
                    transfer=transfer)
    return transfer

