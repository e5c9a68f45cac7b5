"""The wheel bandit (Table 2): the problem, its task family, the agents and the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from npopt.benchmarks.wheel import WHEEL_MODEL, NPAgent, linfullpost, play, wheel_runs
from npopt.cli import app
from npopt.neural.checkpoints import load_model
from npopt.neural.datasets import disk_contexts, quadrant_arm, wheel_means, wheel_tasks
from npopt.neural.train import setup_from_dict, train

TINY_WHEEL = {
    "name": "tiny-wheel",
    "model": {"x_dim": 3, "d_model": 16, "n_heads": 2, "encoder_layers": 1, "decoder_hidden": 16,
              "fourier_features": 2, "spectral_features": 8, "refine_steps": 0, "max_choices": 5},
    "prior": {"x_dim": 3, "source": "wheel", "context_min": 1, "context_max": 40, "targets": 10},
    "train": {"steps": 3, "batch_size": 4, "eval_every": 3, "eval_tasks": 8, "checkpoint_every": 3,
              "warmup_steps": 1},
}


def test_the_wheel_pays_fifty_only_outside_delta_on_the_quadrant_arm():
    c = torch.tensor([[0.9, 0.1], [0.1, -0.9], [-0.9, -0.1], [-0.1, 0.9], [0.1, 0.1]], dtype=torch.float64)
    assert quadrant_arm(c).tolist() == [1, 2, 3, 4, 1]
    means = wheel_means(c, torch.tensor(0.5, dtype=torch.float64))
    for i, arm in enumerate([1, 2, 3, 4]):
        assert means[i, arm] == 50 and means[i, 0] == 1.2 and (means[i] == 50).sum() == 1
    assert means[4].tolist() == [1.2, 1.0, 1.0, 1.0, 1.0]  # inside the disk of radius delta
    points = disk_contexts((10_000,), torch.Generator().manual_seed(0))
    assert float(points.norm(dim=-1).max()) <= 1
    assert abs(float((points.norm(dim=-1) < 0.5).double().mean()) - 0.25) < 0.02  # uniform in the disk


def test_wheel_tasks_have_a_categorical_arm():
    tb = wheel_tasks(4, 30, 10, torch.Generator().manual_seed(1))
    assert tb.xc.shape == (4, 30, 3) and tb.choices.tolist() == [0, 0, 5]
    arms = (tb.xc[..., 2] * 5 - 0.5).round()
    assert set(arms.flatten().tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert float(tb.yc.max()) < 2.0 and float(tb.yc.min()) > -0.1  # log(reward) / 2


def test_linfullpost_learns_the_inner_disk_where_a_linear_model_suffices():
    delta, contexts, noise = wheel_runs((0.99,), 4, 600, seed=0)
    regret = play(linfullpost(4, 0), delta, contexts, noise)
    # inside radius 0.99 only arm 0 (1.2 vs 1.0) is best: regret 0.2 per wrong arm
    assert float(regret[:, -200:].mean()) < 0.5 * float(regret[:, :50].mean())


def test_the_np_agent_plays_and_the_cli_writes_table_2(tmp_path: Path):
    model_path = tmp_path / "w.pt"
    train(setup_from_dict(TINY_WHEEL), model_path)
    delta, contexts, noise = wheel_runs((0.5,), 2, 40, seed=0)
    regret = play(NPAgent(2, 0, load_model(model_path)[0], 40), delta, contexts, noise)
    assert regret.shape == (2, 40) and bool((regret >= 0).all())
    out = tmp_path / "wheel.json"
    result = CliRunner().invoke(app, ["benchmark", "--suite", "wheel", "--prior", str(model_path), "--repeats", "2",
                                      "--budget", "520", "--vs", "linfullpost", "--json", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    assert summary["suite"] == "wheel" and summary["steps"] == 520 and summary["repeats"] == 2
    assert list(summary["deltas"]) == ["0.5", "0.7", "0.9", "0.95", "0.99"]
    for row in summary["deltas"].values():
        assert row["uniform"]["cumulative"] == pytest.approx(100) and row["uniform"]["simple"] == pytest.approx(100)
        assert {"cumulative", "cumulative_se", "simple", "simple_se"} <= set(row["np"])
        assert set(row) >= {"np", "uniform", "linfullpost"}


@pytest.mark.parametrize(("suite", "method", "prior"), [("wheel", "gp", "np6d"), ("images", "tpe", "np1d"),
                                                       ("transfer", "linfullpost", None)])
def test_the_data_suites_refuse_methods_and_models_they_do_not_run(suite, method, prior):
    """images and wheel need a model trained on their data; each suite runs its own methods."""
    runner = CliRunner()
    result = runner.invoke(app, ["benchmark", "--suite", suite, "--vs", method])
    assert result.exit_code != 0 and f"not {method}" in result.output
    if prior is not None:
        result = runner.invoke(app, ["benchmark", "--suite", suite, "--prior", prior])
        source = "digits" if suite == "images" else suite
        assert result.exit_code != 0 and f"not trained on {source}" in result.output


@pytest.mark.skipif(not WHEEL_MODEL.exists(), reason="the shipped wheel model is committed with the suite")
def test_shipped_wheel_model_beats_uniform_by_far(tmp_path: Path):
    out = tmp_path / "wheel.json"
    proc = subprocess.run([sys.executable, "-m", "npopt", "benchmark", "--suite", "wheel", "--repeats", "2",
                           "--budget", "600", "--vs", "uniform", "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    for d, row in json.loads(out.read_text())["deltas"].items():
        assert row["np"]["cumulative"] < 50, (d, row["np"])
