"""Optuna's own samplers as benchmark methods: ``tpe`` (TPESampler) and ``optuna-gp``
(GPSampler), what a user would pick instead of npopt.

They run the synthetic and mixed suites' protocol through Optuna's ask/tell API: the same
shared starting points (added to the Optuna study as complete trials), the same budget and
the same problems, with each sampler at its defaults and seeded per run. The search space
is the problem's own: floats, log floats, ints and categoricals as Optuna distributions,
so Optuna sees exactly what a user would declare.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from npopt.errors import ConfigError

OPTUNA_METHODS = ("tpe", "optuna-gp")


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError("--vs tpe / optuna-gp need optuna: pip install 'npopt[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def version() -> str:
    """What distinguishes these methods' stored runs: the Optuna version."""
    return "optuna " + _optuna().__version__


class OptunaMethod:
    """One Optuna sampler on the benchmark problems (see :func:`npopt.benchmarks.suites.run_budget`)."""

    def __init__(self, name: str) -> None:
        if name not in OPTUNA_METHODS:
            raise ConfigError(f"unknown Optuna method {name!r}; choose from {', '.join(OPTUNA_METHODS)}")
        self.name = name
        self.optuna = _optuna()

    def _sampler(self, seed: int):
        samplers = self.optuna.samplers
        return samplers.TPESampler(seed=seed) if self.name == "tpe" else samplers.GPSampler(seed=seed)

    def run(self, problem, X0: torch.Tensor, budget: int, seed: int, run) -> Any:
        """Fill ``run`` (a :class:`npopt.benchmarks.suites.Run`) with the values of ``budget``
        evaluations starting from the unit points ``X0``."""
        optuna = self.optuna
        to_params, to_unit, space = _codec(optuna, problem)
        study = optuna.create_study(sampler=self._sampler(seed))
        values = problem.evaluate(X0).tolist()
        study.add_trials([
            optuna.trial.create_trial(params=to_params(u), distributions=space, value=v)
            for u, v in zip(X0.tolist(), values, strict=True)
        ])
        while len(values) < budget:
            t0 = time.perf_counter()
            trial = study.ask(space)
            run.ask_seconds.append(time.perf_counter() - t0)
            u = torch.tensor([to_unit(trial.params)], dtype=torch.float64)
            value = float(problem.evaluate(u)[0])
            study.tell(trial, value)
            values.append(value)
        run.values = values
        return run


def _codec(optuna, problem):
    """``(unit point -> params, params -> unit point, {name: distribution})`` of a problem."""
    dist = optuna.distributions
    if problem.space is None:  # a box of floats
        lo, hi = problem.bounds.tolist()
        names = [f"x{i}" for i in range(problem.dim)]
        space = {n: dist.FloatDistribution(lo[i], hi[i]) for i, n in enumerate(names)}

        def to_params(u):
            return {n: lo[i] + u[i] * (hi[i] - lo[i]) for i, n in enumerate(names)}

        def to_unit(params):
            return [(params[n] - lo[i]) / (hi[i] - lo[i]) for i, n in enumerate(names)]

        return to_params, to_unit, space
    from npopt.integration.optuna import distributions

    npspace = problem.space
    space = distributions(npspace)

    def to_params(u):
        params = npspace.from_unit(u)
        return {n: params[n] for n in npspace.names}

    def to_unit(params):
        return npspace.to_unit(params)

    return to_params, to_unit, space
