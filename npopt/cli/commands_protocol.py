"""``npopt ask``, ``npopt tell`` and ``npopt serve``: driving a study from outside Python.

``ask``/``tell`` keep all state in the study file, one process per call; ``serve`` answers
JSON lines on stdin. Both go through :mod:`npopt.protocol`, so a bad call gets the same
check and the same message either way.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path

import typer

from npopt.cli.app import app, fail
from npopt.cli.commands_run import (  # one np|gp|random choice for every command
    ACQUISITION_HELP,
    PRIOR_HELP,
    STUDY_HELP,
    _Acquisition,
    _Surrogate,
)

_STUDY = typer.Option(..., "--study", help=STUDY_HELP)
_SPACE = typer.Option(
    None, "--space", dir_okay=False,
    help="YAML/JSON space file; creates the study if it does not exist yet, and must match it if it does.",
)
_SEED = typer.Option(None, "--seed", help="Random seed of a new study (default 0); an existing one keeps its own.")


class _State(str, Enum):
    complete = "complete"
    failed = "failed"


_SURROGATE = typer.Option(
    None, "--surrogate", help="np | gp | random for a new study (default np); an existing one keeps its own."
)
_PRIOR = typer.Option(None, "--prior", help=PRIOR_HELP)
_ACQUISITION = typer.Option(None, "--acquisition", help=ACQUISITION_HELP)


def _open_study(
    study_path: str, space_file: Path | None, surrogate: _Surrogate | None, seed: int | None, create_hint: bool = True,
    prior: str | None = None, acquisition: _Acquisition | None = None,
):
    """Open the study at ``study_path``, creating it from ``space_file`` if it is new.

    Given options must match what the study stores (Study.open_or_create checks that).
    """
    from npopt.outcomes import read_declaration
    from npopt.storage import is_url
    from npopt.study import Study

    if space_file is None and not is_url(study_path) and not Path(study_path).exists():
        fail(f"no study at {study_path}" + ("; pass --space FILE to create it" if create_hint else ""))
    # the direction only if the file sets it: a stored study keeps its own
    space, direction, outcomes = read_declaration(space_file) if space_file is not None else (None, None, None)
    return Study.open_or_create(
        study_path, space=space, direction=direction, surrogate=surrogate.value if surrogate else None, seed=seed,
        prior=prior, acquisition=acquisition.value if acquisition else None, outcomes=outcomes,
    )


def _request(study, request: dict) -> dict:
    """Carry out one protocol request; a refused one becomes ``Error: ...`` and exit 1."""
    from npopt import protocol

    reply = protocol.handle(study, json.dumps(request))
    if not reply["ok"]:
        fail(reply["error"]["message"])
    return reply


@app.command()
def ask(
    study: str = _STUDY,
    space: Path = _SPACE,
    n: int = typer.Option(1, "--n", "-n", help="How many trials to suggest."),
    surrogate: _Surrogate = _SURROGATE,
    seed: int = _SEED,
    prior: str = _PRIOR,
    acquisition: _Acquisition = _ACQUISITION,
) -> None:
    """Suggest trials: one JSON line {"number": N, "params": {...}} per trial on stdout.

    The first call with --space creates the study; later calls reuse it. Evaluate the
    params however you like, then report with `npopt tell`.

    Example: npopt ask --study runs/lab.db --space space.yaml --n 2
    """
    from npopt.errors import ConfigError
    from npopt.protocol import MAX_ASK

    if not 1 <= n <= MAX_ASK:  # before the study is opened: a refused ask creates no study file
        raise ConfigError(f"--n must be from 1 to {MAX_ASK}, got {n}")
    with _open_study(study, space, surrogate, seed, prior=prior, acquisition=acquisition) as opened:
        reply = _request(opened, {"op": "ask", "n": n})
    for trial in reply["trials"]:
        typer.echo(json.dumps(trial))


@app.command()
def tell(
    study: str = _STUDY,
    number: int = typer.Option(..., "--number", help="The trial's number, as printed by `npopt ask`."),
    value: str = typer.Option(None, "--value", help="The objective's value (a finite number)."),
    values: str = typer.Option(None, "--values", help="A study with several objectives or constraints: "
                                                      "every outcome, as loss=0.3,latency_ms=8,memory_gb=12."),
    state: _State = typer.Option(_State.complete, "--state", help="complete (with --value) or failed."),
    reason: str = typer.Option(None, "--reason", help="Why the trial failed (with --state failed)."),
) -> None:
    """Report a trial's result: its value (or --values), or --state failed with a reason.

    Exit code 0 when recorded; otherwise one line `Error: ...` on stderr and exit code 1.

    Example: npopt tell --study runs/lab.db --number 3 --value 0.125
    """
    request: dict = {"op": "tell", "number": number, "state": state.value}
    if value is not None:  # parsed here so that "abc", "nan", "inf" get the protocol's message
        request["value"] = _number(value)
    if values is not None:
        request["values"] = _values(values)
    if reason is not None:
        request["reason"] = reason
    with _open_study(study, None, None, None, create_hint=False) as opened:
        _request(opened, request)


def _number(text: str):
    """A float where ``text`` is one, else the text (the protocol's message names it)."""
    try:
        return float(text)
    except ValueError:
        return text


def _values(text: str) -> dict:
    """``loss=0.3,latency_ms=8`` as a dict (a malformed pair: ``Error: ...`` naming it)."""
    out = {}
    for pair in text.split(","):
        name, sep, number = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--values takes name=number pairs separated by commas, e.g. loss=0.3,latency_ms=8; "
                 f"not {pair.strip()[:40]!r}")
        if name.strip() in out:
            fail(f"--values names {name.strip()!r} twice")
        out[name.strip()] = _number(number.strip())
    return out


@app.command()
def serve(
    study: str = _STUDY,
    space: Path = _SPACE,
    surrogate: _Surrogate = _SURROGATE,
    seed: int = _SEED,
    prior: str = _PRIOR,
    acquisition: _Acquisition = _ACQUISITION,
) -> None:
    """Answer JSON-lines requests on stdin, one JSON reply line each on stdout.

    Requests: {"op": "ask", "n": 2}, {"op": "tell", "number": 0, "value": 1.5},
    {"op": "tell", "number": 2, "values": {"loss": 0.3, "memory_gb": 12}},
    {"op": "tell", "number": 1, "state": "failed", "reason": "..."}, {"op": "best"},
    {"op": "trials"}; an "id" is echoed. Logs go to stderr; the server stops at end of
    input. See docs/protocol.md.

    Example: my_client | npopt serve --study runs/lab.db --space space.yaml
    """
    with _open_study(study, space, surrogate, seed, prior=prior, acquisition=acquisition) as opened:
        _serve(opened)


def _serve(opened) -> None:
    from npopt import protocol

    trials = opened.trials
    running = [t.number for t in trials if t.state == "running"]
    log = protocol.log_to(sys.stderr)
    log(f"study {opened.path} ({len(trials)} trials); one JSON request per line on stdin")
    if running:
        shown = ", ".join(map(str, running[:20])) + (" ..." if len(running) > 20 else "")
        log(f"{len(running)} trials still running from earlier sessions ({shown}); tell them when done")
    try:
        protocol.serve(opened, sys.stdin.buffer, sys.stdout, sys.stderr)
        sys.stdout.flush()
    except KeyboardInterrupt:
        log("interrupted; every acknowledged tell is in the study")
        raise typer.Exit(130) from None
    except BrokenPipeError:  # the client went away; keep Python's exit-time flush quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@app.command()
def best(study: str = _STUDY) -> None:
    """Print the best feasible trial as one JSON line, or with several objectives each
    trial of the Pareto front of the feasible trials; exit 1 when no trial is complete and
    feasible yet.

    Example: npopt best --study runs/lab.db
    """
    with _open_study(study, None, None, None, create_hint=False) as opened:
        reply = _request(opened, {"op": "best"})
        what = opened.outcomes.describe()
    trials = reply["trials"] if "trials" in reply else [reply["trial"]] if reply["trial"] else []
    if not trials:
        fail(f"no trial of {study} is complete and feasible yet ({what}); see them with: npopt show --study {study}")
    for trial in trials:
        typer.echo(json.dumps(trial))
