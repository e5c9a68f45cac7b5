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

pytestmark = pytest.mark.skipif(len(shipped_priors()) < 2, reason="the shipped priors are not in this checkout")


def test_each_dimension_gets_the_most_specific_prior():
    assert prior_path(dim=1).stem == "np1d"  # made for exactly 1-D beats the padded 6-D prior
    for d in range(2, 7):
        assert prior_path(dim=d).stem == "np6d"
        assert make_surrogate("np", d).dim == d


def test_a_space_above_the_largest_prior_suggests_the_gp():
    with pytest.raises(NoPriorError, match=r"7-dimensional space .*d = 1, 2, 3, 4, 5, 6.*--surrogate gp"):
        make_surrogate("np", 7)


def test_npopt_run_on_seven_dimensions_says_so_and_records_nothing(tmp_path: Path):
    objective = tmp_path / "seven.py"
    objective.write_text(
        "import npopt\n"
        "space = {f'x{i}': npopt.Float(0, 1) for i in range(7)}\n"
        "def objective(**p):\n    return sum(v * v for v in p.values())\n"
    )
    study = tmp_path / "seven.db"
    proc = subprocess.run([sys.executable, "-m", "npopt", "run", str(objective), "--budget", "3", "--study", str(study)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("Error: no shipped Neural Process prior covers a 7-dimensional space")
    assert "--surrogate gp" in proc.stderr and "Traceback" not in proc.stderr
    assert not study.exists()  # refused before anything was written


def test_prior_list_shows_both_priors():
    result = CliRunner().invoke(app, ["prior", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["np1d"]["dim"] == 1 and rows["np6d"]["dim"] == 6
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
