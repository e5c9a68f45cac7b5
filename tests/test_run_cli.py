"""``npopt run`` and ``npopt show``: CliRunner, real subprocesses, and a real ``kill -9``."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import npopt
from typer.testing import CliRunner

from npopt.cli import app
from npopt.errors import StudyError
from npopt.space import Float
from npopt.study import Study
from npopt.trial import INTERRUPTED, TrialState

EXAMPLES = Path(__file__).parents[1] / "examples"
runner = CliRunner()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A temporary working directory holding a copy of the quickstart example."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLES / "quickstart.py", tmp_path / "quickstart.py")
    return tmp_path


def invoke(*args: str):
    return runner.invoke(app, list(args))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------- npopt run (CliRunner)


def test_run_creates_the_default_study_and_continues_it(in_tmp):
    result = invoke("run", "quickstart.py", "--budget", "5", "--surrogate", "random")
    assert result.exit_code == 0, result.output
    assert "Study quickstart.study.db (new) · surrogate random · seed 0" in result.stderr
    assert "Best trial (minimize)" in result.stdout and "Recent trials" in result.stdout
    assert "5 trials: 5 complete, 0 failed" in result.stdout
    assert (in_tmp / "quickstart.study.db").is_file()

    result = invoke("run", "quickstart.py", "--budget", "8")  # stored surrogate/seed reused
    assert result.exit_code == 0, result.output
    assert "(continuing, 5 finished) · surrogate random" in result.stderr
    with Study.open(in_tmp / "quickstart.study.db") as s:
        assert len(s.trials) == 8

    result = invoke("run", "quickstart.py", "--budget", "8")
    assert result.exit_code == 0 and "already has 8 finished trials (budget 8)" in result.stderr


def test_run_quiet_prints_only_the_best_as_json(in_tmp):
    result = invoke("run", "quickstart.py", "--budget", "4", "--surrogate", "random", "--quiet", "--study", "q.db")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    best = json.loads(result.stdout)
    with Study.open(in_tmp / "q.db") as s:
        assert best == s.best.to_dict()
    assert set(best) >= {"number", "state", "params", "value", "reason"}


def test_run_with_a_yaml_space_file(in_tmp):
    args = ["run", str(EXAMPLES / "objective_with_yaml.py"), "--space", str(EXAMPLES / "space.yaml")]
    result = invoke(*args, "--budget", "3", "--surrogate", "random", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["params"]["batch_size"] == 64
    assert (in_tmp / "objective_with_yaml.study.db").is_file()


def test_run_maximize_from_the_objective_file(in_tmp):
    result = invoke("run", str(EXAMPLES / "mixed.py"), "--budget", "4", "--surrogate", "random")
    assert result.exit_code == 0, result.output
    assert "Best trial (maximize)" in result.stdout
    with Study.open(in_tmp / "mixed.study.db") as s:
        assert s.best.value == max(t.value for t in s.trials)


def test_run_without_a_direction_continues_a_maximize_study(in_tmp):
    study = str(in_tmp / "shared.db")
    first = invoke("run", str(EXAMPLES / "mixed.py"), "--study", study, "--budget", "2", "--surrogate", "random")
    assert first.exit_code == 0, first.output
    plain = in_tmp / "plain.py"  # the same space, no direction
    plain.write_text((EXAMPLES / "mixed.py").read_text().replace('direction = "maximize"', ""))
    assert 'direction =' not in plain.read_text()
    again = invoke("run", str(plain), "--study", study, "--budget", "4")
    assert again.exit_code == 0, again.output
    assert "Best trial (maximize)" in again.stdout
    with Study.open(study) as s:
        assert s.direction == "maximize" and len(s.trials) == 4


FLAKY = '''
import math, time
import npopt

space = {"n": npopt.Int(0, 5)}

def objective(n):
    if n == 0:
        raise RuntimeError("no good")
    if n == 1:
        return math.nan
    if n == 2:
        time.sleep(30)
    return float(n)
'''


def test_run_failed_nan_and_timeout_trials(in_tmp):
    write(in_tmp / "flaky.py", FLAKY)
    result = invoke("run", "flaky.py", "--budget", "6", "--surrogate", "random", "--timeout", "1")
    assert result.exit_code == 0, result.output
    with Study.open(in_tmp / "flaky.study.db") as s:
        reasons = {t.params["n"]: t.reason for t in s.trials}
    assert reasons[0] == "RuntimeError: no good (flaky.py:9)"
    assert reasons[1] == "objective returned nan"
    assert reasons[2] == "timed out after 1 s"
    assert {reasons[n] for n in (3, 4, 5)} == {None}
    assert "6 trials: 3 complete, 3 failed" in result.stdout


def test_run_where_every_trial_fails_exits_1(in_tmp):
    write(in_tmp / "broken.py", "import npopt\nspace = {'x': npopt.Float(0, 1)}\ndef objective(x):\n    return 1 / 0\n")
    result = invoke("run", "broken.py", "--budget", "2", "--surrogate", "random")
    assert result.exit_code == 1
    assert "Error: no trial completed; see the reasons with: npopt show --study broken.study.db" in result.stderr


@pytest.mark.parametrize(
    "source, args, message",
    [
        (None, [], "Error: no objective file at missing.py"),
        ("import npopt\nspace = {'x': npopt.Float(0, 1)}\ndef f(x):\n    return x\n", [],
         "Error: {path} has no function 'objective'; functions defined there: f (pick one with --function NAME)"),
        ("def objective(x):\n    return x\n", [], "Error: {path} defines no `space`; add e.g."),
        ("import npopt\nspace = {'x': npopt.Float(1, 0)}\ndef objective(x):\n    return x\n", [],
         "Error: {path}: parameter 'x': low (1) must be less than high (0)"),
        ("import npopt\nspace = {'x': npopt.Float(0, 1)}\ndef objective(y):\n    return y\n", [],
         "Error: {path}: objective(y) cannot be called with the space's parameters (x)"),
        ("import npopt\nspace = {'x': npopt.Float(0, 1)}\ndirection = 'up'\ndef objective(x):\n    return x\n", [],
         "Error: {path}: direction must be 'minimize' or 'maximize', not 'up'"),
        ("import nonexistent_module_xyz\n", [],
         "Error: importing {path} failed: ModuleNotFoundError: No module named 'nonexistent_module_xyz'"),
        ("def objective(x:\n", [], "Error: {path}:1: syntax error:"),
        ("import npopt\nspace = {'x': npopt.Float(0, 1)}\ndef objective(x):\n    return x\n", ["--timeout", "0"],
         "Error: timeout must be a positive number of seconds, not 0"),
        ("import npopt\nspace = {'x': npopt.Float(0, 1)}\ndef objective(x):\n    return x\n", ["--space", "nope.yaml"],
         "Error: cannot read space file "),
    ],
)
def test_run_errors_are_one_line(in_tmp, source, args, message):
    path = in_tmp / "missing.py" if source is None else write(in_tmp / "obj.py", source)
    result = invoke("run", path.name, "--surrogate", "random", "--budget", "2", *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message.format(path=path.resolve())), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_run_refuses_to_mix_spaces_or_surrogates(in_tmp):
    assert invoke("run", "quickstart.py", "--budget", "2", "--surrogate", "random").exit_code == 0
    result = invoke("run", "quickstart.py", "--budget", "3", "--surrogate", "gp")
    assert result.exit_code == 1
    assert "created with surrogate 'random', not 'gp'" in result.stderr
    write(
        in_tmp / "quickstart.py",
        (in_tmp / "quickstart.py").read_text().replace("Float(0.0, 1.0)", "Float(0.0, 2.0)"),
    )
    result = invoke("run", "quickstart.py", "--budget", "3")
    assert result.exit_code == 1 and "holds a study over a different space (parameter 'x'" in result.stderr


CATEGORICAL = """\
import npopt
space = {"x": npopt.Float(0, 1), "kernel": npopt.Categorical(["rbf", "linear", None, True, 2])}
def objective(x, kernel):
    return (x - 0.3) ** 2 + ["rbf", "linear", None, True, 2].index(kernel) * 0.1
"""


def test_run_and_show_a_categorical_space(in_tmp):
    write(in_tmp / "cat.py", CATEGORICAL)
    result = invoke("run", "cat.py", "--budget", "12", "--surrogate", "random", "--seed", "2")
    assert result.exit_code == 0, result.output
    records = json.loads(invoke("show", "--study", "cat.study.db", "--format", "json").stdout)
    kernels = [r["params"]["kernel"] for r in records]
    assert all(any(k == c and type(k) is type(c) for c in ["rbf", "linear", None, True, 2]) for k in kernels)
    with Study.open(in_tmp / "cat.study.db") as st:
        assert [t.params["kernel"] for t in st.trials] == kernels  # JSON gives back the stored values
    table = invoke("show", "--study", "cat.study.db").stdout
    shown = {"rbf": "rbf", "linear": "linear", True: "True", 2: "2", None: "None"}
    for k in set(map(json.dumps, kernels)):
        assert f" {shown[json.loads(k)]} " in table  # as they are: no quotes; a None choice is not "-"
    assert "'rbf'" not in table and '"rbf"' not in table


@pytest.mark.parametrize(
    "space, message",
    [
        ("space:\n  x: {type: float, low: 0, high: 1}\n  kernel: {type: categorical, choices: []}\n",
         "Error: space file {path}: parameter 'kernel': a categorical needs at least one choice"),
        ("space:\n  x: {type: float, low: 0, high: 1}\n  kernel: [rbf, rbf]\n",
         "Error: space file {path}: parameter 'kernel': choice 'rbf' is listed twice"),
        ("space:\n  x: {type: float, low: 0, high: 1}\n  kernel: [rbf, {a: 1}]\n",
         "Error: space file {path}: parameter 'kernel': choice {{'a': 1}} is a dict"),
    ],
)
def test_run_refuses_a_bad_categorical_in_one_line(in_tmp, space, message):
    write(in_tmp / "obj.py", "def objective(x, kernel):\n    return x\n")
    path = write(in_tmp / "space.yaml", space)
    result = invoke("run", "obj.py", "--space", "space.yaml", "--surrogate", "random", "--budget", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith(message.format(path=path.resolve())), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (in_tmp / "obj.study.db").exists()


def test_run_with_a_yaml_categorical_and_a_one_choice_constant(in_tmp):
    write(in_tmp / "obj.py", "def objective(x, act, loss):\n    assert loss == 'l2'\n    return x + (act == 'tanh')\n")
    write(in_tmp / "space.yaml", "direction: min\nspace:\n  x: {type: float, low: 0, high: 1}\n"
                                 "  act: [relu, tanh]\n  loss: {type: choice, choices: [l2]}\n")
    result = invoke("run", "obj.py", "--space", "space.yaml", "--surrogate", "gp", "--budget", "6", "-q")
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout)
    assert best["params"]["loss"] == "l2" and best["params"]["act"] in ("relu", "tanh")


# ---------------------------------------------------------------- npopt show


def test_show_formats(in_tmp):
    invoke("run", "quickstart.py", "--budget", "3", "--surrogate", "random")
    table = invoke("show", "--study", "quickstart.study.db")
    assert table.exit_code == 0 and "3 trials: 3 complete, 0 failed" in table.stdout
    records = json.loads(invoke("show", "--study", "quickstart.study.db", "--format", "json").stdout)
    assert [r["number"] for r in records] == [0, 1, 2]
    assert set(records[0]) >= {"number", "state", "params", "value", "reason"}
    rows = list(csv.DictReader(io.StringIO(invoke("show", "--study", "quickstart.study.db", "--format", "csv").stdout)))
    assert [float(r["value"]) for r in rows] == [r["value"] for r in records]
    assert [float(r["params_x"]) for r in rows] == [r["params"]["x"] for r in records]


def test_show_missing_study(in_tmp):
    result = invoke("show", "--study", "nope.db")
    assert result.exit_code == 1 and result.stderr == "Error: no study at nope.db (the file does not exist)\n"


# ---------------------------------------------------------------- real subprocesses


def test_subprocess_run_quiet_and_show(in_tmp):
    result = npopt("run", "quickstart.py", "--budget", "4", "--surrogate", "random", "--seed", "3", "-q", cwd=in_tmp)
    assert result.returncode == 0, result.stderr
    best = json.loads(result.stdout)
    shown = json.loads(npopt("show", "--study", "quickstart.study.db", "--format", "json", cwd=in_tmp).stdout)
    assert best in shown and len(shown) == 4


SLOW = '''
import time
import npopt

space = {"x": npopt.Float(0, 1)}

def objective(x):
    time.sleep(0.15)
    return x
'''


def _complete(db: Path) -> dict[int, tuple]:
    try:
        with Study.open(db) as s:
            return {t.number: (t.params["x"], t.value) for t in s.trials if t.state is TrialState.COMPLETE}
    except StudyError:  # the first run is still writing the new file's schema
        return {}


def test_kill_9_loses_no_completed_trial_and_rerun_resumes(in_tmp):
    write(in_tmp / "slow.py", SLOW)
    db = in_tmp / "slow.study.db"
    command = [sys.executable, "-m", "npopt", "run", "slow.py", "--budget", "14", "--surrogate", "random"]
    seen: dict[int, tuple] = {}
    for target in (3, 7):  # two kills at a moment chosen by the clock, not by npopt
        proc = subprocess.Popen(command, cwd=in_tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and (not db.exists() or len(_complete(db)) < target):
            time.sleep(0.05)
        seen = _complete(db)
        proc.kill()  # SIGKILL: no cleanup, no atexit, no rollback
        proc.wait()
        after = _complete(db)
        assert len(seen) >= target
        assert seen.items() <= after.items()  # every completed trial survived, unchanged
    with Study.open(db) as s:
        left_running = sum(t.state is TrialState.RUNNING for t in s.trials)
        interrupted_before = sum(t.reason == INTERRUPTED for t in s.trials)
    assert interrupted_before + left_running <= 2

    result = subprocess.run(command, cwd=in_tmp, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    if left_running:
        assert f"Marked {left_running} trial(s) left running by a stopped process" in result.stderr
    with Study.open(db) as s:
        trials = s.trials
    assert sum(t.state is TrialState.COMPLETE for t in trials) == 14  # resumed exactly to the budget
    assert sum(t.reason == INTERRUPTED for t in trials) == interrupted_before + left_running
    assert not any(t.state is TrialState.RUNNING for t in trials)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert seen.items() <= _complete(db).items()


PLOTTED = '''
import npopt

space = {"x": npopt.Float(0, 1), "lr": npopt.Float(1e-4, 1e-1, log=True), "kind": ["a", None, True]}

def objective(x, lr, kind):
    if x > 0.97:
        raise RuntimeError("diverged")
    return (x - 0.3) ** 2 + {"a": 0.0, None: 1.0, True: 0.5}[kind]
'''


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_plot_history_slices_and_model_of_a_mixed_study(in_tmp):
    (in_tmp / "plotted.py").write_text(PLOTTED)
    assert invoke("run", "plotted.py", "--budget", "12", "-q").exit_code == 0
    for kind, extra in (("history", []), ("slices", []), ("model", []), ("model", ["--param", "kind"]),
                        ("model", ["--param", "lr"])):
        out = in_tmp / f"{kind}{len(extra)}{extra[-1] if extra else ''}.png"
        result = invoke("plot", "--study", "plotted.study.db", "--out", str(out), "--kind", kind, *extra)
        assert result.exit_code == 0, result.output
        assert _png(out), kind
    bad = invoke("plot", "--study", "plotted.study.db", "--out", "x.png", "--kind", "model", "--param", "nope")
    assert bad.exit_code == 1 and bad.stderr == "Error: unknown parameter 'nope'; choose one of x, lr, kind\n"
    assert not (in_tmp / "x.png").exists()


def test_the_model_plot_of_a_warped_study_maps_the_model_back_and_keeps_the_band_in_view(in_tmp):
    """Values with a long upper tail make the NP warp them; the model plot draws the warped
    model in the objective's units (its middle line meets the best value) and keeps the
    axis on the observations, not on the band that runs off where there is no data."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from npopt.display.study_plots import study_figure

    with Study.create(in_tmp / "tail.db", {"x": Float(0, 1), "y": Float(0, 1)}) as s:
        for _ in range(16):
            (trial,) = s.ask()
            x, y = trial.params["x"], trial.params["y"]
            s.tell(trial.number, math.exp(3 * (math.sin(3 * x) + math.sin(3 * y) + (x - 0.3) ** 2 + (y - 0.3) ** 2)))
        complete = [t for t in s.trials if t.state is TrialState.COMPLETE]
        fig = study_figure(s, "model", "x")
        assert s.surrogate.output_warp is not None
    values = [t.value for t in complete]
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    span = max(values) - min(values)
    assert low >= min(values) - 0.31 * span and high <= max(values) + 0.31 * span
    line = ax.lines[0].get_ydata()  # the model's middle line along x, the others at the best trial
    assert abs(min(line) - min(values)) < 0.25 * span
    plt.close(fig)


def test_plot_refuses_what_it_cannot_draw(in_tmp):
    missing = invoke("plot", "--study", "nope.db", "--out", "x.png")
    assert missing.exit_code == 1 and missing.stderr == "Error: no study at nope.db (the file does not exist)\n"
    with Study.create(in_tmp / "empty.db", {"x": Float(0, 1)}, surrogate="random") as s:
        s.ask()
    empty = invoke("plot", "--study", "empty.db", "--out", "x.png")
    assert empty.exit_code == 1 and "no complete trial to plot yet" in empty.stderr
    (in_tmp / "plotted.py").write_text(PLOTTED)
    assert invoke("run", "plotted.py", "--budget", "3", "--surrogate", "random", "-q").exit_code == 0
    model = invoke("plot", "--study", "plotted.study.db", "--out", "x.png", "--kind", "model")
    assert model.exit_code == 1 and "random-search study has no model" in model.stderr
    assert invoke("plot", "--study", "plotted.study.db", "--out", "h.png").exit_code == 0  # history still works


def test_the_acquisition_is_a_study_setting_kept_by_later_commands(in_tmp):
    result = invoke("run", "quickstart.py", "--budget", "6", "--acquisition", "logei")
    assert result.exit_code == 0, result.output
    # a later command without the flag continues with the stored rule; a different one is refused
    assert invoke("run", "quickstart.py", "--budget", "7").exit_code == 0
    refused = invoke("run", "quickstart.py", "--budget", "8", "--acquisition", "thompson")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "Error: quickstart.study.db was created with acquisition 'logei', not 'thompson'; leave acquisition unset "
        "to continue it, or use another study path"
    )
    records = json.loads(invoke("show", "--study", "quickstart.study.db", "--format", "json").stdout)
    assert len(records) == 7
    # random search has no predictive: refused before any file is written
    space = in_tmp / "space.yaml"
    space.write_text("space:\n  x: {type: float, low: 0, high: 1}\n")
    refused = invoke("ask", "--study", "r.db", "--space", "space.yaml", "--surrogate", "random",
                     "--acquisition", "logei")
    assert refused.exit_code == 1 and not (in_tmp / "r.db").exists()
    assert refused.stderr.strip() == (
        "Error: random search has no predictive for --acquisition logei; use --surrogate np or gp"
    )
