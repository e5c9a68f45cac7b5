"""From a study's trials to new points: the suggestion, computed without any lock held.

A :class:`~npopt.study.Study` asks in two steps. :func:`suggest` reads a snapshot of the
trials, turns the complete ones into observations (unit cube, direction-adjusted,
standardised) and runs Thompson sampling; each draw keeps a few ranked alternatives. This
is the slow part (a GP fit takes seconds), and it runs while other processes go on telling
and asking. Then, under the study's write lock, :func:`settle` re-reads the trials and
redoes only the exclusion step: a draw whose first choice is now taken by a trial the
snapshot did not hold (another process asked meanwhile) falls back to its next
alternative. So two workers never get the same point, and the lock is held for
milliseconds.

The conversions between trials and unit points are :mod:`npopt.encoding`'s; the draws and
their exclusion are :mod:`npopt.acquisition`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from npopt.acquisition.thompson import first_free, thompson_ranked
from npopt.encoding import UnitSpace, minimised, observed, standardise, to_params, unit
from npopt.outcomes import Outcomes
from npopt.seeds import hashed_seed
from npopt.space import Space
from npopt.trial import Trial, TrialState

#: Failed trials among the last this-many trials are not suggested again.
FAILED_MEMORY = 20
#: Ranked alternatives kept per Thompson draw, for :func:`settle`.
ALTERNATIVES = 8


@dataclass
class Suggestion:
    """Thompson draws over a snapshot of the trials, not yet settled against the study."""

    #: ``n x k x d`` unit points: per draw, its choice and ``k - 1`` alternatives, best first.
    ranked: Tensor
    #: Numbers of the trials the snapshot held.
    seen: frozenset[int]
    #: The generator the draws came from (continues into :func:`settle`'s fallbacks).
    generator: Any


def generator_seed(seed: int, n_trials: int) -> int:
    """A well-mixed 63-bit seed from the study seed and the number of trials so far."""
    return hashed_seed("npopt", seed, n_trials)


def model_inputs(space: Space, outcomes: Outcomes, models, complete: Sequence[Trial]) -> tuple:
    """What Thompson sampling conditions on of the ``complete`` trials: ``(surrogate, X, y)``
    with ``X`` their ``n x d`` unit points. One objective (:attr:`Outcomes.plain
    <npopt.outcomes.Outcomes.plain>`): ``models`` is the surrogate and ``y`` the ``n`` values,
    minimised and standardised. Otherwise ``models`` has one surrogate per outcome, seen as one
    :class:`~npopt.acquisition.several.OutcomeModels`, and ``y`` is ``n x k``."""
    X = unit(space, complete)
    if outcomes.plain:
        return models, X, standardise(minimised(outcomes.direction, complete))
    from npopt.acquisition.several import OutcomeModels

    seen = observed(outcomes, complete)
    return OutcomeModels(models, seen), X, seen.Y


def _avoided(space: Space, trials: Sequence[Trial]) -> Tensor:
    """``k x d``: running trials and failed trials among the last :data:`FAILED_MEMORY`."""
    recent = list(trials)[-FAILED_MEMORY:]
    avoided = [t for t in trials if t.state is TrialState.RUNNING] + [
        t for t in recent if t.state is TrialState.FAILED and not t.interrupted
    ]
    return unit(space, avoided)


def suggest(space: Space, direction: str, surrogate, trials: Sequence[Trial], n: int, seed: int,
            remaining: int | None = None, outcomes=None) -> Suggestion:
    """``n`` Thompson draws over the snapshot ``trials`` (no lock needed); ``remaining``:
    evaluations left in the caller's budget, where it knows (see ``thompson_ranked``).

    With ``outcomes`` (an :class:`~npopt.outcomes.Outcomes` declaring constraints or several
    objectives), ``surrogate`` is a list of surrogates, one per outcome in
    ``outcomes.names`` order, scored as one draw (:mod:`npopt.acquisition.several`).

    The randomness depends only on ``seed`` and the number of trials, so the same study
    state gives the same suggestion in any process."""
    outcomes = Outcomes.single(direction) if outcomes is None else outcomes
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    surrogate, X, y = model_inputs(space, outcomes, surrogate, complete)
    avoid = _avoided(space, trials)
    generator = torch.Generator().manual_seed(generator_seed(seed, len(trials)))
    ranked = thompson_ranked(surrogate, X, y, n, generator, UnitSpace.of(space), avoid=avoid, keep=ALTERNATIVES,
                             remaining=remaining)
    return Suggestion(ranked, frozenset(t.number for t in trials), generator)


def settle(space: Space, suggestion: Suggestion, trials: Sequence[Trial], n: int | None = None) -> list[dict]:
    """The params of the suggestion's first ``n`` draws (default all), excluded against
    the study as it is now (``trials``, read under the write lock).

    A draw whose choice is within the exclusion radius (:attr:`UnitSpace.radius
    <npopt.encoding.UnitSpace>`) of a trial the snapshot did not hold, or of an earlier draw's
    settled point, takes its first alternative that is not; params that still repeat a live
    trial's (after rounding) are replaced as :func:`distinct` does."""
    ranked = suggestion.ranked if n is None else suggestion.ranked[:n]
    dim = space.dim
    new = [t for t in trials if t.number not in suggestion.seen and t.state is not TrialState.FAILED]
    taken = unit(space, new)  # points asked (or told) by others since the snapshot
    r = UnitSpace.of(space).radius
    points: list[Tensor] = []
    for options in ranked:  # k x d
        points.append(first_free(options, torch.cat([taken, *(p[None] for p in points)], 0).reshape(-1, dim), r))
    params = to_params(space, torch.stack(points)) if points else []
    return distinct(space, params, trials, suggestion.generator)


def _key(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def distinct(space: Space, params: list[dict], trials: Sequence[Trial], generator, tries: int = 64) -> list[dict]:
    """Replace suggestions that repeat a live trial's params or each other (after rounding).

    Candidate snapping and exclusion already prevent this; it remains possible when every
    candidate was excluded. A repeat is replaced by a uniform random point that is new; in
    a small discrete space with every point taken, the repeat is kept.
    """
    seen = {_key(t.params) for t in trials if not t.interrupted}
    out = []
    for p in params:
        for _ in range(tries):
            if _key(p) not in seen:
                break
            other = space.from_unit(torch.rand(space.dim, generator=generator, dtype=torch.float64).tolist())
            if _key(other) not in seen:
                p = other
        seen.add(_key(p))
        out.append(p)
    return out
