"""Meta-training and the NP commands: determinism, resume, Ctrl-C, config errors, --help."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from npopt.cli import app
from npopt.errors import ConfigError
from npopt.neural.checkpoints import load_model
from npopt.neural.train import setup_from_dict, train

TINY = {
    "name": "tiny",
    "model": {"x_dim": 1, "d_model": 16, "n_heads": 2, "encoder_layers": 1, "decoder_hidden": 16,
              "fourier_features": 3, "spectral": "fixed", "spectral_features": 4, "refine_steps": 0,
              "summary_max_points": 0, "max_choices": 0},
    "prior": {"families": [{"name": "rbf", "kernel": "rbf",
                            "lengthscale": {"dist": "uniform", "low": 0.1, "high": 0.3}}],
              "context_max": 10, "targets": 10},
    "train": {"steps": 12, "batch_size": 4, "warmup_steps": 2, "eval_every": 6, "eval_tasks": 8,
              "checkpoint_every": 6, "seed": 0, "threads": 1},
}


def write_config(tmp_path: Path, **train_overrides) -> Path:
    cfg = json.loads(json.dumps(TINY))
    cfg["train"].update(train_overrides)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def weights(path: Path) -> dict:
    return load_model(path)[0].state_dict()


def test_training_is_deterministic_for_a_seed(tmp_path: Path):
    setup = setup_from_dict(TINY)
    train(setup, tmp_path / "a.pt")
    train(setup, tmp_path / "b.pt")
    wa, wb = weights(tmp_path / "a.pt"), weights(tmp_path / "b.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    other = setup_from_dict({**TINY, "train": {**TINY["train"], "seed": 1}})
    train(other, tmp_path / "c.pt")
    wc = weights(tmp_path / "c.pt")
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_interrupt_then_resume_equals_an_uninterrupted_run(tmp_path: Path):
    setup = setup_from_dict(TINY)
    train(setup, tmp_path / "full.pt")

    def interrupt_at_7(info: dict) -> None:
        if info["step"] == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(setup, tmp_path / "resumed.pt", on_step=interrupt_at_7)
    assert load_model(tmp_path / "resumed.pt")[1]["step"] == 7  # saved on the interrupt
    with pytest.raises(Exception, match="different config"):
        train(setup_from_dict({**TINY, "name": "other"}), tmp_path / "resumed.pt", resume=True)
    train(setup, tmp_path / "resumed.pt", resume=True)
    wf, wr = weights(tmp_path / "full.pt"), weights(tmp_path / "resumed.pt")
    assert load_model(tmp_path / "resumed.pt")[1]["step"] == 12
    assert all(torch.equal(wf[k], wr[k]) for k in wf)


def test_config_errors_name_the_problem(tmp_path: Path):
    with pytest.raises(ConfigError, match="unknown setting.*hidden_size"):
        setup_from_dict({**TINY, "model": {"hidden_size": 3}})
    with pytest.raises(ConfigError, match="unknown kernel 'cosine'"):
        setup_from_dict({**TINY, "prior": {"families": [{"name": "x", "kernel": "cosine"}]}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    result = CliRunner().invoke(app, ["train", str(bad), "--out", str(tmp_path / "o.pt")])
    assert result.exit_code == 1 and "bad.yaml is not valid YAML" in result.output


def test_train_cli_writes_a_checkpoint_and_resumes(tmp_path: Path):
    cfg, out = write_config(tmp_path), tmp_path / "cli.pt"
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(cfg), "--out", str(out), "--steps", "6"])
    assert result.exit_code == 0, result.output
    assert "Saved" in result.output and "held-out ll" in result.output
    result = runner.invoke(app, ["train", str(cfg), "--out", str(out), "--steps", "6", "--resume"])
    assert result.exit_code == 0, result.output
    assert load_model(out)[1]["step"] == 6
    result = runner.invoke(app, ["prior", "eval", str(out), "--tasks", "8", "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["tasks"] == 8 and data["np_target_ll"] < data["oracle_target_ll"] + 1.0
    assert {"np_target_ll", "oracle_target_ll", "tasks", "np_joint_ll", "oracle_joint_ll"} <= set(data)


def test_ctrl_c_leaves_a_usable_checkpoint(tmp_path: Path):
    cfg = write_config(tmp_path, steps=100000, checkpoint_every=100000, eval_every=100000)
    out = tmp_path / "interrupted.pt"
    proc = subprocess.Popen([sys.executable, "-m", "npopt", "train", str(cfg), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)  # import + a few hundred steps (6 s was too short on a loaded machine: no step yet)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "checkpoint saved" in err
    model, ckpt = load_model(out)
    assert ckpt["step"] > 0 and os.path.exists(str(out) + ".resume")


def test_a_first_ctrl_c_stops_training_between_steps_and_a_second_at_once():
    """A SIGINT raised inside the progress bar's update, while it holds its lock, can hang
    the bar's exit (the likely cause of a CI run that waited 60 s after Ctrl-C); the first
    Ctrl-C now only asks the loop to stop."""
    from npopt.neural.train import ctrl_c_between_steps

    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_between_steps() as stop_requested:
        assert not stop_requested()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs between bytecodes
        assert stop_requested()  # asked, not raised
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert signal.getsignal(signal.SIGINT) is before


def all_commands():
    import typer.main

    group = typer.main.get_command(app)

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if not subs:
            yield path
            return
        yield path
        for name, sub in subs.items():
            yield from walk(sub, path + [name])

    return [p for p in walk(group, [])]


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "npopt")
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(app, path + ["--help"])
    assert result.exit_code == 0, result.output
    if path and path != ["prior"]:  # every command's help ends with a runnable example of itself
        example = "npopt " + " ".join(path) + " "  # e.g. "Example: my_client | npopt serve ..."
        shown = " ".join(result.output.split())
        assert "Example: " in shown and example in shown[shown.index("Example: "):], \
            f"npopt {' '.join(path)} --help lacks an example of itself"


def test_help_does_not_import_torch():
    code = "import sys; from npopt.cli import app; sys.argv=['npopt','--help']\n" \
           "try:\n  app()\nexcept SystemExit: pass\nprint('torch' in sys.modules, 'botorch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().endswith("False False"), out
