"""``npopt export`` (a study into an Optuna storage) and ``npopt dashboard`` (optuna-dashboard on it)."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import typer

from npopt.cli.app import app, fail
from npopt.cli.commands_run import STUDY_HELP

_TO_HELP = ("The Optuna storage: sqlite:///FILE, a PostgreSQL URL (postgresql+psycopg://USER@HOST/DB) or a "
            "journal file path.")


def _open(study: str):
    from npopt.storage import is_url
    from npopt.study import Study

    if not is_url(study) and not Path(study).exists():
        fail(f"no study at {study}")
    return Study.open(study)


@app.command()
def export(
    study: str = typer.Option(..., "--study", help=STUDY_HELP),
    to: str = typer.Option(..., "--to", help=_TO_HELP),
    name: str | None = typer.Option(None, "--name", help="The Optuna study's name (default: the npopt study's "
                                    "name: the file's stem, or ?study=)."),
    follow: bool = typer.Option(False, "--follow", help="Keep exporting new and finished trials every second "
                                "until Ctrl-C (a dashboard on the target then shows the study live)."),
) -> None:
    """Copy a study into an Optuna storage, for optuna-dashboard and Optuna's plots (needs optuna).

    Every trial keeps its state, params (with Optuna distributions), value, failure reason
    (user attribute fail_reason), times and number (user attribute npopt_number). Exporting
    again adds new trials and finishes running ones, never duplicating a trial (a trial
    finished by a later export gets that export's time as its end: Optuna sets it). An
    Optuna study holding another study's trials is refused.

    Example: npopt export --study svc.study.db --to sqlite:///optuna.db --name svc
    """
    from npopt.integration.export import Exporter
    from npopt.integration.export import follow as keep_following

    with _open(study) as opened:
        exporter = Exporter(opened, to, name)
        done = exporter.export()
        typer.echo(f"Exported {opened.path if isinstance(opened.path, str) else Path(opened.path).name} to Optuna "
                   f"study {exporter.name!r}: {done.added} added, {done.finished} finished, {done.unchanged} unchanged")
        if follow:
            typer.echo("Following new trials; Ctrl-C stops.", err=True)
            try:
                keep_following(exporter, report=lambda d: typer.echo(
                    f"{d.added} added, {d.finished} finished", err=True), warn=lambda m: typer.echo(m, err=True))
            except KeyboardInterrupt:
                typer.echo("Stopped following.", err=True)


@app.command()
def dashboard(
    study: str = typer.Option(..., "--study", help=STUDY_HELP),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="The port on 127.0.0.1."),
) -> None:
    """Watch a study in a browser: optuna-dashboard on a live export of it (needs npopt[dashboard]).

    Open the printed address; new trials appear as they are told. Ctrl-C stops the server
    and the export.

    Example: npopt dashboard --study svc.study.db --port 8080
    """
    try:
        from optuna_dashboard import run_server
    except ImportError:
        fail("npopt dashboard needs optuna-dashboard: pip install 'npopt[dashboard]'")
    from npopt.integration.export import Exporter

    stop = threading.Event()
    with _open(study) as opened, tempfile.TemporaryDirectory(prefix="npopt-dashboard-") as folder:
        url = f"sqlite:///{Path(folder) / 'optuna.db'}"
        exporter = Exporter(opened, url)
        exporter.export()
        follower = threading.Thread(target=_follow_quietly, args=(study, url, exporter.name, stop),
                                    daemon=True)
        follower.start()
        typer.echo(f"Serving {exporter.name!r} at http://127.0.0.1:{port}/dashboard/ (Ctrl-C stops)", err=True)
        try:
            run_server(exporter.storage, host="127.0.0.1", port=port)
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            fail(f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}); choose another --port")
        finally:
            stop.set()
            follower.join(timeout=5)
        typer.echo("Stopped.", err=True)


def _follow_quietly(location: str, url: str, name: str, stop: threading.Event) -> None:
    """The dashboard's follower: its own connections (a study is not shared between threads)."""
    from npopt.integration.export import Exporter
    from npopt.integration.export import follow as keep_following
    from npopt.study import Study

    with Study.open(location) as study:
        keep_following(Exporter(study, url, name), stop=stop.is_set, warn=lambda m: typer.echo(m, err=True))
