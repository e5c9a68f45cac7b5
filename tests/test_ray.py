"""Ray Tune with npopt's Optuna sampler, on a real local Ray (the ``ray`` extra).

``docs/usage.md`` shows ``OptunaSearch(sampler=NPSampler(seed=0))``; this runs it as written:
12 trials, 2 at a time, on a mixed space, once in memory and once with the Optuna study
kept in a PostgreSQL storage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.tune")
optuna = pytest.importorskip("optuna")

from npopt.integration.optuna import NPSampler  # noqa: E402

pytestmark = pytest.mark.slow


def _objective(config):
    from ray import tune

    penalty = {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.1}[config["optimizer"]]
    loss = (config["lr_exp"] + 2.5) ** 2 + 0.01 * (config["layers"] - 3) ** 2 + penalty
    tune.report({"loss": loss})


def _space():
    from ray import tune

    return {
        "lr_exp": tune.uniform(-5.0, 0.0),
        "layers": tune.randint(1, 9),
        "optimizer": tune.choice(["adam", "sgd", "rmsprop"]),
    }


@pytest.fixture(scope="module")
def local_ray():
    # the workers import this module to find the trainable, as a user's script module would be found
    here = str(Path(__file__).parent)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": here}})
    yield
    ray.shutdown()


def _tune(tmp_path, **search_kwargs):
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    search = ConcurrencyLimiter(OptunaSearch(sampler=NPSampler(seed=0), metric="loss", mode="min", **search_kwargs),
                                max_concurrent=2)
    tuner = tune.Tuner(
        _objective,
        param_space=_space(),
        tune_config=tune.TuneConfig(search_alg=search, num_samples=12, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="npopt", verbose=0),
    )
    return tuner.fit()


def _check(results) -> None:
    assert len(results) == 12 and not results.errors
    configs = [json.dumps(r.config, sort_keys=True) for r in results]
    assert len(set(configs)) == 12  # no two trials share parameters
    best = results.get_best_result(metric="loss", mode="min")
    assert best.metrics["loss"] < 1.0  # the sampler found the basin (random start: 2 trials)
    assert {type(v) for v in best.config.values()} >= {float, str}  # a mixed space came back typed


def test_the_ray_tune_example_in_the_docs_runs_as_written(local_ray, monkeypatch, tmp_path, capsys):
    text = (Path(__file__).parents[1] / "docs" / "usage.md").read_text()
    section = text.split("### Ray Tune", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_ray_example"}  # not importable: Ray ships the trainable by value
    exec(compile(code, "docs/usage.md (Ray Tune)", "exec"), namespace)
    _check(namespace["results"])
    assert "'lr_exp'" in capsys.readouterr().out


def test_ray_tune_with_the_optuna_study_in_postgresql(local_ray, cluster, tmp_path):
    from tests.pg_cluster import PASSWORD, USER

    url = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{cluster.port}/npopt"
    storage = optuna.storages.RDBStorage(url)
    _check(_tune(tmp_path, study_name="ray-npopt", storage=storage))
    stored = optuna.load_study(study_name="ray-npopt", storage=url)
    assert len([t for t in stored.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 12


def _two_objectives(config):
    from ray import tune

    x, y = config["x"], config["y"]
    g = 1 + 9 * y  # ZDT1 in two inputs: the front is y = 0, f2 = 1 - sqrt(f1)
    tune.report({"f1": x, "f2": g * (1 - (x / g) ** 0.5)})


def test_ray_tune_with_two_objectives_finds_a_front(local_ray, tmp_path):
    """OptunaSearch with two metrics makes a multi-objective Optuna study; NPSampler drives it
    through Ray: every trial reports both, and the non-dominated trials reach the true front
    (ZDT1, y near 0) more often than the sampler's two random starting trials could."""
    import torch
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from npopt.acquisition.several import non_dominated

    search = ConcurrencyLimiter(OptunaSearch(sampler=NPSampler(seed=0, n_startup_trials=2), metric=["f1", "f2"],
                                             mode=["min", "min"]), max_concurrent=2)
    tuner = tune.Tuner(
        _two_objectives,
        param_space={"x": tune.uniform(0.0, 1.0), "y": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(search_alg=search, num_samples=20, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="npopt-mo", verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 20 and not results.errors
    points = torch.tensor([[r.metrics["f1"], r.metrics["f2"]] for r in results], dtype=torch.float64)
    front = points[non_dominated(points)].tolist()
    on_front = [p for p in front if abs(p[1] - (1 - p[0] ** 0.5)) < 0.05]
    assert len(on_front) >= 4, front
    assert max(p[0] for p in front) - min(p[0] for p in front) > 0.4  # spread along it, not one corner
