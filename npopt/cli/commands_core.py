"""CLI commands for the Neural Process itself: ``version``, ``train``, ``prior ...``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from npopt.cli.app import app
from npopt.errors import ConfigError
from npopt.outputs import check_output, write_text

prior_app = typer.Typer(help="Inspect, evaluate and plot the Neural Process priors.", no_args_is_help=True)
app.add_typer(prior_app, name="prior")


@app.command()
def version() -> None:
    """Print npopt's version.

    Example: npopt version
    """
    import npopt

    typer.echo(npopt.__version__)


@app.command()
def train(
    config: list[str] = typer.Argument(..., help="YAML training config (see npopt/neural/configs/); with "
                                      "--from-studies: the study files (or PostgreSQL URLs) to learn from."),
    out: Path = typer.Option(..., "--out", "-o", help="Checkpoint to write (.pt); resume state goes to OUT.resume."),
    from_studies: bool = typer.Option(False, "--from-studies", help="Fine-tune --base on the completed studies "
                                      "given as arguments (one shared space) instead of meta-training on CONFIG."),
    base: str | None = typer.Option(None, "--base", help="--from-studies: the prior to fine-tune, a shipped name "
                                    "or a .pt (default: the shipped prior for the studies' space)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT.resume."),
    seed: int | None = typer.Option(None, "--seed", help="Override train.seed (same seed -> same model)."),
    steps: int | None = typer.Option(None, "--steps", help="Override train.steps (--from-studies: default 600)."),
    threads: int | None = typer.Option(None, "--threads", help="Override train.threads (CPU threads)."),
) -> None:
    """Meta-train a Neural Process prior on the function families in CONFIG, or fine-tune one
    on your own past studies (--from-studies).

    Shows step, loss and the held-out log-likelihood next to the oracle GP's. Ctrl-C
    writes a usable checkpoint first; --resume continues exactly where it stopped.

    Example: npopt train npopt/neural/configs/np1d.yaml --out np1d.pt --steps 2000

    Example: npopt train --from-studies runs/week1.db runs/week2.db runs/week3.db --base np16d --out mine.pt
    """
    from dataclasses import replace

    check_output(out, "--out", config)
    check_output(out.with_name(out.name + ".resume"), "--out's resume file", config)
    if steps is not None and steps < 1:
        raise ConfigError(f"--steps must be at least 1, not {steps}")
    if from_studies:
        if resume:
            raise ConfigError("--resume continues a meta-training; a fine-tuning (--from-studies) starts afresh")
        _fine_tune(config, out, base, steps, 0 if seed is None else seed, threads)
        return
    if base is not None:
        raise ConfigError("--base goes with --from-studies (a config names its own model)")
    if len(config) != 1:
        raise ConfigError(f"give one training config, not {len(config)} arguments (study files need --from-studies)")
    config = Path(config[0])

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from npopt.neural.train import load_setup
    from npopt.neural.train import train as run_training

    setup = load_setup(config)
    overrides = {k: v for k, v in dict(seed=seed, steps=steps, threads=threads).items() if v is not None}
    if overrides:
        setup.train = replace(setup.train, **overrides)
    columns = [TextColumn("[bold]train[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
               TextColumn("held-out ll {task.fields[ll]}"), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("train", total=setup.train.steps, loss="-", ll="-")

        def on_step(info: dict) -> None:
            fields = {"loss": f"{info['loss']:.3f}"}
            if "eval" in info:
                e = info["eval"]
                fields["ll"] = f"{e['np_target_ll']:.3f}" + _oracle(e, " (oracle {:.3f})")
            bar.update(task, completed=info["step"], **fields)

        try:
            result = run_training(setup, out, resume=resume, on_step=on_step)
        except KeyboardInterrupt:
            typer.echo(f"Interrupted: checkpoint saved to {out}; continue with --resume.", err=True)
            raise typer.Exit(130) from None
    e = result["eval"] or {}
    typer.echo(
        f"Saved {out} after {result['step']} steps in {result['elapsed_seconds'] / 60:.1f} min; "
        f"held-out ll {e.get('np_target_ll', float('nan')):.3f} per point"
        + _oracle(e, " (oracle GP {:.3f})")
    )


def _fine_tune(paths: list[str], out: Path, base: str | None, steps: int | None, seed: int,
               threads: int | None) -> None:
    """``train --from-studies``: fine-tune a prior on past studies, with a progress bar and
    the held-out log-likelihood before and after."""
    import warnings

    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from npopt.neural.transfer import DEFAULT_STEPS
    from npopt.transfer import fine_tune_on_studies

    seen: dict[str, str] = {}
    for given in paths:
        key = given if "://" in given else str(Path(given).resolve())
        if key in seen:
            raise ConfigError(f"study {given} is given twice (as {seen[key]}); give each past study once, "
                              "or its trials would be scored on themselves")
        seen[key] = given
    torch.set_num_threads(threads or 1)
    columns = [TextColumn("[bold]fine-tune[/]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"),
               TextColumn("held-out ll {task.fields[before]} -> {task.fields[now]}"),
               TimeElapsedColumn()]
    with warnings.catch_warnings(record=True) as caught, Progress(*columns, transient=False) as bar:
        warnings.simplefilter("always")
        task = bar.add_task("fine-tune", total=steps or DEFAULT_STEPS, loss="-", before="-", now="-")
        summary = fine_tune_on_studies(paths, out, base=base, steps=steps or DEFAULT_STEPS, seed=seed,
                            on_step=lambda info: bar.update(task, completed=info["step"], loss=f"{info['loss']:.3f}",
                                                            before=f"{info['held_out_ll_before']:.3f}",
                                                            now=f"{info['held_out_ll']:.3f}"))
    for w in caught:
        typer.echo(f"Warning: {w.message}", err=True)
    ll = summary["held_out_ll"]
    used = summary["studies"]
    trained = sum(not s["held_out"] for s in used)
    if ll["before"] == ll["before"]:  # not NaN: something was held out
        typer.echo(
            f"Held-out log-likelihood per point on {ll['on']}: base {ll['before']:.3f}, result {ll['after']:.3f}; "
            f"steps kept {summary['kept_steps']} of {summary['steps']} (trained on {trained} studies, "
            f"{sum(s['complete'] for s in used)} complete trials in all, {summary['seconds'] / 60:.1f} min)"
        )
    typer.echo(f"Saved {out}: {summary['verdict']}")


def _oracle(evaluation: dict, text: str) -> str:
    """``text`` with the oracle's held-out log-likelihood, or nothing for tasks made of data
    (no true kernel, so no oracle)."""
    value = evaluation.get("oracle_target_ll", float("nan"))
    return "" if value != value else text.format(value)


@prior_app.command("list")
def prior_list(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the priors shipped inside the package.

    Example: npopt prior list
    """
    from npopt.neural.checkpoints import covered_dims, read_checkpoint, shipped_priors

    rows = []
    for path in shipped_priors():
        ck = read_checkpoint(path)
        c, prior = ck["config"], ck.get("setup", {}).get("prior", {})
        dims = covered_dims(ck)
        per_dim = prior.get("context_per_dim", 0)
        rows.append({
            "name": path.stem, "dim": c["x_dim"],
            "dims": f"{dims.start}-{dims.stop - 1}" if len(dims) > 1 else str(dims.start),
            "z": 2 * c["spectral_features"],
            "basis": f"{c['spectral_features']} {'ARD ' if c.get('spectral') == 'ard' else ''}sinusoids",
            "refine_steps": c.get("refine_steps", 0),
            "categorical": f"up to {c['max_choices']} choices" if c.get("max_choices") else "no",
            "families": [f["name"] for f in prior.get("families", [])],
            "context": f"{prior.get('context_min', '?')}-{prior.get('context_max', '?')}"
            + (f" + {per_dim} d" if per_dim else ""),
            "steps": ck.get("step"), "train_minutes": round(ck.get("elapsed_seconds", 0) / 60, 1), "path": str(path),
        })
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    # one small two-column table per prior: readable at 80 columns, where nine columns side by side were not
    console = Console()
    if not rows:
        console.print("No shipped priors found.")
    fields = ("dims", "categorical", "z", "basis", "families", "context", "steps", "train_minutes")
    for r in rows:
        table = Table(title=f"[bold]{r['name']}[/]", title_justify="left", show_header=False, box=None)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")
        for k in fields:
            table.add_row(k.replace("_", " "), ", ".join(r[k]) if isinstance(r[k], list) else str(r[k]))
        console.print(table)


@prior_app.command("eval")
def prior_eval(
    name: str | None = typer.Argument(
        None, help="Shipped prior name (e.g. np1d) or a .pt path; default: the 1-D prior."
    ),
    tasks: int = typer.Option(1000, "--tasks", min=1, help="Number of held-out tasks."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out tasks."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the results to this JSON file."),
    dim: int | None = typer.Option(None, "--dim", min=1, help="Tasks with exactly this many varying inputs "
                                      "(default: the prior's own mix); without NAME picks the prior for DIM."),
    refine_steps: int | None = typer.Option(None, "--refine-steps", min=0, help="Evidence-refinement steps of an "
                                               "ARD prior (default: the prior's own; 0: the network's values alone)."),
    mixed: bool | None = typer.Option(None, "--mixed/--continuous", help="Only tasks with categorical inputs "
                                         "(the oracle knows their Hamming kernel), or only continuous tasks "
                                         "(default: the prior's own mix)."),
    features: int | None = typer.Option(None, "--features", min=2, help="Decode through a basis widened to this "
                                           "many random frequencies, as npopt does for spaces of 7+ parameters "
                                           "and for spaces with a categorical parameter (512; ARD priors only; "
                                           "default: the trained basis)."),
) -> None:
    """Compare the prior's predictive log-likelihood with the oracle GP on held-out tasks.

    Tasks come from the prior's own training family; the oracle is the exact GP that
    knows each task's true kernel, hyperparameters and noise. Log-likelihoods are per
    target point (targets are never context points), in standardised units.

    Example: npopt prior eval np16d --dim 8 --mixed --tasks 1000 --seed 0 --json eval.json
    (add --features 512 for the basis that npopt decodes such a space through)
    """
    import dataclasses
    import time

    from rich.progress import track

    from npopt.errors import NoPriorError
    from npopt.neural.checkpoints import covered_dims, load_model, prior_path
    from npopt.neural.train import checkpoint_setup, evaluate, validation_set

    path = prior_path(name, dim=None if name else (dim or 1))
    check_output(json_path, "--json", [path])
    model, ck = load_model(path)
    if dim is not None and dim not in covered_dims(ck):
        raise NoPriorError(f"prior {path.stem} does not cover d={dim} (it covers {list(covered_dims(ck))})")
    if features is not None:
        if model.config.spectral != "ard":
            raise NoPriorError(f"prior {path.stem} has a fixed basis, not random ARD frequencies; drop --features")
        model = model.widened(features)
    setup = checkpoint_setup(ck, str(path))
    prior = setup.prior
    if mixed is not None:
        if mixed and not (prior.cat_prob > 0 and model.config.max_choices):
            raise NoPriorError(f"prior {path.stem} has no categorical inputs; drop --mixed or use np16d")
        prior = dataclasses.replace(prior, cat_prob=1.0 if mixed else 0.0)
    t0 = time.perf_counter()
    batches = validation_set(prior, tasks, seed=1_000_000 + seed, active_dims=dim)  # disjoint from training
    if refine_steps and model.config.spectral != "ard":
        raise NoPriorError(f"prior {path.stem} has no ARD lengthscales to refine; drop --refine-steps")
    parts = [evaluate(model, [b], refine_steps) for b in track(batches, description="evaluating", transient=True)]
    n = sum(p["tasks"] for p in parts)
    result = {k: sum(p[k] * p["tasks"] for p in parts) / n for k in parts[0] if k != "tasks"}
    result.update(prior=path.stem, tasks=n, seed=seed, dim=dim, mixed=mixed, features=model.base_freqs_width(),
                  refine_steps=model.config.refine_steps if refine_steps is None else refine_steps,
                  gap_target_ll=result["oracle_target_ll"] - result["np_target_ll"],
                  seconds=round(time.perf_counter() - t0, 1))
    if json_path:
        write_text(json_path, json.dumps(result, indent=2) + "\n")
    typer.echo(
        f"{path.stem}: NP {result['np_target_ll']:.3f} vs oracle GP {result['oracle_target_ll']:.3f} "
        f"nats per target point (gap {result['gap_target_ll']:.3f}); "
        f"joint {result['np_joint_ll']:.3f} vs {result['oracle_joint_ll']:.3f}; {n} tasks"
    )


@prior_app.command("plot")
def prior_plot(
    name: str | None = typer.Argument(None, help="Shipped prior name or .pt path; default: the 1-D prior."),
    out: Path = typer.Option(Path("prior_draws.png"), "--out", "-o", help="PNG to write."),
    family: str | None = typer.Option("paper-rbf", "--family", help="Draw the function from this family."),
    seed: int = typer.Option(0, "--seed", help="Which function and which draws."),
    sizes: str = typer.Option("5,20", "--context", help="Comma-separated context sizes, one panel each."),
) -> None:
    """Plot NP function draws conditioned on a few points, next to the oracle GP.

    Example: npopt prior plot np1d --out docs/np1d_draws.png --context 5,20
    """
    from npopt.display.prior_plots import demo_tasks, plot_draws
    from npopt.neural.checkpoints import load_model, prior_path
    from npopt.neural.train import checkpoint_setup

    try:
        counts = tuple(int(s) for s in sizes.split(","))
    except ValueError:
        raise typer.BadParameter("--context takes integers such as 5,20") from None
    path = prior_path(name, dim=None if name else 1)
    check_output(out, "--out", [path])
    model, ck = load_model(path)
    setup = checkpoint_setup(ck, str(path))
    if setup.model.x_dim != 1:
        raise typer.BadParameter("prior plot draws 1-D priors only")
    tasks, truths, x = demo_tasks(setup.prior, counts, family, seed)
    plot_draws(model, tasks, truths, x, out, seed=seed)
    typer.echo(f"Wrote {out}")
