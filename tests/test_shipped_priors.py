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
