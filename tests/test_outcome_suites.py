"""The constrained and multi-objective benchmark suites: their reference optima, their
scores and one small run of each through the CLI."""

from __future__ import annotations

import json
import math

import pytest
from conftest import npopt

from npopt.benchmarks import outcomes as B


def test_each_stated_optimum_is_feasible_where_it_is_claimed():
    problems = B.constrained_problems()
    at = {
        "gramacy": {"x0": 0.19512, "x1": 0.40467},
        "spring": {"x0": 0.051689, "x1": 0.356718, "x2": 11.288966},
        "hartmann6-sum": {f"x{i}": v for i, v in enumerate(B.HARTMANN_SUM_MINIMISER)},
    }
    for name, params in at.items():
        problem = problems[name]
        values = problem.values(params)
        assert problem.outcomes.violation(values) < 1e-4, name
        assert values["value"] == pytest.approx(problem.optimum, abs=2e-4 * max(1.0, abs(problem.optimum))), name


def test_no_point_of_a_dense_design_beats_a_stated_optimum():
    for name, problem in B.constrained_problems().items():
        if problem.optimum is None:
            continue
        best = B.reference_optimum(problem)
        assert best >= problem.optimum - 1e-9, name
        assert best <= problem.worst, name


def test_hypervolume_of_a_staircase():
    # two points under the reference (4, 4): [1, 4] x [3, 4] and [3, 4] x [2, 4] overlap in [3, 4] x [3, 4]
    assert B.hypervolume([(1.0, 3.0), (3.0, 2.0)], (4.0, 4.0)) == pytest.approx(3 * 1 + 1 * 2 - 1)
    assert B.hypervolume([(5.0, 1.0)], (4.0, 4.0)) == 0.0  # outside the reference box
    assert B.hypervolume([], (4.0, 4.0)) == 0.0


def test_the_true_front_reaches_the_stated_maximum_hypervolume():
    zdt1 = B.multiobjective_problems()["zdt1"]
    front = [(a / 400, 1 - math.sqrt(a / 400)) for a in range(401)]
    assert B.hypervolume(front, zdt1.reference) == pytest.approx(zdt1.max_hv, rel=2e-3)


def test_best_feasible_counts_only_feasible_values_and_the_worst_before_them():
    problem = B.constrained_problems()["gramacy"]
    history = [problem.values({"x0": 0.0, "x1": 0.0}),  # infeasible (c1 = 1.5)
               problem.values({"x0": 0.9, "x1": 0.6}),
               problem.values({"x0": 0.1, "x1": 0.1})]  # infeasible again
    assert B.best_feasible(problem, history) == [problem.worst, 1.5, 1.5]


@pytest.mark.parametrize("suite, problem, vs", [("constrained", "gramacy", "random"),
                                                ("multiobjective", "branin-currin", "nsga2,random")])
def test_a_small_run_through_the_cli(tmp_path, suite, problem, vs):
    out = tmp_path / "s.json"
    done = npopt("benchmark", "--suite", suite, "--problems", problem, "--vs", vs, "--repeats", "2",
                 "--json", str(out), env={"OMP_NUM_THREADS": "1", **__import__("os").environ})
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text())
    entry = summary["problems"][problem]
    assert set(entry["methods"]) == {"np", *vs.split(",")}
    for record in entry["methods"].values():
        assert len(record["finals"]) == 2 and len(record["curves"][0]) == entry["budget"]
    np_median = entry["methods"]["np"]["median"]
    if suite == "constrained":
        assert np_median < entry["methods"]["random"]["median"]  # 0.0006 against 0.11 when written
    else:
        assert np_median > entry["methods"]["random"]["median"]
    assert "np at least as good as" in done.stdout


def test_an_unknown_problem_or_method_is_refused():
    bad = npopt("benchmark", "--suite", "constrained", "--problems", "nope", "--repeats", "2")
    assert bad.returncode == 1 and "has no problem nope" in bad.stderr
    bad = npopt("benchmark", "--suite", "constrained", "--vs", "nsga2", "--repeats", "2")
    assert bad.returncode == 1 and "not nsga2" in bad.stderr
    bad = npopt("benchmark", "--suite", "multiobjective", "--csv", "r.csv")
    assert bad.returncode == 1 and "has no --csv" in bad.stderr


def test_a_suite_keeps_its_runs_and_goes_on_from_them(tmp_path):
    """``--runs``: every finished run is written as it ends; a second benchmark with more
    repeats computes only the new ones and reports the kept ones unchanged."""
    runs = tmp_path / "r.jsonl"
    env = {"OMP_NUM_THREADS": "1", **__import__("os").environ}

    def bench(repeats: int, out: str):
        done = npopt("benchmark", "--suite", "constrained", "--problems", "gramacy", "--vs", "random", "--repeats",
                     str(repeats), "--runs", str(runs), "--json", str(tmp_path / out), env=env)
        assert done.returncode == 0, done.stderr
        return json.loads((tmp_path / out).read_text())["problems"]["gramacy"]["methods"]

    first = bench(2, "a.json")
    assert len(runs.read_text().splitlines()) == 4  # np and random, 2 repeats each
    second = bench(3, "b.json")
    assert len(runs.read_text().splitlines()) == 6  # only the third repeat of each was run
    for method in ("np", "random"):
        assert second[method]["finals"][:2] == first[method]["finals"]
        assert len(second[method]["finals"]) == 3
