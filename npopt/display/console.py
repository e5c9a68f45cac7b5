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


def param_names(trials: Iterable[Any]) -> list[str]:
    """Parameter names across ``trials``, in order of first appearance."""
    names: dict[str, None] = {}
    for t in trials:
        names.update(dict.fromkeys(t.params))
    return list(names)


def trials_table(trials: Sequence[Any], title: str | None = None, best_number: int | None = None) -> Table:
    """One row per trial: number, state, value, one column per parameter, reason."""
    names = param_names(trials)
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("state")
    table.add_column("value", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    if any(t.reason for t in trials):
        table.add_column("reason", overflow="fold")
    style = {"complete": "", "failed": "red", "running": "yellow"}
    for t in trials:
        cells = [str(t.number), t.state.value, fmt_value(t.value)]
        # "-": the trial has no such parameter; a choice that is None shows as None
        cells += [("None" if t.params[n] is None else fmt_value(t.params[n])) if n in t.params else "-" for n in names]
        if len(table.columns) > len(cells):
            cells.append(t.reason or "")
        table.add_row(*cells, style="bold green" if t.number == best_number else style[t.state.value])
    return table


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


def print_run_end(console: Console, trials: Sequence[Any], best: Any, direction: str) -> None:
    """Best trial, the most recent trials and the counts, at the end of ``npopt run``."""
    if best is not None:
        console.print(trials_table([best], title=f"Best trial ({direction})", best_number=best.number))
    recent = list(trials)[-RECENT:]
    if recent:
        console.print(trials_table(recent, title="Recent trials", best_number=best.number if best else None))
    console.print(counts_line(trials))


def trials_csv(trials: Sequence[Any]) -> str:
    """CSV with one ``params_<name>`` column per parameter."""
    names = param_names(trials)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["number", "state", "value", *(f"params_{n}" for n in names), "reason", "started_at", "finished_at"]
    )
    for t in trials:
        writer.writerow(
            [t.number, t.state.value, "" if t.value is None else repr(t.value),
             *(t.params.get(n, "") for n in names), t.reason or "", t.started_at, t.finished_at or ""]
        )
    return out.getvalue()
