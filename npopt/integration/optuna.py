"""The Neural Process as an Optuna sampler: ``NPSampler``.

    import optuna
    from npopt.integration.optuna import NPSampler

    study = optuna.create_study(sampler=NPSampler(seed=0))
    study.optimize(objective, n_trials=40)

Relative sampling over Optuna's intersection search space (the parameters every finished
trial has), by the same Thompson sampling as ``npopt run``: float, log-float, int and
categorical parameters become an :class:`npopt.Space`, complete trials become observations,
and trials still RUNNING in the storage (other workers' points, from any process using the
storage) are points not to suggest again. Parameters outside the relative space, and the
first ``n_startup_trials`` trials, are sampled at random. Any Optuna storage works.

Several objectives (``directions=[...]``) and constraints (``constraints_func``, or
``trial.set_constraint`` in the objective: feasible when every value is at most 0) are
sampled as ``npopt run`` samples a study that declares them: one surrogate per objective and
per constraint, one score per draw (:mod:`npopt.acquisition.several`).

Needs the ``optuna`` extra: ``pip install 'npopt[optuna]'``.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

try:
    import optuna
    from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.search_space import IntersectionSearchSpace
    from optuna.trial import FrozenTrial, TrialState
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("NPSampler needs optuna: pip install 'npopt[optuna]'") from exc

from npopt.outcomes import Outcomes
from npopt.space import Categorical, Float, Int, Space
from npopt.trial import Trial
from npopt.trial import TrialState as NPState

__all__ = ["NPSampler"]

#: System attribute of a trial: the unit point NPSampler chose for it (JSON list), so that
#: workers starting before the trial has params do not pick it again.
POINT_KEY = "npopt:point"
#: Uniform random points tried after a draw's ranked alternatives when all of them are taken.
RANDOM_FALLBACKS = 32


class NPSampler(BaseSampler):
    """Thompson sampling with a meta-trained Neural Process (or npopt's other surrogates).

    Args:
        surrogate: ``"np"`` (the shipped prior for the space's dimension), ``"gp"`` or
            ``"random"``, as ``npopt run --surrogate``.
        prior: the NP's prior: a shipped name (``np6d``) or a ``.pt`` file from ``npopt
            train``; default: the shipped prior for the dimension.
        seed: makes the suggestions reproducible (with the same history of trials); ``None``
            draws one at random (as Optuna's samplers do), and :meth:`reseed_rng` draws anew.
        n_startup_trials: trials sampled at random before the surrogate takes over.
        acquisition: ``"thompson"`` (the default) or ``"logei"`` (expected improvement on
            the surrogate's Gaussian predictive, a yardstick), as ``npopt run --acquisition``;
            one unconstrained objective only.
        constraints_func: ``frozen_trial -> sequence of floats``, called after each complete
            trial (as Optuna's samplers take it); a trial is feasible when every value is at
            most 0. Constraints set with ``trial.set_constraint`` count the same way.

    Several threads of one study (``study.optimize(..., n_jobs=k)``) share the sampler: one
    suggestion is computed at a time.
    """

    def __init__(self, surrogate: str = "np", prior: str | None = None, seed: int | None = None,
                 n_startup_trials: int = 2, acquisition: str = "thompson",
                 constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None) -> None:
        if n_startup_trials < 1:
            raise ValueError("n_startup_trials must be at least 1 (the surrogate needs an observation)")
        from npopt.surrogates import SURROGATES

        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {', '.join(SURROGATES)}")
        from npopt.errors import NpoptError
        from npopt.surrogates import check_acquisition

        try:
            self.acquisition = check_acquisition(acquisition, surrogate)
        except NpoptError as exc:
            raise ValueError(exc.message.replace("--surrogate", "NPSampler(surrogate=...):")) from None
        self.surrogate_name, self.prior = surrogate, prior
        self.seed = _fresh_seed() if seed is None else int(seed)
        self.n_startup_trials = n_startup_trials
        self.constraints_func = constraints_func
        self._random = RandomSampler(seed=seed)
        self._search_space = IntersectionSearchSpace()
        self._surrogates: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (Ray Tune ships the search algorithm to its controller): without the
        thread lock and the built surrogates, which are rebuilt on first use."""
        state = self.__dict__.copy()
        state["_lock"], state["_surrogates"] = None, {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        self.seed = _fresh_seed()
        self._random.reseed_rng()

    # ------------------------------------------------------------ Optuna's sampler API

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {name: dist for name, dist in sorted(self._search_space.calculate(study).items())
                if not dist.single()}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        with self._lock:  # n_jobs threads share this sampler and its surrogates
            return self._sample_relative(study, trial, search_space)

    def _sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                         search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        space = _space(search_space)
        surrogate = self._surrogate(space)  # an unserved space fails now, not after the startup trials
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        complete = [t for t in trials if t.state == TrialState.COMPLETE and _covers(t, search_space)]
        outcomes, complete = _outcomes(study, complete)
        if len(complete) < self.n_startup_trials:
            return {}
        import torch

        from npopt.acquisition.thompson import first_free, thompson_ranked
        from npopt.encoding import UnitSpace, to_params
        from npopt.seeds import hashed_seed
        from npopt.suggest import ALTERNATIVES, model_inputs

        unit_space = UnitSpace.of(space)
        if not outcomes.plain:
            if self.acquisition != "thompson":
                raise ValueError("NPSampler(acquisition=\"logei\") optimises one unconstrained objective; "
                                 "leave acquisition unset for constraints or several objectives")
            surrogate = self._outcome_models(space, len(outcomes.names))
        surrogate, X, y = model_inputs(space, outcomes, surrogate, _records(complete, search_space, outcomes))
        running = [t for t in trials if t.state == TrialState.RUNNING and t.number != trial.number]
        avoid = self._pending(space, running, search_space)
        generator = torch.Generator().manual_seed(hashed_seed("npopt-optuna", self.seed, trial.number))
        ranked = thompson_ranked(
            surrogate, X, y, 1, generator, unit_space, avoid=avoid, keep=ALTERNATIVES,
        )[0]  # k x d: this draw's choice and its alternatives
        # other workers may have picked points while this one computed. Optimistic claim,
        # npopt's settle step without a lock: record the choice on the trial, then re-read
        # the others' points; on a clash move to the next free alternative and claim again.
        # Of two workers that claim the same point, at least the one that reads second sees
        # the clash, so no point is given twice.
        # The alternatives can all be taken (the polish often lands several draws' candidates
        # on one point of the boundary): uniform random points come after them, as in
        # npopt's own settle step, so that a repeat needs every option to be taken.
        fallback = torch.rand(RANDOM_FALLBACKS, space.dim, generator=generator, dtype=torch.float64)
        if unit_space.snap is not None:
            fallback = unit_space.snap(fallback)
        options = torch.cat([ranked, fallback])
        u = options[0]
        for _ in range(options.shape[0]):
            study._storage.set_trial_system_attr(trial._trial_id, POINT_KEY, u.tolist())
            now = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.COMPLETE))
                   if t.number != trial.number]
            # u itself if it is free or nothing is (Optuna allows repeats), else the next free one
            choice = first_free(torch.cat([u[None], options]), self._pending(space, now, search_space),
                                unit_space.radius)
            if torch.equal(choice, u):
                break
            u = choice
        params = to_params(space, u[None])[0]
        return {name: _to_optuna(params[name], search_space[name]) for name in search_space}

    def _pending(self, space: Space, running: Sequence[FrozenTrial], search_space: dict[str, BaseDistribution]):
        """``k x d`` unit points of running trials: their params, or the point an NPSampler
        chose for them before they suggested (a trial has no params until it asks)."""
        import torch

        from npopt.encoding import unit

        rows = [unit(space, _records([t], search_space))[0].tolist() if _covers(t, search_space)
                else t.system_attrs.get(POINT_KEY) for t in running]
        rows = [r for r in rows if r is not None and len(r) == space.dim]
        return torch.tensor(rows, dtype=torch.float64).reshape(-1, space.dim)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        """Record ``constraints_func``'s values on a complete trial (Optuna's ``constraints``
        system attribute, which its own samplers and ``trial.constraints`` read)."""
        if self.constraints_func is not None and state == TrialState.COMPLETE:
            from optuna.study._constrained_optimization import _CONSTRAINTS_KEY

            found = tuple(float(c) for c in self.constraints_func(trial))
            if any(math.isnan(c) for c in found):
                raise ValueError(f"constraints_func returned NaN for trial {trial.number}: {found}")
            study._storage.set_trial_system_attr(trial._trial_id, _CONSTRAINTS_KEY, found)
        self._random.after_trial(study, trial, state, values)

    # ------------------------------------------------------------ helpers

    def _surrogate(self, space: Space):
        key = (space.dim, space.choices)
        if key not in self._surrogates:
            from npopt.errors import NpoptError
            from npopt.surrogates import make_surrogate

            kwargs = {"checkpoint": self.prior} if (self.prior and self.surrogate_name == "np") else {}
            try:
                self._surrogates[key] = make_surrogate(self.surrogate_name, space.dim, choices=space.choices,
                                                       acquisition=self.acquisition, **kwargs)
            except NpoptError as exc:  # the CLI's advice names a flag; say it the Python way
                raise ValueError(exc.message.replace("--surrogate gp", 'NPSampler(surrogate="gp")')) from None
        return self._surrogates[key]

    def _outcome_models(self, space: Space, count: int) -> list:
        """``count`` surrogates for the space, one per outcome (the first is :meth:`_surrogate`)."""
        key = (space.dim, space.choices, count)
        if key not in self._surrogates:
            from npopt.surrogates import make_surrogate

            kwargs = {"checkpoint": self.prior} if (self.prior and self.surrogate_name == "np") else {}
            self._surrogates[key] = [self._surrogate(space)] + [
                make_surrogate(self.surrogate_name, space.dim, choices=space.choices, **kwargs)
                for _ in range(count - 1)]
        return self._surrogates[key]


def _fresh_seed() -> int:
    return secrets.randbits(31)


def _outcomes(study: optuna.Study, complete: list[FrozenTrial]) -> tuple[Outcomes, list[FrozenTrial]]:
    """The study's objectives and constraints as npopt :class:`~npopt.outcomes.Outcomes`
    (objectives ``objective_0, ...``, constraints by their Optuna keys, feasible at most 0),
    and the complete trials that carry every constraint."""
    directions = ["maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize" for d in study.directions]
    keys = sorted({k for t in complete for k in t.constraints})
    if len(directions) == 1 and not keys:
        return Outcomes.single(directions[0]), complete
    objectives = {"value": directions[0]} if len(directions) == 1 else {
        f"objective_{i}": d for i, d in enumerate(directions)}
    outcomes = Outcomes.declare(objectives, {f"constraint_{k}": {"max": 0.0} for k in keys})
    return outcomes, [t for t in complete if all(k in t.constraints for k in keys)]


def _covers(trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> bool:
    return all(name in trial.params for name in search_space)


def _space(search_space: dict[str, BaseDistribution]) -> Space:
    """The npopt space of Optuna distributions (a stepped float or int: its grid of steps)."""
    params = {}
    for name, dist in search_space.items():
        if isinstance(dist, CategoricalDistribution):
            params[name] = Categorical(list(dist.choices))
        elif isinstance(dist, IntDistribution):
            params[name] = Int(dist.low, dist.high, log=dist.log) if dist.step == 1 else \
                Int(0, (dist.high - dist.low) // dist.step)
        elif isinstance(dist, FloatDistribution):
            params[name] = Float(dist.low, dist.high, log=dist.log) if dist.step is None else \
                Int(0, int(round((dist.high - dist.low) / dist.step)))
        else:
            raise ValueError(f"NPSampler cannot sample parameter {name!r} of distribution {dist!r}")
    return Space(params)


def distributions(space: Space) -> dict[str, BaseDistribution]:
    """Optuna's distributions of an npopt space's free parameters (the inverse of :func:`_space`)."""
    out: dict[str, BaseDistribution] = {}
    for name in space.names:
        p = space.params[name]
        if isinstance(p, Categorical):
            out[name] = CategoricalDistribution(list(p.choices))
        elif isinstance(p, Int):
            out[name] = IntDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Float):
            out[name] = FloatDistribution(p.low, p.high, log=p.log)
    return out


def _from_optuna(value: Any, dist: BaseDistribution) -> Any:
    """An Optuna value as the npopt space's parameter value (a step index for stepped ones)."""
    if isinstance(dist, IntDistribution) and dist.step != 1:
        return (value - dist.low) // dist.step
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        return int(round((value - dist.low) / dist.step))
    return value


def _to_optuna(value: Any, dist: BaseDistribution) -> Any:
    if isinstance(dist, IntDistribution):
        return int(value) if dist.step == 1 else dist.low + int(value) * dist.step
    if isinstance(dist, FloatDistribution):
        value = float(value) if dist.step is None else dist.low + int(value) * dist.step
        return min(max(value, dist.low), dist.high)
    return value


def _records(trials: Sequence[FrozenTrial], search_space: dict[str, BaseDistribution],
             outcomes: Outcomes | None = None) -> list[Trial]:
    """Optuna trials as npopt's trial records over :func:`_space` (values of running trials:
    None; with ``outcomes`` that are not plain, each complete trial's ``values``)."""
    out = []
    for t in trials:
        done = t.state == TrialState.COMPLETE
        values = None
        if done and outcomes is not None and not outcomes.plain:
            names = [n for n, _ in outcomes.objectives]
            values = dict(zip(names, t.values, strict=True))
            values.update({c.name: float(t.constraints[c.name[len("constraint_"):]]) for c in outcomes.constraints})
        value = (t.values[0] if len(t.values) == 1 else None) if done else None
        out.append(Trial(number=t.number, state=NPState.COMPLETE if done else NPState.RUNNING,
                         params={name: _from_optuna(t.params[name], d) for name, d in search_space.items()},
                         value=value, reason=None, started_at="", finished_at=None, values=values))
    return out
