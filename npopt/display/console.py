"""Rendering for people: rich tables, progress bars, CSV. The library never prints;
commands call these with the records it returns."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

#: How many recent trials the end-of-run table shows.
RECENT = 5


def fmt_value(value: Any) -> str:
    """A number in 6 significant digits; ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def fmt_last(trial: Any, outcomes: Any = None) -> str:
    """A finished trial for the progress bar: its value, its values (several outcomes,
    ``infeasible`` where it breaks a constraint), or ``failed``."""
    if trial.state.value != "complete":
        return "[red]failed"
    if outcomes is None or outcomes.plain:
        return fmt_value(trial.value)
    text = " ".join(f"{n}={fmt_value(trial.values.get(n))}" for n, _ in outcomes.objectives)
    return text + (" [red]infeasible" if outcomes.violated(trial) else "")


def fmt_best(study: Any) -> str:
    """The study's best value for the progress bar, or the size of its Pareto front."""
    if study.outcomes.multi:
        return f"front of {len(study.best_trials)}"
    best = study.best
    return fmt_value(best.value if best else None)


def param_names(trials: Iterable[Any]) -> list[str]:
    """Parameter names across ``trials``, in order of first appearance."""
    names: dict[str, None] = {}
    for t in trials:
        names.update(dict.fromkeys(t.params))
    return list(names)


def trials_table(trials: Sequence[Any], title: str | None = None, outcomes: Any = None,
                 best_numbers: Iterable[int] = ()) -> Table:
    """One row per trial: number, state, value, one column per parameter, reason; the trials
    of ``best_numbers`` (the best trial, or the Pareto front) in bold green.

    With ``outcomes`` (:class:`~npopt.outcomes.Outcomes` declaring several objectives or
    constraints): one column per outcome instead of ``value``, and a column that marks each
    complete trial ``best`` / ``pareto`` (``best_numbers``) or ``infeasible`` with the
    constraints it breaks."""
    names = param_names(trials)
    several = outcomes is not None and not outcomes.plain
    marked = set(best_numbers)
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("state")
    if several:
        for name in outcomes.names:
            table.add_column(name, justify="right")
        table.add_column("mark")
    else:
        table.add_column("value", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    if any(t.reason for t in trials):
        table.add_column("reason", overflow="fold")
    style = {"complete": "", "failed": "red", "running": "yellow"}
    for t in trials:
        cells = [str(t.number), t.state.value]
        if several:
            cells += [fmt_value((t.values or {}).get(n)) for n in outcomes.names]
            cells.append(_mark(t, outcomes, marked))
        else:
            cells.append(fmt_value(t.value))
        # "-": the trial has no such parameter; a choice that is None shows as None
        cells += [("None" if t.params[n] is None else fmt_value(t.params[n])) if n in t.params else "-" for n in names]
        if len(table.columns) > len(cells):
            cells.append(t.reason or "")
        table.add_row(*cells, style="bold green" if t.number in marked else style[t.state.value])
    return table


def _mark(trial: Any, outcomes: Any, marked: set[int]) -> str:
    """``best`` / ``pareto`` for a trial of the best set, ``infeasible: ...`` for one that
    breaks a constraint, else nothing."""
    if trial.state.value != "complete":
        return ""
    if trial.number in marked:
        return "pareto" if outcomes.multi else "best"
    broken = outcomes.violated(trial)
    return "infeasible: " + ", ".join(broken) if broken else ""


def counts_line(trials: Sequence[Any]) -> str:
    """``12 trials: 10 complete, 2 failed (1 interrupted), 0 running``."""
    n = {s: sum(t.state.value == s for t in trials) for s in ("complete", "failed", "running")}
    interrupted = sum(t.state.value == "failed" and t.reason == "interrupted" for t in trials)
    extra = f" ({interrupted} interrupted)" if interrupted else ""
    line = f"{len(trials)} trials: {n['complete']} complete, {n['failed']} failed{extra}"
    return line + (f", {n['running']} running" if n["running"] else "")


def run_progress(console: Console) -> Progress:
    """The bar of ``npopt run``: finished/budget, last value, best so far, elapsed time."""
    return Progress(
        TextColumn("[bold]trials"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("last [cyan]{task.fields[last]}"),
        TextColumn("best [green]{task.fields[best]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def print_run_end(console: Console, trials: Sequence[Any], outcomes: Any, front: Sequence[Any]) -> None:
    """The best trial (``front``: it alone, or with several objectives the Pareto front),
    the most recent trials and the counts, at the end of ``npopt run``."""
    shown = list(front)
    numbers = [t.number for t in shown]
    if shown:
        title = (f"Pareto front ({len(shown)} trials; {outcomes.describe()})" if outcomes.multi
                 else f"Best trial ({outcomes.goal})")
        console.print(trials_table(shown, title=title, outcomes=outcomes, best_numbers=numbers))
    recent = list(trials)[-RECENT:]
    if recent:
        console.print(trials_table(recent, title="Recent trials", outcomes=outcomes, best_numbers=numbers))
    console.print(counts_line(trials))


def trials_csv(trials: Sequence[Any], outcomes: Any = None) -> str:
    """CSV with one ``params_<name>`` column per parameter (and, for a study with several
    objectives or constraints, one ``values_<name>`` column per outcome)."""
    names = param_names(trials)
    outcome_names = list(outcomes.names) if outcomes is not None and not outcomes.plain else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["number", "state", "value", *(f"values_{n}" for n in outcome_names), *(f"params_{n}" for n in names),
         "reason", "started_at", "finished_at"]
    )
    for t in trials:
        values = t.values or {}
        writer.writerow(
            [t.number, t.state.value, "" if t.value is None else repr(t.value),
             *("" if values.get(n) is None else repr(values[n]) for n in outcome_names),
             *(t.params.get(n, "") for n in names), t.reason or "", t.started_at, t.finished_at or ""]
        )
    return out.getvalue()
