"""Hostile and careless input: each case is one that lost data, printed a traceback, hung or
leaked a password before (issue 30), and each asserts what a user must see instead: one
``Error: ...`` line naming the problem, and every acknowledged trial still there."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import npopt
from hostile_inputs import alias_bomb
from pg_cluster import PASSWORD
from serve_client import ROOT, Server, write_space

import npopt as np_
from npopt.errors import CheckpointError, ConfigError, SpaceError, StudyError
from npopt.space import Float, Int, Space, read_space_file


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single ``Error: ...`` line of a failed command (no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def make_study(location, n: int = 3, surrogate: str = "random") -> None:
    with np_.Study.create(location, {"x": Float(0.0, 1.0)}, surrogate=surrogate, seed=0) as st:
        for _ in range(n):
            (t,) = st.ask()
            st.tell(t.number, (t.params["x"] - 0.3) ** 2)


# ---------------------------------------------------------------- data loss


def test_a_study_file_copied_after_kill_9_holds_every_told_trial(tmp_path):
    """The trials must be in the .db file itself, not only in its -wal."""
    study = tmp_path / "live.db"
    script = textwrap.dedent(f"""
        import os, signal
        import npopt
        st = npopt.Study.create({str(study)!r}, {{"x": npopt.Float(0.0, 1.0)}}, surrogate="random", seed=0)
        for _ in range(5):
            (t,) = st.ask()
            st.tell(t.number, t.params["x"])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    backup = tmp_path / "backup.db"
    shutil.copyfile(study, backup)  # the file alone, as `cp` does
    with np_.Study.open(backup) as st:
        assert [t.state.value for t in st.trials] == ["complete"] * 5


def test_npopt_copy_takes_a_consistent_copy_of_a_live_study(tmp_path):
    objective = tmp_path / "slow.py"
    objective.write_text("import time, npopt\nspace = {'x': npopt.Float(0.0, 1.0)}\n"
                         "def objective(x):\n    time.sleep(0.02)\n    return x\n")
    study = tmp_path / "live.db"
    make_study(study, n=1)
    worker = subprocess.Popen(
        [sys.executable, "-m", "npopt", "run", str(objective), "--study", str(study), "--budget", "60",
         "--surrogate", "random"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = []
    try:
        for i in range(6):
            result = npopt("copy", "--study", str(study), "--to", str(tmp_path / f"c{i}.db"))
            assert result.returncode == 0, result.stderr
            with np_.Study.open(tmp_path / f"c{i}.db") as st:
                counts.append(sum(t.state.value == "complete" for t in st.trials))
    finally:
        assert worker.wait(120) == 0
    assert counts == sorted(counts) and counts[-1] >= 1
    assert list(tmp_path.glob("c*.db-wal")) == []  # each copy is one self-contained file
    line = one_error_line(npopt("copy", "--study", str(study), "--to", str(tmp_path / "c0.db")))
    assert "already exists" in line


@pytest.mark.parametrize("command", [
    ["train", "--from-studies", "{a}", "{b}", "--out", "{b}"],
    ["train", "--from-studies", "{a}", "{b}", "--out", "{c}"],
    ["prior", "eval", "np1d", "--tasks", "1", "--json", "{b}"],
    ["benchmark", "--suite", "gp1d", "--functions", "1", "--json", "{b}"],
    ["benchmark", "--suite", "gp1d", "--functions", "1", "--runs", "{b}"],
    ["plot", "--study", "{a}", "--out", "{b}"],
    ["plot", "--study", "{a}", "--out", "{a}"],
])
def test_an_output_never_overwrites_a_study(tmp_path, command):
    paths = {k: tmp_path / f"{k}.db" for k in "abc"}
    for p in paths.values():
        make_study(p)
    before = {k: p.read_bytes() for k, p in paths.items()}
    line = one_error_line(npopt(*[part.format(**paths) for part in command], timeout=120))
    assert "refusing to overwrite" in line or "also an input" in line
    assert {k: p.read_bytes() for k, p in paths.items()} == before


def test_train_refuses_a_directory_and_zero_steps(tmp_path):
    config = ROOT / "npopt" / "neural" / "configs" / "np1d.yaml"
    assert "is a directory" in one_error_line(npopt("train", str(config), "--out", str(tmp_path)))
    line = one_error_line(npopt("train", str(config), "--out", str(tmp_path / "x.pt"), "--steps", "0"))
    assert "--steps must be at least 1" in line


def test_fine_tuning_refuses_a_study_given_twice(tmp_path):
    make_study(tmp_path / "a.db")
    line = one_error_line(npopt("train", "--from-studies", str(tmp_path / "a.db"), str(tmp_path / "a.db"),
                                "--out", str(tmp_path / "m.pt")))
    assert "given twice" in line
    assert not (tmp_path / "m.pt").exists()


def test_a_refused_ask_creates_no_study_file(tmp_path):
    line = one_error_line(npopt("ask", "--study", str(tmp_path / "n0.db"), "--space", str(write_space(tmp_path)),
                                "--n", "0"))
    assert "--n must be from 1 to 256" in line
    assert not (tmp_path / "n0.db").exists()


@pytest.mark.parametrize("where, message", [("file.db/x.db", "is a file, not a folder"), (".", "is a directory")])
def test_a_study_path_that_cannot_be_a_file_is_one_line(tmp_path, where, message):
    (tmp_path / "file.db").write_text("")
    line = one_error_line(npopt("ask", "--study", str(tmp_path / where), "--space", str(write_space(tmp_path))))
    assert message in line


def test_plot_writes_exactly_the_file_it_names(tmp_path):
    pytest.importorskip("matplotlib")
    study = tmp_path / "p.db"
    make_study(study, n=4)
    result = npopt("plot", "--study", str(study), "--out", str(tmp_path / "noext"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "noext").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "noext.png").exists()


def test_serve_answers_bad_study_once_its_file_is_deleted(tmp_path):
    study = tmp_path / "del.db"
    server = Server(study, write_space(tmp_path))
    try:
        (trial,) = server.ok({"op": "ask"})["trials"]
        server.ok({"op": "tell", "number": trial["number"], "value": 1.0})
        for p in tmp_path.glob("del.db*"):
            p.unlink()
        for request in ({"op": "ask"}, {"op": "tell", "number": trial["number"], "value": 2.0}, {"op": "trials"}):
            reply = server.send(request)
            assert reply["ok"] is False and reply["error"]["code"] == "bad_study", reply
            assert "deleted or replaced" in reply["error"]["message"]
    finally:
        server.kill()


def test_a_replaced_study_file_is_not_written_by_the_old_connection(tmp_path):
    study = tmp_path / "s.db"
    make_study(study, n=2)
    other = tmp_path / "other.db"
    make_study(other, n=1)
    with np_.Study.open(study) as st:
        os.replace(other, study)  # `mv other.db s.db` under a live process
        with pytest.raises(StudyError, match="deleted or replaced"):
            st.ask()
    with np_.Study.open(study) as st:
        assert len(st.trials) == 1  # the replacement, untouched


HOSTILE_OBJECTIVE = """\
import sys
import npopt

space = {"x": npopt.Float(0.0, 1.0)}
calls = []


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message")


def objective(x):
    calls.append(x)
    case = len(calls) % 5
    if case == 1:
        return 10**400
    if case == 2:
        raise GeneratorExit
    if case == 3:
        raise Unprintable()
    if case == 4:
        sys.exit(0)
    return x
"""


@pytest.mark.parametrize("timeout", [None, "30"])
def test_a_hostile_objective_fails_its_trials_and_the_run_meets_its_budget(tmp_path, timeout):
    objective = tmp_path / "obj.py"
    objective.write_text(HOSTILE_OBJECTIVE)
    study = tmp_path / "o.db"
    args = ["run", str(objective), "--study", str(study), "--budget", "10", "--surrogate", "random"]
    result = npopt(*args, *(["--timeout", timeout] if timeout else []), timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    with np_.Study.open(study) as st:
        reasons = [t.reason for t in st.trials if t.state.value == "failed"]
        assert len(st.trials) == 10 and len(reasons) == 8
    assert sum("beyond the float range" in r for r in reasons) == 2
    assert sum(r.startswith("GeneratorExit") for r in reasons) == 2
    assert sum("could not be printed" in r for r in reasons) == 2
    assert sum("sys.exit() called" in r for r in reasons) == 2


# ---------------------------------------------------------------- studies edited outside npopt


def _tamper(location, what: str) -> None:
    """Edit a study's rows as a careless person with an SQL shell would."""
    st = np_.Study.open(location)
    storage, mark = st._storage, st._storage.PLACEHOLDER
    where, args = storage._where(number=0)
    trials = {"params_not_json": ("params", "{oops"), "params_not_an_object": ("params", "[1, 2]"),
              "params_missing": ("params", "{}"), "params_out_of_bounds": ("params", '{"x": 7.5, "layers": 4}'),
              "owner_not_json": ("owner", "[1")}
    with storage.transaction() as conn:
        if what in trials:
            column, text = trials[what]
            conn.execute(f"UPDATE {storage.TRIALS} SET {column} = {mark}{where}", (text, *args))
        elif what == "value_not_a_number":
            conn.execute(f"UPDATE {storage.TRIALS} SET value = 'abc'{where}", args)
        else:
            meta = dict(storage.meta())
            if what == "meta_not_json":
                text = None
            elif what == "meta_direction":
                meta["direction"] = 3
            elif what == "meta_space":
                meta["space"] = {"x": {"type": "float", "low": 1, "high": 0}}
            elif what == "meta_surrogate":
                meta["surrogate"] = "nope"
            if hasattr(storage, "study"):
                conn.execute(f"UPDATE npopt_studies SET meta = {mark} WHERE name = {mark}",
                             ("{x" if what == "meta_not_json" else json.dumps(meta), storage.study))
            elif what == "meta_not_json":
                conn.execute("UPDATE meta SET value = '{x' WHERE key = 'space'")
            else:
                key = what.split("_", 1)[1]
                conn.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(meta[key]), key))
    st.close()


@pytest.mark.parametrize("what", ["params_not_json", "params_not_an_object", "params_missing",
                                  "params_out_of_bounds", "owner_not_json", "value_not_a_number", "meta_not_json",
                                  "meta_direction", "meta_space", "meta_surrogate"])
def test_a_study_edited_outside_npopt_is_one_clear_error(study_location, tmp_path, what):
    if what == "value_not_a_number" and not isinstance(study_location, Path):
        pytest.skip("PostgreSQL's DOUBLE PRECISION column refuses text: the damage cannot happen there")
    space = {"x": Float(-2.0, 2.0), "layers": Int(1, 8)}
    with np_.Study.create(study_location, space, surrogate="random", seed=0) as st:
        (t,) = st.ask()
        st.tell(t.number, 1.5)
    _tamper(study_location, what)
    for command in (["show", "--format", "json"], ["ask"]):
        line = one_error_line(npopt(*command[:1], "--study", str(study_location), *command[1:]))
        assert "damaged" in line, (command, line)


# ---------------------------------------------------------------- a study broken for good


@pytest.mark.parametrize("surrogate", ["np", "gp"])
def test_values_near_the_float_maximum_leave_the_study_usable(study_location, surrogate):
    space = {"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}
    with np_.Study.create(study_location, space, surrogate=surrogate, seed=0) as st:
        for value in (1.7e308, 1.7e308, -1.7e308, 0.5, 3.0):
            (t,) = st.ask()
            st.tell(t.number, value)
        (t,) = st.ask()
        assert all(0.0 <= t.params[k] <= 1.0 for k in space)
        assert st.best.value == -1.7e308


@pytest.mark.parametrize("spec, message", [
    (lambda: Float(-1.7e308, 1.7e308), "wider than the largest float"),
    (lambda: Int(0, 10**400), "must be finite"),
    (lambda: Float(0, 10**400), "must be finite"),
])
def test_bounds_beyond_the_float_range_are_refused(spec, message):
    with pytest.raises(SpaceError, match=message):
        Space({"x": spec()})


# ---------------------------------------------------------------- hangs and memory


def test_a_yaml_alias_bomb_is_refused_quickly_and_small(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("space:\n  x: {type: float, low: 0, high: 1}\n" + alias_bomb())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SpaceError, match="aliases") as info:
        read_space_file(path)
    assert len(info.value.message) < 400
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_a_cli_given_an_alias_bomb_says_so_in_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("space:\n  x: {type: float, low: 0, high: 1, log: *z}\n" + alias_bomb())
    line = one_error_line(npopt("ask", "--study", str(tmp_path / "b.db"), "--space", str(path), timeout=60))
    assert "aliases" in line and len(line) < 400
    assert not (tmp_path / "b.db").exists()


def test_a_training_config_with_aliases_is_refused(tmp_path):
    from npopt.neural.train import load_setup

    path = tmp_path / "c.yaml"
    path.write_text(alias_bomb())
    with pytest.raises(ConfigError, match="aliases"):
        load_setup(path)


@pytest.mark.parametrize("text, message", [
    ("space:\n  x: {type: float, low: 0, high: 1}\n  x: {type: int, low: 0, high: 3}\n", "duplicate key 'x'"),
    (b"space:\n  x: {type: float, low: 0, high: 1}\n# caf\xe9\n", "not UTF-8"),
    ("space:\n  x: {type: [float], low: 0, high: 1}\n", "type"),
])
def test_space_files_that_would_mislead_are_refused(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SpaceError, match=message):
        read_space_file(path)


def test_a_checkpoint_that_nests_one_list_exponentially_is_refused(tmp_path):
    from npopt.neural.checkpoints import FORMAT, FORMAT_VERSION, read_checkpoint

    nested: list = []
    for _ in range(64):
        nested = [nested, nested]  # 2**64 leaves, a few hundred bytes pickled
    path = tmp_path / "bomb.pt"
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "transfer": {"space": nested}}, path)
    with pytest.raises(CheckpointError, match="shared references"):
        read_checkpoint(path)


def test_the_shipped_priors_pass_the_size_check():
    from npopt.neural.checkpoints import read_checkpoint, shipped_priors

    for path in shipped_priors():
        assert read_checkpoint(path)["format"]


def test_a_prior_file_replaced_after_the_study_was_made_is_checked_again(tmp_path):
    from npopt.errors import NoPriorError
    from npopt.neural.checkpoints import prior_path, read_checkpoint

    space = Space({"x": Float(0.0, 1.0)})
    ckpt = read_checkpoint(prior_path("np1d"))
    prior = tmp_path / "mine.pt"
    torch.save({**ckpt, "transfer": {"space": space.to_dict()}}, prior)
    make = dict(space={"x": Float(0.0, 1.0)}, surrogate="np", seed=0, prior=prior)
    with np_.Study.create(tmp_path / "s.db", **make) as st:
        st.ask()
    torch.save({**ckpt, "transfer": {"space": Space({"lr": Float(0.0, 1.0)}).to_dict()}}, prior)
    with np_.Study.open(tmp_path / "s.db") as st, pytest.raises(NoPriorError, match="fine-tuned for another space"):
        st.ask()


# ---------------------------------------------------------------- a PostgreSQL restart


def test_serve_carries_on_after_a_postgres_restart(cluster, tmp_path):
    server = Server(cluster.url("restart-serve"), write_space(tmp_path), log=tmp_path / "serve.log")
    try:
        (first,) = server.ok({"op": "ask"})["trials"]
        cluster.restart()
        server.ok({"op": "tell", "number": first["number"], "value": 1.0})
        (second,) = server.ok({"op": "ask"})["trials"]
        assert second["number"] == first["number"] + 1
        assert server.close() == 0
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_a_run_records_the_evaluation_it_computed_across_a_postgres_restart(cluster, tmp_path):
    """The worker computes while the server restarts; the value is stored once it is back."""
    log = tmp_path / "computed.txt"
    objective = tmp_path / "obj.py"
    objective.write_text(textwrap.dedent(f"""
        import time, npopt
        space = {{"x": npopt.Float(0.0, 1.0)}}
        def objective(x):
            time.sleep(0.6)
            with open({str(log)!r}, "a") as fh:
                fh.write(f"{{x!r}}\\n")
            return x
    """))
    url = cluster.url("restart-run")
    worker = subprocess.Popen(
        [sys.executable, "-m", "npopt", "run", str(objective), "--study", url, "--budget", "8", "--surrogate",
         "random"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (not log.exists() or len(log.read_text().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        cluster.restart()
        assert worker.wait(120) == 0, worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
    computed = sorted(float(v) for v in log.read_text().split())
    with np_.Study.open(url) as st:
        stored = sorted(t.value for t in st.trials if t.state.value == "complete")
    assert len(stored) == 8 and stored == computed


# ---------------------------------------------------------------- workers on other hosts

OTHER_HOST_WORKER = """\
import os, signal, socket, sys, time
socket.gethostname = lambda: "another-host"  # a worker on another machine
import npopt

study = npopt.Study.open(sys.argv[1])
study.heartbeat_interval = float(sys.argv[2])

def objective(x):
    open(sys.argv[3], "w").close()  # evaluating now
    time.sleep(float(sys.argv[4]))
    if sys.argv[5] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    return x

npopt.run(study, objective, budget=1)
"""


def _other_host_worker(url, tmp_path, seconds: float, fate: str) -> tuple[subprocess.Popen, Path]:
    flag = tmp_path / f"evaluating-{fate}"
    proc = subprocess.Popen([sys.executable, "-c", OTHER_HOST_WORKER, url, "0.5", str(flag), str(seconds), fate],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), proc.stderr.read() if proc.poll() is not None else "worker did not start"
    return proc, flag


def test_a_dead_worker_on_another_host_is_found_by_its_missing_heartbeat(cluster, tmp_path):
    url = cluster.url("heartbeat-dead")
    with np_.Study.create(url, {"x": Float(0.0, 1.0)}, surrogate="random", seed=0):
        pass
    proc, _ = _other_host_worker(url, tmp_path, 0.2, "die")
    assert proc.wait(60) == -9
    with np_.Study.open(url) as st:
        assert [t.state.value for t in st.trials] == ["running"]  # its pid means nothing here
        time.sleep(1.5)  # more than two of its 0.5 s intervals
        st.ask()  # whoever looks next fails it
        assert [(t.state.value, t.reason) for t in st.trials][0] == ("failed", "interrupted")


def test_a_live_worker_on_another_host_keeps_its_trial(cluster, tmp_path):
    url = cluster.url("heartbeat-live")
    with np_.Study.create(url, {"x": Float(0.0, 1.0)}, surrogate="random", seed=0):
        pass
    proc, _ = _other_host_worker(url, tmp_path, 3.0, "live")
    try:
        with np_.Study.open(url) as st:
            time.sleep(2.0)  # four of its intervals: it has beaten meanwhile
            assert st.mark_interrupted() == 0
    finally:
        assert proc.wait(60) == 0, proc.stderr.read()
    with np_.Study.open(url) as st:
        assert [t.state.value for t in st.trials] == ["complete"]


def test_a_trial_asked_outside_run_has_no_heartbeat_and_is_never_taken_for_dead(tmp_path, monkeypatch):
    import socket

    with np_.Study.create(tmp_path / "s.db", {"x": Float(0.0, 1.0)}, surrogate="random", seed=0) as st:
        monkeypatch.setattr(socket, "gethostname", lambda: "another-host")  # a Python user on another machine
        (t,) = st.ask()
        monkeypatch.undo()
        assert "beat" not in st._storage.trial(st._storage.conn, t.number)["owner"]
        time.sleep(0.2)
        assert st.mark_interrupted() == 0  # its evaluation may take hours: nobody beats, nobody fails it


def test_a_study_opened_by_a_relative_path_survives_a_chdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with np_.Study.create("rel.db", {"x": Float(0.0, 1.0)}, surrogate="random", seed=0) as st:
        (t,) = st.ask()
        (tmp_path / "elsewhere").mkdir()
        os.chdir(tmp_path / "elsewhere")  # an objective may change directory
        assert st.tell(t.number, 0.5).value == 0.5


# ---------------------------------------------------------------- the PostgreSQL password


def _study_commands(url: str, tmp_path: Path) -> list[list[str]]:
    space = write_space(tmp_path)
    objective = tmp_path / "obj.py"
    objective.write_text("space = {'x': __import__('npopt').Float(0.0, 1.0)}\n"
                         "def objective(x):\n    return (x - 0.3) ** 2\n")
    return [
        ["run", str(objective), "--study", url, "--budget", "2", "--surrogate", "random"],
        ["show", "--study", url],
        ["plot", "--study", url, "--out", str(tmp_path / "p.png")],
        ["serve", "--study", url],
        ["train", "--from-studies", url, url.replace("?study=", "?study=missing-"), "--out", str(tmp_path / "m.pt")],
        ["tell", "--study", url, "--number", "99", "--value", "1"],
        ["ask", "--study", url.replace("?study=", "?study=missing-"), "--surrogate", "random"],
        ["ask", "--study", url, "--space", str(space)],
    ]


@pytest.mark.parametrize("in_query", [False, True])
def test_the_postgres_password_is_never_printed(cluster, tmp_path, in_query):
    url = cluster.url(f"secret-check-{in_query}")
    if in_query:  # libpq also takes the password as ?password=
        url = url.replace(f":{PASSWORD}@", "@") + f"&password={PASSWORD}"
    for command in _study_commands(url, tmp_path):
        result = npopt(*command, timeout=120)
        assert PASSWORD not in result.stdout + result.stderr, command
        assert "Traceback" not in result.stderr, (command, result.stderr)


def test_a_serve_id_beyond_64_bits_is_refused_in_its_reply(tmp_path):
    server = Server(tmp_path / "id.db", write_space(tmp_path))
    try:
        server.write(b'{"op": "ask", "id": ' + b"9" * 4000 + b"}")
        reply = server.read()
        assert reply["ok"] is False and reply["error"]["code"] == "bad_field", reply
        assert server.ok({"op": "ask", "id": "9" * 4000})["id"] == "9" * 4000
        assert server.close() == 0
    finally:
        if server.proc.poll() is None:
            server.kill()
    assert "Traceback" not in server.stderr()


def test_a_study_name_is_decoded_once():
    from npopt.storage import parse

    names = [parse(f"postgresql://u@h/db?study={q}")[1] for q in ("a+b", "a%20b", "a%2520b")]
    assert names == ["a+b", "a b", "a%20b"]


@pytest.mark.parametrize("url", [
    "postgresql://u:pa%ss@127.0.0.1:1/db?study=s",
    "postgresql://u:p%2@127.0.0.1:1/db",
    "postgresql://u:secretpw@[::1:1/db",
    "postgresql://u:secretpw@127.0.0.1:1/db?study=s&bogus=1",
    "postgresql://u:secretpw@127.0.0.1:99999/db",
    "postgresql://u:secret/pw@127.0.0.1:1/db",
    "postgresql://u:123/secretpw@127.0.0.1:1/db",
])
def test_a_malformed_postgres_url_is_one_line_without_the_password(url):
    line = one_error_line(npopt("show", "--study", url, timeout=60))
    assert not any(secret in line for secret in ("pa%ss", "secret", "p%2@"))

