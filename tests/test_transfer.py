"""Learning from past studies: ``npopt train --from-studies`` and ``--prior MY.pt``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from npopt import Categorical, Float, Space
from npopt.cli import app
from npopt.neural.checkpoints import read_checkpoint
from npopt.study import Study

SPACE = Space({"x": Float(0, 1), "y": Float(-1, 1), "kind": Categorical(["a", "b"])})


def past_study(path: Path, shift: float, n: int = 12, failed: int = 0, space: Space = SPACE) -> Path:
    """A finished random-search study of one member of a family of related functions."""
    with Study.create(path, space, surrogate="random", seed=int(shift * 100)) as study:
        for trial in study.ask(n + failed):
            if failed:
                study.tell(trial.number, state="failed", reason="diverged")
                failed -= 1
                continue
            p = trial.params
            value = (p["x"] - shift) ** 2 + 0.3 * p.get("y", 0) ** 2 + (0.5 if p.get("kind") == "b" else 0.0)
            study.tell(trial.number, value)
    return path


def test_fine_tuning_records_the_studies_and_the_space(tmp_path: Path):
    paths = [past_study(tmp_path / f"week{i}.db", 0.2 + 0.1 * i, failed=1 if i == 0 else 0) for i in range(4)]
    paths.append(past_study(tmp_path / "tiny.db", 0.5, n=3))
    out = tmp_path / "mine.pt"
    result = CliRunner().invoke(app, ["train", "--from-studies", *map(str, paths), "--base", "np16d",
                                      "--out", str(out), "--steps", "6", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "tiny.db: 3 complete trials" in result.output and "skipped" in result.output
    assert "base" in result.output and "result" in result.output and "steps kept" in result.output
    transfer = read_checkpoint(out)["transfer"]
    assert Space.from_dict(transfer["space"]) == SPACE and transfer["base"] == "np16d"
    studies = {s["file"]: s for s in transfer["studies"]}
    assert set(studies) == {"week0.db", "week1.db", "week2.db", "week3.db"}
    assert studies["week0.db"]["complete"] == 12 and studies["week0.db"]["trials"] == 13  # the failed one skipped
    assert sum(s["held_out"] for s in studies.values()) == 1  # a fifth of four studies, at least one
    assert transfer["held_out_ll"]["on"] == "1 held-out study"
    assert transfer["validation"][0]["step"] == 0 and transfer["validation"][-1]["step"] == 6
    assert transfer["kept_steps"] in (0, 6) and transfer["verdict"].split(":")[0] in ("learned", "no gain")
    assert f"Saved {out}: {transfer['verdict']}" in result.output


def test_studies_over_different_spaces_are_refused_naming_the_difference(tmp_path: Path):
    a = past_study(tmp_path / "a.db", 0.3)
    other = Space({"x": Float(0, 1), "y": Float(-1, 2), "kind": Categorical(["a", "b"])})
    b = past_study(tmp_path / "b.db", 0.4, space=other)
    result = CliRunner().invoke(app, ["train", "--from-studies", str(a), str(b), "--out", str(tmp_path / "m.pt")])
    assert result.exit_code != 0 and "another space" in result.output and "'y'" in result.output
    assert not (tmp_path / "m.pt").exists()


def test_only_tiny_studies_is_a_clear_error(tmp_path: Path):
    a = past_study(tmp_path / "a.db", 0.3, n=2)
    result = CliRunner().invoke(app, ["train", "--from-studies", str(a), "--out", str(tmp_path / "m.pt")])
    assert result.exit_code != 0 and "nothing to learn from" in result.output


def test_a_fine_tuned_prior_runs_studies_of_its_space_and_refuses_others(tmp_path: Path):
    paths = [past_study(tmp_path / f"s{i}.db", 0.3 + 0.05 * i) for i in range(3)]
    prior = tmp_path / "mine.pt"
    assert CliRunner().invoke(app, ["train", "--from-studies", *map(str, paths), "--out", str(prior),
                                    "--steps", "3"]).exit_code == 0
    objective = tmp_path / "objective.py"
    objective.write_text(
        "from npopt import Categorical, Float\n"
        "space = {'x': Float(0, 1), 'y': Float(-1, 1), 'kind': Categorical(['a', 'b'])}\n"
        "def objective(x, y, kind):\n    return (x - 0.33) ** 2 + 0.3 * y * y + (0.5 if kind == 'b' else 0)\n"
    )
    run = subprocess.run([sys.executable, "-m", "npopt", "run", str(objective), "--budget", "5", "--prior", str(prior),
                          "--study", str(tmp_path / "new.db"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["state"] == "complete"
    with Study.open(tmp_path / "new.db") as study:
        assert study.prior == str(prior.resolve()) and len(study.trials) == 5
    # another space: refused before anything is written
    space_file = tmp_path / "other.yaml"
    space_file.write_text("space:\n  x: {type: float, low: 0, high: 1}\n")
    ask = subprocess.run([sys.executable, "-m", "npopt", "ask", "--study", str(tmp_path / "other.db"), "--space",
                          str(space_file), "--prior", str(prior)], capture_output=True, text=True, timeout=300)
    assert ask.returncode != 0 and "fine-tuned for another space" in ask.stderr
    assert "Traceback" not in ask.stderr and not (tmp_path / "other.db").exists()


def test_train_without_from_studies_takes_one_config(tmp_path: Path):
    result = CliRunner().invoke(app, ["train", "a.yaml", "b.yaml", "--out", str(tmp_path / "m.pt")])
    assert result.exit_code != 0 and "--from-studies" in result.output
    result = CliRunner().invoke(app, ["train", "--from-studies", "a.db", "--resume", "--out", str(tmp_path / "m.pt")])
    assert result.exit_code != 0 and "starts afresh" in result.output


@pytest.mark.parametrize("surrogate", ["gp", "random"])
def test_prior_needs_the_np(tmp_path: Path, surrogate: str):
    space_file = tmp_path / "s.yaml"
    space_file.write_text("space:\n  x: {type: float, low: 0, high: 1}\n")
    result = CliRunner().invoke(app, ["ask", "--study", str(tmp_path / "s.db"), "--space", str(space_file),
                                      "--surrogate", surrogate, "--prior", "np16d"])
    assert result.exit_code != 0 and "needs --surrogate np" in result.output


def test_the_transfer_suite_writes_regret_at_5_10_and_25_per_family(tmp_path: Path):
    from npopt.benchmarks.transfer import FAMILIES, DigitKRR, DigitSGD, run_transfer, split_pairs

    training, held_out = split_pairs()
    assert len(training) == 36 and not set(training) & set(held_out)
    problem = DigitKRR(*held_out[0])
    good, bad = problem.value({"alpha": 1e-3, "gamma": 1e-2}), problem.value({"alpha": 10.0, "gamma": 10.0})
    assert good < bad  # a real tuning task: a sensible setting beats a silly one
    sgd = DigitSGD(*held_out[0])
    assert sgd.dim == 5 and FAMILIES["digits-svc"].task(*held_out[0]).choices[0] == 3  # 5 params; a categorical
    assert sgd.value({"alpha": 1e-4, "l1_ratio": 0.1, "eta0": 0.1, "power_t": 0.5, "epochs": 20}) < sgd.value(
        {"alpha": 1.0, "l1_ratio": 0.9, "eta0": 1e-4, "power_t": 1.0, "epochs": 1})
    summary = run_transfer(tmp_path / "cache", repeats=2, steps=2, methods=("np", "np-transfer", "random"),
                           pairs=(training[:3], held_out[:1]), families=("digits-svc",), counts=(2, 36))
    assert set(summary["families"]) == {"digits-svc"} and summary["counts"] == [2, 3]
    for family, entry in summary["families"].items():
        assert set(entry["budgets"]) == {"5", "10", "25"}
        for row in entry["budgets"].values():
            assert set(row) == {"np", "np-transfer-2", "np-transfer-3", "random"}
            assert all(0 <= v["mean"] <= 1 and v["stderr"] >= 0 for v in row.values())
        assert len(list((tmp_path / "cache" / family).glob("study_*.db"))) == 3  # real study files
        assert set(entry["fine_tune"]) == {"2", "3"}
        assert all(ft["verdict"].split(":")[0] in ("learned", "no gain") for ft in entry["fine_tune"].values())
        mean = entry["curves"]["random"]["mean"]
        assert all(a >= b for a, b in zip(mean, mean[1:], strict=False))  # best-so-far regret never rises


def test_the_benchmark_refuses_a_prior_fine_tuned_for_one_space(tmp_path: Path):
    paths = [past_study(tmp_path / f"s{i}.db", 0.3 + 0.05 * i) for i in range(2)]
    prior = tmp_path / "mine.pt"
    assert CliRunner().invoke(app, ["train", "--from-studies", *map(str, paths), "--out", str(prior),
                                    "--steps", "2"]).exit_code == 0
    result = CliRunner().invoke(app, ["benchmark", "--suite", "synthetic", "--prior", str(prior)])
    assert result.exit_code != 0 and "fine-tuned on studies over one space" in result.output


def test_studies_with_the_same_file_name_in_different_folders(tmp_path: Path):
    paths = []
    for i in range(3):
        (tmp_path / f"week{i}").mkdir()
        paths.append(past_study(tmp_path / f"week{i}" / "lab.db", 0.2 + 0.1 * i))
    out = tmp_path / "mine.pt"
    result = CliRunner().invoke(app, ["train", "--from-studies", *map(str, paths), "--out", str(out), "--steps", "2"])
    assert result.exit_code == 0, result.output
    studies = read_checkpoint(out)["transfer"]["studies"]
    assert [s["file"] for s in studies] == ["lab.db"] * 3 and sum(s["held_out"] for s in studies) == 1


def test_the_checkpoint_kept_is_the_best_on_the_held_out_studies_and_the_base_wins_ties():
    import torch

    from npopt.neural.transfer import best_checkpoint

    base = torch.randn(200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert best_checkpoint([base, base + 0.3, base + 0.5, base + 0.4]) == 2  # early stopping: the best, not the last
    assert best_checkpoint([base, base - 0.2, base - 0.4]) == 0  # every step hurts: the base
    assert best_checkpoint([base, base, base + 0.1, base + 0.1]) == 2  # equals: the fewest steps


def test_fine_tuning_keeps_the_checkpoint_the_held_out_studies_choose(tmp_path: Path):
    """A related family: the held-out study's log-likelihood rises, so steps are kept and the
    written weights are the chosen checkpoint's, not the base's; the summary says so."""
    import torch

    from npopt.neural.checkpoints import load_model, prior_path

    paths = [past_study(tmp_path / f"w{i}.db", 0.2 + 0.1 * i, n=30) for i in range(5)]
    out = tmp_path / "mine.pt"
    result = CliRunner().invoke(app, ["train", "--from-studies", *map(str, paths), "--out", str(out), "--steps", "50"])
    assert result.exit_code == 0, result.output
    transfer = read_checkpoint(out)["transfer"]
    lls = {v["step"]: v["held_out_ll"] for v in transfer["validation"]}
    assert set(lls) == {0, 50} and transfer["kept_steps"] == 50
    assert transfer["held_out_ll"]["after"] == lls[transfer["kept_steps"]] > lls[0] == transfer["held_out_ll"]["before"]
    assert "learned: +" in result.output and "nats/point on 1 held-out study" in result.output
    model, _ = load_model(out)
    base, _ = load_model(prior_path(None, dim=SPACE.dim, choices=2))
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values(),
                                                      strict=True))


def test_with_one_study_the_base_prior_is_kept_and_said(tmp_path: Path):
    import torch

    from npopt.neural.checkpoints import load_model, prior_path

    out = tmp_path / "mine.pt"
    result = CliRunner().invoke(app, ["train", "--from-studies", str(past_study(tmp_path / "one.db", 0.3)),
                                      "--out", str(out), "--steps", "5"])
    assert result.exit_code == 0, result.output
    assert "no gain" in result.output and "kept the base prior" in result.output
    ckpt = read_checkpoint(out)
    assert ckpt["transfer"]["kept_base"] and ckpt["transfer"]["kept_steps"] == 0 and "kept" in ckpt["name"]
    model, _ = load_model(out)
    base, _ = load_model(prior_path(None, dim=SPACE.dim, choices=2))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values(), strict=True))
