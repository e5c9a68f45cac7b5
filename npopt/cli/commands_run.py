"""``npopt run`` (optimise a Python objective file) and ``npopt show`` (list a study's trials)."""

from __future__ import annotations

import json
import math
import os
from enum import Enum
from pathlib import Path

import typer

from npopt.acquisition.options import RULES
from npopt.cli.app import app, fail
from npopt.surrogates import SURROGATES

STUDY_HELP = "The study's SQLite file, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?study=NAME."
PRIOR_HELP = ("The NP's prior for a new study: a shipped name or a .pt from `npopt train` (e.g. --from-studies); "
              "default: the shipped prior for the space. An existing study keeps its own.")


#: ``--surrogate``'s choices: the surrogate registry's names
_Surrogate = Enum("_Surrogate", {name: name for name in SURROGATES}, type=str)
#: ``--acquisition``'s choices
_Acquisition = Enum("_Acquisition", {name: name for name in RULES}, type=str)
ACQUISITION_HELP = ("thompson (Thompson sampling, the default) | logei (expected improvement on the surrogate's "
                    "Gaussian predictive: a yardstick) for a new study; an existing one keeps its own.")


class _Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def default_study_path(objective: Path) -> Path:
    """``quickstart.py`` -> ``./quickstart.study.db`` (in the current directory)."""
    return Path(f"{objective.stem}.study.db")


def _shown(path: Path | str) -> str:
    """A study file relative to the current folder, or a PostgreSQL URL without its password."""
    from npopt.storage import is_url, parse

    if is_url(str(path)):
        return parse(str(path))[2]
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


@app.command()
def run(
    objective: Path = typer.Argument(
        ..., help="Python file defining `space` and `objective(**params)`.", dir_okay=False
    ),
    space: Path = typer.Option(
        None, "--space", help="YAML/JSON space file (instead of the file's `space`).", dir_okay=False
    ),
    budget: int = typer.Option(
        20, "--budget", min=0, help="Total number of finished trials; re-running continues up to it."
    ),
    surrogate: _Surrogate = typer.Option(
        None, "--surrogate", help="np | gp | random (new study: default np; existing: the stored one)."
    ),
    seed: int = typer.Option(None, "--seed", help="Random seed of a new study (default 0)."),
    prior: str = typer.Option(None, "--prior", help=PRIOR_HELP),
    acquisition: _Acquisition = typer.Option(None, "--acquisition", help=ACQUISITION_HELP),
    study: str = typer.Option(
        None, "--study", help="Study file (default: <objective name>.study.db in the current folder), or "
        "postgresql://USER@HOST/DBNAME?study=NAME.",
    ),
    timeout: float = typer.Option(None, "--timeout", help="Seconds per evaluation; slower ones fail."),
    heartbeat: float = typer.Option(60.0, "--heartbeat", min=0.1, help="Seconds between the heartbeats of the "
                                    "trial being evaluated; a worker on another host that misses two is taken "
                                    "for dead and its trial failed as interrupted."),
    function: str = typer.Option("objective", "--function", help="Name of the function to minimise/maximise."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the best trial, as JSON."),
) -> None:
    """Optimise the function in OBJECTIVE, storing every trial in a study file.

    The file defines `space = {"x": npopt.Float(-2, 2), ...}` (or pass --space FILE), a
    function `objective(**params) -> float` and optionally `direction = "maximize"`.
    An objective that raises, returns NaN/inf or overruns --timeout fails its trial and
    the run goes on. Ctrl-C stops after recording what finished; running the same command
    again continues the study up to --budget.

    Example: npopt run examples/quickstart.py --budget 20 --surrogate gp
    """
    from rich.console import Console

    from npopt.display import console as display
    from npopt.objective import check_timeout, load_objective
    from npopt.runner import run as run_study
    from npopt.study import Study

    check_timeout(timeout)
    loaded = load_objective(objective, function, space)
    study_path = study if study is not None else default_study_path(objective)
    st = Study.open_or_create(
        study_path, space=loaded.space, direction=loaded.direction,
        surrogate=surrogate.value if surrogate else None, seed=seed, prior=prior,
        acquisition=acquisition.value if acquisition else None, outcomes=loaded.outcomes,
    )
    err = Console(stderr=True)

    progress = None if quiet else display.run_progress(err)
    task = None

    def on_start(summary) -> None:
        nonlocal task
        if quiet:
            return
        state = f"continuing, {summary.finished_before} finished" if summary.finished_before else "new"
        err.print(
            f"Study [bold]{_shown(st.path)}[/] ({state}) · surrogate {st.surrogate_name} · "
            f"seed {st.seed} · {st.outcomes.goal} · budget {budget}"
        )
        if summary.marked_interrupted:
            err.print(
                f"Marked {summary.marked_interrupted} trial(s) left running by a stopped process "
                "as failed (interrupted); they do not count towards the budget."
            )
        task = progress.add_task(
            "trials", total=budget, completed=min(summary.finished_before, budget), last="-", best=display.fmt_best(st),
        )
        progress.start()

    def on_trial(trial, summary) -> None:
        if progress is None:
            return
        progress.update(task, completed=min(summary.finished, budget), last=display.fmt_last(trial, st.outcomes),
                        best=display.fmt_best(st))

    if not math.isfinite(heartbeat):
        fail(f"--heartbeat must be a finite number of seconds, not {heartbeat}")
    st.heartbeat_interval = heartbeat
    try:
        summary = run_study(st, loaded, budget, timeout=timeout, progress=on_trial, on_start=on_start)
    finally:
        if progress is not None:
            progress.stop()
    trials, front = st.trials, st.best_trials
    st.close()
    if quiet:
        for trial in front:  # the best trial, or each trial of the Pareto front
            typer.echo(json.dumps(trial.to_dict()))
    else:
        out = Console()
        if summary.ask_seconds:
            median = sorted(summary.ask_seconds)[len(summary.ask_seconds) // 2]
            err.print(f"{len(summary.trials)} trial(s) this run · median ask {median * 1000:.0f} ms")
        elif not summary.stopped_by_user:
            err.print(
                f"The study already has {summary.finished} finished trials (budget {budget}); "
                "raise --budget to continue."
            )
        display.print_run_end(out, trials, st.outcomes, front)
    if summary.stopped_by_user:
        typer.echo(
            f"Stopped by Ctrl-C; finished trials are saved in {_shown(st.path)}. "
            "Run the same command to continue.",
            err=True,
        )
        raise typer.Exit(130)
    if not front and trials:
        if any(t.state.value == "complete" for t in trials):
            fail(f"no trial met the constraints ({st.outcomes.describe()}); see them with: "
                 f"npopt show --study {_shown(st.path)}")
        fail(f"no trial completed; see the reasons with: npopt show --study {_shown(st.path)}")


@app.command()
def show(
    study: str = typer.Option(..., "--study", help=STUDY_HELP),
    format: _Format = typer.Option(_Format.table, "--format", help="table | json | csv"),
) -> None:
    """Print a study's trials as a table, JSON (a list of objects) or CSV.

    Example: npopt show --study quickstart.study.db --format json
    """
    from npopt.display import console as display
    from npopt.study import Study
    with Study.open(study) as st:
        trials, outcomes = st.trials, st.outcomes
    if format is _Format.json:
        typer.echo(json.dumps([t.to_dict() for t in trials], indent=2))
    elif format is _Format.csv:
        typer.echo(display.trials_csv(trials, outcomes), nl=False)
    else:
        from rich.console import Console

        console = Console()
        console.print(display.trials_table(trials, title=f"{_shown(study)} ({outcomes.goal})", outcomes=outcomes,
                                           best_numbers=[t.number for t in outcomes.pareto_front(trials)]))
        console.print(display.counts_line(trials))


@app.command()
def copy(
    study: str = typer.Option(..., "--study", help="The study file to copy (it may be in use)."),
    to: Path = typer.Option(..., "--to", help="The new study file (must not exist)."),
) -> None:
    """Copy a study file safely, even while workers are writing to it (SQLite's backup API:
    the copy is one consistent moment of the study, every trial told by then included).

    Example: npopt copy --study runs/lab.db --to backups/lab-monday.db
    """
    from npopt.storage import SQLiteStorage, is_url

    if is_url(study):
        fail("npopt copy copies study files; back up a PostgreSQL study with pg_dump")
    if to.exists():
        fail(f"{to} already exists; choose a new file name (npopt copy never overwrites)")
    SQLiteStorage.copy(Path(study), to)
    typer.echo(f"Copied {_shown(study)} to {_shown(to)}")


class _PlotKind(str, Enum):
    history = "history"
    slices = "slices"
    model = "model"
    pareto = "pareto"


@app.command()
def plot(
    study: str = typer.Option(..., "--study", help=STUDY_HELP),
    out: Path = typer.Option(..., "--out", help="The PNG file to write.", dir_okay=False),
    kind: _PlotKind = typer.Option(_PlotKind.history, "--kind",
                                   help="history (values and best so far, infeasible trials marked), slices "
                                        "(value against each parameter), model (the surrogate along one "
                                        "parameter) or pareto (several objectives: the front)."),
    param: str | None = typer.Option(None, "--param", help="model: the parameter (default: the first)."),
) -> None:
    """Draw a study as a PNG picture (needs matplotlib: pip install 'npopt\\[plot]').

    Example: npopt plot --study quickstart.study.db --out history.png --kind history
    """
    from npopt.display.study_plots import plot_study
    from npopt.outputs import check_output
    from npopt.study import Study

    check_output(out, "--out", [study])
    with Study.open(study) as st:  # a missing file or study: StudyError, one line
        written = plot_study(st, out, kind.value, param)
    typer.echo(f"Wrote {_shown(written)}")
