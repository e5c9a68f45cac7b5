"""Rendering benchmark results: rich tables, CSV, matplotlib figures.

The numbers come from :mod:`npopt.benchmarks`; nothing here computes a result.
matplotlib is an optional extra (``pip install 'npopt[plot]'``).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from rich import box
from rich.table import Table

from npopt.display.figures import pyplot, save


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and (x == 0 or 1e-3 <= abs(x) < 1e4):
        return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits + 1}g}"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _note(entry: dict) -> str:
    """``no prior for d=...`` or ``failed`` for a method without results, else ``""``."""
    if entry["status"] == "no_prior":
        return entry["message"].split(" (")[0]
    return "failed" if entry["status"] != "ok" else ""


def _table(title: str, columns: tuple[str, ...], left: int) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, caption_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i < left else "right", no_wrap=True)
    return table


def _failures(table: Table, failed: list[str]) -> Table:
    if failed:
        table.caption = "\n".join(failed)
    return table


def gp1d_table(summary: dict) -> Table:
    """Mean steps to the grid minimum per method, and the ratio to random search."""
    table = _table(
        f"gp1d: {summary['functions']} functions, seed {summary['seed']}: evaluations until the "
        f"minimum of a {summary['grid_size']}-point grid is found",
        ("method", "mean steps", "stderr", "ratio to random", "median s/step"),
        left=1,
    )
    failed = []
    for name, e in summary["methods"].items():
        if e["status"] != "ok":
            table.add_row(name, _note(e))
            failed += [f"{name}: {e['message']}"] if e["status"] == "failed" else []
            continue
        table.add_row(name, _fmt(e["mean_steps"]), _fmt(e["stderr"], 2), _fmt(e["ratio_to_random"]),
                      _fmt(e["median_step_seconds"], 2))
    return _failures(table, failed)


def synthetic_table(summary: dict) -> Table:
    """Final simple regret per problem and method (synthetic or mixed suite); score =
    median / random's median."""
    table = _table(
        f"{summary['suite']}: {summary['repeats']} repeats, seed {summary['seed']}, {summary['n_init']} shared "
        "Sobol starting points; score = median regret / random's",
        ("problem (budget)", "method", "median regret", "IQR", "score", "s/ask"),
        left=2,
    )
    failed = []
    for problem, methods in summary["problems"].items():
        label = f"{problem} ({summary['budgets'][problem]})"
        for i, (name, e) in enumerate(methods.items()):
            first = label if i == 0 else ""
            if e["status"] != "ok":
                table.add_row(first, name, _note(e))
                failed += [f"{name} on {problem}: {e['message']}"] if e["status"] == "failed" else []
                continue
            table.add_row(first, name, _fmt(e["median_regret"]), _fmt(e["iqr"], 2),
                          _fmt(e["normalised_score"]), _fmt(e["median_ask_seconds"], 2))
        table.add_section()
    return _failures(table, failed)


def band_table(summary: dict) -> Table:
    """The broad suite: mean normalised score per dimension band and method (all problems,
    then the multimodal ones)."""
    table = _table("broad: mean normalised score (median regret / random's) per band", ("problems", "band",
                   "method", "mean score", "n"), left=3)
    for subset, bands in summary.get("bands", {}).items():
        for i, (band, methods) in enumerate(bands.items()):
            for j, (name, e) in enumerate(methods.items()):
                table.add_row(subset if i == 0 and j == 0 else "", band if j == 0 else "", name,
                              _fmt(e["mean_score"]), str(e["problems"]))
            table.add_section()
    return table


def write_csv(rows: list[dict], path: Path) -> None:
    """Rows (all with the same keys) to a CSV file with a header."""
    from npopt.outputs import atomic_write

    fields = list(rows[0]) if rows else ["suite", "method", "problem", "run", "step", "value", "best_so_far", "regret"]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write)


def plot_gp1d(summary: dict, path: Path) -> None:
    """Bar chart: mean steps / random's mean steps, with standard-error bars."""
    plt = pyplot()
    rows = [(m, e) for m, e in summary["methods"].items() if e["ratio_to_random"] is not None]
    random_mean = summary["methods"]["random"]["mean_steps"]
    fig, ax = plt.subplots(figsize=(1.4 * max(3, len(rows)) + 1, 3.6))
    ratios = [e["ratio_to_random"] for _, e in rows]
    errors = [e["stderr"] / random_mean for _, e in rows]
    bars = ax.bar([m for m, _ in rows], ratios, yerr=errors, capsize=4, color="#4c72b0")
    for bar, (_, e) in zip(bars, rows, strict=True):
        ax.annotate(f"{e['ratio_to_random']:.3f}\n({e['mean_steps']:.1f} steps)",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8, xytext=(0, 3), textcoords="offset points")
    ax.set_ylabel("mean steps / random search's")
    ax.set_ylim(0, max(ratios) * 1.3)
    ax.set_title(f"gp1d: {summary['functions']} functions, {summary['grid_size']}-point grid")
    missing = [f"{m}: {_note(e)}" for m, e in summary["methods"].items() if e["ratio_to_random"] is None]
    if missing:
        ax.text(0.01, 0.97, "\n".join(missing), transform=ax.transAxes, va="top", fontsize=7)
    save(fig, path)
    plt.close(fig)


def plot_synthetic(summary: dict, rows: list[dict], path: Path) -> None:
    """Per problem: log simple regret vs evaluations, median line and interquartile band
    (:func:`regret_figure`), saved to ``path``."""
    fig = regret_figure(summary, rows)
    save(fig, path)
    pyplot().close(fig)


def regret_figure(summary: dict, rows: list[dict]):
    """The figure of :func:`plot_synthetic`. A regret of 0 (the best known value found,
    which a real tuning task's discrete error can reach) cannot sit on a log axis: it is
    drawn at half the panel's smallest positive regret, on a dotted line marked
    "0: best known value found", so the axis stays on the regrets that were measured. The
    median and quartiles are those of the measured regrets, zeros included (as in the
    tables), held at that floor."""
    import numpy as np

    plt = pyplot()
    problems = list(summary["problems"])
    cols = 2 if len(problems) == 4 else min(3, len(problems))  # four problems: 2 x 2, no empty panels
    nrows = math.ceil(len(problems) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, problem in zip(axes.flat, problems, strict=False):
        mine = [r for r in rows if r["problem"] == problem]
        positive = [r["regret"] for r in mine if r["regret"] > 0]
        floor = min(positive) / 2 if positive else 1e-12
        for method, entry in summary["problems"][problem].items():
            curves: dict[int, list[float]] = {}
            for r in mine:
                if r["method"] == method:
                    curves.setdefault(r["run"], []).append(r["regret"])
            if not curves:
                ax.plot([], [], label=f"{method}: {_note(entry)}")
                continue
            a = np.array(list(curves.values()))  # repeats x budget
            steps = np.arange(1, a.shape[1] + 1)
            # quantiles of the measured regrets (those of the tables), then held at the floor
            q25, med, q75 = np.maximum(np.quantile(a, [0.25, 0.5, 0.75], axis=0), floor)
            (line,) = ax.plot(steps, med, label=method)
            ax.fill_between(steps, q25, q75, alpha=0.2, color=line.get_color())
        if any(r["regret"] <= 0 for r in mine):
            ax.axhline(floor, color="grey", ls=":", lw=1)
            ax.text(0.99, floor, "0: best known value found", transform=ax.get_yaxis_transform(),
                    ha="right", va="bottom", fontsize=7, color="grey")
        ax.set_yscale("log")
        ax.set_title(f"{problem} (d={summary['dims'][problem]})")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("simple regret")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(problems):]:
        ax.axis("off")
    return fig


def plot_thompson(fn, frames: list[dict], surrogate: str, path: Path) -> None:
    """The paper's Figure 5: Thompson-sampling iterations on one 1-D function."""
    plt = pyplot()
    x = (fn.grid[:, 0] * 4.0 - 2.0).numpy()  # back to [-2, 2]
    f = fn.values.numpy()
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 3.0), sharey=True, squeeze=False)
    for i, (ax, frame) in enumerate(zip(axes[0], frames, strict=True)):
        ax.plot(x, f, color="black", lw=1.5, label="true function")
        for k, draw in enumerate(frame["draws"].numpy()):
            if math.isfinite(draw[0]):
                ax.plot(x, draw, color="#4c72b0" if k == 0 else "#9ab0d6", lw=1.2 if k == 0 else 0.7,
                        label="draw that picks" if k == 0 else ("other draws" if k == 1 else None))
        ax.scatter(x[frame["context"]], f[frame["context"]], color="black", zorder=3, s=18, label="context")
        ax.axvline(x[frame["pick"]], color="#dd5555", ls="--", lw=1)
        ax.scatter([x[frame["pick"]]], [f[frame["pick"]]], marker="*", color="#dd5555", s=90, zorder=4,
                   label="next point")
        ax.set_title(f"iteration {i + 1}")
        ax.set_xlabel("x")
    axes[0][0].set_ylim(f.min() - 1.0 * f.std(), f.max() + 1.0 * f.std())
    axes[0][-1].legend(fontsize=6, loc="upper left")
    fig.suptitle(f"Thompson sampling with the {surrogate} surrogate on a GP draw "
                 f"(l={fn.lengthscale:.2f}, s={fn.signal_std:.2f})", fontsize=9)
    save(fig, path)
    plt.close(fig)
