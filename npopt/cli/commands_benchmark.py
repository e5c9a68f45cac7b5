"""CLI commands (benchmark): ``npopt benchmark`` and ``npopt plot-ts``.

Registered on npopt.cli.app at import; torch and the benchmark code load inside the
command bodies so ``npopt --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from npopt.cli.app import app
from npopt.errors import ConfigError
from npopt.outputs import check_output, summary_json, write_text

SUITES = ("gp1d", "synthetic", "mixed", "broad", "images", "wheel", "transfer", "constrained", "multiobjective")


def _methods(vs: str) -> list[str]:
    """``np`` plus the ``--vs`` list plus ``random`` (the normaliser), in that order."""
    from npopt.benchmarks.suites import METHODS

    names = [m.strip() for m in vs.split(",") if m.strip()]
    for m in names:
        if m not in METHODS:
            raise ConfigError(f"unknown method {m!r} in --vs; choose from {', '.join(METHODS)}")
    return list(dict.fromkeys(["np", *names, "random"]))


@app.command()
def benchmark(
    suite: str = typer.Option("gp1d", "--suite", help="gp1d (the paper's Table 1), synthetic (1-16-D "
                              "problems with known optima), mixed (int and categorical parameters), broad (36 "
                              "BoTorch test functions of 2-16 inputs with moved optima: the selection suite) or images "
                              "(the paper's Figure 4: completing held-out handwritten digits) or wheel "
                              "(the paper's Table 2: the wheel bandit) or transfer (np fine-tuned on past "
                              "studies of related tasks vs np, gp and random on held-out tasks) or constrained "
                              "(best feasible regret) or multiobjective (hypervolume of the front)."),
    vs: str | None = typer.Option(None, "--vs", help="Methods compared against np, comma-separated: "
                                  "gp, gp-oracle (gp1d only), random, tpe and optuna-gp (Optuna's TPESampler "
                                  "and GPSampler; synthetic and mixed, with the optuna extra). Random search is "
                                  "always run. Default: gp,random. images: gp and np-prior (the default). "
                                  "wheel: linfullpost and rff-linear (the default); uniform always runs. "
                                  "transfer: np-transfer (one per number of past studies: 4, 8, 36), gp, optuna-gp "
                                  "and random (the default). constrained: gp, optuna-gp, tpe, random (the default); "
                                  "multiobjective: the same and nsga2."),
    functions: int | None = typer.Option(None, "--functions", help="gp1d: number of GP functions (default "
                                         "100). images: number of held-out digits (default all 297)."),
    repeats: int | None = typer.Option(None, "--repeats", help="synthetic/mixed/broad: seeds per problem (default "
                                       "5). wheel: seeds per delta (default 20). transfer: seeds per held-out "
                                       "task (default 5). constrained/multiobjective: seeds per problem "
                                       "(default 3)."),
    budget: int | None = typer.Option(None, "--budget", help="wheel: steps per run (default 2000). "
                                         "synthetic/mixed/broad: evaluations per run "
                                         "(default 10*d + 10)."),
    problems: str | None = typer.Option(None, "--problems", help="synthetic/mixed/broad: comma-separated "
                                           "subset of the suite's problems (see benchmarks/README.md). transfer: "
                                           "a subset of its families (digits-krr, digits-svc, digits-sgd). "
                                           "constrained/multiobjective: a subset of their problems."),
    seed: int = typer.Option(0, "--seed", help="Suite seed (functions, starts, initial designs)."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the summary as JSON."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write one row per (method, function, step)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a PNG figure (needs matplotlib)."),
    prior: str | None = typer.Option(None, "--prior", help="The np method's prior: a shipped name or a .pt "
                                        "from `npopt train` (default: the shipped prior for each dimension). "
                                        "images/wheel: a .pt trained on digits/wheel (default: the shipped one)."),
    cache: Path = typer.Option(Path(".npopt-cache/transfer"), "--cache", help="transfer: where the past studies "
                               "and the fine-tuned prior are kept (made once, then reused)."),
    runs: Path | None = typer.Option(None, "--runs", help="Keep finished runs in this JSON-lines file and "
                                        "reuse the ones it holds: an interrupted benchmark goes on where it "
                                        "stopped, and methods can be run at different times. Delete it to "
                                        "start afresh."),
) -> None:
    """Compare np with others: gp1d, synthetic, mixed, broad, images, wheel, transfer, constrained, multiobjective.

    Example: npopt benchmark --suite gp1d --vs gp,gp-oracle,random --functions 100 --json out.json

    Example: npopt benchmark --suite mixed --vs gp,random --repeats 10 --runs mixed.runs.jsonl --json mixed.json

    Example: npopt benchmark --suite images --json images.json --plot figure4.png

    Example: npopt benchmark --suite wheel --repeats 20 --json wheel.json

    Example: npopt benchmark --suite transfer --repeats 5 --json transfer.json --plot transfer.png

    Example: npopt benchmark --suite multiobjective --vs optuna-gp,nsga2 --json mo.json --plot mo.png
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from npopt.benchmarks.suites import prior_fingerprint, run_gp1d, run_synthetic
    from npopt.display import benchmarks as show

    if suite not in SUITES:
        raise ConfigError(f"unknown suite {suite!r}; choose {', '.join(SUITES)}")
    for option, path in (("--json", json_path), ("--csv", csv_path), ("--plot", plot), ("--runs", runs)):
        check_output(path, option, [p for p in (json_path, csv_path, plot, runs) if p is not None and p is not path])
    if suite == "images":
        _images(vs, functions, seed, prior, json_path, plot)
        return
    if suite == "wheel":
        _wheel(vs, 20 if repeats is None else repeats, budget, seed, prior, json_path)
        return
    if suite == "transfer":
        _transfer(vs, 5 if repeats is None else repeats, seed, cache, json_path, csv_path, plot, problems)
        return
    if suite in ("constrained", "multiobjective"):
        for option, given in (("--csv", csv_path), ("--budget", budget), ("--prior", prior),
                              ("--functions", functions)):
            if given is not None:
                raise ConfigError(f"the {suite} suite has no {option} (its budgets are 10 d + 10; it runs the "
                                  "shipped priors); leave it out")
        _outcome_suite(suite, vs, 3 if repeats is None else repeats, seed, json_path, plot, problems, runs)
        return
    repeats = 5 if repeats is None else repeats
    functions = 100 if functions is None else functions
    methods = _methods("gp,random" if vs is None else vs)
    if prior is not None:
        from npopt.benchmarks.suites import resolve_methods
        from npopt.neural.checkpoints import prior_path, read_checkpoint
        from npopt.surrogates import make_surrogate

        checkpoint = prior_path(prior)  # a bad name fails now, with the list of shipped priors
        if "transfer" in read_checkpoint(checkpoint):
            raise ConfigError(f"{checkpoint} was fine-tuned on studies over one space; the {suite} suite's problems "
                              "have other spaces (use it with run/ask/serve --prior on that space)")
        methods = resolve_methods(methods)
        methods["np"] = lambda p: make_surrogate("np", p.dim, choices=p.choices, checkpoint=checkpoint)
    if suite != "gp1d" and "gp-oracle" in methods:
        raise ConfigError("gp-oracle needs the true kernel, so it only runs on the gp1d suite")
    if plot is not None:
        show.pyplot()  # fail now, not after the run, if matplotlib is missing

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(suite, total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        variants = {"np": prior_fingerprint(checkpoint)} if prior is not None else None
        if suite == "gp1d":
            result = run_gp1d(methods, functions=functions, seed=seed, progress=progress, runs=runs,
                              variants=variants)
        else:
            names = [p.strip() for p in problems.split(",") if p.strip()] if problems else None
            kwargs = {"problems": names} if names else {}
            result = run_synthetic(methods, repeats=repeats, budget=budget, seed=seed, progress=progress,
                                   suite=suite, runs=runs, variants=variants, **kwargs)

    summary = result.summary()
    console = Console()
    console.print(show.gp1d_table(summary) if suite == "gp1d" else show.synthetic_table(summary))
    if suite == "broad":
        console.print(show.band_table(summary))
    console.print(f"wall time {result.seconds:.1f} s")
    if json_path is not None:
        write_text(json_path, summary_json(summary))
        console.print(f"wrote {json_path}")
    if csv_path is not None:
        show.write_csv(result.csv_rows(), csv_path)
        console.print(f"wrote {csv_path}")
    if plot is not None:
        if suite == "gp1d":
            show.plot_gp1d(summary, plot)
        else:
            show.plot_synthetic(summary, result.csv_rows(), plot)
        console.print(f"wrote {plot}")


def _images(vs: str | None, images: int | None, seed: int, prior: str | None, json_path: Path | None,
            plot: Path | None) -> None:
    """``benchmark --suite images``: the table, the JSON and Figure 4."""

    from npopt.benchmarks.images import DIGITS_MODEL, images_table, plot_completions, run_images
    from npopt.display import benchmarks as show
    others = _suite_methods("images", vs, ("gp", "np-prior"))
    model = _task_model(prior, DIGITS_MODEL, "digits")
    if plot is not None:
        show.pyplot()
    summary = _with_bar("images", lambda progress: run_images(
        model, n_images=images, seed=seed, methods=("np", *dict.fromkeys(others)), progress=progress))
    _report(summary, images_table(summary), {json_path: _json_writer(summary),
                                              plot: lambda p: plot_completions(p, model, seed=seed)})


def _suite_methods(suite: str, vs: str | None, allowed: tuple[str, ...], repeats: int | None = None,
                   default: tuple[str, ...] | None = None) -> list[str]:
    """The ``--vs`` methods of a data suite (default: ``default``, else all it allows), each
    checked; ``repeats`` (where the suite has seeds) must give standard errors."""
    others = [m.strip() for m in vs.split(",") if m.strip()] if vs else list(default or allowed)
    wrong = [m for m in others if m not in allowed]
    if wrong:
        raise ConfigError(f"the {suite} suite compares np with {', '.join(allowed)}, not {', '.join(wrong)}")
    if repeats is not None and repeats < 2:
        raise ConfigError("--repeats must be at least 2 (the standard errors need two seeds)")
    return others


def _with_bar(label: str, run):
    """``run(progress)`` under a transient rich progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        return run(lambda done, total, text: bar.update(task, completed=done, total=total, description=text))


def _json_writer(summary: dict):
    return lambda path: write_text(path, summary_json(summary))


def _report(summary: dict, table, writers: dict, extra: str = "") -> None:
    """Print the table and the wall time, then write each file whose path is not None."""
    from rich.console import Console

    console = Console()
    console.print(table)
    console.print(f"{extra}wall time {summary['seconds']:.1f} s")
    for path, write in writers.items():
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            console.print(f"wrote {path}")


def _transfer(vs: str | None, repeats: int, seed: int, cache: Path, json_path: Path | None, csv_path: Path | None,
              plot: Path | None, problems: str | None = None) -> None:
    """``benchmark --suite transfer``: the regret table at 5, 10 and 25 evaluations, JSON, CSV, plot."""

    from npopt.benchmarks.transfer import (
        FAMILIES,
        METHODS,
        fine_tune_lines,
        plot_transfer,
        run_transfer,
        transfer_table,
        write_csv,
    )
    from npopt.display import benchmarks as show

    others = _suite_methods("transfer", vs, METHODS[1:], repeats)
    if plot is not None:
        show.pyplot()
    families = tuple(f.strip() for f in problems.split(",") if f.strip()) if problems else tuple(FAMILIES)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"the transfer suite has no family {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    summary = _with_bar("transfer", lambda progress: run_transfer(
        cache, repeats=repeats, seed=seed, methods=tuple(dict.fromkeys(["np", *others])), progress=progress,
        families=families))
    for line in fine_tune_lines(summary):
        typer.echo(line)
    _report(summary, transfer_table(summary),
            {json_path: _json_writer(summary), csv_path: lambda p: write_csv(summary, p),
             plot: lambda p: plot_transfer(summary, p)})


def _outcome_suite(suite: str, vs: str | None, repeats: int, seed: int, json_path: Path | None, plot: Path | None,
                   problems: str | None, runs: Path | None = None) -> None:
    """``benchmark --suite constrained / multiobjective``: the final-score table, JSON, plot."""
    from npopt.benchmarks.outcomes import METHODS, outcome_table, plot_outcomes, run_suite
    from npopt.display import benchmarks as show

    others = _suite_methods(suite, vs, METHODS[suite][1:], repeats)
    if plot is not None:
        show.pyplot()
    names = tuple(p.strip() for p in problems.split(",") if p.strip()) if problems else None
    summary = _with_bar(suite, lambda progress: run_suite(
        suite, tuple(dict.fromkeys(["np", *others])), repeats, seed, names, progress=progress, runs=runs))
    _report(summary, outcome_table(summary), {json_path: _json_writer(summary),
                                              plot: lambda p: plot_outcomes(summary, p)})


def _task_model(prior: str | None, default: Path, source: str) -> Path:
    """The checkpoint of a suite whose model is trained on data (``source``), checked."""
    from npopt.neural.checkpoints import prior_path, read_checkpoint

    model = prior_path(prior) if prior is not None else default
    ckpt = read_checkpoint(model)  # a missing or corrupt file fails now, naming it
    if ckpt.get("setup", {}).get("prior", {}).get("source") != source:
        raise ConfigError(f"{model} was not trained on {source} (prior source: {source}); train one with "
                          f"`npopt train npopt/neural/configs/{source}.yaml --out {source}.pt`")
    return model


def _wheel(vs: str | None, repeats: int, steps: int | None, seed: int, prior: str | None,
           json_path: Path | None) -> None:
    """``benchmark --suite wheel``: Table 2 and its JSON."""

    from npopt.benchmarks.wheel import STEPS, WHEEL_MODEL, run_wheel, wheel_table

    others = _suite_methods("wheel", vs, ("uniform", "linfullpost", "rff-linear"), repeats,
                            default=("linfullpost", "rff-linear"))
    model = _task_model(prior, WHEEL_MODEL, "wheel")
    try:
        summary = _with_bar("wheel", lambda progress: run_wheel(
            model, repeats=repeats, steps=STEPS if steps is None else steps, seed=seed,
            methods=("np", *dict.fromkeys(others)), progress=progress))
    except ValueError as exc:
        raise ConfigError(f"--budget: {exc}") from None
    _report(summary, wheel_table(summary), {json_path: _json_writer(summary)})


@app.command("plot-ts")
def plot_ts(
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    seed: int = typer.Option(0, "--seed", help="gp1d suite seed of the function (and of the draws)."),
    surrogate: str = typer.Option("np", "--surrogate", help="np, gp, gp-oracle or random."),
    function: int = typer.Option(0, "--function", help="Index of the gp1d function."),
    iterations: int = typer.Option(5, "--iterations", help="Thompson-sampling iterations to draw."),
) -> None:
    """Draw the paper's Figure 5: Thompson-sampling iterations on one 1-D GP function.

    Example: npopt plot-ts --out ts.png --seed 0 --surrogate np
    """
    from npopt.benchmarks.problems import gp1d_function
    from npopt.benchmarks.suites import build_surrogate, single_thread, thompson_frames
    from npopt.display import benchmarks as show

    show.pyplot()
    check_output(out, "--out")
    if iterations < 1:
        raise ConfigError("--iterations must be at least 1")
    with single_thread():
        fn = gp1d_function(function, seed)
        frames = thompson_frames(build_surrogate(surrogate, fn), fn, iterations=iterations, seed=seed)
    show.plot_thompson(fn, frames, surrogate, out)
    typer.echo(f"wrote {out}")
