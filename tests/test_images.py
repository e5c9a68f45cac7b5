"""Image completion (Figure 4): the digits task family, training on it, and the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from npopt.benchmarks.images import DIGITS_MODEL, image_tasks
from npopt.cli import app
from npopt.neural.datasets import PIXELS, digit_images, digit_tasks, pixel_inputs, to_intensity
from npopt.neural.priors import oracle_log_likelihood
from npopt.neural.train import setup_from_dict, train

TINY_DIGITS = {
    "name": "tiny-digits",
    "model": {"x_dim": 2, "d_model": 16, "n_heads": 2, "encoder_layers": 1, "decoder_hidden": 16,
              "fourier_features": 2, "spectral_features": 8, "refine_steps": 0, "max_choices": 0},
    "prior": {"x_dim": 2, "source": "digits", "context_min": 1, "context_max": 64},
    "train": {"steps": 4, "batch_size": 4, "eval_every": 2, "eval_tasks": 8, "checkpoint_every": 2,
              "warmup_steps": 1},
}


def test_training_and_held_out_images_never_overlap():
    train_images, held_out = digit_images(), digit_images(held_out=True)
    assert train_images.shape == (1500, PIXELS) and held_out.shape == (297, PIXELS)
    seen = {tuple(row.tolist()) for row in train_images}
    # sklearn's digits hold a few exact duplicates; no held-out image row is a training row by index
    assert sum(tuple(row.tolist()) in seen for row in held_out) < 5


def test_a_digit_task_is_its_image_on_the_fixed_scale():
    g = torch.Generator().manual_seed(0)
    tb = digit_tasks(3, 10, g)
    assert tb.xc.shape == (3, 10, 2) and tb.xt.shape == (3, PIXELS, 2) and tb.yt.shape == (3, PIXELS)
    assert torch.equal(tb.xt[0], pixel_inputs())
    assert float(tb.yt.min()) >= -1 and float(tb.yt.max()) <= 1
    # the context is a subset of the image's own pixels, values included
    for b in range(3):
        for x, y in zip(tb.xc[b], tb.yc[b], strict=True):
            i = int(((x - pixel_inputs()).abs().sum(-1) < 1e-12).nonzero())
            assert tb.yt[b, i] == y
    # dequantised values round back to the integer intensities
    intensities = to_intensity(tb.yt)
    assert torch.allclose(intensities, intensities.round(), atol=0.5)
    assert torch.isnan(oracle_log_likelihood(tb)[0]).all()  # data has no true kernel
    with pytest.raises(ValueError, match="1..64"):
        digit_tasks(1, 65, g)


def test_a_digits_config_needs_two_inputs():
    bad = {**TINY_DIGITS, "model": {**TINY_DIGITS["model"], "x_dim": 3}, "prior": {**TINY_DIGITS["prior"], "x_dim": 3}}
    with pytest.raises(Exception, match="x_dim: 2"):
        setup_from_dict(bad)


def test_train_on_digits_writes_a_model_that_scores_held_out_images(tmp_path: Path):
    result = train(setup_from_dict(TINY_DIGITS), tmp_path / "d.pt")
    assert result["step"] == 4 and result["eval"]["np_target_ll"] == result["eval"]["np_target_ll"]  # not nan
    out = tmp_path / "images.json"
    cli = CliRunner().invoke(app, ["benchmark", "--suite", "images", "--prior", str(tmp_path / "d.pt"),
                                   "--vs", "np-prior", "--functions", "3", "--json", str(out)])
    assert cli.exit_code == 0, cli.output
    summary = json.loads(out.read_text())
    assert summary["suite"] == "images" and summary["images"] == 3
    assert list(summary["context_sizes"]) == ["5", "10", "20", "40", "64"]
    assert all(set(row) == {"np", "np-prior"} for row in summary["context_sizes"].values())


def test_contexts_are_nested_and_reproducible():
    values, order, _ = image_tasks(4, seed=3)
    again, order2, _ = image_tasks(4, seed=3)
    assert torch.equal(values, again) and torch.equal(order, order2)
    assert sorted(order[0].tolist()) == list(range(PIXELS))  # the 10-pixel context extends the 5


@pytest.mark.skipif(not DIGITS_MODEL.exists(), reason="the shipped digits model is committed with the suite")
def test_shipped_digits_model_completes_images_better_with_more_context(tmp_path: Path):
    out, png = tmp_path / "images.json", tmp_path / "figure4.png"
    proc = subprocess.run([sys.executable, "-m", "npopt", "benchmark", "--suite", "images", "--vs", "gp",
                           "--functions", "20", "--json", str(out), "--plot", str(png)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    sizes = json.loads(out.read_text())["context_sizes"]
    np_ll = [sizes[n]["np"] for n in ("5", "10", "20", "40", "64")]
    assert np_ll == sorted(np_ll), np_ll  # converging as the context grows
    assert png.stat().st_size > 10_000
