"""Studies on a real PostgreSQL server (the session's throwaway cluster, conftest.py): many
``npopt run`` workers on one study, ``kill -9``, the JSON-lines protocol, and clear errors
about URLs and passwords. What a study does on either storage is in test_study.py."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import npopt
from pg_cluster import PASSWORD, USER
from serve_client import Server, npopt_cmd, write_space

pytestmark = pytest.mark.timeout(600)


GRID = """
import time
import npopt

space = {"a": npopt.Int(0, 9), "b": npopt.Int(0, 9)}

def objective(a, b):
    time.sleep(%s)
    return (a - 3) ** 2 + (b - 6) ** 2
"""


def _workers(tmp_path: Path, url: str, n: int, budget: int, sleep: float) -> list[subprocess.Popen]:
    objective = tmp_path / "grid.py"
    objective.write_text(GRID % sleep)
    return [subprocess.Popen(npopt_cmd("run", str(objective), "--study", url, "--budget", str(budget), "-q"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
            for _ in range(n)]


def _trials(url: str, missing_ok: bool = False) -> list[dict]:
    result = npopt("show", "--study", url, "--format", "json")
    if missing_ok and result.returncode == 1 and "no study" in result.stderr:
        return []  # the workers have not created it yet
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_four_run_workers_share_one_study_with_no_duplicate_point(cluster, tmp_path):
    url = cluster.url("four")
    procs = _workers(tmp_path, url, 4, 40, 0.05)
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    trials = _trials(url)
    assert len(trials) == 40 and all(t["state"] == "complete" for t in trials)
    points = {(t["params"]["a"], t["params"]["b"]) for t in trials}
    assert len(points) == 40  # 40 distinct points of the 100
    assert [t["number"] for t in trials] == list(range(40))


def test_kill_9_of_a_worker_loses_no_completed_trial(cluster, tmp_path):
    url = cluster.url("killed")
    procs = _workers(tmp_path, url, 3, 30, 0.3)
    deadline = time.time() + 120
    while time.time() < deadline and sum(t["state"] == "complete" for t in _trials(url, missing_ok=True)) < 6:
        time.sleep(0.2)
    before = {t["number"]: t for t in _trials(url) if t["state"] == "complete"}
    assert len(before) >= 6
    procs[0].send_signal(signal.SIGKILL)
    for p in procs[1:]:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    procs[0].wait(10)
    after = {t["number"]: t for t in _trials(url)}
    for number, trial in before.items():  # every trial completed before the kill is still there, unchanged
        assert after[number] == trial
    # the killed worker's trial is left running, then marked interrupted by the next run,
    # which brings the study to its budget
    rerun = _workers(tmp_path, url, 1, 30, 0.0)[0]
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    final = _trials(url)
    assert sum(t["state"] == "complete" for t in final) == 30 - sum(t["reason"] == "failed" for t in final)
    assert not any(t["state"] == "running" for t in final)
    assert sum(t["reason"] == "interrupted" for t in final) <= 1
    assert len({(t["params"]["a"], t["params"]["b"]) for t in final if t["state"] == "complete"}) == sum(
        t["state"] == "complete" for t in final)


def test_the_json_lines_protocol_over_a_postgres_study(cluster, tmp_path):
    url = cluster.url("served")
    space = write_space(tmp_path)
    server = Server(url, space, surrogate="np", seed=3, log=tmp_path / "serve.log")
    try:
        for _ in range(6):
            (trial,) = server.ok({"op": "ask"})["trials"]
            value = (trial["params"]["x"] - 0.5) ** 2 + 0.1 * (trial["params"]["layers"] - 3) ** 2
            server.ok({"op": "tell", "number": trial["number"], "value": value})
        best = server.ok({"op": "best"})
        assert server.close() == 0
    finally:
        if server.proc.poll() is None:
            server.kill()
    assert best["trial"]["value"] == min(t["value"] for t in _trials(url) if t["state"] == "complete")
    asked = npopt("ask", "--study", url)  # another process, the same study
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["number"] == 6
    assert "npopt-secret" not in server.stderr()  # the password is never printed


def test_clear_errors_and_nothing_lost(cluster, tmp_path):
    import psycopg

    url = cluster.url("errors")
    space = write_space(tmp_path)
    created = npopt("ask", "--study", url, "--space", str(space), "--surrogate", "random")
    assert created.returncode == 0, created.stderr
    cases = [
        (cluster.url("errors", password="wrong"), r"cannot connect to postgresql://npopt@127\.0\.0\.1:\d+/npopt"
                                                  r"\?study=errors: .*password authentication failed"),
        (cluster.url("errors", port=1), r"cannot connect to .*(refused|failed)"),
        (cluster.url("absent"), r"no study 'absent' at postgresql://.*; create it with npopt run, or with --space"),
        ("postgresql://npopt@127.0.0.1/?study=x", r"names no database"),
    ]
    for bad, message in cases:
        result = npopt("ask", "--study", bad)
        assert result.returncode == 1 and result.stderr.startswith("Error: "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert re.search(message, result.stderr), (message, result.stderr)
        assert "wrong" not in result.stderr
    server = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{cluster.port}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE other")
    with psycopg.connect(f"{server}/other", autocommit=True) as conn:  # a table of npopt's name, not npopt's
        conn.execute("CREATE TABLE npopt_studies (id INTEGER)")
    other = f"{server}/other?study=x"
    foreign = npopt("ask", "--study", other, "--space", str(space))
    assert foreign.returncode == 1 and "not an npopt study table" in foreign.stderr, foreign.stderr
    shown = _trials(url)
    assert len(shown) == 1 and shown[0]["state"] == "running"  # the refused calls changed nothing
