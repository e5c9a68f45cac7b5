"""Pictures of a study (matplotlib extra): its history, its slices and its model.

* ``history``: every complete trial's value against its number, failed trials marked, and
  the best value so far as a step line.
* ``slices``: one panel per free parameter, the value against the parameter (log axes for
  log parameters, categoricals as jittered strips), the best trial highlighted.
* ``model``: the study's surrogate conditioned on the complete trials; its posterior mean
  and a two-standard-deviation band along one parameter, the others held at the best
  trial's values, with the observations. Values are in the objective's units.
* ``pareto`` (a study with several objectives): the feasible trials' objectives against
  each other, the Pareto front joined, infeasible trials marked; with three or more
  objectives, one panel per pair.

A study with constraints marks its infeasible trials in ``history`` and ``slices``, and its
best is the best feasible trial.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from npopt.errors import NpoptError
from npopt.space import Categorical, Float, Int, to_minimise
from npopt.study import Study
from npopt.trial import Trial, TrialState, best_of

KINDS = ("history", "slices", "model", "pareto")


def plot_study(study: Study, out: Path, kind: str = "history", param: str | None = None) -> Path:
    """Write the ``kind`` picture of ``study`` to ``out`` (PNG); returns ``out``.

    Raises:
        NpoptError: as :func:`study_figure`.
    """
    from npopt.display.figures import pyplot, save

    fig = study_figure(study, kind, param)
    save(fig, Path(out))
    pyplot().close(fig)
    return Path(out)


def study_figure(study: Study, kind: str = "history", param: str | None = None):
    """The matplotlib figure of the ``kind`` picture of ``study`` (for a notebook, or to
    save elsewhere); the caller closes it.

    Raises:
        NpoptError: no complete trial yet, an unknown kind or parameter, a model plot of a
            study without a model, or matplotlib missing.
    """
    from npopt.display.figures import pyplot

    if kind not in KINDS:
        raise NpoptError(f"unknown plot kind {kind!r}; choose from {', '.join(KINDS)}", code="bad_kind")
    trials = study.trials
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    if not complete:
        raise NpoptError(f"{study.path} has no complete trial to plot yet", code="no_trials")
    multi = study.outcomes.multi
    if kind == "pareto" and not multi:
        raise NpoptError(f"{study.path} has one objective; plot --kind pareto is for a study with several "
                         "(plot --kind history shows this one)", code="bad_kind")
    if kind in ("slices", "model") and multi:
        raise NpoptError(f"{study.path} has several objectives; plot --kind pareto or history", code="bad_kind")
    plt = pyplot()
    if kind == "history":
        return _history(plt, study, trials, complete)
    if kind == "pareto":
        return _pareto(plt, study, complete)
    if kind == "slices":
        return _slices(plt, study, complete)
    return _model(plt, study, complete, param)


#: Values are drawn inside +-DRAWN: matplotlib's ticks overflow on axes near the float maximum.
DRAWN = 1e300


def _drawn(values):
    """``values`` (floats or a tensor) clipped to +-:data:`DRAWN`."""
    if hasattr(values, "clamp"):  # a tensor
        return values.clamp(-DRAWN, DRAWN)
    return [max(-DRAWN, min(DRAWN, v)) for v in values]


def _value_label(values) -> str:
    clipped = any(abs(v) > DRAWN for v in values)
    return "objective value" + (f" (drawn inside ±{DRAWN:.0e})" if clipped else "")


def _title(study: Study) -> str:
    return f"{Path(study.path).name} ({study.outcomes.goal}, {study.surrogate_name})"


def _history(plt, study: Study, trials: list[Trial], complete: list[Trial]):
    outcomes = study.outcomes
    objectives = [n for n, _ in outcomes.objectives]
    fig, axes = plt.subplots(len(objectives), 1, figsize=(7, 4 if len(objectives) == 1 else 2.6 * len(objectives)),
                             squeeze=False, sharex=True)
    feasible = [t for t in complete if outcomes.feasible(t)]
    infeasible = [t for t in complete if not outcomes.feasible(t)]
    failed = [t.number for t in trials if t.state is TrialState.FAILED]
    for ax, name in zip(axes[:, 0], objectives, strict=True):
        def values(ts, name=name):
            return [outcomes.values(t)[name] for t in ts]

        raw = values(complete)
        ax.scatter([t.number for t in feasible], _drawn(values(feasible)), s=18, color="tab:blue",
                   label="complete trial" if not infeasible else "feasible trial", zorder=3)
        if infeasible:
            ax.scatter([t.number for t in infeasible], _drawn(values(infeasible)), s=22, marker="x",
                       color="tab:red", label="infeasible trial", zorder=3)
        if not outcomes.multi and feasible:
            best, running = [], None
            for t in feasible:
                if running is None or to_minimise(t.value, study.direction) < to_minimise(running, study.direction):
                    running = t.value
                best.append(running)
            ax.step([t.number for t in feasible], _drawn(best), where="post", color="tab:orange", lw=2,
                    label="best so far" + (" (feasible)" if infeasible else ""))
        for i, n in enumerate(failed):
            ax.axvline(n, color="tab:red", alpha=0.25, lw=1, label="failed trial" if i == 0 else None)
        ax.set_ylabel(_value_label(raw) if outcomes.plain else name)
        ax.grid(alpha=0.3)
    from matplotlib.ticker import MaxNLocator

    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1, 0].set_xlabel("trial number")
    axes[0, 0].set_title(f"History of {_title(study)}", fontsize=10 if outcomes.plain else 9)
    axes[0, 0].legend(fontsize=8)
    return fig


def _pareto(plt, study: Study, complete: list[Trial]):
    outcomes = study.outcomes
    names = [n for n, _ in outcomes.objectives]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False)
    front = outcomes.pareto_front(complete)
    on_front = {t.number for t in front}
    feasible = [t for t in complete if outcomes.feasible(t) and t.number not in on_front]
    infeasible = [t for t in complete if not outcomes.feasible(t)]
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        def xy(ts, a=a, b=b):
            return _drawn([outcomes.values(t)[a] for t in ts]), _drawn([outcomes.values(t)[b] for t in ts])

        ax.scatter(*xy(feasible), s=16, color="tab:blue", alpha=0.6, label="dominated")
        if infeasible:
            ax.scatter(*xy(infeasible), s=20, marker="x", color="tab:red", alpha=0.7, label="infeasible")
        if len(names) == 2:  # the front as the staircase that bounds what it dominates, left to right:
            # the corner between neighbours is on the dominated side, which lies to the right of a
            # minimised first objective (hold each y until the next x) and to its left when maximised
            ordered = sorted(front, key=lambda t: outcomes.values(t)[a])
            ax.plot(*xy(ordered), color="tab:orange", lw=1.5, zorder=2,
                    drawstyle="steps-pre" if outcomes.objectives[0][1] == "maximize" else "steps-post")
        ax.scatter(*xy(front), s=46, color="tab:orange", edgecolor="k", zorder=3,
                   label=f"Pareto front ({len(front)})")
        ax.set_xlabel(f"{a} ({dict(outcomes.objectives)[a]})")
        ax.set_ylabel(f"{b} ({dict(outcomes.objectives)[b]})")
        _zoom_on_front(ax, xy(front), xy(complete), [dict(outcomes.objectives)[n] for n in (a, b)])
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"Pareto front of {Path(study.path).name} ({study.surrogate_name}): "
                 f"{len(complete)} complete trials" + (f", {len(infeasible)} infeasible" if infeasible else ""),
                 fontsize=10)
    return fig


def _slices(plt, study: Study, complete: list[Trial]):
    names = study.space.names
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    best = _best(study, complete)
    raw = [t.value for t in complete]
    values = _drawn(raw)
    colours = ["tab:blue" if study.outcomes.feasible(t) else "tab:red" for t in complete]
    for ax, name in zip(axes.flat, names, strict=False):
        p = study.space.params[name]
        xs = [t.params[name] for t in complete]
        if isinstance(p, Categorical):
            positions = {_key(c): i for i, c in enumerate(p.choices)}
            jitter = [((t.number * 0.618) % 1 - 0.5) * 0.4 for t in complete]  # deterministic spread
            ax.scatter([positions[_key(x)] + j for x, j in zip(xs, jitter, strict=True)], values, s=14, alpha=0.7,
                       c=colours)
            ax.set_xticks(range(len(p.choices)), [repr(c) if isinstance(c, str) else str(c) for c in p.choices],
                          rotation=30 if len(p.choices) > 4 else 0)
            bx = positions[_key(best.params[name])]
        else:
            ax.scatter(xs, values, s=14, alpha=0.7, c=colours)
            if p.log:
                ax.set_xscale("log")
            ax.set_xlim(*_limits(p))
            bx = best.params[name]
        ax.scatter([bx], _drawn([best.value]), s=80, marker="*", color="tab:orange", zorder=3, label="best")
        ax.set_xlabel(name + (" (log scale)" if getattr(p, "log", False) else ""))
        ax.set_ylabel(_value_label(raw))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if "tab:red" in colours:
        axes.flat[0].scatter([], [], s=14, color="tab:red", label="infeasible trial")
    axes.flat[0].legend()
    fig.suptitle(f"Slices of {_title(study)}: {len(complete)} complete trials")
    return fig


def _model(plt, study: Study, complete: list[Trial], param: str | None):
    import torch

    from npopt.encoding import UnitSpace, minimised, standardisation, to_params, unit

    space = study.space
    if study.surrogate_name == "random":
        raise NpoptError(
            "a random-search study has no model to plot; plot --kind history or slices, or use a study "
            "with --surrogate np or gp", code="no_model",
        )
    if param is None:
        param = space.names[0]
    if param not in space.names:
        raise NpoptError(f"unknown parameter {param!r}; choose one of {', '.join(space.names)}", code="bad_param")
    j = space.names.index(param)
    p = space.params[param]
    X = unit(space, complete)
    y, back = standardisation(minimised(study.direction, complete))
    surrogate = study.surrogate
    surrogate.condition(X, y)
    best = _best(study, complete)
    centre = unit(space, [best])[0]
    if isinstance(p, Categorical):
        grid = torch.tensor([(i + 0.5) / len(p.choices) for i in range(len(p.choices))], dtype=torch.float64)
    else:
        grid = torch.linspace(0, 1, 200, dtype=torch.float64)
    U = centre.repeat(grid.numel(), 1)
    U[:, j] = grid
    snap = UnitSpace.of(space).snap
    if snap is not None:
        U = snap(U)
    with torch.no_grad():
        mean, std = surrogate.predict(U)
    sign = -1.0 if study.direction == "maximize" else 1.0  # back to the objective's own sign
    mid, lo, hi = (_drawn(sign * back(surrogate.to_units(v))) for v in (mean, mean - 2 * std, mean + 2 * std))
    xs = [params[param] for params in to_params(space, U)]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    obs_x = [t.params[param] for t in complete]
    obs_y = _drawn([t.value for t in complete])
    if isinstance(p, Categorical):
        pos = list(range(len(p.choices)))
        below, above = (mid - torch.minimum(lo, hi)).numpy(), (torch.maximum(lo, hi) - mid).numpy()
        ax.errorbar(pos, mid.numpy(), yerr=[below, above], fmt="o", color="tab:blue", capsize=6,
                    label="model and its ±2σ band")
        index = {_key(c): i for i, c in enumerate(p.choices)}
        ax.scatter([index[_key(x)] for x in obs_x], obs_y, s=14, color="k", alpha=0.6, label="observations")
        ax.set_xticks(pos, [repr(c) if isinstance(c, str) else str(c) for c in p.choices])
    else:
        ax.fill_between(xs, torch.minimum(lo, hi).numpy(), torch.maximum(lo, hi).numpy(), color="tab:blue",
                        alpha=0.2, label="model and its ±2σ band")
        ax.plot(xs, mid.numpy(), color="tab:blue", lw=2)
        ax.scatter(obs_x, obs_y, s=14, color="k", alpha=0.6, label="observations (all parameters)")
        if p.log:
            ax.set_xscale("log")
        ax.set_xlim(*_limits(p))
    ax.axvline(_position(p, best.params[param]), color="tab:orange", ls="--", lw=1, label="best trial")
    others = [n for n in space.names if n != param]
    held = ", ".join(f"{n}={_short(best.params[n])}" for n in others[:4]) + (" ..." if len(others) > 4 else "")
    ax.set_title(f"{study.surrogate_name} model of {Path(study.path).name} along {param}"
                 + (f"\nothers at the best trial: {held}" if others else ""), fontsize=10)
    ax.set_xlabel(param + (" (log scale)" if getattr(p, "log", False) else ""))
    ax.set_ylabel("objective value")
    # the band of a warped model can run off by orders of magnitude where there is no data:
    # the axis shows the observations and the model's middle line, the band clipped to them
    shown = torch.cat([torch.tensor(obs_y, dtype=torch.float64), mid.double()])
    low, high = float(shown.min()), float(shown.max())
    pad = 0.3 * (high - low) or 1.0
    ax.set_ylim(low - pad, high + pad)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _zoom_on_front(ax, front: tuple[list, list], every: tuple[list, list], directions: list[str]) -> None:
    """Where trials lie far from the front (more than two of its spans beyond it on the
    dominated side: above a minimised objective, below a maximised one), show the front,
    two spans on that side and a third of one on the other, and say how many trials fall
    outside (nothing to do without a front: no feasible trial)."""
    if not front[0]:
        return
    limits = []
    for values, direction in zip(front, directions, strict=True):
        lo, hi = min(values), max(values)
        span = (hi - lo) or (abs(hi) * 0.1 or 1.0)
        below, above = (2.0, 0.3) if direction == "maximize" else (0.3, 2.0)
        limits.append((lo - below * span, hi + above * span))
    (x0, x1), (y0, y1) = limits
    outside = sum(not (x0 <= x <= x1 and y0 <= y <= y1) for x, y in zip(*every, strict=True))
    if outside:
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.text(0.98, 0.02, f"{outside} trial{'s' if outside > 1 else ''} beyond the axes", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color="0.35")


def _best(study: Study, complete: list[Trial]) -> Trial:
    """The best feasible trial, or the best one when none is feasible (the slices and the
    model need a trial to mark and to hold the other parameters at)."""
    return study.outcomes.best(complete) or best_of(complete, study.direction)


def _limits(p: Float | Int) -> tuple[float, float]:
    if p.log:
        return p.low / 1.1, p.high * 1.1
    pad = 0.03 * (p.high - p.low) or 0.5
    return p.low - pad, p.high + pad


def _position(p, value: Any) -> float:
    if isinstance(p, Categorical):
        return [_key(c) for c in p.choices].index(_key(value))
    return value


def _key(value: Any) -> tuple[str, Any]:
    """Choices compared by type and value (``True`` is not ``1``)."""
    return (type(value).__name__, value)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else repr(value) if isinstance(value, str) else str(value)
