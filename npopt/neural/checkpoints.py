"""Checkpoint files: a model that rebuilds itself, and the shipped priors.

A checkpoint is a ``torch.save``'d dict holding the format name and version, the
:class:`~npopt.neural.model.NPConfig` as a plain dict, the prior and training configs,
the weights, and a little history. It is loaded with ``weights_only=True`` (no pickled
code). Training also writes ``<out>.resume`` beside it, holding the optimiser and random
states needed by ``npopt train --resume``; the ``.pt`` alone is all a user needs.

Writes are atomic (temporary file + ``os.replace``), so an interrupted save never leaves
a truncated checkpoint behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from npopt.errors import CheckpointError, NoPriorError
from npopt.neural.model import SETTINGS_HISTORY, NeuralProcess, NPConfig

FORMAT = "npopt-neural-process"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).parent / "checkpoints"


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_checkpoint(path: Path, model: NeuralProcess, **meta: Any) -> None:
    """Save ``model`` with its config; ``meta`` holds name, prior, train, history, ..."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_save({"format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config.to_dict(),
                 "state_dict": state, **meta}, path)


#: Objects (tensors, containers, scalars; a shared one counted each time it is reached) a
#: checkpoint may hold; npopt's own hold a few hundred.
MAX_NODES = 200_000


def _small(obj: Any) -> bool:
    """Whether walking ``obj`` as a tree (shared references expanded) visits at most
    :data:`MAX_NODES` objects: what reading its space or history would visit."""
    budget, stack = MAX_NODES, [obj]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
    return True


def read_checkpoint(path: Path) -> dict:
    """Load and validate a checkpoint dict; :class:`CheckpointError` names the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path or train one with `npopt train`")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, random bytes, pickled code, ...
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}); "
            "re-train it with `npopt train` or restore the file"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an npopt Neural Process checkpoint")
    if not _small(ckpt):
        raise CheckpointError(
            f"checkpoint {path} holds more than {MAX_NODES:,} objects counted through shared references "
            "(a pickle can nest the same list inside itself exponentially); it is not one npopt wrote"
        )
    version = ckpt.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version}, this npopt reads version "
            f"{FORMAT_VERSION}; re-train it with this npopt's `npopt train`"
        )
    return ckpt


def model_settings(ckpt: dict) -> dict:
    """The model settings a checkpoint was built with, those added since it was written
    filled in with the values that reproduce it (``SETTINGS_HISTORY["added"]`` of the model)."""
    return {**SETTINGS_HISTORY["added"], **ckpt["config"]}


def load_model(path: Path) -> tuple[NeuralProcess, dict]:
    """Rebuild the model stored in ``path``; returns ``(model in eval mode, checkpoint dict)``."""
    ckpt = read_checkpoint(path)
    try:
        model = NeuralProcess(NPConfig.from_dict(model_settings(ckpt)))
        model.load_state_dict(ckpt["state_dict"])
    except Exception as exc:
        raise CheckpointError(
            f"checkpoint {path} does not match this npopt's model ({exc}); re-train it with `npopt train`"
        ) from None
    model.eval()
    return model, ckpt


def shipped_priors() -> list[Path]:
    """The checkpoint files shipped inside the package, sorted by name."""
    return sorted(SHIPPED_DIR.glob("*.pt"))


def covered_dims(ckpt: dict) -> range:
    """The input dimensions a checkpoint serves: ``x_dim`` itself, or the range of active
    dimensions it was trained on (smaller spaces are padded, see ``PriorConfig``)."""
    prior = ckpt.get("setup", {}).get("prior", {})
    x_dim = ckpt["config"]["x_dim"]
    return range(prior.get("active_dims_min") or x_dim, (prior.get("active_dims_max") or x_dim) + 1)


def max_choices(ckpt: dict) -> int:
    """The most choices per categorical input a checkpoint serves (0: continuous inputs only)."""
    return int(ckpt["config"].get("max_choices", 0))


def prior_path(name_or_path: str | None = None, dim: int | None = None, choices: int = 0) -> Path:
    """Resolve a prior by shipped name (``np1d``), by file path, or by input dimension.

    By dimension, a prior made for exactly ``dim`` inputs wins over one that pads, then the
    smallest; ``choices`` > 0 (the most choices of any categorical parameter) keeps only
    priors with categorical inputs that serve that many."""
    if name_or_path:
        candidate = Path(name_or_path)
        if candidate.suffix == ".pt" or candidate.exists():
            return candidate
        shipped = SHIPPED_DIR / f"{name_or_path}.pt"
        if shipped.exists():
            return shipped
        names = ", ".join(p.stem for p in shipped_priors()) or "none"
        raise CheckpointError(f"no prior called {name_or_path!r}; shipped priors: {names}")
    covering, most = [], 0
    for path in shipped_priors():
        ckpt = read_checkpoint(path)
        most = max(most, max_choices(ckpt))
        if (dim is None or dim in covered_dims(ckpt)) and (choices == 0 or max_choices(ckpt) >= choices):
            covering.append((ckpt["config"]["x_dim"] != dim, ckpt["config"]["x_dim"], path))
    if covering:
        return min(covering)[2]
    if choices and not most:
        raise NoPriorError("no shipped Neural Process prior takes categorical parameters; use --surrogate gp")
    if choices > most:
        raise NoPriorError(
            f"a categorical parameter has {choices} choices but the shipped Neural Process priors "
            f"serve at most {most}; use --surrogate gp (or fewer choices)"
        )
    dims = sorted({d for p in shipped_priors() for d in covered_dims(read_checkpoint(p))})
    raise NoPriorError(
        f"no shipped Neural Process prior covers a {dim}-dimensional space "
        f"(shipped priors cover d = {', '.join(map(str, dims)) or 'none'}); use --surrogate gp"
    )


def check_prior_space(path: Path, space) -> None:
    """NoPriorError if the prior in ``path`` records the space it was fine-tuned for
    (``npopt train --from-studies``) and ``space`` is not that space."""
    recorded = read_checkpoint(path).get("transfer", {}).get("space")
    if recorded is None:
        return
    from npopt.space import Space

    mine = Space.from_dict(recorded)
    if mine != space:
        raise NoPriorError(
            f"prior {path} was fine-tuned for another space ({mine.difference(space)}); use it on studies "
            "over the space it learned from, or fine-tune one for this space with `npopt train --from-studies`"
        )
