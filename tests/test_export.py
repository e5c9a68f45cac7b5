"""``npopt export``: an npopt study in an Optuna storage (SQLite, a journal file, PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

optuna = pytest.importorskip("optuna")  # the optuna extra; `make test` installs it

from npopt.integration.export import NUMBER_KEY, REASON_KEY  # noqa: E402
from npopt.space import Categorical, Fixed, Float, Int  # noqa: E402
from npopt.study import Study  # noqa: E402
from tests.conftest import npopt  # noqa: E402

SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "x": Float(-2.0, 2.0),
    "layers": Int(1, 8),
    "width": Int(16, 1024, log=True),
    "kernel": Categorical(["rbf", "linear", None, True, 3]),
    "batch": Fixed(64),
}


def _made(location) -> None:
    """A study with complete, failed and running trials."""
    with Study.create(location, SPACE, surrogate="random", seed=1) as study:
        trials = study.ask(5)
        study.tell(trials[0].number, 0.5)
        study.tell(trials[1].number, -1.25)
        study.tell(trials[2].number, state="failed", reason="diverged: loss is nan")
        # trials 3 and 4 stay running


def _loaded(url: str, name: str):
    if "://" not in url:  # a journal file
        url = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url))
    return optuna.load_study(study_name=name, storage=url)


@pytest.mark.parametrize("target", ["sqlite", "journal"])
def test_export_copies_every_trial_and_a_second_export_only_updates(tmp_path, target):
    location = tmp_path / "svc.study.db"
    _made(location)
    url = f"sqlite:///{tmp_path / 'optuna.db'}" if target == "sqlite" else str(tmp_path / "optuna.log")
    out = npopt("export", "--study", str(location), "--to", url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Exported svc.study.db to Optuna study 'svc': 5 added, 0 finished, 0 unchanged"
    exported = _loaded(url, "svc")
    with Study.open(location) as study:
        ours = study.trials
    theirs = {t.user_attrs[NUMBER_KEY]: t for t in exported.trials}
    assert sorted(theirs) == [t.number for t in ours]
    states = {t.number: theirs[t.number].state.name for t in ours}
    assert states == {0: "COMPLETE", 1: "COMPLETE", 2: "FAIL", 3: "RUNNING", 4: "RUNNING"}
    assert theirs[1].value == -1.25 and theirs[2].user_attrs[REASON_KEY] == "diverged: loss is nan"
    for t in ours:  # every param, with the distribution a user would have declared in Optuna
        assert theirs[t.number].params == t.params
    dist = theirs[0].distributions
    assert dist["lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    assert dist["width"] == optuna.distributions.IntDistribution(16, 1024, log=True)
    assert dist["kernel"] == optuna.distributions.CategoricalDistribution(["rbf", "linear", None, True, 3])
    assert dist["batch"] == optuna.distributions.CategoricalDistribution([64])
    assert theirs[0].datetime_start is not None and theirs[0].datetime_complete is not None
    assert exported.best_value == -1.25
    # the running trials finish, one more is asked; a second export adds it and finishes them
    with Study.open(location) as study:
        study.tell(3, 2.0)
        study.tell(4, state="failed", reason="timeout")
        study.ask(1)
    out = npopt("export", "--study", str(location), "--to", url, cwd=tmp_path)
    assert out.stdout.strip().endswith("1 added, 2 finished, 3 unchanged")
    theirs = {t.user_attrs[NUMBER_KEY]: t for t in _loaded(url, "svc").trials}
    assert len(theirs) == 6 and len(_loaded(url, "svc").trials) == 6  # no duplicate
    assert theirs[3].state.name == "COMPLETE" and theirs[3].value == 2.0
    assert theirs[4].state.name == "FAIL" and theirs[4].user_attrs[REASON_KEY] == "timeout"
    assert theirs[5].state.name == "RUNNING"


def test_export_of_a_postgresql_study_into_a_postgresql_optuna_storage(cluster, tmp_path):
    from tests.pg_cluster import PASSWORD, USER

    location = cluster.url("exported")
    _made(location)
    target = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{cluster.port}/npopt"
    out = npopt("export", "--study", location, "--to", target, "--name", "from-npopt", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("to Optuna study 'from-npopt': 5 added, 0 finished, 0 unchanged")
    assert PASSWORD not in out.stdout + out.stderr
    assert [t.user_attrs[NUMBER_KEY] for t in _loaded(target, "from-npopt").trials] == [0, 1, 2, 3, 4]
    # the default name of a PostgreSQL study is its ?study=
    out = npopt("export", "--study", location, "--to", target, cwd=tmp_path)
    assert "to Optuna study 'exported': 5 added" in out.stdout


def _interrupted(proc: subprocess.Popen, what: str) -> str:
    """Ctrl-C to ``proc``; its stderr once it has stopped (a test failure if it does not within a minute)."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{what} did not stop on Ctrl-C: {proc.communicate()[1][-2000:]}")


def test_export_follow_keeps_a_target_live_until_interrupted(tmp_path):
    location = tmp_path / "live.study.db"
    _made(location)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "npopt", "export", "--study", str(location), "--to", url,
                             "--follow"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    done: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:  # the first export
            try:
                done = {t.user_attrs[NUMBER_KEY]: t.state.name for t in _loaded(url, "live").trials}
            except KeyError:  # the study is not there yet
                pass
            if len(done) == 5:
                break
            time.sleep(0.2)
        assert len(done) == 5 and proc.poll() is None
        with Study.open(location) as study:
            study.tell(3, 7.0)
        while time.monotonic() < deadline and done.get(3) != "COMPLETE":
            time.sleep(0.2)
            done = {t.user_attrs[NUMBER_KEY]: t.state.name for t in _loaded(url, "live").trials}
        assert done[3] == "COMPLETE"
    finally:
        err = _interrupted(proc, "export --follow")
    assert proc.returncode == 0, err
    assert "Stopped following." in err and "Traceback" not in err


def test_export_refuses_a_missing_study_and_a_folder_target_in_one_line(tmp_path):
    out = npopt("export", "--study", "nope.db", "--to", "sqlite:///x.db", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.strip() == "Error: no study at nope.db"
    _made(tmp_path / "s.db")
    out = npopt("export", "--study", "s.db", "--to", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "is a folder; give a journal file path, sqlite:///FILE or a PostgreSQL URL" in out.stderr


def test_an_unreachable_target_is_one_line_without_its_password(tmp_path):
    _made(tmp_path / "s.db")
    for url in ("postgresql+psycopg://u:sekrit@127.0.0.1:1/db", "mysql://u:sekrit@127.0.0.1:1/db"):
        out = npopt("export", "--study", "s.db", "--to", url, cwd=tmp_path)
        assert out.returncode == 1 and out.stderr.startswith("Error: cannot use the Optuna storage ")
        assert "sekrit" not in out.stderr and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 60):
    """The JSON at ``url``, retried until the server answers."""
    import json
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return json.loads(reply.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _browse(url: str, tmp_path) -> bool:
    """Headless Chromium renders the study page (its JavaScript run): the study's name and
    charts are in the page, and a screenshot is taken (Debian's chromium; `make test`
    installs it, .ci/install_chromium.sh). False: no Chromium here."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--virtual-time-budget=15000", "--window-size=1400,1000"]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "svc (id=" in dom and "History" in dom and "Timeline" in dom, dom[-2000:]
    shot = tmp_path / "dashboard.png"
    subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    return True


def test_dashboard_serves_every_trial_live_and_stops_cleanly_on_ctrl_c(tmp_path):
    pytest.importorskip("optuna_dashboard")
    location = tmp_path / "svc.study.db"
    _made(location)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "npopt", "dashboard", "--study", str(location), "--port",
                             str(port)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        studies = _get(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
        assert [s["study_name"] for s in studies] == ["svc"]
        detail = _get(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}")
        states = sorted(t["state"] for t in detail["trials"])
        assert states == ["Complete", "Complete", "Fail", "Running", "Running"]
        numbers = sorted(next(a["value"] for a in t["user_attrs"] if a["key"] == NUMBER_KEY) for t in detail["trials"])
        assert numbers == ["0", "1", "2", "3", "4"]
        with Study.open(location) as study:  # a trial told now appears without a restart
            study.tell(3, 0.25)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            detail = _get(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}")
            if sorted(t["state"] for t in detail["trials"]).count("Complete") == 3:
                break
            time.sleep(0.5)
        assert sorted(t["state"] for t in detail["trials"]).count("Complete") == 3
        browsed = _browse(f"http://127.0.0.1:{port}/dashboard/studies/{studies[0]['study_id']}", tmp_path)
    finally:
        err = _interrupted(proc, "the dashboard")
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/dashboard/" in err and "Stopped." in err and "Traceback" not in err
    if not browsed:  # everything but the browser was checked
        pytest.skip("chromium is not installed (.ci/install_chromium.sh installs it)")


def test_dashboard_without_its_extra_says_how_to_install_it(tmp_path):
    _made(tmp_path / "s.db")
    code = ("import sys; sys.modules['optuna_dashboard'] = None; from npopt.cli import main; "
            "sys.argv = ['npopt', 'dashboard', '--study', 's.db']; main()")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: npopt dashboard needs optuna-dashboard: pip install 'npopt[dashboard]'"


def test_export_refuses_another_studys_optuna_study_and_wrong_targets(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _made(tmp_path / "a" / "svc.study.db")
    _made(tmp_path / "b" / "svc.study.db")  # the same name, another study
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    assert npopt("export", "--study", "a/svc.study.db", "--to", url, cwd=tmp_path).returncode == 0
    out = npopt("export", "--study", "b/svc.study.db", "--to", url, cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "the Optuna study 'svc' in sqlite:///" in out.stderr and "choose another --name" in out.stderr
    assert npopt("export", "--study", "b/svc.study.db", "--to", url, "--name", "svc-b", cwd=tmp_path).returncode == 0
    for target, message in (
        ("a/svc.study.db", "is the study itself; give another file"),
        ("optuna.db", "is an SQLite database, not a journal file; write --to sqlite:///optuna.db"),
        ("missing/x.log", "the folder missing does not exist; create it first"),
    ):
        out = npopt("export", "--study", "a/svc.study.db", "--to", target, cwd=tmp_path)
        assert out.returncode == 1 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def test_exported_times_are_local_as_optuna_keeps_its_own(tmp_path):
    location = tmp_path / "t.study.db"
    _made(location)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    env = {"TZ": "America/New_York"}  # five hours behind UTC in December
    out = npopt("export", "--study", str(location), "--to", url, cwd=tmp_path, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    with Study.open(location) as study:
        started = study.trials[0].started_at
    code = (f"import optuna; t = optuna.load_study(study_name='t', storage={url!r}).trials[0]; "
            "print(t.datetime_start.isoformat())")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    from datetime import datetime, timedelta

    utc = datetime.fromisoformat(started.replace("Z", "+00:00")).replace(tzinfo=None)
    assert datetime.fromisoformat(shown.stdout.strip()) == utc - timedelta(hours=5)
