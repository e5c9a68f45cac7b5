"""``run``: optimise an objective by a loop over a study's ask and tell.

Each state change is one of the study's transactions, so a process killed at any moment
loses no finished evaluation, and running the same command again continues the study.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from npopt.errors import NpoptError
from npopt.study import HEARTBEAT_S, Study
from npopt.trial import INTERRUPTED, Trial, TrialState, counts_towards_budget


@dataclass
class RunSummary:
    """What :func:`run` did; updated live while it runs (see its ``progress`` argument)."""

    study: Study
    budget: int
    #: Trials of dead processes marked interrupted when the run started.
    marked_interrupted: int
    #: Trials counting towards the budget before this run.
    finished_before: int
    #: Trials finished by this run, in order.
    trials: list[Trial] = field(default_factory=list)
    #: Wall-clock seconds of each ``ask`` (surrogate conditioning + acquisition).
    ask_seconds: list[float] = field(default_factory=list)
    #: Whether the run stopped early on Ctrl-C.
    stopped_by_user: bool = False

    @property
    def finished(self) -> int:
        """Trials counting towards the budget, this run's included."""
        return self.finished_before + sum(map(counts_towards_budget, self.trials))

    @property
    def failed(self) -> int:
        return sum(t.state is TrialState.FAILED for t in self.trials)

    @property
    def best(self) -> Trial | None:
        return self.study.best


def run(
    study: Study,
    objective: Callable[..., float],
    budget: int,
    timeout: float | None = None,
    progress: Callable[[Trial, RunSummary], None] | None = None,
    on_start: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Optimise ``objective(**params)`` until the study has ``budget`` finished trials.

    First marks trials left running by dead processes as interrupted (reported in
    ``RunSummary.marked_interrupted``). Then: ask one trial, evaluate it, tell the
    result -- an exception, a non-number, NaN/inf or a timeout makes the trial FAILED with
    the reason and the loop goes on. Ctrl-C records the trial being evaluated as
    interrupted and returns (``stopped_by_user``).

    Args:
        study: the study (continued if it already has trials).
        objective: called with the params as keyword arguments; returns a number.
        budget: total number of finished trials (complete + failed, not interrupted).
        timeout: seconds per evaluation; the objective then runs in a worker process
            that is killed on timeout (it must be picklable: a module-level function or
            an objective loaded with :func:`npopt.objective.load_objective`).
        progress: called after each finished trial.
        on_start: called once before the first evaluation.
    """
    from npopt.objective import Evaluator

    if not isinstance(budget, int) or budget < 0:
        raise NpoptError(f"budget must be a non-negative integer, not {budget!r}", code="bad_budget")
    evaluate = Evaluator(objective, timeout)
    previous = study.heartbeat_interval
    if previous is None:  # the trials this run evaluates beat (workers on other hosts watch them)
        study.heartbeat_interval = HEARTBEAT_S
    try:
        return _run(study, evaluate, budget, progress, on_start)
    finally:
        study.heartbeat_interval = previous


def _run(study: Study, evaluate, budget: int, progress, on_start) -> RunSummary:
    """:func:`run`'s loop."""
    marked = study.mark_interrupted()
    summary = RunSummary(
        study=study, budget=budget, marked_interrupted=marked,
        finished_before=sum(map(counts_towards_budget, study.trials)),
    )
    if on_start is not None:
        on_start(summary)
    current: int | None = None
    with evaluate:
        try:
            while True:
                start = time.perf_counter()
                asked = study.ask(1, budget=budget)
                if not asked:
                    break
                summary.ask_seconds.append(time.perf_counter() - start)
                current = asked[0].number
                with study.heartbeat(current):
                    value, reason = evaluate(asked[0].params)
                values = None
                if reason is None:  # a number, or a dict of them: checked against the declared outcomes
                    value, values, reason = study.outcomes.values_of(value)
                try:
                    if reason is None and values is not None:
                        done = study.tell(current, values=values)
                    elif reason is None:
                        done = study.tell(current, value)
                    else:
                        done = study.tell(current, state=TrialState.FAILED, reason=reason)
                except NpoptError as exc:  # the storage stayed unreachable: say what was not recorded
                    result = f"value {values or value!r}" if reason is None else f"failure: {reason}"
                    raise type(exc)(f"{exc.message}; trial {current}'s result was not recorded ({result}, "
                                    f"params {asked[0].params})", code=exc.code) from None
                current = None
                summary.trials.append(done)
                if progress is not None:
                    progress(done, summary)
        except KeyboardInterrupt:
            summary.stopped_by_user = True
        finally:
            if current is not None:  # stopped while evaluating: record it, do not leave it running
                try:
                    summary.trials.append(study.tell(current, state=TrialState.FAILED, reason=INTERRUPTED))
                except NpoptError:
                    pass
    return summary
