"""Studies: opening, ask/tell transactions, pending/failed points, determinism, run().

Every test that keeps a study runs on both storages, ``[sqlite]`` and ``[postgres]`` (the
``study_location`` / ``new_location`` fixtures of conftest.py); the few about the SQLite file
itself sit in their own section, marked SQLite only."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from npopt.errors import NpoptError, StudyError, TrialError
from npopt.runner import run
from npopt.space import Categorical, Float, Int, Space
from npopt.storage import is_url, parse
from npopt.study import Study
from npopt.surrogates.base import Surrogate
from npopt.trial import INTERRUPTED, TrialState

SPACE = {"x": Float(-2, 2)}


def quadratic(x):
    return (x - 0.5) ** 2


@pytest.fixture
def study(study_location):
    with Study.create(study_location, SPACE, surrogate="random", seed=1) as s:
        yield s


def _shown(location: Path | str) -> Path | str:
    """What a study calls its location: the file, or the URL without its password."""
    return parse(location)[2] if is_url(location) else location


def _edit_by_hand(location: Path | str, number: int, params: dict) -> None:
    """Overwrite a trial's params behind npopt's back, as a person editing the database would."""
    if not is_url(location):
        with sqlite3.connect(location) as conn:
            conn.execute("UPDATE trials SET params = ? WHERE number = ?", (json.dumps(params), number))
        return
    import psycopg

    conninfo, name, _ = parse(location)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("UPDATE npopt_trials SET params = %s WHERE study = %s AND number = %s",
                     (json.dumps(params), name, number))


# ---------------------------------------------------------------- opening


def test_create_then_open_keeps_settings(study_location):
    Study.create(study_location, SPACE, direction="maximise", surrogate="gp", seed=7).close()
    with Study.open(study_location) as s:
        assert (s.space, s.direction, s.surrogate_name, s.seed) == (Space(SPACE), "maximize", "gp", 7)
        assert s.path == _shown(study_location) and s.trials == [] and s.best is None
        assert s._storage.meta()["format_version"] == 1


def test_create_refuses_an_existing_study(study_location):
    Study.create(study_location, SPACE, surrogate="random").close()
    with pytest.raises(StudyError, match="already holds a study"):
        Study.create(study_location, SPACE, surrogate="random")


def test_open_or_create_refuses_a_different_space(study_location):
    path = study_location
    Study.open_or_create(path, SPACE, surrogate="random").close()
    with Study.open_or_create(path, {"x": Float(-2, 2)}) as s:  # same space: fine
        assert s.surrogate_name == "random"
    with pytest.raises(StudyError, match=r"different space \(parameter 'x': stored .* given"):
        Study.open_or_create(path, {"x": Float(-2, 3)})
    with pytest.raises(StudyError, match="parameter 'y' is new"):
        Study.open_or_create(path, {"x": Float(-2, 2), "y": Int(0, 3)})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"surrogate": "gp"}, "created with surrogate 'random', not 'gp'"),
        ({"seed": 3}, "created with seed 0, not 3"),
        ({"direction": "maximize"}, "created with direction 'minimize', not 'maximize'"),
    ],
)
def test_open_or_create_refuses_other_settings(study_location, kwargs, message):
    path = study_location
    Study.open_or_create(path, SPACE, surrogate="random").close()
    with pytest.raises(StudyError, match=message):
        Study.open_or_create(path, SPACE, **kwargs)


def test_open_or_create_without_space_needs_a_study(study_location):
    for _ in range(2):  # the first refusal created nothing
        with pytest.raises(StudyError, match="no study( '.*')? at"):
            Study.open_or_create(study_location)
    Study.create(study_location, SPACE, surrogate="random").close()


def test_unknown_surrogate_writes_nothing(study_location):
    with pytest.raises(NpoptError, match="unknown surrogate 'svm'"):
        Study.create(study_location, SPACE, surrogate="svm")
    with pytest.raises(StudyError, match="no study"):  # for a file: "(the file does not exist)"
        Study.open(study_location)


# ---------------------------------------------------------------- ask / tell


def test_ask_commits_running_trials_visible_to_other_connections(study, study_location):
    (trial,) = study.ask()
    assert trial.state is TrialState.RUNNING and trial.number == 0 and -2 <= trial.params["x"] <= 2
    with Study.open(study_location) as other:
        assert other.trials == [trial]
        done = other.tell(trial.number, 1.5)  # another process may finish the trial
    assert done.state is TrialState.COMPLETE and done.value == 1.5 and done.finished_at
    assert study.trials == [done]
    assert done.to_dict().keys() == {"number", "state", "params", "value", "values", "reason", "started_at",
                                     "finished_at"}
    assert done.to_dict()["values"] == {"value": 1.5}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1.0", None, True, [1.0]])
def test_tell_refuses_bad_values(study, value):
    (trial,) = study.ask()
    with pytest.raises(TrialError) as info:
        study.tell(trial.number, value)
    assert info.value.code == "bad_value"
    assert study.trials[0].state is TrialState.RUNNING  # nothing recorded


def test_tell_errors(study):
    (trial,) = study.ask()
    with pytest.raises(TrialError) as info:
        study.tell(99, 1.0)
    assert info.value.code == "unknown_trial"
    with pytest.raises(TrialError) as info:
        study.tell(trial.number, 1.0, state="running")
    assert info.value.code == "bad_state"
    study.tell(trial.number, state="failed", reason="cuda oom")
    with pytest.raises(TrialError) as info:
        study.tell(trial.number, 2.0)
    assert info.value.code == "already_finished" and "already failed (cuda oom)" in str(info.value)
    assert study.trials[0].reason == "cuda oom" and study.trials[0].value is None


def test_best_follows_direction(new_location):
    for direction, expected in (("minimize", -1.0), ("maximize", 3.0)):
        with Study.create(new_location(direction), SPACE, direction=direction, surrogate="random") as s:
            for value in (0.5, 3.0, -1.0):
                s.tell(s.ask()[0].number, value)
            s.tell(s.ask()[0].number, state="failed", reason="x")
            assert s.best.value == expected


def test_ask_n_gives_distinct_points_and_avoids_pending(study):
    first = study.ask(4)
    assert [t.number for t in first] == [0, 1, 2, 3]
    second = study.ask(4)
    xs = [t.params["x"] for t in first + second]
    assert len(set(xs)) == 8
    assert min(abs(a - b) for i, a in enumerate(xs) for b in xs[i + 1 :]) > 1e-3


def test_integer_space_never_repeats_a_point_until_exhausted(study_location):
    with Study.create(study_location, {"n": Int(0, 11)}, surrogate="random") as s:
        seen = []
        for _ in range(3):
            batch = s.ask(4)
            seen += [t.params["n"] for t in batch]
            for t in batch[:2]:
                s.tell(t.number, float(t.params["n"]))  # half complete, half still running
        assert sorted(seen) == list(range(12))
        assert len(s.ask(2)) == 2  # exhausted: still answers


def test_recently_failed_points_are_not_suggested_again(study_location):
    with Study.create(study_location, {"n": Int(0, 3)}, surrogate="random") as s:
        (bad,) = s.ask()
        s.tell(bad.number, state="failed", reason="crash")
        for _ in range(3):
            (t,) = s.ask()
            assert t.params != bad.params
            s.tell(t.number, 1.0)


def test_ask_budget_caps_new_trials(study):
    assert len(study.ask(3, budget=2)) == 2
    assert study.ask(1, budget=2) == []


# ---------------------------------------------------------------- categorical parameters

CHOICES = ["rbf", None, True, 2, 0.5]


@pytest.mark.parametrize("surrogate", ["random", "np"])  # the mixed GP is covered in test_surrogates (30 s here)
def test_categorical_values_reach_the_objective_and_come_back_exactly(study_location, surrogate):
    seen = []

    def objective(x, k, n, c):
        seen.append(k)
        assert c == "const"
        return (x - 0.3) ** 2 + CHOICES.index(k) * 0.1 + (k is None) * 0.01 + n * 0.01

    space = {"x": Float(0, 1), "k": Categorical(CHOICES), "n": Int(0, 3), "c": ["const"]}
    with Study.create(study_location, space, surrogate=surrogate, seed=2) as s:
        run(s, objective, 12)
        trials = s.trials
    assert all(t.state is TrialState.COMPLETE for t in trials), [t.reason for t in trials]
    assert [t.params["k"] for t in trials] == seen
    for t in trials:  # the choice itself, with its JSON type: None stays null, True a boolean
        assert any(t.params["k"] == c and type(t.params["k"]) is type(c) for c in CHOICES)
    assert len({json.dumps(t.params["k"]) for t in trials}) >= 3
    with Study.open(study_location) as s:
        assert s.space.params["k"].choices == CHOICES
        assert [t.params for t in s.trials] == [t.params for t in trials]


def test_a_categorical_space_never_repeats_a_point_until_exhausted(study_location):
    space = {"k": ["a", "b", "c"], "flag": [True, False], "one": [None]}
    with Study.create(study_location, space, surrogate="random") as s:
        seen = []
        for _ in range(3):
            batch = s.ask(2)
            seen += [(t.params["k"], t.params["flag"]) for t in batch]
            assert all(t.params["one"] is None for t in batch)
            s.tell(batch[0].number, 1.0)  # one complete, one still running
        assert sorted(seen) == sorted((k, f) for k in "abc" for f in (True, False))


def test_a_stored_value_that_is_not_a_choice_is_named(study_location):
    path = study_location
    with Study.create(path, {"k": ["a", "b"], "x": Float(0, 1)}, surrogate="random") as s:
        (t,) = s.ask()
        s.tell(t.number, 1.0)
    _edit_by_hand(path, 0, {"k": "c", "x": 0.5})
    with Study.open(path) as s, pytest.raises(NpoptError) as info:
        s.ask()
    assert "trial 0 is damaged (parameter 'k': 'c' is not one of its choices; use one of 'a', 'b')" in str(info.value)
    with Study.open(path) as s:
        assert len(s._storage.trials()) == 1  # nothing recorded is lost (the row is there to repair)


def test_study_refuses_another_choice_list(study_location):
    path = study_location
    Study.create(path, {"k": [1, 0]}, surrogate="random").close()
    Study.open_or_create(path, {"k": [1.0, 0.0]}).close()  # the same numbers
    with pytest.raises(StudyError, match=r"different space \(parameter 'k': stored"):
        Study.open_or_create(path, {"k": [True, False]})


class _Bowl(Surrogate):
    """A surrogate with differentiable paths: every draw is ``|u - target|^2``."""

    has_paths = True

    def __init__(self, target):
        import torch

        self.target = torch.tensor(target, dtype=torch.float64)
        self.polished = 0

    def condition(self, X, y):
        pass

    def paths(self, n, generator):
        bowl = self

        class Paths:
            def draw(self, i, x):
                bowl.polished += 1
                return ((x - bowl.target) ** 2).sum(-1)

            def __call__(self, x):
                return self.draw(0, x).expand(n, -1)

        return Paths()

    def sample(self, candidates, n_draws, generator):
        return self.paths(n_draws, generator)(candidates)


def test_float_int_space_is_polished_and_ints_stay_integers(study_location, monkeypatch):
    """Regression: the study passed snapped candidates, which read as a fixed grid, so a
    space with an Int was never polished."""
    import npopt.surrogates

    bowl = _Bowl([0.31337, 0.62])  # n = 6 in Int(0, 9): slice [0.6, 0.7)
    monkeypatch.setattr(npopt.surrogates, "make_surrogate", lambda name, dim, choices=None, **kw: bowl)
    with Study.create(study_location, {"x": Float(0, 1), "n": Int(0, 9)}, surrogate="random") as s:
        s.tell(s.ask()[0].number, 1.0)  # one observation, wherever it is (a draw can't be centred on it)
        (t,) = s.ask()
    assert bowl.polished > 15
    assert t.params["n"] == 6 and type(t.params["n"]) is int
    assert abs(t.params["x"] - 0.31337) < 1e-3  # finer than the candidate set reaches


# ---------------------------------------------------------------- SQLite only: the study file itself


def test_a_study_file_is_an_sqlite_database_in_wal_mode(tmp_path):
    path = tmp_path / "s.db"
    Study.create(path, SPACE, surrogate="random").close()
    meta = dict(sqlite3.connect(path).execute("SELECT key, value FROM meta"))
    assert json.loads(meta["format_version"]) == 1
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_missing_or_foreign_files(tmp_path):
    with pytest.raises(StudyError, match=f"no study at {tmp_path / 'nope.db'}"):
        Study.open(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()  # opening never creates
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database" * 100)
    with pytest.raises(StudyError, match="junk.db is not an npopt study"):
        Study.open(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (a)")
    with pytest.raises(StudyError, match="other.db is not an npopt study"):
        Study.open(other)
    with pytest.raises(StudyError, match="not an npopt study"):
        Study.create(other, SPACE, surrogate="random")


_FORMAT_1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (
    number INTEGER PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    params TEXT NOT NULL, value REAL, reason TEXT, started_at TEXT NOT NULL, finished_at TEXT, owner TEXT
);
"""


def test_a_study_file_written_before_categoricals_still_opens(tmp_path):
    """A file as npopt 0.1.0 wrote it (format 1, float/int/fixed only) opens, reads and continues."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(_FORMAT_1_SCHEMA)
    meta = {
        "format_version": 1, "created_at": "2024-05-01T10:00:00.000+00:00", "npopt_version": "0.1.0",
        "space": {"x": {"type": "float", "low": -2.0, "high": 2.0, "log": False},
                  "n": {"type": "int", "low": 1, "high": 8, "log": True}, "batch": {"type": "fixed", "value": 64}},
        "direction": "maximize", "surrogate": "random", "seed": 4,
    }
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
    conn.executemany(
        "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(0, "complete", json.dumps({"x": 0.5, "n": 2, "batch": 64}), 1.5, None, "t0", "t1", None),
         (1, "failed", json.dumps({"x": -1.0, "n": 8, "batch": 64}), None, "boom", "t2", "t3", None)],
    )
    conn.commit()
    conn.close()
    with Study.open(path) as s:
        assert s.space == Space({"x": Float(-2, 2), "n": Int(1, 8, log=True), "batch": 64})
        assert (s.direction, s.surrogate_name, s.seed) == ("maximize", "random", 4)
        assert s.best.number == 0 and s.trials[1].reason == "boom"
        (t,) = s.ask()
        s.tell(t.number, 2.0)
        assert s.best.number == t.number and set(t.params) == {"x", "n", "batch"}


# ---------------------------------------------------------------- interrupted trials

ASK_AND_DIE = """
import sys
from npopt.study import Study
with Study.open(sys.argv[1]) as s:
    s.ask(1)
    s.ask(1, detached=True)
"""


def test_mark_interrupted_only_touches_trials_of_dead_processes(study, study_location):
    subprocess.run([sys.executable, "-c", ASK_AND_DIE, str(study_location)], check=True)
    (mine,) = study.ask()  # whoever asks next fails the dead process's own trial
    assert study.mark_interrupted() == 0  # nothing left to mark: the ask did
    states = {t.number: (t.state, t.reason) for t in study.trials}
    assert states[0] == (TrialState.FAILED, INTERRUPTED)
    assert states[1] == states[mine.number] == (TrialState.RUNNING, None)  # detached / alive
    assert study.mark_interrupted(all_running=True) == 2
    assert study.ask(1, budget=1)  # interrupted trials do not count towards a budget


# ---------------------------------------------------------------- determinism


def _points(location, surrogate, seed, budget):
    with Study.create(location, {"x": Float(0, 1), "n": Int(1, 5)}, surrogate=surrogate, seed=seed) as s:
        run(s, lambda x, n: (x - 0.3) ** 2 + 0.1 * n, budget)
        return [t.params for t in s.trials]


@pytest.mark.parametrize("surrogate, budget", [("random", 8), ("gp", 5)])
def test_same_seed_same_points(new_location, surrogate, budget):
    a = _points(new_location("a"), surrogate, 5, budget)
    assert a == _points(new_location("b"), surrogate, 5, budget)
    assert a[:2] != _points(new_location("c"), "random", 6, 2)  # another seed, other points


def test_same_seed_same_points_np(new_location):
    spec = {"x": Float(0, 1)}
    runs = []
    for name in ("a", "b"):
        with Study.create(new_location(name), spec, surrogate="np", seed=3) as s:
            run(s, lambda x: (x - 0.3) ** 2, 6)
            runs.append([t.params for t in s.trials])
    assert runs[0] == runs[1]


# ---------------------------------------------------------------- run()


def test_run_records_failures_and_goes_on(study_location):
    outcomes = iter([ValueError("boom"), math.nan, math.inf, None, "abc", 1.0, 2.0])

    def objective(x):
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return out

    with Study.create(study_location, SPACE, surrogate="random") as s:
        summary = run(s, objective, 7)
        reasons = [t.reason for t in s.trials]
        assert summary.best.value == 1.0
    assert summary.finished == 7 and summary.failed == 5 and not summary.stopped_by_user
    assert reasons[0].startswith("ValueError: boom (test_study.py:")
    assert reasons[1:5] == [
        "objective returned nan",
        "objective returned inf",
        "objective returned None (expected a number)",
        "objective returned str 'abc' (expected a number)",
    ]
    assert len(summary.ask_seconds) == 7


def test_run_continues_to_the_budget(study):
    assert run(study, quadratic, 3).finished == 3
    summary = run(study, quadratic, 5)
    assert summary.finished_before == 3 and len(summary.trials) == 2 and len(study.trials) == 5
    assert run(study, quadratic, 5).trials == []


def test_ctrl_c_records_the_trial_as_interrupted(study):
    calls = []

    def objective(x):
        calls.append(x)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return x

    summary = run(study, objective, 10)
    assert summary.stopped_by_user
    states = [(t.state, t.reason) for t in study.trials]
    assert states == [(TrialState.COMPLETE, None)] * 2 + [(TrialState.FAILED, INTERRUPTED)]
    assert run(study, quadratic, 4).finished == 4  # the interrupted trial does not count


SLOW = '''
import time
import npopt

space = {"x": npopt.Float(0, 1)}

def objective(x):
    if x > 0.5:
        time.sleep(60)
    return x
'''


def test_timeout_kills_the_evaluation(tmp_path, study_location):
    import time

    from npopt.objective import load_objective

    (tmp_path / "slow.py").write_text(SLOW)
    objective = load_objective(tmp_path / "slow.py")
    with Study.create(study_location, objective.space, surrogate="random", seed=2) as s:
        start = time.perf_counter()
        summary = run(s, objective, 6, timeout=0.5)
        elapsed = time.perf_counter() - start
        trials = s.trials
    slow = [t for t in trials if t.params["x"] > 0.5]
    assert slow and all(t.reason == "timed out after 0.5 s" for t in slow)
    assert all(t.state is TrialState.COMPLETE for t in trials if t.params["x"] <= 0.5)
    assert summary.finished == 6 and elapsed < 30


def test_timeout_needs_a_picklable_objective(study):
    with pytest.raises(NpoptError, match="cannot run the objective in a worker process"):
        run(study, lambda x: x, 2, timeout=1.0)
    assert study.trials[0].reason == INTERRUPTED  # not left running


def test_bad_budget(study):
    with pytest.raises(NpoptError, match="budget must be a non-negative integer"):
        run(study, quadratic, -1)


# ---------------------------------------------------------------- two processes, one study

WORKER = """
import sys, time
from npopt.study import Study
with Study.open(sys.argv[1]) as s:
    for _ in range(int(sys.argv[2])):
        (t,) = s.ask()
        time.sleep(0.02)  # keep it running while the other process asks
        s.tell(t.number, float(t.params["n"]))
"""


def _workers(path, worker: str, processes: int, asks: int, timeout: float) -> list:
    """Run ``processes`` copies of ``worker`` on the study at ``path`` (a file or a URL); its trials after."""
    procs = [
        subprocess.Popen([sys.executable, "-c", worker, str(path), str(asks)], stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    for p in procs:
        assert p.wait(timeout=timeout) == 0, p.stderr.read()
    with Study.open(path) as s:
        trials = s.trials
    assert len(trials) == processes * asks and all(t.state is TrialState.COMPLETE for t in trials)
    return trials


def test_two_processes_sharing_a_study_never_get_the_same_point(study_location):
    path = study_location
    Study.create(path, {"n": Int(0, 29)}, surrogate="random").close()
    trials = _workers(path, WORKER, 2, 15, 120)
    assert sorted(t.params["n"] for t in trials) == list(range(30))  # every point exactly once


def test_four_processes_on_one_study_get_distinct_points_and_lose_no_tell(study_location):
    """The suggestion is computed outside the lock and settled under it: with a real
    surrogate (a GP fit per ask) four workers still never share a point."""
    path = study_location
    Study.create(path, {"a": Int(0, 9), "b": Int(0, 9)}, surrogate="gp", seed=3).close()
    worker = WORKER.replace('float(t.params["n"])', 'float((t.params["a"] - 3) ** 2 + (t.params["b"] - 6) ** 2)')
    trials = _workers(path, worker, 4, 10, 600)
    assert len({(t.params["a"], t.params["b"]) for t in trials}) == 40


def _slow_asker() -> str:
    """benchmarks/tell_latency.py's program that asks with a 4 s surrogate fit."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "tell_latency.py"
    spec = importlib.util.spec_from_file_location("tell_latency", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SLOW_ASKER


def test_tell_is_not_blocked_by_another_process_asking(study_location):
    import time

    path = study_location
    with Study.create(path, {"x": Float(0, 1)}, surrogate="random", seed=0) as s:
        for _ in range(3):
            (t,) = s.ask()
            s.tell(t.number, t.params["x"])
        (pending,) = s.ask()
        slow = subprocess.Popen([sys.executable, "-c", _slow_asker(), str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert slow.stdout.readline().strip() == "fitting", slow.stderr.read()
        start = time.perf_counter()
        s.tell(pending.number, 0.5)  # while the other process is inside its ask
        seconds = time.perf_counter() - start
        assert slow.poll() is None  # it was still fitting
        out, err = slow.communicate(timeout=60)
        assert slow.returncode == 0, err
    assert seconds < 1.0  # under the old lock this waited the whole 4 s fit
    with Study.open(path) as s:
        trials = s.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4 + [TrialState.RUNNING]
    assert out.split() == ["asked", "4"]


def test_a_point_taken_while_suggesting_is_replaced_by_an_alternative(study_location):
    """settle() redoes the exclusion against trials the snapshot did not hold."""
    from npopt.suggest import settle, suggest

    path = study_location
    with Study.create(path, {"n": Int(0, 5)}, surrogate="random", seed=2) as s:
        snapshot = s.trials
        suggestion = suggest(s.space, s.direction, s.surrogate, snapshot, 1, s.seed)
        first = settle(s.space, suggestion, snapshot)[0]
        # another process takes exactly that point before this one settles
        with s._storage.transaction() as conn:
            s._storage.insert_running(conn, [first], None)
        again = settle(s.space, suggestion, s.trials)[0]
    assert again != first and 0 <= again["n"] <= 5


# ---------------------------------------------------------------- no study: the same on both storages


def test_public_api_exports():
    import npopt

    for name in npopt.__all__:
        assert getattr(npopt, name) is not None
    assert npopt.Study is Study and npopt.run is run


def test_example_objectives_load():
    from npopt.objective import load_objective

    examples = Path(__file__).parents[1] / "examples"
    quick = load_objective(examples / "quickstart.py")
    assert quick(x=0.757249) == pytest.approx(-6.020740, abs=1e-5)
    mixed = load_objective(examples / "mixed.py")
    assert mixed.direction == "maximize" and mixed.space.dim == 3
    assert mixed(dropout=0.2, lr=3e-3, layers=5) == pytest.approx(1.0)
    svc = load_objective(examples / "svc.py")
    assert svc.direction == "maximize" and svc.space.choices == (4, 0, 0, 0, 0, 2)
    accuracy = svc(kernel="linear", C=1.0, gamma=0.1, degree=3, coef0=0.0, shrinking=True)
    assert 0.9 < accuracy <= 1.0
    yaml_objective = load_objective(examples / "objective_with_yaml.py", space_file=examples / "space.yaml")
    assert yaml_objective(x=0.5, lr=1e-3, layers=4, batch_size=64) == pytest.approx(0.0)


def test_a_logei_study_keeps_its_rule_and_a_study_without_one_uses_thompson(new_location):
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}
    location = new_location("logei")
    with Study.create(location, space, surrogate="np", seed=3, acquisition="logei") as study:
        assert study.acquisition == "logei" and study.surrogate.acquisition.rule == "logei"
        for _ in range(6):
            (trial,) = study.ask()
            study.tell(trial.number, (trial.params["x"] - 0.3) ** 2 + (trial.params["y"] - 0.6) ** 2)
    with Study.open(location) as study:
        assert study.acquisition == "logei" and len(study.trials) == 6
    with pytest.raises(StudyError, match="created with acquisition 'logei', not 'thompson'"):
        Study.open_or_create(location, acquisition="thompson")
    with Study.create(new_location("plain"), space) as study:  # as every study made before the setting
        assert study.acquisition == "thompson" and study.surrogate.acquisition.rule == "thompson"


def test_a_run_tells_the_acquisition_how_many_evaluations_remain(tmp_path, monkeypatch):
    """``run --budget`` knows its budget: each suggestion is told the evaluations left (the
    end of a known budget may be spent differently, ``AcquisitionOptions.final_logei``)."""
    import npopt.suggest

    seen, real = [], npopt.suggest.suggest

    def recording(*args, **kwargs):
        seen.append(args[6] if len(args) > 6 else kwargs.get("remaining"))
        return real(*args, **kwargs)

    monkeypatch.setattr(npopt.suggest, "suggest", recording)
    with Study.create(tmp_path / "s.db", Space({"x": Float(0, 1)}), surrogate="random", seed=0) as study:
        run(study, lambda x: (x - 0.3) ** 2, budget=4)
        assert seen == [4, 3, 2, 1]
        study.ask()
        assert seen[-1] is None  # an ask without a budget: unknown
