"""The priors shipped in the package: which serves which dimension, and the no-prior error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from npopt.cli import app
from npopt.errors import NoPriorError
from npopt.neural.checkpoints import prior_path, shipped_priors
from npopt.surrogates import make_surrogate


def test_each_space_gets_the_most_specific_prior():
    assert prior_path(dim=1).stem == "np1d"  # made for exactly 1-D beats the padded priors
    for d in range(2, 7):
        assert prior_path(dim=d).stem == "np6d"
        assert make_surrogate("np", d).dim == d
    for d in range(7, 17):
        assert prior_path(dim=d).stem == "np16d"
    # any categorical parameter needs the prior with categorical inputs, whatever d is
    for d in (1, 3, 16):
        choices = (0,) * (d - 1) + (5,)
        assert prior_path(dim=d, choices=5).stem == "np16d"
        assert make_surrogate("np", d, choices=choices).checkpoint.stem == "np16d"


def test_a_space_above_the_largest_prior_suggests_the_gp():
    with pytest.raises(NoPriorError, match=r"17-dimensional space .*d = 1, 2, .*, 16\).*--surrogate gp"):
        make_surrogate("np", 17)
    with pytest.raises(NoPriorError, match=r"13 choices but the shipped Neural Process priors serve at most 12; "
                                           r"use --surrogate gp"):
        make_surrogate("np", 2, choices=(0, 13))


def test_npopt_run_on_seventeen_dimensions_says_so_and_records_nothing(tmp_path: Path):
    objective = tmp_path / "seventeen.py"
    objective.write_text(
        "import npopt\n"
        "space = {f'x{i}': npopt.Float(0, 1) for i in range(17)}\n"
        "def objective(**p):\n    return sum(v * v for v in p.values())\n"
    )
    study = tmp_path / "seventeen.db"
    proc = subprocess.run(
        [sys.executable, "-m", "npopt", "run", str(objective), "--budget", "3", "--study", str(study)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("Error: no shipped Neural Process prior covers a 17-dimensional space")
    assert "--surrogate gp" in proc.stderr and "Traceback" not in proc.stderr
    assert not study.exists()  # refused before anything was written


def test_prior_list_shows_every_prior():
    result = CliRunner().invoke(app, ["prior", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["np1d"]["dim"] == 1 and rows["np6d"]["dim"] == 6 and rows["np16d"]["dims"] == "1-16"
    assert rows["np16d"]["categorical"] == "up to 12 choices" and rows["np6d"]["categorical"] == "no"
    assert rows["np1d"]["steps"] == 10000 and "paper-rbf" in rows["np1d"]["families"]


def test_shipped_checkpoints_carry_exactly_their_committed_configs():
    """`npopt train npopt/neural/configs/NAME.yaml` reproduces the shipped model settings."""
    import yaml

    from npopt.neural.checkpoints import load_model
    from npopt.neural.model import NPConfig

    configs = Path(__file__).parents[1] / "npopt" / "neural" / "configs"
    for path in shipped_priors():
        committed = yaml.safe_load((configs / f"{path.stem}.yaml").read_text())
        model, ck = load_model(path)
        assert model.config == NPConfig.from_dict(committed["model"]), path.stem
        assert ck["step"] == committed["train"]["steps"]


def test_prior_eval_refine_steps(tmp_path: Path):
    runner = CliRunner()
    out = runner.invoke(app, ["prior", "eval", "np1d", "--tasks", "4", "--refine-steps", "3"])
    assert out.exit_code == 1
    assert out.output.strip() == "Error: prior np1d has no ARD lengthscales to refine; drop --refine-steps"
    for steps, expected in ((None, 60), (0, 0)):
        args = ["prior", "eval", "np6d", "--dim", "3", "--tasks", "8", "--json", str(tmp_path / "e.json")]
        out = runner.invoke(app, args + ([] if steps is None else ["--refine-steps", str(steps)]))
        assert out.exit_code == 0, out.output
        data = json.loads((tmp_path / "e.json").read_text())
        assert data["refine_steps"] == expected and data["dim"] == 3 and data["tasks"] == 8
        assert -5 < data["np_target_ll"] < data["oracle_target_ll"] + 1


def test_npopt_run_tunes_a_mixed_space_with_the_shipped_prior(tmp_path: Path):
    """End to end, in a real process: floats, an int and categoricals through np16d."""
    objective = tmp_path / "mixed.py"
    objective.write_text(
        "import npopt\n"
        "space = {'x': npopt.Float(-2, 2), 'lr': npopt.Float(1e-4, 1e-1, log=True), 'k': npopt.Int(1, 9),\n"
        "         'opt': npopt.Categorical(['sgd', 'adam', None]), 'flag': npopt.Categorical([True, False])}\n"
        "def objective(x, lr, k, opt, flag):\n"
        "    return (x - 0.5) ** 2 + (k - 4) ** 2 / 10 + {'sgd': 1.0, 'adam': 0.0, None: 2.0}[opt] + 0.5 * flag\n"
    )
    study = tmp_path / "mixed.db"
    proc = subprocess.run([sys.executable, "-m", "npopt", "run", str(objective), "--budget", "14", "--seed", "0",
                           "--study", str(study), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    best = json.loads(proc.stdout)
    shown = subprocess.run([sys.executable, "-m", "npopt", "show", "--study", str(study), "--format", "json"],
                           capture_output=True, text=True, timeout=120)
    records = json.loads(shown.stdout)
    assert len(records) == 14 and all(r["state"] == "complete" for r in records)
    assert {r["params"]["opt"] for r in records} <= {"sgd", "adam", None}
    assert all(isinstance(r["params"]["k"], int) and isinstance(r["params"]["flag"], bool) for r in records)
    assert best["value"] == min(r["value"] for r in records)


def test_prior_eval_mixed_needs_a_prior_with_categorical_inputs():
    out = CliRunner().invoke(app, ["prior", "eval", "np6d", "--dim", "2", "--mixed", "--tasks", "4"])
    assert out.exit_code == 1
    assert out.output.strip() == "Error: prior np6d has no categorical inputs; drop --mixed or use np16d"


def test_prior_eval_mixed_and_continuous_tasks(tmp_path: Path):
    for flag in ("--mixed", "--continuous"):
        path = tmp_path / f"{flag[2:]}.json"
        out = CliRunner().invoke(
            app, ["prior", "eval", "np16d", "--dim", "3", flag, "--tasks", "8", "--json", str(path)]
        )
        assert out.exit_code == 0, out.output
        data = json.loads(path.read_text())
        assert data["mixed"] is (flag == "--mixed") and data["tasks"] == 8 and data["dim"] == 3
        assert data["np_target_ll"] < data["oracle_target_ll"] + 1.0


def test_prior_eval_through_a_widened_basis(tmp_path: Path):
    results = {}
    for extra in ([], ["--features", "256"]):
        path = tmp_path / f"e{len(extra)}.json"
        out = CliRunner().invoke(
            app, ["prior", "eval", "np16d", "--dim", "7", "--continuous", "--tasks", "4", "--json", str(path), *extra]
        )
        assert out.exit_code == 0, out.output
        results[len(extra)] = json.loads(path.read_text())
    assert results[0]["features"] == 128 and results[2]["features"] == 256
    assert results[0]["oracle_target_ll"] == results[2]["oracle_target_ll"]  # the same tasks
    assert results[0]["np_target_ll"] != results[2]["np_target_ll"]  # another basis
    out = CliRunner().invoke(app, ["prior", "eval", "np1d", "--features", "64", "--tasks", "4"])
    assert out.exit_code == 1
    assert out.output.strip() == "Error: prior np1d has a fixed basis, not random ARD frequencies; drop --features"


def test_prior_plot_draws_the_shipped_1d_prior(tmp_path: Path):
    out = tmp_path / "draws.png"
    result = CliRunner().invoke(app, ["prior", "plot", "np1d", "--out", str(out), "--context", "3,6", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = CliRunner().invoke(app, ["prior", "plot", "np16d", "--out", str(tmp_path / "x.png")])
    assert refused.exit_code != 0 and "1-D priors only" in refused.output
