"""Image completion (the paper's Figure 4): ``npopt benchmark --suite images``.

Every held-out digit (:mod:`npopt.neural.datasets`) is completed from 5, 10, 20, 40 and all
64 of its pixels, nested (the 10 include the 5), by three models:

- ``np``: the Neural Process meta-trained on the training digits (``configs/digits.yaml``);
- ``gp``: a GP fitted to each image's context alone (BoTorch ``SingleTaskGP``, Matern-5/2
  ARD, its default priors and fit, as ``--surrogate gp`` fits it);
- ``np-prior``: the shipped GP-trained prior ``np16d`` on the same values (2 of its 16
  inputs used), which knows smooth functions but not digits.

The score is the mean log-likelihood per pixel of all 64 pixels under each model's
predictive marginals (observation noise included), in the fixed value units of the
dataset; higher is better. As in the paper the targets include the context, so with all
64 pixels observed the score measures reconstruction; the JSON also holds the score of
the unobserved pixels alone (``unobserved_pixels``, context sizes below 64). Seeds fix the
context pixels and the dequantisation of each image, so every model scores the same numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from npopt.neural.datasets import PIXELS, SIDE, digit_images, pixel_inputs, pixel_values, to_intensity

CONTEXT_SIZES = (5, 10, 20, 40, 64)
METHODS = ("np", "gp", "np-prior")
DIGITS_MODEL = Path(__file__).parent / "checkpoints" / "digits.pt"


def image_tasks(n_images: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The held-out images as tasks: values ``N x 64`` (dequantised with ``seed``), one
    random order of the pixels per image ``N x 64`` (context of size n: the first n), and
    the pixel inputs ``64 x 2``."""
    images = digit_images(held_out=True)
    if n_images is not None:
        if not 1 <= n_images <= images.shape[0]:
            raise ValueError(f"there are {images.shape[0]} held-out images; ask for 1..{images.shape[0]}")
        images = images[:n_images]
    g = torch.Generator().manual_seed(seed)
    values = pixel_values(images, g)
    order = torch.argsort(torch.rand(images.shape[0], PIXELS, generator=g), dim=1)
    return values, order, pixel_inputs()


def _context(values, order, x, n):
    idx = order[:, :n]
    xc = x[idx]  # N x n x 2
    yc = torch.gather(values, 1, idx)
    return xc, yc


def np_scores(model, values, order, x, n, pad_value: float = 0.5) -> torch.Tensor:
    """Log-likelihood of every pixel of every image under a Neural Process (``N x 64``); a
    prior with more than 2 inputs sees the others at ``pad_value``."""
    from npopt.neural.model import pad_inputs

    xc, yc = _context(values, order, x, n)
    xc, xt = (pad_inputs(t, model.config.x_dim, pad_value) for t in (xc, x.expand(values.shape[0], -1, -1)))
    out = []
    with torch.no_grad():
        for i in range(0, values.shape[0], 64):
            s = slice(i, i + 64)
            mean, U, noise = model.linear_terms(model.encode(xc[s], yc[s].float()), xt[s])
            var = (U.pow(2).sum(-1) + noise[:, None] ** 2).double()
            out.append(-0.5 * (math.log(2 * math.pi) + var.log() + (values[s] - mean.double()) ** 2 / var))
    return torch.cat(out)


def gp_scores(values, order, x, n, progress: Callable[[], None] | None = None) -> torch.Tensor:
    """Log-likelihood of every pixel under a GP fitted to each image's context (``N x 64``)."""
    import warnings

    from npopt.surrogates.gp import GPSurrogate

    xc, yc = _context(values, order, x, n)
    out = []
    for i in range(values.shape[0]):
        gp = GPSurrogate()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.condition(xc[i], yc[i])
            with torch.no_grad():
                post = gp.model.posterior(x, observation_noise=True)
                mean, var = post.mean[:, 0], post.variance[:, 0].clamp_min(1e-12)
        ll = -0.5 * (math.log(2 * math.pi) + var.log() + (values[i] - mean) ** 2 / var)
        out.append(ll)
        if progress:
            progress()
    return torch.stack(out)


def run_images(
    digits_model: Path = DIGITS_MODEL,
    prior: str = "np16d",
    n_images: int | None = None,
    seed: int = 0,
    methods: tuple[str, ...] = METHODS,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Score the methods on held-out digits at every context size; the JSON summary."""
    from npopt.neural.checkpoints import load_model, prior_path
    from npopt.optim import single_thread

    t0 = time.perf_counter()
    values, order, x = image_tasks(n_images, seed)
    N = values.shape[0]
    total = len(CONTEXT_SIZES) * (2 * ("np" in methods) + ("np-prior" in methods) + N * ("gp" in methods))
    done = 0

    def tick(label: str, k: int = 1) -> None:
        nonlocal done
        done += k
        if progress:
            progress(done, total, label)

    scores: dict[str, dict[str, torch.Tensor]] = {}
    with single_thread():
        image_np = load_model(digits_model)[0] if "np" in methods else None
        prior_np, prior_ckpt = load_model(prior_path(prior)) if "np-prior" in methods else (None, None)
        for n in CONTEXT_SIZES:
            row = scores.setdefault(str(n), {})
            if image_np is not None:
                row["np"] = np_scores(image_np, values, order, x, n)
                tick(f"images: np, {n} pixels", 2)
            if prior_np is not None:
                pad_value = prior_ckpt["setup"]["prior"].get("pad_value", 0.5)
                row["np-prior"] = np_scores(prior_np, values, order, x, n, pad_value=pad_value)
                tick(f"images: np-prior, {n} pixels")
            if "gp" in methods:
                row["gp"] = gp_scores(values, order, x, n, progress=lambda n=n: tick(f"images: gp, {n} pixels"))
    # per image: the mean over all 64 pixels, and over the pixels not in the context
    unobserved = {n: torch.ones(N, PIXELS, dtype=torch.bool).scatter(1, order[:, :int(n)], False)
                  for n in scores if int(n) < PIXELS}
    per_image = {n: {m: s.mean(1) for m, s in row.items()} for n, row in scores.items()}
    per_image_unobserved = {n: {m: (s * unobserved[n]).sum(1) / unobserved[n].sum(1) for m, s in row.items()}
                            for n, row in scores.items() if n in unobserved}
    summary = {
        "suite": "images",
        "images": N,
        "seed": seed,
        "score": "mean log-likelihood per pixel of all 64 pixels (higher is better), values in [-1, 1]",
        "context_sizes": _means(per_image),
        "stderr": _stderrs(per_image),
        "unobserved_pixels": {"score": "the same over the pixels not in the context only",
                              "context_sizes": _means(per_image_unobserved),
                              "stderr": _stderrs(per_image_unobserved)},
        "models": {"np": str(digits_model.name if isinstance(digits_model, Path) else digits_model),
                   "np-prior": prior},
        "seconds": time.perf_counter() - t0,
    }
    return summary


def _means(per_image: dict) -> dict:
    return {n: {m: float(v.mean()) for m, v in row.items()} for n, row in per_image.items()}


def _stderrs(per_image: dict) -> dict:
    return {n: {m: float(v.std() / math.sqrt(v.numel())) if v.numel() > 1 else 0.0 for m, v in row.items()}
            for n, row in per_image.items()}


def images_table(summary: dict):
    """A rich table: context sizes down, methods across, mean +- stderr, best in bold."""
    from rich.table import Table

    methods = list(next(iter(summary["context_sizes"].values())))
    table = Table(title=f"Image completion, {summary['images']} held-out digits: log-likelihood per pixel")
    table.add_column("context pixels", justify="right")
    for m in methods:
        table.add_column(m, justify="right")
    unobserved = summary.get("unobserved_pixels", {})
    for m in methods:
        table.add_column(f"{m} (unobserved)", justify="right")
    for n, row in summary["context_sizes"].items():
        cells = _cells(row, summary["stderr"][n], methods)
        if n in unobserved.get("context_sizes", {}):
            cells += _cells(unobserved["context_sizes"][n], unobserved["stderr"][n], methods)
        else:
            cells += ["—"] * len(methods)
        table.add_row(n, *cells)
    return table


def _cells(row: dict, stderr: dict, methods: list[str]) -> list[str]:
    best = max(row, key=row.get)
    cells = [f"{row[m]:.3f} ± {stderr[m]:.3f}" for m in methods]
    return [f"[bold]{c}[/]" if m == best else c for m, c in zip(methods, cells, strict=True)]


def plot_completions(path: Path, digits_model: Path = DIGITS_MODEL, images: tuple[int, ...] = (0, 1),
                     draws: int = 4, seed: int = 0) -> None:
    """Figure 4: for each of ``images`` (held-out indices), rows of context sizes; columns:
    the context (unobserved pixels in blue), ``draws`` NP samples (one latent draw each,
    decoded at all 64 pixels) and the NP's mean."""
    from npopt.display.figures import pyplot
    from npopt.neural.checkpoints import load_model

    plt = pyplot()
    model = load_model(digits_model)[0]
    values, order, x = image_tasks(max(images) + 1, seed)
    cols = 2 + draws
    fig, axes = plt.subplots(len(CONTEXT_SIZES), cols * len(images),
                             figsize=(1.1 * cols * len(images) + 0.6, 1.15 * len(CONTEXT_SIZES) + 0.5),
                             squeeze=False)
    g = torch.Generator().manual_seed(seed)
    for block, i in enumerate(images):
        for r, n in enumerate(CONTEXT_SIZES):
            xc, yc = _context(values[i:i + 1], order[i:i + 1], x, n)
            shown = torch.zeros(PIXELS, 3)
            shown[:, 2] = 0.55  # unobserved: blue
            grey = (to_intensity(yc[0]) / 16).float()
            shown[order[i, :n]] = grey[:, None].expand(-1, 3)
            with torch.no_grad():
                ctx = model.encode(xc.float(), yc.float())
                mean = model.predict_from(ctx, x.float())[0]
                samples = model.paths_from(ctx, draws, g)(x.float())
            pictures = [shown.reshape(SIDE, SIDE, 3).numpy()]
            pictures += [to_intensity(s.double()).reshape(SIDE, SIDE).numpy() for s in samples]
            pictures.append(to_intensity(mean.double()).reshape(SIDE, SIDE).numpy())
            for c, picture in enumerate(pictures):
                ax = axes[r, block * cols + c]
                ax.imshow(picture, cmap="gray", vmin=0, vmax=16, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title("context" if c == 0 else ("mean" if c == cols - 1 else f"sample {c}"), fontsize=8)
                if c == 0 and block == 0:
                    ax.set_ylabel(f"{n} pixels", fontsize=8)
    fig.suptitle("Image completion on held-out digits: Neural Process samples (one z each) and mean", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
