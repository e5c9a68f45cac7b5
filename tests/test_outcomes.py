"""Constraints and several objectives: declarations, records on both storages, the best
trials, Thompson sampling on one score per draw, and the CLI and protocol contracts."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest
import torch
from conftest import npopt

from npopt import protocol
from npopt.acquisition.several import OutcomeModels, chebyshev, non_dominated
from npopt.benchmarks.outcomes import hypervolume
from npopt.encoding import observed
from npopt.errors import SpaceError, StudyError, TrialError
from npopt.outcomes import Outcomes
from npopt.runner import run
from npopt.space import Float
from npopt.study import Study
from npopt.surrogates import make_surrogate
from npopt.trial import Trial, TrialState

SPACE = {"x": Float(0, 1), "y": Float(0, 1)}
CONSTRAINED = Outcomes.declare(None, {"s": {"max": 1.0}})
TWO = Outcomes.declare({"f1": "minimize", "f2": "minimize"})


def constrained(x, y):
    """Minimum 0.18 at (0.5, 0.5) on the boundary x + y = 1; the free minimum (0.8, 0.8) is infeasible."""
    return {"value": (x - 0.8) ** 2 + (y - 0.8) ** 2, "s": x + y}


def zdt1(x, y):
    """ZDT1 in two inputs: the front is y = 0, f2 = 1 - sqrt(f1) for f1 in [0, 1]."""
    g = 1 + 9 * y
    return {"f1": x, "f2": g * (1 - math.sqrt(x / g))}


# ---------------------------------------------------------------- declarations


@pytest.mark.parametrize("objectives, constraints, direction, message", [
    ({"a": "minimize"}, None, "maximize", "not both"),
    ({}, None, None, "objectives must be a mapping"),
    ({"a": "upward"}, None, None, "objective 'a': direction must be"),
    (None, {"m": 16}, None, "constraint 'm' must be a mapping with 'min', 'max' or both"),
    (None, {"m": {"max": "big"}}, None, "max must be a finite number"),
    (None, {"m": {"min": 2, "max": 1}}, None, "min 2 is above max 1"),
    (None, {"m": {"min": None}}, None, "needs 'min', 'max' or both"),
    ({"m": "minimize"}, {"m": {"max": 1}}, None, "both an objective and a constraint"),
    ({"a,b": "minimize"}, None, None, "without '=' or ','"),
])
def test_malformed_declarations_name_the_key(objectives, constraints, direction, message):
    with pytest.raises(SpaceError, match=message):
        Outcomes.declare(objectives, constraints, direction)


def test_a_plain_declaration_is_the_single_objective_of_older_studies():
    assert Outcomes.declare(None, None, "max") == Outcomes.single("maximize")
    assert Outcomes.single().plain and not CONSTRAINED.plain and not CONSTRAINED.multi and TWO.multi
    assert Outcomes.from_meta({"direction": "maximize"}) == Outcomes.single("maximize")
    assert Outcomes.from_meta({"direction": "minimize", **TWO.to_meta()}) == TWO


def test_objective_results_become_values_or_a_reason_naming_the_key():
    assert CONSTRAINED.values_of({"value": 1.0, "s": 2}) == (1.0, {"value": 1.0, "s": 2.0}, None)
    assert TWO.values_of({"f1": 1, "f2": 2})[:2] == (None, {"f1": 1.0, "f2": 2.0})
    assert "'f2'" in TWO.values_of({"f1": 1})[2]
    assert "not a dict with f1, f2" in TWO.values_of(3.0)[2]
    assert Outcomes.single().values_of({"value": 2.5}) == (2.5, None, None)
    assert "unknown outcome 'memory'" in Outcomes.single().values_of({"value": 1, "memory": 3})[2]


# ---------------------------------------------------------------- studies on both storages


def test_values_are_recorded_and_the_best_is_feasible(study_location):
    with Study.create(study_location, SPACE, surrogate="random", outcomes=CONSTRAINED) as st:
        a, b, c = st.ask(3)
        st.tell(a.number, values={"value": 0.1, "s": 1.5})  # the lowest value, but infeasible
        st.tell(b.number, values={"value": 0.4, "s": 0.9})
        st.tell(c.number, values={"value": 0.3, "s": 1.0})  # on the bound: feasible
        assert st.best.number == c.number and st.best.values == {"value": 0.3, "s": 1.0}
        assert [t.number for t in st.best_trials] == [c.number]
    with Study.open(study_location) as again:  # another process's view
        assert again.outcomes == CONSTRAINED
        assert again.trials[0].to_dict()["values"] == {"value": 0.1, "s": 1.5}
        assert again.trials[0].value == 0.1


def test_a_bad_tell_records_nothing(study_location):
    with Study.create(study_location, SPACE, surrogate="random", outcomes=TWO) as st:
        (t,) = st.ask(1)
        for values, message in [({"f1": 1.0}, "missing value for 'f2'"),
                                ({"f1": 1.0, "f2": math.nan}, "f2 must be a finite number"),
                                ({"f1": 1.0, "f2": 2.0, "f3": 0}, "unknown outcome 'f3'"),
                                ("f1=1", "values must be a mapping")]:
            with pytest.raises(TrialError, match=message):
                st.tell(t.number, values=values)
        with pytest.raises(TrialError, match="tell all of them as values"):
            st.tell(t.number, 1.0)
        assert st.trials[0].state is TrialState.RUNNING
        st.tell(t.number, values={"f1": 1.0, "f2": 2.0})
        assert st.trials[0].values == {"f1": 1.0, "f2": 2.0} and st.trials[0].value is None
        with pytest.raises(StudyError, match="no single best trial"):
            _ = st.best


def test_objectives_and_constraints_are_fixed_at_creation(study_location):
    Study.create(study_location, SPACE, surrogate="random", outcomes=CONSTRAINED).close()
    other = Outcomes.declare(None, {"s": {"max": 2.0}})
    for outcomes in (other, TWO, Outcomes.single()):
        with pytest.raises(StudyError, match="objectives and constraints are fixed at creation"):
            Study.open_or_create(study_location, SPACE, outcomes=outcomes)
    Study.open_or_create(study_location, SPACE, outcomes=CONSTRAINED).close()  # the same: continues
    Study.open_or_create(study_location).close()  # nothing given: continues


def test_the_pareto_front_keeps_non_dominated_feasible_trials(study_location):
    outcomes = Outcomes.declare({"f1": "minimize", "acc": "maximize"}, {"mem": {"max": 10}})
    rows = [(1.0, 0.5, 5), (2.0, 0.9, 5), (1.5, 0.4, 5), (0.5, 0.95, 11), (2.0, 0.9, 5), (3.0, 0.95, 5)]
    with Study.create(study_location, SPACE, surrogate="random", outcomes=outcomes) as st:
        for trial, (f1, acc, mem) in zip(st.ask(len(rows)), rows, strict=True):
            st.tell(trial.number, values={"f1": f1, "acc": acc, "mem": mem})
        # 2 is dominated by 0; 3 is infeasible; 4 repeats 1's values (the earlier is kept)
        assert [t.number for t in st.best_trials] == [0, 1, 5]


def test_several_objectives_are_written_as_a_newer_format(tmp_path):
    Study.create(tmp_path / "plain.db", SPACE, surrogate="random").close()
    Study.create(tmp_path / "two.db", SPACE, surrogate="random", outcomes=TWO).close()
    version = {name: json.loads(sqlite3.connect(tmp_path / name).execute(
        "SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0]) for name in ("plain.db", "two.db")}
    assert version == {"plain.db": 1, "two.db": 2}  # older npopt versions still open the plain one


def test_a_study_file_from_before_the_outcomes_column_opens_and_continues(tmp_path):
    path = tmp_path / "old.db"
    with Study.create(path, SPACE, surrogate="random") as st:
        (t,) = st.ask(1)
        st.tell(t.number, 2.0)
    conn = sqlite3.connect(path)  # rebuild the trials table as npopt wrote it before
    conn.executescript("""
        CREATE TABLE old AS SELECT number, state, params, value, reason, started_at, finished_at, owner FROM trials;
        DROP TABLE trials; ALTER TABLE old RENAME TO trials;""")
    conn.close()
    with Study.open(path) as st:
        assert st.trials[0].values is None and st.trials[0].to_dict()["values"] == {"value": 2.0}
        (t,) = st.ask(1)
        st.tell(t.number, 1.0)
        assert st.best.value == 1.0 and len(st.trials) == 2


def test_run_fails_a_trial_whose_result_misses_a_key(study_location):
    calls = iter([{"value": 1.0, "s": 0.5}, {"value": 1.0}, {"value": 1.0, "s": math.inf}, 3.0])
    with Study.create(study_location, SPACE, surrogate="random", outcomes=CONSTRAINED) as st:
        run(st, lambda x, y: next(calls), 4)
        states = [(t.state.value, t.reason) for t in st.trials]
    assert states[0] == ("complete", None)
    assert states[1][0] == "failed" and "missing value for 's'" in states[1][1]
    assert states[2][0] == "failed" and "s: objective returned inf" in states[2][1]
    assert states[3][0] == "failed" and "not a dict with value, s" in states[3][1]


# ---------------------------------------------------------------- Thompson sampling on the score


def test_the_score_ranks_feasible_draws_first_then_the_least_violation():
    seen = observed(CONSTRAINED, [])
    models = OutcomeModels([make_surrogate("random", 2), make_surrogate("random", 2)], seen)
    models.lower, models.upper = torch.tensor([-math.inf, -math.inf]), torch.tensor([math.inf, 0.0])
    values = torch.tensor([[5.0, -1.0], [-3.0, 0.5], [9.0, 0.0], [-9.0, 0.2]], dtype=torch.float64)
    score = models.score(values, torch.ones(1, dtype=torch.float64))
    assert torch.argsort(score).tolist() == [0, 2, 3, 1]  # feasible by objective, then by violation


def test_several_outcomes_keep_the_np_on_its_decoders_mean_alone():
    """The constant mean is measured on single-objective studies only: each outcome's NP in
    OutcomeModels encodes without it (its contexts carry no offset), a lone NP with it."""
    seen = observed(CONSTRAINED, [])
    lone = make_surrogate("np", 2)
    models = OutcomeModels([make_surrogate("np", 2), make_surrogate("np", 2)], seen)
    X = torch.rand(8, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.stack([X.sum(-1), X[:, 0] - X[:, 1]], -1)
    models.condition(X, y)
    lone.condition(X, (y[:, 0] - y[:, 0].mean()) / y[:, 0].std())
    assert all(m._ctx.offset is None for m in models.models)
    assert lone._ctx.offset is not None


def test_chebyshev_and_the_non_dominated_filter():
    u = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.6, 0.6], [0.7, 0.7]], dtype=torch.float64)
    assert non_dominated(u).tolist() == [True, True, True, False]
    w = torch.tensor([0.9, 0.1], dtype=torch.float64)
    assert int(chebyshev(u, w).argmin()) == 0  # a heavy weight on the first objective picks the point best there


def test_the_observed_bounds_follow_each_column_standardisation():
    trials = []
    for i, (v, s) in enumerate([(1.0, 0.5), (2.0, 1.5), (3.0, 2.5)]):
        trials.append(Trial(i, TrialState.COMPLETE, {"x": 0.1, "y": 0.1}, v, None, "", "", {"value": v, "s": s}))
    seen = observed(CONSTRAINED, trials)
    # the bound 1.0 lies a quarter of the way from 0.5 to 2.5: between the first two standardised values
    assert float(seen.Y[0, 1]) < float(seen.upper[1]) < float(seen.Y[1, 1])
    assert seen.objectives == 1 and math.isinf(float(seen.lower[1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constrained_thompson_sampling_beats_random_search(tmp_path, seed):
    regrets = {}
    for surrogate in ("np", "random"):
        with Study.create(tmp_path / f"{surrogate}.db", SPACE, surrogate=surrogate, seed=seed,
                          outcomes=CONSTRAINED) as st:
            run(st, constrained, 20)
            regrets[surrogate] = st.best.value - 0.18
    assert regrets["np"] < 0.01 and regrets["np"] < regrets["random"] / 3


def test_several_objective_draws_spread_along_the_front(tmp_path):
    """Each draw's own weights and ideal point: the front of 24 evaluations of ZDT1 reaches
    both ends (measured from the observed minima alone it stayed at f1 < 0.2)."""
    volumes = {}
    for surrogate in ("np", "random"):
        with Study.create(tmp_path / f"{surrogate}.db", SPACE, surrogate=surrogate, outcomes=TWO) as st:
            run(st, zdt1, 24)
            front = [(t.values["f1"], t.values["f2"]) for t in st.best_trials]
        volumes[surrogate] = hypervolume(front, (1.1, 1.1))
        if surrogate == "np":
            assert max(f1 for f1, _ in front) > 0.6 and min(f1 for f1, _ in front) < 0.1
    best = 1.1 * 1.1 - 1 / 3  # the area the true front dominates in the box: all but the 1/3 below its curve
    assert volumes["np"] > 0.9 * best and volumes["np"] > volumes["random"]


# ---------------------------------------------------------------- protocol and CLI


def test_the_protocol_tells_values_and_answers_the_front(study_location):
    with Study.create(study_location, SPACE, surrogate="random", outcomes=TWO) as st:
        asked = protocol.handle(st, json.dumps({"op": "ask", "n": 2}))["trials"]
        for trial, (f1, f2) in zip(asked, [(1.0, 2.0), (2.0, 1.0)], strict=True):
            reply = protocol.handle(st, json.dumps({"op": "tell", "number": trial["number"],
                                                    "values": {"f1": f1, "f2": f2}}))
            assert reply["ok"], reply
        bad = protocol.handle(st, json.dumps({"op": "tell", "number": 0, "value": 1, "values": {}}))
        assert bad["error"]["code"] == "bad_field"
        nan = protocol.handle(st, '{"op": "tell", "number": 0, "values": {"f1": NaN}}')
        assert nan["error"]["code"] in ("bad_value", "bad_json")
        best = protocol.handle(st, json.dumps({"op": "best"}))
        assert [t["values"] for t in best["trials"]] == [{"f1": 1.0, "f2": 2.0}, {"f1": 2.0, "f2": 1.0}]
        assert len(st.trials) == 2


def test_cli_declares_outcomes_in_a_space_file_and_tells_values(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  x: {type: float, low: 0, high: 1}\n"
                     "objectives: {loss: minimize, latency_ms: minimize}\nconstraints: {memory_gb: {max: 16}}\n")
    db = str(tmp_path / "s.db")
    asked = npopt("ask", "--study", db, "--space", str(space), "--n", "2")
    assert asked.returncode == 0, asked.stderr
    ok = npopt("tell", "--study", db, "--number", "0", "--values", "loss=0.3,latency_ms=8,memory_gb=12")
    assert ok.returncode == 0, ok.stderr
    for values, message in [("loss=0.3,memory_gb=12", "missing value for 'latency_ms'"),
                            ("loss0.3", "--values takes name=number pairs"),
                            ("loss=0.3,latency_ms=x,memory_gb=1", "values[\"latency_ms\"] must be a number")]:
        bad = npopt("tell", "--study", db, "--number", "1", "--values", values)
        assert bad.returncode == 1 and bad.stderr.startswith("Error: ") and message in bad.stderr, bad.stderr
    infeasible = npopt("tell", "--study", db, "--number", "1", "--values", "loss=0.1,latency_ms=9,memory_gb=20")
    assert infeasible.returncode == 0
    best = npopt("best", "--study", db)
    assert [json.loads(line)["number"] for line in best.stdout.splitlines()] == [0]
    other = str(tmp_path / "none.db")
    npopt("ask", "--study", other, "--space", str(space))
    npopt("tell", "--study", other, "--number", "0", "--values", "loss=0.1,latency_ms=9,memory_gb=20")
    none = npopt("best", "--study", other)
    assert none.returncode == 1 and "no trial of" in none.stderr and "complete and feasible yet" in none.stderr
    shown = npopt("show", "--study", db)
    assert "infeasible" in shown.stdout and "pareto" in shown.stdout
    records = json.loads(npopt("show", "--study", db, "--format", "json").stdout)
    assert records[1]["values"] == {"loss": 0.1, "latency_ms": 9.0, "memory_gb": 20.0}


# ---------------------------------------------------------------- plots


def test_pareto_and_history_plots_and_the_kinds_that_do_not_apply(tmp_path):
    pytest.importorskip("matplotlib")
    from npopt.display.study_plots import plot_study, study_figure
    from npopt.errors import NpoptError

    with Study.create(tmp_path / "two.db", SPACE, surrogate="random", outcomes=TWO) as two, \
            Study.create(tmp_path / "c.db", SPACE, surrogate="random", outcomes=CONSTRAINED) as con:
        run(two, zdt1, 12)
        run(con, constrained, 12)
        fig = study_figure(two, "pareto")
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert f"Pareto front ({len(two.best_trials)})" in labels
        fig = study_figure(con, "history")
        labels = fig.axes[0].get_legend_handles_labels()[1]
        assert "best so far (feasible)" in labels and "infeasible trial" in labels
        assert plot_study(two, tmp_path / "h.png", "history").stat().st_size > 0
        with pytest.raises(NpoptError, match="several objectives; plot --kind pareto or history"):
            study_figure(two, "slices")
        with pytest.raises(NpoptError, match="has one objective"):
            study_figure(con, "pareto")


def test_export_carries_every_objective_and_the_constraints_to_optuna(tmp_path):
    optuna = pytest.importorskip("optuna")
    from npopt.integration.export import Exporter

    outcomes = Outcomes.declare({"f1": "minimize", "acc": "maximize"}, {"mem": {"max": 10}})
    with Study.create(tmp_path / "s.db", SPACE, surrogate="random", outcomes=outcomes) as st:
        a, b, c = st.ask(3)
        st.tell(a.number, values={"f1": 1.0, "acc": 0.5, "mem": 12})
        st.tell(b.number, values={"f1": 2.0, "acc": 0.9, "mem": 5})
        exporter = Exporter(st, f"sqlite:///{tmp_path / 'o.db'}")
        assert exporter.export().added == 3
        st.tell(c.number, values={"f1": 0.5, "acc": 0.95, "mem": 1})
        assert exporter.export().finished == 1
    target = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'o.db'}")
    assert [d.name for d in target.directions] == ["MINIMIZE", "MAXIMIZE"] and target.metric_names == ["f1", "acc"]
    assert [t.values for t in target.trials] == [[1.0, 0.5], [2.0, 0.9], [0.5, 0.95]]
    assert [t.constraints for t in target.trials] == [{"0": 2.0}, {"0": -5.0}, {"0": -9.0}]
    assert [t.number for t in target.best_trials] == [2]  # Optuna sees the same feasible front


@pytest.mark.parametrize("first", ["minimize", "maximize"])
def test_the_pareto_staircase_turns_on_the_dominated_side(tmp_path, first):
    """Between two neighbours of the front the corner is the point both of them dominate."""
    pytest.importorskip("matplotlib")
    from npopt.display.study_plots import study_figure

    outcomes = Outcomes.declare({"a": first, "b": "minimize"})
    rows = [(0.2, 0.1), (0.8, 0.6)] if first == "maximize" else [(0.2, 0.6), (0.8, 0.1)]
    with Study.create(tmp_path / "s.db", SPACE, surrogate="random", outcomes=outcomes) as st:
        for trial, (a, b) in zip(st.ask(2), rows, strict=True):
            st.tell(trial.number, values={"a": a, "b": b})
        fig = study_figure(st, "pareto")
    line = next(x for x in fig.axes[0].get_lines() if len(x.get_xdata()) == 2)
    corner = [tuple(v) for v in line.get_path().vertices.tolist()][1]
    # minimised a: (0.8, 0.6) is dominated by both; maximised a: (0.2, 0.6) is
    assert corner == ((0.8, 0.6) if first == "minimize" else (0.2, 0.6))
