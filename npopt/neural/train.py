"""Meta-training: configs, the training loop, held-out evaluation against the oracle GP.

The loop lives apart from the model (as in nanoGPT). It is deterministic for a fixed
seed (model init and every sampled task come from seeded generators), writes
checkpoints atomically every ``checkpoint_every`` steps, on Ctrl-C and at the end, and
resumes bit-for-bit from the ``.resume`` file written beside the checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import platform
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import yaml

from npopt.errors import CheckpointError, ConfigError, first_line
from npopt.neural.checkpoints import atomic_save, save_checkpoint
from npopt.neural.model import NeuralProcess, NPConfig
from npopt.neural.priors import PriorConfig, oracle_log_likelihood, sample_layout, sample_tasks
from npopt.neural.tasks import TaskBatch
from npopt.space import load_yaml


@dataclass
class TrainConfig:
    steps: int = 20000
    batch_size: int = 32
    lr: float = 5e-4
    warmup_steps: int = 500
    min_lr_ratio: float = 0.05  # cosine decay down to lr * min_lr_ratio
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    marginal_weight: float = 0.5  # loss mixes joint and per-point marginal log-likelihoods
    eval_every: int = 500
    eval_tasks: int = 256
    checkpoint_every: int = 1000
    seed: int = 0
    threads: int = 2


@dataclass
class Setup:
    """A whole training configuration, as read from YAML."""

    name: str
    description: str = ""
    model: NPConfig = field(default_factory=NPConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "model": self.model.to_dict(),
                "prior": asdict(self.prior), "train": asdict(self.train)}


def _dataclass_from(cls, data: Any, where: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def setup_from_dict(data: Any, source: str = "config") -> Setup:
    """Validate a config mapping; :class:`ConfigError` names the file and the key."""
    if not isinstance(data, dict) or "name" not in data:
        raise ConfigError(f"{source}: a training config is a mapping with at least `name:`")
    unknown = sorted(set(data) - {"name", "description", "model", "prior", "train"})
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(unknown)} (name, description, model, prior, train)")
    model_data = data.get("model")
    if isinstance(model_data, dict):  # NPConfig knows its removed settings
        try:
            model = NPConfig.from_dict(model_data)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: model: {exc}") from None
    else:
        model = _dataclass_from(NPConfig, model_data, f"{source}: model")
    prior = _dataclass_from(PriorConfig, data.get("prior"), f"{source}: prior")
    train = _dataclass_from(TrainConfig, data.get("train"), f"{source}: train")
    if prior.x_dim != model.x_dim:
        raise ConfigError(f"{source}: prior.x_dim ({prior.x_dim}) differs from model.x_dim ({model.x_dim})")
    return Setup(str(data["name"]), str(data.get("description", "")), model, prior, train)


def checkpoint_setup(ckpt: dict, source: str) -> Setup:
    """The training setup stored in a checkpoint, its model settings as the model was built."""
    from npopt.neural.checkpoints import model_settings

    return setup_from_dict({**ckpt["setup"], "model": model_settings(ckpt)}, source)


def load_setup(path: Path) -> Setup:
    """Read a YAML training config."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; save it as UTF-8") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {first_line(exc, 200)}") from None
    return setup_from_dict(data, str(path))


def validation_set(prior: PriorConfig, n_tasks: int, seed: int, batch: int = 32,
                   active_dims: int | None = None) -> list[TaskBatch]:
    """Held-out tasks (context sizes spread over the prior's range), fixed by ``seed``.

    ``active_dims`` fixes the number of varying inputs (default: random per batch)."""
    g = torch.Generator().manual_seed(seed)
    out, left = [], n_tasks
    while left > 0:
        b = min(batch, left)
        d, n, m = sample_layout(prior, g, active_dims)
        out.append(sample_tasks(prior, b, n, m, g, active_dims=d, held_out=True))
        left -= b
    return out


@torch.no_grad()
def evaluate(model: NeuralProcess, tasks: list[TaskBatch], refine_steps: int | None = None) -> dict[str, float]:
    """Mean per-target-point log-likelihoods of the NP and of the oracle GP.

    ``refine_steps``: the NP's evidence refinement (default: its config's, as in use)."""
    model.eval()
    sums = dict(np_target_ll=0.0, np_joint_ll=0.0, oracle_target_ll=0.0, oracle_joint_ll=0.0)
    count = 0
    for tb in tasks:
        t = tb.float()
        om, oj = oracle_log_likelihood(tb)
        joint, marginal = model.log_likelihoods(t.xc, t.yc, t.xt, t.yt, refine_steps, t.choices)
        sums["np_target_ll"] += marginal.double().sum().item()
        sums["np_joint_ll"] += joint.double().sum().item()
        sums["oracle_target_ll"] += om.sum().item()
        sums["oracle_joint_ll"] += oj.sum().item()
        count += tb.xc.shape[0]
    return {k: v / count for k, v in sums.items()} | {"tasks": count}


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to ``lr * min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


@contextlib.contextmanager
def ctrl_c_between_steps():
    """Inside the block a first Ctrl-C (SIGINT) only raises a flag, read by the returned
    ``stop_requested()``, so training stops between two steps: an interrupt raised at any
    moment can land inside the progress bar's update while it holds its lock, and the
    bar's exit then waits for that lock forever. A second Ctrl-C interrupts at once.
    Outside the main thread (no signal handlers there) Ctrl-C behaves as usual."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return

    def on_sigint(signum, frame) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield requested.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def resume_path(out: Path) -> Path:
    return Path(str(out) + ".resume")


def train(
    setup: Setup,
    out: Path,
    resume: bool = False,
    on_step: Callable[[dict], None] | None = None,
) -> dict:
    """Meta-train ``setup`` and write ``out`` (+ ``out.resume``).

    Args:
        setup: model, prior and training configuration.
        out: checkpoint path.
        resume: continue from ``out.resume`` (same config required).
        on_step: called after every step with ``{"step", "steps", "loss", "lr", "eval"?}``.

    Returns:
        A summary: final step, wall seconds, last evaluation.
    """
    cfg = setup.train
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = NeuralProcess(setup.model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    data_gen = torch.Generator().manual_seed(cfg.seed + 1)
    step, elapsed, history = 0, 0.0, []
    if resume:
        state_file = resume_path(out)
        if not state_file.is_file():
            raise CheckpointError(f"cannot resume: {state_file} does not exist (train without --resume first)")
        try:
            state = torch.load(state_file, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(
                f"resume state {state_file} is corrupt ({type(exc).__name__}); train afresh"
            ) from None
        if state["setup"] != setup.to_dict():
            raise CheckpointError(f"{state_file} was trained with a different config; train afresh or use that config")
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_gen"])
        torch.set_rng_state(state["torch_rng"])
        step, elapsed, history = state["step"], state["elapsed"], state["history"]
    val = validation_set(setup.prior, cfg.eval_tasks, seed=cfg.seed + 10_000)

    def save() -> None:
        meta = {"name": setup.name, "description": setup.description, "setup": setup.to_dict(),
                "step": step, "elapsed_seconds": elapsed, "history": history,
                "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}"}
        save_checkpoint(out, model, **meta)
        atomic_save({"setup": setup.to_dict(), "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                     "data_gen": data_gen.get_state(), "torch_rng": torch.get_rng_state(), "step": step,
                     "elapsed": elapsed, "history": history}, resume_path(out))

    last_eval = history[-1] if history else None
    try:
        with ctrl_c_between_steps() as stop_requested:
            while step < cfg.steps:
                t0 = time.perf_counter()
                model.train()
                d, n, m = sample_layout(setup.prior, data_gen)
                tb = sample_tasks(setup.prior, cfg.batch_size, n, m, data_gen, active_dims=d).float()
                for group in opt.param_groups:
                    group["lr"] = lr_at(step, cfg)
                loss = model.loss(tb.xc, tb.yc, tb.xt, tb.yt, cfg.marginal_weight, tb.choices)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                step += 1
                info = {"step": step, "steps": cfg.steps, "loss": loss.item(), "lr": lr_at(step - 1, cfg)}
                if step % cfg.eval_every == 0 or step == cfg.steps:
                    last_eval = {"step": step, **evaluate(model, val)}
                    history.append(last_eval)
                    info["eval"] = last_eval
                elapsed += time.perf_counter() - t0
                if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                    save()
                if on_step:
                    on_step(info)
                if stop_requested():  # Ctrl-C: stop here, between steps, with every lock released
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        save()
        raise
    return {"step": step, "elapsed_seconds": elapsed, "eval": last_eval}
