"""npopt's NP inside Optuna: NPSampler with real Optuna studies and storages."""

from __future__ import annotations

import math
import subprocess
import sys
from statistics import median

import pytest

optuna = pytest.importorskip("optuna")  # the optuna extra; `make test` installs it

from npopt import Float, Int, Space  # noqa: E402
from npopt.integration.optuna import POINT_KEY, NPSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
BRANIN_MIN = 0.397887


def branin(trial):
    x, y = trial.suggest_float("x", -5, 10), trial.suggest_float("y", 0, 15)
    quadratic = (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
    return quadratic + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def test_np_sampler_beats_random_search_on_branin():
    np_regret, random_regret = [], []
    for seed in range(3):
        study = optuna.create_study(sampler=NPSampler(seed=seed))
        study.optimize(branin, n_trials=25)
        np_regret.append(study.best_value - BRANIN_MIN)
        baseline = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        baseline.optimize(branin, n_trials=25)
        random_regret.append(baseline.best_value - BRANIN_MIN)
        # after the random start every trial came from the NP, which recorded its point
        assert all(POINT_KEY in t.system_attrs for t in study.trials[2:])
    assert median(np_regret) < 0.2 * median(random_regret), (np_regret, random_regret)


def test_categorical_int_log_and_stepped_parameters():
    seen = []

    def objective(trial):
        kind = trial.suggest_categorical("kind", ["slow", None, True, 3])
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 9, step=2)
        width = trial.suggest_int("width", 8, 512, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
        seen.append((kind, lr, layers, width, dropout))
        return (0.0 if kind is None else 3.0) + (math.log10(lr) + 2) ** 2 + abs(layers - 5) + abs(dropout - 0.2)

    study = optuna.create_study(sampler=NPSampler(seed=1))
    study.optimize(objective, n_trials=30)
    for kind, lr, layers, width, dropout in seen:
        assert kind in ("slow", None, True, 3) and (kind is not True or type(kind) is bool)
        assert 1e-4 <= lr <= 1e-1 and layers in (1, 3, 5, 7, 9) and 8 <= width <= 512 and type(width) is int
        assert any(abs(dropout - k / 10) < 1e-9 for k in range(6))
    assert study.best_params["kind"] is None  # the NP found the category that matters
    assert sum(k is None for k, *_ in seen[10:]) > len(seen[10:]) / 2


WORKER = """
import sys, time, optuna
from npopt.integration.optuna import NPSampler
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(sys.argv[1]))
study = optuna.load_study(study_name="shared", storage=storage, sampler=NPSampler(seed=int(sys.argv[2])))

def objective(trial):
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_int("y", 0, 4)
    time.sleep(0.05)  # running while the other workers ask
    return (x - 0.3) ** 2 + (y - 2) ** 2

study.optimize(objective, n_trials=10)
"""


def test_four_processes_on_one_journal_storage_never_share_a_point(tmp_path):
    path = str(tmp_path / "journal.log")
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    optuna.create_study(study_name="shared", storage=storage)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, path, str(i)], stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert len(trials) == 40 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    points = {(t.params["x"], t.params["y"]) for t in trials}
    assert len(points) == 40


class FasterWorkers(optuna.storages.InMemoryStorage):
    """A real in-memory storage in which, for the first ``steals`` points a sampler claims,
    another worker claims the same point just before the sampler re-reads the trials."""

    def __init__(self, steals: int) -> None:
        super().__init__()
        self.steals, self.stolen = steals, []

    def set_trial_system_attr(self, trial_id, key, value):
        super().set_trial_system_attr(trial_id, key, value)
        if key == POINT_KEY and len(self.stolen) < self.steals:
            other = self.create_new_trial(self.get_all_studies()[0]._study_id)
            super().set_trial_system_attr(other, POINT_KEY, value)
            self.stolen.append(tuple(value))


@pytest.mark.parametrize("steals", [1, 12])
def test_a_claimed_point_is_given_up_for_a_free_one_even_after_every_alternative_is_taken(steals):
    storage = FasterWorkers(steals=0)
    study = optuna.create_study(storage=storage, sampler=NPSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2 + t.suggest_int("y", 0, 4), n_trials=4)
    storage.steals = steals  # more steals than the draw has ranked alternatives (8)
    trial = study.ask()
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_int("y", 0, 4)
    assert len(storage.stolen) == steals
    assert all(abs(x - sx) > 1e-6 or y != sy for sx, sy in (_params(point) for point in storage.stolen))


def _params(point):
    params = Space({"x": Float(0, 1), "y": Int(0, 4)}).from_unit(point)
    return params["x"], params["y"]


def _zdt1(trial):
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    g = 1 + 9 * y
    return x, g * (1 - math.sqrt(x / g))


def test_several_objectives_spread_a_front_wider_than_random_search():
    """ZDT1 in two inputs, 24 trials: the best trials reach both ends of the true front."""
    fronts = {}
    for name, sampler in (("np", NPSampler(seed=0, n_startup_trials=2)), ("random", optuna.samplers.RandomSampler(0))):
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
        study.optimize(_zdt1, n_trials=24)
        fronts[name] = [t.values for t in study.best_trials]
    spread = {k: max(v[0] for v in f) - min(v[0] for v in f) for k, f in fronts.items()}
    on_front = {k: sum(abs(b - (1 - math.sqrt(a))) < 0.02 for a, b in f) for k, f in fronts.items()}
    assert spread["np"] > 0.6 and on_front["np"] > 3 * max(1, on_front["random"])


@pytest.mark.parametrize("how", ["constraints_func", "set_constraint"])
def test_constraints_lead_to_the_best_feasible_point(how):
    """Minimise (x - 0.8)^2 + (y - 0.8)^2 subject to x + y <= 1: 0.18 at (0.5, 0.5)."""
    def objective(trial):
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        if how == "set_constraint":
            trial.set_constraint("sum", x + y - 1)
        else:
            trial.set_user_attr("sum", x + y - 1)
        return (x - 0.8) ** 2 + (y - 0.8) ** 2

    func = (lambda t: [t.user_attrs["sum"]]) if how == "constraints_func" else None
    study = optuna.create_study(sampler=NPSampler(seed=0, n_startup_trials=2, constraints_func=func))
    study.optimize(objective, n_trials=20)
    feasible = [t.value for t in study.trials if all(c <= 0 for c in t.constraints.values())]
    assert all(t.constraints for t in study.trials)  # recorded where Optuna's own samplers look
    assert min(feasible) - 0.18 < 0.01 and len(feasible) >= 10


def test_an_infinite_value_leaves_later_model_trials_sound():
    study = optuna.create_study(sampler=NPSampler(seed=0, n_startup_trials=2))
    values = iter([float("inf"), 1.0, float("inf"), 0.5, 2.0, 0.3, 0.2, 0.1, 0.4, 0.6])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)) and next(values), n_trials=10)
    xs = [(t.params["x"], t.params["y"]) for t in study.trials]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len(set(xs)) == 10 and not any(p in ((0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)) for p in xs[2:])


def test_no_seed_means_different_draws_and_reseed_rng_changes_them():
    def points(sampler):
        study = optuna.create_study(sampler=sampler)
        study.enqueue_trial({"x": 0.2})
        study.enqueue_trial({"x": 0.7})
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.4) ** 2, n_trials=4)
        return [t.params["x"] for t in study.trials[2:]]

    assert points(NPSampler(seed=3)) == points(NPSampler(seed=3))
    assert points(NPSampler()) != points(NPSampler())
    sampler = NPSampler(seed=3)
    first = points(sampler)
    sampler.reseed_rng()
    assert points(sampler) != first


def test_a_space_no_prior_serves_is_refused_at_the_first_model_trial_naming_the_python_fix():
    study = optuna.create_study(sampler=NPSampler(seed=0, n_startup_trials=5))
    with pytest.raises(ValueError, match=r'NPSampler\(surrogate="gp"\)'):
        study.optimize(lambda t: sum(t.suggest_float(f"x{i}", 0, 1) for i in range(17)), n_trials=5)
    assert len(study.trials) == 2  # the first trial finds the space; the second is refused


def test_logei_is_a_sampler_option_for_np_and_gp_and_refused_for_random_search():
    with pytest.raises(ValueError, match=r"random search has no predictive .*NPSampler\(surrogate=...\): np or gp"):
        NPSampler(surrogate="random", acquisition="logei")
    with pytest.raises(ValueError, match="unknown acquisition 'ucb'"):
        NPSampler(acquisition="ucb")
    study = optuna.create_study(sampler=NPSampler(seed=0, acquisition="logei"))
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 0.3) ** 2 + t.suggest_float("y", 0, 1) ** 2, n_trials=14)
    assert study.best_value < 1e-3  # a smooth bowl: expected improvement walks into it
    sampler = study.sampler
    assert all(s.acquisition.rule == "logei" for s in sampler._surrogates.values())


def test_the_sampler_pickles_and_its_copy_suggests_the_same_points():
    import pickle

    sampler = NPSampler(seed=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(branin, n_trials=4)  # builds a surrogate and takes the lock
    copy = pickle.loads(pickle.dumps(sampler))  # Ray Tune ships the sampler this way
    assert copy.seed == 4 and copy._lock is not sampler._lock
    again = optuna.create_study(sampler=copy)
    for t in study.trials:
        again.add_trial(t)
    a, b = study.ask(), again.ask()
    assert a.params == {} and b.params == {}  # define-by-run: the params come with the suggestions
    assert branin(a) == branin(b)
