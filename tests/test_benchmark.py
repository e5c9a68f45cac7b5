"""The benchmark protocol on tiny suites, the JSON/CSV shapes, and the CLI."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from typer.testing import CliRunner

from npopt.benchmarks.problems import MIXED, SYNTHETIC, Forrester, gp1d_function, make_problem
from npopt.benchmarks.suites import METHODS, run_gp1d, run_synthetic, thompson_frames
from npopt.cli import app
from npopt.surrogates.base import Surrogate
from npopt.surrogates.oracle import OracleGPSurrogate

GP1D_KEYS = {"mean_steps", "stderr", "ratio_to_random", "median_step_seconds", "status"}
SYNTHETIC_KEYS = {"median_regret", "iqr", "normalised_score", "median_ask_seconds", "status"}


class Knows(Surrogate):
    """Its 'draws' are the true function (or its negative): picks the argmin (argmax) first."""

    min_observations = 0

    def __init__(self, fn, sign: float = 1.0) -> None:
        self.fn, self.sign = fn, sign

    def condition(self, X, y) -> None:
        pass

    def sample(self, candidates, n_draws, generator):
        return (self.sign * self.fn.evaluate(candidates)).expand(n_draws, -1)


# ------------------------------------------------------------------ problems


def test_problems_reach_their_optimal_values():
    f = Forrester()
    assert float(f.evaluate(torch.tensor([[0.7572487585232999]]))) == pytest.approx(f.optimal_value, abs=1e-9)
    for name in SYNTHETIC:
        p = make_problem(name)
        assert p.bounds.shape == (2, p.dim)
        U = torch.rand(256, p.dim, dtype=torch.float64)
        assert (p.evaluate(U) >= p.optimal_value - 1e-4).all()
    assert [make_problem(n).dim for n in SYNTHETIC] == [1, 2, 3, 4, 6, 10, 10, 12, 16, 10, 10, 10, 16]


def test_new_synthetic_problems_reach_their_optima_at_the_known_minimisers():
    from npopt.benchmarks.problems import HARTMANN6_12_ACTIVE, ROSENBROCK4_16_ACTIVE, STYBLINSKI_TANG_X

    def at(name, x):  # x in user units
        p = make_problem(name)
        lo, hi = p.bounds
        return float(p.evaluate(((x - lo) / (hi - lo))[None])), p.optimal_value

    assert at("ackley10", torch.zeros(10, dtype=torch.float64)) == pytest.approx((0.0, 0.0), abs=1e-9)
    assert at("levy10", torch.ones(10, dtype=torch.float64)) == pytest.approx((0.0, 0.0), abs=1e-9)
    x = torch.full((12,), 0.9, dtype=torch.float64)  # the ignored inputs can be anything
    x[list(HARTMANN6_12_ACTIVE)] = torch.tensor(
        [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573], dtype=torch.float64
    )
    value, optimum = at("hartmann6_12", x)
    assert value == pytest.approx(optimum, abs=1e-4)
    value, optimum = at("styblinski16", torch.full((16,), STYBLINSKI_TANG_X, dtype=torch.float64))
    assert value == pytest.approx(optimum, abs=1e-9) and optimum == pytest.approx(-39.16616570377142 * 16)
    for name in ("sphere10", "ellipsoid10"):  # optima shifted off the centre, inside [-4, 4]
        p = make_problem(name)
        assert at(name, p.optimum) == pytest.approx((0.0, 0.0), abs=1e-9)
        assert 0.5 < float(p.optimum.abs().max()) <= 4 and at(name, torch.zeros(10, dtype=torch.float64))[0] > 1
    ellipsoid = make_problem("ellipsoid10")
    assert torch.allclose(ellipsoid.rotation @ ellipsoid.rotation.T, torch.eye(10, dtype=torch.float64))
    assert float(ellipsoid.weights.max() / ellipsoid.weights.min()) == pytest.approx(1e6)
    assert at("rosenbrock10", torch.ones(10, dtype=torch.float64)) == pytest.approx((0.0, 0.0), abs=1e-9)
    x = torch.full((16,), -3.0, dtype=torch.float64)  # the ignored inputs can be anything
    x[list(ROSENBROCK4_16_ACTIVE)] = 1.0
    assert at("rosenbrock4_16", x) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_mixed_problems_have_categoricals_and_reach_their_optima():
    for name in MIXED:
        p = make_problem(name)
        assert p.space.dim == p.dim and any(p.choices), name
        U = p.snap(torch.rand(64, p.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
        assert torch.equal(U, p.snap(U))
        assert (p.evaluate(U) >= p.optimal_value - 1e-9).all(), name
        if p.minimiser is not None:
            u = torch.tensor([p.space.to_unit(p.minimiser)], dtype=torch.float64)
            assert float(p.evaluate(u)) == pytest.approx(p.optimal_value, abs=1e-6), name
    assert [make_problem(n).choices for n in MIXED] == [
        (0, 0, 4), (0, 0, 0, 5, 3), (0, 0, 0, 10, 0, 0), (3, 0, 0, 0, 0), (4, 0, 0, 0, 0)
    ]


def test_the_svc_task_is_fast_and_uses_every_kernel():
    import time

    p = make_problem("svc_cancer")
    for kernel in ("rbf", "poly", "sigmoid"):
        params = {"kernel": kernel, "C": 1e3, "gamma": 10.0, "degree": 5, "coef0": 1.0}
        t0 = time.perf_counter()
        error = p.value(params)
        assert time.perf_counter() - t0 < 1.0 and 0.0 <= error <= 1.0
    good = p.value({"kernel": "rbf", "C": 10.0, "gamma": 0.01, "degree": 3, "coef0": 0.0})
    assert p.optimal_value <= good < 0.05


def test_the_kernel_ridge_task_is_continuous_and_ignores_what_its_kernel_does_not_use():
    import time

    p = make_problem("krr_diabetes")
    good = {"kernel": "rbf", "alpha": 0.1, "gamma": 0.005, "degree": 1, "coef0": 0.0}
    values = {}
    for kernel in ("rbf", "laplacian", "poly", "sigmoid"):
        t0 = time.perf_counter()
        values[kernel] = p.value({**good, "kernel": kernel, "degree": 3, "coef0": 1.0})
        assert time.perf_counter() - t0 < 1.0 and math.isfinite(values[kernel]) and values[kernel] >= p.optimal_value
    assert len(set(values.values())) == 4
    # the log of a CV mean squared error of a standardised target: near the best, ~log(0.49)
    near = p.value(good)
    assert p.optimal_value <= near < p.optimal_value + 0.05 and near == pytest.approx(math.log(0.49), abs=0.05)
    # continuous: a small step in alpha moves the value a little, not by a sample's worth
    step = p.value({**good, "alpha": 0.1 * 1.01})
    assert step != near and abs(step - near) < 1e-3
    # degree only matters for poly, coef0 only for poly and sigmoid
    assert p.value({**good, "degree": 5, "coef0": 2.5}) == near
    assert p.value({**good, "kernel": "poly", "degree": 2}) != p.value({**good, "kernel": "poly", "degree": 3})
    # a blown-up kernel is bad but finite, so it does not squash the rest
    assert p.value({**good, "kernel": "sigmoid", "alpha": 1e-4, "gamma": 10.0, "coef0": 3.0}) > near + 1.0


def test_gp1d_functions_are_seeded_and_in_range():
    a, b, c = gp1d_function(3, seed=1), gp1d_function(3, seed=1), gp1d_function(4, seed=1)
    assert torch.equal(a.values, b.values) and a.start == b.start
    assert not torch.equal(a.values, c.values)
    assert 0.1 <= a.lengthscale <= 0.6 and 0.1 <= a.signal_std <= 1.0
    assert a.lengthscale_unit == pytest.approx(a.lengthscale / 4)
    assert a.grid.shape == (400, 1) and float(a.grid[0]) == 0.0 and float(a.grid[-1]) == 1.0
    assert float(a.evaluate(a.grid[a.argmin][None])) == a.optimal_value
    x = torch.linspace(-2, 2, 400, dtype=torch.float64)[:, None]
    assert torch.equal(a.evaluate_true(x), a.values)


# ------------------------------------------------------------------ gp1d protocol


def test_random_search_needs_half_the_grid_on_average():
    G, N = 20, 300
    result = run_gp1d(["random"], functions=N, grid_size=G, seed=0)
    entry = result.summary()["methods"]["random"]
    assert entry["mean_steps"] == pytest.approx((G + 1) / 2, abs=4 * entry["stderr"])
    assert entry["ratio_to_random"] == 1.0
    assert all(r.solved and 1 <= r.steps <= G for r in result.runs)
    for r in result.runs:  # every evaluation is a distinct grid point, the shared start first
        fn = gp1d_function(r.run, 0, G)
        assert r.values[0] == float(fn.values[fn.start])
        assert len(set(r.values)) == r.steps


def test_a_method_that_knows_the_argmin_solves_in_one_step():
    result = run_gp1d({"knows": lambda fn: Knows(fn)}, functions=10, grid_size=50, seed=0)
    for r in result.runs_of("knows"):
        fn = gp1d_function(r.run, 0, 50)
        assert r.solved and r.steps == (1 if fn.start == fn.argmin else 2)


def test_steps_are_capped():
    worst = {"worst": lambda fn: Knows(fn, sign=-1.0)}  # evaluates the argmin last
    full = run_gp1d(worst, functions=4, grid_size=30, seed=0)
    capped = run_gp1d(worst, functions=4, grid_size=30, seed=0, max_steps=5)
    for r, c in zip(full.runs_of("worst"), capped.runs_of("worst"), strict=True):
        fn = gp1d_function(r.run, 0, 30)
        if fn.start != fn.argmin:
            assert r.steps == 30 and r.solved
            assert c.steps == 5 and not c.solved


def test_oracle_beats_random_and_runs_are_reproducible():
    a = run_gp1d(["gp-oracle"], functions=6, grid_size=100, seed=3).summary()["methods"]
    b = run_gp1d(["gp-oracle"], functions=6, grid_size=100, seed=3).summary()["methods"]
    assert a["gp-oracle"]["mean_steps"] == b["gp-oracle"]["mean_steps"]
    assert a["gp-oracle"]["mean_steps"] < a["random"]["mean_steps"]


def test_every_method_runs_on_gp1d():
    # Optuna's samplers pick no grid, and LogEI is a yardstick of the other suites
    grid_methods = [m for m in METHODS if m not in ("tpe", "optuna-gp", "np-logei", "gp-logei")]
    result = run_gp1d(grid_methods, functions=2, grid_size=60, seed=0, max_steps=6)
    summary = result.summary()
    assert summary["suite"] == "gp1d" and summary["functions"] == 2 and summary["seed"] == 0
    assert list(summary["methods"]) == grid_methods
    for entry in summary["methods"].values():
        assert GP1D_KEYS <= set(entry)
        assert entry["status"] == "ok", entry
        assert entry["mean_steps"] >= 1 and entry["median_step_seconds"] >= 0
    json.dumps(summary)


def test_a_broken_method_is_reported_and_the_others_still_run():
    def broken(fn):
        raise RuntimeError("kaput")

    summary = run_gp1d({"broken": broken}, functions=2, grid_size=20).summary()["methods"]
    assert summary["broken"]["status"] == "failed"
    assert summary["broken"]["message"] == "RuntimeError: kaput"
    assert summary["random"]["status"] == "ok"


def test_progress_reports_every_method_and_function():
    calls = []
    run_gp1d(["gp-oracle"], functions=3, grid_size=20, progress=lambda d, t, label: calls.append((d, t)))
    assert calls == [(i, 6) for i in range(1, 7)]


# ------------------------------------------------------------------ synthetic


def test_synthetic_schema_and_every_method_runs():
    result = run_synthetic(["np", "gp", "random"], problems=["forrester", "branin"], repeats=2, budget=4)
    summary = result.summary()
    assert summary["suite"] == "synthetic" and set(summary["problems"]) == {"forrester", "branin"}
    for problem, methods in summary["problems"].items():
        assert list(methods) == ["np", "gp", "random"]
        for name, entry in methods.items():
            assert SYNTHETIC_KEYS <= set(entry)
            if name == "np" and entry["status"] == "no_prior":
                dim = summary["dims"][problem]
                assert entry["message"].startswith(f"no prior for d={dim}")
                continue
            assert entry["status"] == "ok", entry
            assert entry["median_regret"] >= 0 and entry["iqr"] >= 0
        assert methods["random"]["normalised_score"] == 1.0
    for r in result.runs:
        assert r.steps == 4 and len(r.ask_seconds) == 2
    # every method starts from the same initial design
    starts = {(r.problem, r.run): r.values[:2] for r in result.runs_of("random")}
    for r in result.runs_of("gp"):
        assert r.values[:2] == starts[(r.problem, r.run)]
    rows = result.csv_rows()
    assert len(rows) == sum(r.steps for r in result.runs)
    assert all(row["best_so_far"] <= row["value"] for row in rows)


def test_new_problems_get_10d_plus_10_and_old_seeds_are_unchanged():
    """The committed synthetic results stay comparable: random search on branin, repeat 0,
    seed 0, starts from the committed CSV's starting points exactly (the points after them
    moved when the suites began to ask through suggest + settle) and replays itself; the new
    problems' budget is 10 d + 10."""
    import pathlib

    result = run_synthetic(["random"], problems=["branin"], repeats=1, seed=0)
    committed = pathlib.Path(__file__).parents[1] / "benchmarks" / "results" / "synthetic.csv"
    with open(committed) as f:
        rows = [r for r in csv.DictReader(f) if (r["method"], r["problem"], r["run"]) == ("random", "branin", "0")]
    n_init = result.settings["n_init"]
    assert result.runs[0].values[:n_init] == pytest.approx([float(r["value"]) for r in rows][:n_init], rel=1e-12)
    assert run_synthetic(["random"], problems=["branin"], repeats=1, seed=0).runs[0].values == result.runs[0].values
    settings = run_synthetic(["random"], problems=["ackley10"], repeats=1, budget=3).settings
    assert settings["dims"] == {"ackley10": 10}
    defaults = {p: 10 * make_problem(p).dim + 10 for p in SYNTHETIC[5:]}
    assert defaults == {"ackley10": 110, "levy10": 110, "hartmann6_12": 130, "styblinski16": 170, "sphere10": 110,
                        "ellipsoid10": 110, "rosenbrock10": 110, "rosenbrock4_16": 170}


class Spy(Surrogate):
    """Random draws; records every X it is conditioned on and the choices it was given."""

    min_observations = 0

    def __init__(self, problem, seen) -> None:
        self.choices, self.seen = problem.choices, seen

    def condition(self, X, y) -> None:
        self.seen.append(X.clone())

    def sample(self, candidates, n_draws, generator):
        return torch.rand(n_draws, candidates.shape[0], generator=generator, dtype=torch.float64)


def test_mixed_suite_snaps_every_point_and_passes_choices():
    seen = []
    result = run_synthetic({"spy": lambda p: Spy(p, seen)},
                           problems=["mix6"], repeats=1, budget=8, suite="mixed")
    assert result.suite == "mixed" and result.summary()["choices"] == {"mix6": [0, 0, 0, 10, 0, 0]}
    p = make_problem("mix6")
    assert seen and all(torch.equal(X, p.snap(X)) for X in seen)
    assert seen[-1].shape == (7, 6)
    assert result.summary()["problems"]["mix6"]["spy"]["status"] == "ok"


def test_mixed_suite_runs_the_mixed_gp():
    result = run_synthetic(["gp"], problems=["branin_shift"], repeats=1, budget=5, suite="mixed")
    entry = result.summary()["problems"]["branin_shift"]
    assert entry["gp"]["status"] == "ok" and entry["random"]["status"] == "ok"
    with pytest.raises(Exception, match="unknown mixed problem 'branin'"):
        run_synthetic(["gp"], problems=["branin"], suite="mixed")


# ------------------------------------------------------------------ Figure 5


def test_thompson_frames_pick_new_points():
    fn = gp1d_function(0, seed=0, grid_size=80)
    s = OracleGPSurrogate(fn.lengthscale_unit, fn.signal_std)
    frames = thompson_frames(s, fn, iterations=5, n_draws=3)
    assert len(frames) == 5
    for i, frame in enumerate(frames):
        assert len(frame["context"]) == i + 1 and frame["pick"] not in frame["context"]
        assert frame["draws"].shape == (3, 80)
        assert frame["pick"] == int(frame["draws"][0].masked_fill(
            torch.isin(torch.arange(80), torch.tensor(frame["context"])), float("inf")).argmin())


# ------------------------------------------------------------------ CLI

runner = CliRunner()


def test_cli_bad_vs_is_a_clear_error():
    out = runner.invoke(app, ["benchmark", "--vs", "gp,foo"])
    assert out.exit_code == 1
    assert out.output.strip() == (
        "Error: unknown method 'foo' in --vs; choose from np, gp, random, np-logei, gp-logei, gp-oracle, tpe, "
        "optuna-gp"
    )


def test_cli_oracle_only_on_gp1d():
    out = runner.invoke(app, ["benchmark", "--suite", "synthetic", "--vs", "gp-oracle"])
    assert out.exit_code == 1
    assert out.output.strip() == "Error: gp-oracle needs the true kernel, so it only runs on the gp1d suite"


def test_cli_gp1d_writes_json_csv_plot(tmp_path):
    out = runner.invoke(app, ["benchmark", "--functions", "2", "--vs", "gp-oracle", "--seed", "1",
                              "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"),
                              "--plot", str(tmp_path / "r.png")])
    assert out.exit_code == 0, out.output
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["suite"] == "gp1d" and summary["functions"] == 2 and summary["seed"] == 1
    assert list(summary["methods"]) == ["np", "gp-oracle", "random"]
    assert GP1D_KEYS <= set(summary["methods"]["gp-oracle"])
    with open(tmp_path / "r.csv") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"suite", "method", "problem", "run", "step", "value", "best_so_far", "regret"}
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert "gp-oracle" in out.output and "random" in out.output


def test_cli_synthetic_writes_json_and_plot(tmp_path):
    out = runner.invoke(app, ["benchmark", "--suite", "synthetic", "--vs", "random", "--repeats", "2",
                              "--budget", "4", "--problems", "forrester,branin",
                              "--json", str(tmp_path / "s.json"), "--plot", str(tmp_path / "s.png")])
    assert out.exit_code == 0, out.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert set(summary["problems"]) == {"forrester", "branin"}
    assert SYNTHETIC_KEYS <= set(summary["problems"]["branin"]["random"])
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_mixed_smoke(tmp_path):
    out = runner.invoke(app, ["benchmark", "--suite", "mixed", "--vs", "random", "--repeats", "1",
                              "--budget", "5", "--json", str(tmp_path / "m.json")])
    assert out.exit_code == 0, out.output
    summary = json.loads((tmp_path / "m.json").read_text())
    assert summary["suite"] == "mixed" and list(summary["problems"]) == list(MIXED)
    for problem in MIXED:
        assert summary["problems"][problem]["random"]["status"] == "ok"
        assert summary["problems"][problem]["np"]["status"] in ("ok", "no_prior")
    assert "mixed: 1 repeats" in out.output


def test_cli_plot_ts(tmp_path):
    out = runner.invoke(app, ["plot-ts", "--out", str(tmp_path / "ts.png"), "--surrogate", "gp-oracle"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "ts.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_prior_option_picks_the_np_prior(tmp_path):
    """--prior np1d serves the 1-D problem and has no prior for the 2-D one."""
    out = runner.invoke(app, ["benchmark", "--suite", "synthetic", "--vs", "random", "--repeats", "1",
                              "--budget", "4", "--problems", "forrester,branin", "--prior", "np1d",
                              "--json", str(tmp_path / "s.json")])
    assert out.exit_code == 0, out.output
    problems = json.loads((tmp_path / "s.json").read_text())["problems"]
    assert problems["forrester"]["np"]["status"] == "ok"
    assert problems["branin"]["np"]["status"] == "no_prior"
    assert problems["branin"]["random"]["status"] == "ok"


def test_cli_unknown_prior_is_a_clear_error():
    out = runner.invoke(app, ["benchmark", "--suite", "synthetic", "--prior", "np9d"])
    assert out.exit_code == 1
    assert out.output.startswith("Error: no prior called 'np9d'; shipped priors: np16d, np1d, np6d")


def test_a_run_store_reuses_matching_runs_and_survives_a_torn_line(tmp_path):
    from npopt.surrogates.random import RandomSurrogate

    built = []

    def counting(problem):
        built.append(problem.name)
        return RandomSurrogate()

    store = tmp_path / "runs.jsonl"
    first = run_synthetic({"random": counting}, problems=["branin"], repeats=2, budget=6, runs=store)
    assert len(built) == 2 and len(store.read_text().splitlines()) == 2
    with open(store, "a") as fh:
        fh.write('{"key": "torn')  # a crash while writing the next line
    again = run_synthetic({"random": counting}, problems=["branin"], repeats=3, budget=6, runs=store)
    assert len(built) == 3  # only the third repeat was computed
    assert [r.values for r in again.runs[:2]] == [r.values for r in first.runs]
    assert [r.ask_seconds for r in again.runs[:2]] == [r.ask_seconds for r in first.runs]
    # the run written after the torn line starts a line of its own and is reused
    run_synthetic({"random": counting}, problems=["branin"], repeats=3, budget=6, runs=store)
    assert len(built) == 3
    # another budget or seed is another run
    run_synthetic({"random": counting}, problems=["branin"], repeats=1, budget=7, runs=store)
    run_synthetic({"random": counting}, problems=["branin"], repeats=1, budget=6, seed=1, runs=store)
    assert len(built) == 5
    # a line of another format is not trusted: that run is computed again
    store.write_text(store.read_text() + '{"key": "x", "run": {"method": "random", "wings": 2}}\n')
    run_synthetic({"random": counting}, problems=["branin"], repeats=1, budget=6, runs=store)
    assert len(built) == 5


def test_a_run_store_names_a_bad_path_and_keys_np_runs_by_their_prior(tmp_path):
    from npopt.benchmarks.suites import prior_fingerprint
    from npopt.errors import ConfigError
    from npopt.neural.checkpoints import shipped_priors

    with pytest.raises(ConfigError, match="is a directory"):
        run_synthetic(("random",), problems=["branin"], repeats=1, budget=4, runs=tmp_path)
    if len(shipped_priors()) >= 2:
        one, two = shipped_priors()[:2]
        branin = make_problem("branin")
        assert prior_fingerprint(one)(branin) != prior_fingerprint(two)(branin)
        assert prior_fingerprint(one)(branin).startswith(one.stem + ":")
        assert prior_fingerprint()(branin) == prior_fingerprint(prior_path_for(branin))(branin)


def prior_path_for(problem):
    from npopt.neural.checkpoints import prior_path

    return prior_path(dim=problem.dim)


def test_benchmark_cli_runs_file_makes_the_same_summary_without_recomputing(tmp_path):
    args = ["benchmark", "--suite", "synthetic", "--problems", "forrester", "--vs", "random", "--repeats", "2",
            "--budget", "5", "--runs", str(tmp_path / "r.jsonl")]
    one = CliRunner().invoke(app, args + ["--json", str(tmp_path / "a.json")])
    assert one.exit_code == 0, one.output
    lines = (tmp_path / "r.jsonl").read_text()
    two = CliRunner().invoke(app, args + ["--json", str(tmp_path / "b.json")])
    assert two.exit_code == 0, two.output
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert a["problems"] == b["problems"] and (tmp_path / "r.jsonl").read_text() == lines
    # every run records what made it, and so does the summary (versions, commit, CPU)
    records = [json.loads(line) for line in lines.splitlines()]
    assert len(records) == 4 and all(r["made_with"]["torch"] == torch.__version__ for r in records)
    assert a["environment"]["torch"] == torch.__version__ and "python" in a["environment"]
    # a file written before runs recorded it is still reused run for run
    (tmp_path / "r.jsonl").write_text("".join(json.dumps({"key": r["key"], "run": r["run"]}) + "\n" for r in records))
    three = CliRunner().invoke(app, args + ["--json", str(tmp_path / "c.json")])
    assert three.exit_code == 0, three.output
    assert json.loads((tmp_path / "c.json").read_text())["problems"] == a["problems"]
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 4


def test_optuna_samplers_run_the_synthetic_and_mixed_protocol():
    """tpe and optuna-gp: Optuna's samplers through its ask/tell, from the same start and to the
    same budget as np; their points are the problem's own (ints, categoricals)."""
    pytest.importorskip("optuna")
    from npopt.benchmarks.suites import run_synthetic

    result = run_synthetic(methods=("tpe", "optuna-gp"), problems=["branin"], repeats=1, budget=14)
    mixed = run_synthetic(methods=("tpe",), problems=["hartmann3_cat"], repeats=1, budget=12, suite="mixed")
    runs = {(r.method, r.problem): r for r in result.runs + mixed.runs}
    for key in (("tpe", "branin"), ("optuna-gp", "branin"), ("tpe", "hartmann3_cat"), ("random", "branin")):
        assert key in runs, (key, result.status, mixed.status)
    tpe, random = runs[("tpe", "branin")], runs[("random", "branin")]
    assert len(tpe.values) == 14 and len(tpe.ask_seconds) == 12
    assert tpe.values[:2] == random.values[:2]  # the shared starting points
    assert len(runs[("tpe", "hartmann3_cat")].values) == 12
    assert all(math.isfinite(v) for v in runs[("optuna-gp", "branin")].values)


def test_optuna_methods_refuse_the_grid_suite():
    out = runner.invoke(app, ["benchmark", "--suite", "gp1d", "--functions", "1", "--vs", "tpe"])
    assert out.exit_code == 0  # the other methods still run; tpe reports why it did not
    assert "tpe" in out.output and "synthetic and mixed suites" in out.output


def test_a_regret_of_zero_sits_on_a_marked_floor_not_at_1e_minus_12():
    """A tuning task's error can reach its best known value (regret 0, which a log axis
    cannot show): the panel's axis stays near the smallest measured regret, and the floor is
    marked, instead of a band falling to 1e-12."""
    from npopt.display.benchmarks import regret_figure
    from npopt.display.figures import pyplot

    rows = [dict(problem="p", method=m, run=run, step=step, regret=regret)
            for m in ("np", "random")
            for run in range(3)
            for step, regret in enumerate([0.1, 0.01, 0.004 if (m, run) != ("np", 0) else 0.0], start=1)]
    summary = {"problems": {"p": {"np": {}, "random": {}}}, "dims": {"p": 5}}
    fig = regret_figure(summary, rows)
    ax = fig.axes[0]
    low, _ = ax.get_ylim()
    assert 1e-4 < low < 0.004
    assert any("best known value found" in t.get_text() for t in ax.texts)
    pyplot().close(fig)
    # without a zero, no floor is marked
    fig = regret_figure(summary, [dict(r, regret=max(r["regret"], 0.003)) for r in rows])
    assert not fig.axes[0].texts
    pyplot().close(fig)


def test_runs_record_the_output_warp_each_ask_chose(tmp_path):
    """Every ask of a run records the warp its surrogate's fit chose: the NP's offsets (none
    below 5 observations), always none for random search; old runs files still read."""
    from npopt.surrogates.np import OUTPUT_WARPS, WARP_MIN_POINTS

    store = tmp_path / "r.jsonl"
    out = CliRunner().invoke(app, ["benchmark", "--suite", "synthetic", "--problems", "branin", "--vs", "random",
                                   "--repeats", "1", "--budget", "12", "--runs", str(store)])
    assert out.exit_code == 0, out.output
    runs = {json.loads(r["key"])["method"]: r["run"] for r in map(json.loads, store.read_text().splitlines())}
    np_run, random_run = runs["np"], runs["random"]
    assert len(np_run["warps"]) == len(np_run["ask_seconds"]) == 10
    assert set(np_run["warps"]) <= set(OUTPUT_WARPS)
    observed = range(2, 12)  # the asks see 2, 3, ..., 11 observations
    assert all(w is None for n, w in zip(observed, np_run["warps"], strict=True) if n < WARP_MIN_POINTS)
    assert any(w is not None for w in np_run["warps"])  # Branin's long upper tail is warped
    assert random_run["warps"] == [None] * 10
    # a runs file written before the field existed is reused as it is
    old = [json.loads(line) for line in store.read_text().splitlines()]
    for record in old:
        del record["run"]["warps"]
    store.write_text("".join(json.dumps(r) + "\n" for r in old))
    again = CliRunner().invoke(app, ["benchmark", "--suite", "synthetic", "--problems", "branin", "--vs", "random",
                                     "--repeats", "1", "--budget", "12", "--runs", str(store)])
    assert again.exit_code == 0 and len(store.read_text().splitlines()) == 2


def test_the_broad_suite_moves_each_optimum_and_keeps_its_value():
    from npopt.benchmarks.broad import BROAD, band_of

    assert {band_of(make_problem(n).dim) for n in BROAD} == {"1-3", "4-6", "7-16"}
    moved = 0
    for name in BROAD:
        p = make_problem(name)
        U = torch.rand(512, p.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        assert (p.evaluate(U) >= p.optimal_value - 1e-9).all(), name  # nothing below the optimum
        try:
            x = p.inner.function.optimizers[0].to(torch.float64)  # the original optimiser (user units)
        except NotImplementedError:  # Michalewicz in 5 and 10 inputs lists none
            continue
        lo, hi = p.bounds
        if p.move == "shift":
            X = x + p.shift
        else:  # the same bounds on every input: undo the mirror, then the permutation
            X = torch.empty_like(x)
            X[p.order] = torch.where(p.flip, lo + hi - x, x)
        assert bool(((X >= lo) & (X <= hi)).all()), name  # the moved optimum is inside the box
        assert float(p.evaluate_true(X[None])[0]) == pytest.approx(p.optimal_value, abs=1e-4), name
        moved += bool((X - x).abs().max() > 1e-3 * float((hi - lo).max()))
    assert moved >= len(BROAD) - 6  # all but a few symmetric reflections move the optimum


def test_band_scores_average_each_band_over_the_problems_every_method_finished():
    from npopt.benchmarks.suites import band_scores

    def entry(score):
        return {"normalised_score": score}

    problems = {
        "b_beale2": {"np": entry(0.2), "random": entry(1.0)},
        "b_levy2": {"np": entry(0.4), "random": entry(1.0)},
        "b_shekel4": {"np": entry(None), "random": entry(1.0)},  # np failed: left out of its band
        "b_cosine8": {"np": entry(0.9), "random": entry(1.0)},
    }
    dims = {"b_beale2": 2, "b_levy2": 2, "b_shekel4": 4, "b_cosine8": 8}
    bands = band_scores(problems, dims)
    assert bands["all"]["1-3"]["np"] == {"mean_score": pytest.approx(0.3), "problems": 2}
    assert "4-6" not in bands["all"] and bands["all"]["7-16"]["np"]["problems"] == 1
    assert bands["multimodal"]["1-3"]["np"] == {"mean_score": pytest.approx(0.4), "problems": 1}  # Levy only


def test_logei_methods_are_refused_on_gp1d_and_run_on_synthetic():
    result = run_gp1d(["np-logei"], functions=1, grid_size=40, seed=0, max_steps=3)
    entry = result.summary()["methods"]["np-logei"]
    assert entry["status"] == "failed" and "runs on the synthetic, mixed and broad suites" in entry["message"]
    summary = run_synthetic(["np-logei"], problems=["branin"], repeats=1, budget=6).summary()
    assert summary["problems"]["branin"]["np-logei"]["status"] == "ok"


def test_summary_json_keeps_number_lists_on_one_line_and_loads_back():
    from npopt.outputs import summary_json

    summary = {"curves": [[0.5, -2.5e-07, 1e300], [3, 4]], "names": ["x1", "2"], "gaps": [None, 1], "none": []}
    text = summary_json(summary)
    assert json.loads(text) == summary
    assert '[0.5, -2.5e-07, 1e+300]' in text and '"x1",\n' in text  # strings and nulls keep json's layout
