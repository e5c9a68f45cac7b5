"""The JSON-lines protocol: ``npopt serve`` as a real subprocess, ``npopt ask``/``tell``, the
example loop, and the parsing layer of :mod:`npopt.protocol` in process."""

from __future__ import annotations

import io
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import npopt
from serve_client import ROOT, Server, objective, write_space

from npopt import protocol
from npopt.errors import NpoptError

pytestmark = pytest.mark.timeout(120)


def _ask_one(server: Server, **fields) -> dict:
    return server.ok({"op": "ask", **fields})["trials"][0]


# ----------------------------------------------------------------------------- a whole loop


@pytest.mark.parametrize("surrogate, n_trials", [("random", 16), ("gp", 10)])
def test_serve_runs_a_full_optimisation_loop(tmp_path, surrogate, n_trials):
    study = tmp_path / "loop.db"
    server = Server(study, write_space(tmp_path), surrogate=surrogate, seed=3)
    told = {}
    while len(told) < n_trials:
        reply = server.ok({"op": "ask", "n": 2, "id": f"ask-{len(told)}"})
        assert reply["id"] == f"ask-{len(told)}"
        assert len(reply["trials"]) == 2
        for trial in reply["trials"]:
            params = trial["params"]
            assert set(params) == {"x", "layers"}
            assert -2 <= params["x"] <= 2 and isinstance(params["layers"], int) and 1 <= params["layers"] <= 8
            told[trial["number"]] = value = objective(params)
            ack = server.send({"op": "tell", "number": trial["number"], "value": value, "id": 9})
            assert ack == {"id": 9, "ok": True}
    # a failed evaluation is recorded as such and does not count as best
    failed = _ask_one(server)
    crashed = {"op": "tell", "number": failed["number"], "state": "failed", "reason": "simulator crashed"}
    assert server.send(crashed) == {"ok": True}

    best = server.ok({"op": "best"})["trial"]
    number = min(told, key=told.get)
    assert best["number"] == number and best["value"] == pytest.approx(told[number])
    trials = server.ok({"op": "trials"})["trials"]
    assert [t["number"] for t in trials] == sorted(told) + [failed["number"]]
    assert all(t["state"] == "complete" and t["value"] == pytest.approx(told[t["number"]]) for t in trials[:-1])
    assert trials[-1]["state"] == "failed" and trials[-1]["reason"] == "simulator crashed"
    assert server.close() == 0
    assert "end of input" in server.stderr()


def test_best_is_null_before_any_value_and_replies_keep_their_order(tmp_path):
    server = Server(tmp_path / "s.db", write_space(tmp_path))
    assert server.send({"op": "best", "id": None}) == {"id": None, "ok": True, "trial": None}
    # pipelined: five requests written before any reply is read
    for i in range(5):
        server.write({"op": "trials", "id": i})
    assert [server.read()["id"] for _ in range(5)] == list(range(5))
    assert server.close() == 0


# ----------------------------------------------------------------------------- error codes


def _error_requests(study_numbers: tuple[int, int]) -> list[tuple[bytes | dict, str]]:
    """(request line, expected error code) for every code reachable through the pipe."""
    done, running = study_numbers
    return [
        (b"x" * (protocol.MAX_LINE_BYTES + 1), "line_too_long"),
        (b'{"op": "best", "id": "\xff\xfe"}', "bad_encoding"),
        (b'{"op": "ask"', "bad_json"),
        (b"", "bad_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"ask"', "not_an_object"),
        ({"n": 2, "id": "r1"}, "missing_field"),
        ({"op": "tell", "value": 1.0}, "missing_field"),
        ({"op": "tell", "number": running}, "missing_field"),
        ({"op": "optimise"}, "unknown_op"),
        ({"op": 7}, "unknown_op"),
        ({"op": ["ask"]}, "unknown_op"),
        ({"op": "ask", "count": 2}, "unknown_field"),
        ({"op": "ask", "n": "2"}, "bad_field"),
        ({"op": "ask", "n": 0}, "bad_field"),
        ({"op": "ask", "n": protocol.MAX_ASK + 1}, "bad_field"),
        ({"op": "tell", "number": "0", "value": 1.0}, "bad_field"),
        ({"op": "tell", "number": 1.0, "value": 1.0}, "bad_field"),
        ({"op": "tell", "number": running, "state": "done", "value": 1.0}, "bad_field"),
        ({"op": "tell", "number": running, "state": "failed", "value": 1.0}, "bad_field"),
        ({"op": "tell", "number": running, "state": "failed", "reason": 3}, "bad_field"),
        ({"op": "tell", "number": running, "value": 1.0, "reason": "why"}, "bad_field"),
        ({"op": "best", "id": [1]}, "bad_field"),
        (b'{"op": "tell", "number": %d, "value": NaN}' % running, "bad_value"),
        (b'{"op": "tell", "number": %d, "value": -Infinity}' % running, "bad_value"),
        (b'{"op": "tell", "number": %d, "value": 1e999}' % running, "bad_value"),
        ({"op": "tell", "number": running, "value": "0.5"}, "bad_value"),
        ({"op": "tell", "number": running, "value": None}, "bad_value"),
        ({"op": "tell", "number": running, "value": True}, "bad_value"),
        ({"op": "tell", "number": 999, "value": 1.0}, "unknown_trial"),
        ({"op": "tell", "number": -1, "value": 1.0}, "unknown_trial"),
        ({"op": "tell", "number": 2**80, "value": 1.0}, "unknown_trial"),
        ({"op": "tell", "number": done, "value": 1.0, "id": "again"}, "already_finished"),
        ({"op": "tell", "number": done, "state": "failed"}, "already_finished"),
    ]


def test_every_error_is_answered_and_changes_nothing(tmp_path):
    study = tmp_path / "errors.db"
    server = Server(study, write_space(tmp_path))
    done, running = (t["number"] for t in server.ok({"op": "ask", "n": 2})["trials"])
    server.ok({"op": "tell", "number": done, "value": 0.25})
    before = server.ok({"op": "trials"})["trials"]

    seen = set()
    for line, code in _error_requests((done, running)):
        reply = server.send(line)
        assert reply["ok"] is False and reply["error"]["code"] == code, (line[:80], reply)
        assert set(reply) <= {"id", "ok", "error"} and set(reply["error"]) == {"code", "message"}
        assert reply["error"]["message"]
        if isinstance(line, dict) and isinstance(line.get("id"), str):
            assert reply["id"] == line["id"]  # echoed even on errors
        seen.add(code)

    assert server.ok({"op": "trials"})["trials"] == before  # nothing recorded changed
    # the pending trial can still be told after all that
    server.ok({"op": "tell", "number": running, "value": 1.5})
    assert server.close() == 0
    reachable = set(protocol.ERROR_CODES) - {"bad_study", "internal"}
    assert seen == reachable
    assert "bad_json" in server.stderr()  # errors are logged on stderr, not stdout


class _BrokenStudy:
    """A study whose every call fails the way ``exc`` says."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def ask(self, n=1, detached=False):
        raise self.exc

    @property
    def trials(self):
        raise self.exc


@pytest.mark.parametrize(
    "exc, code",
    [
        (NpoptError("study file s.db stayed locked by another process", code="bad_study"), "bad_study"),
        (NpoptError("no shipped prior for 3 dimensions; use --surrogate gp", code="no_prior"), "bad_study"),
        (sqlite3.OperationalError("database is locked"), "bad_study"),
        (ZeroDivisionError("division by zero"), "internal"),
    ],
)
def test_failures_inside_the_study_become_error_replies(exc, code):
    logged = []
    reply = protocol.handle(_BrokenStudy(exc), b'{"op": "ask", "id": 4}\n', logged.append)
    assert reply == {"id": 4, "ok": False, "error": {"code": code, "message": reply["error"]["message"]}}
    assert str(exc) in reply["error"]["message"]
    assert bool(logged) == (code == "internal")  # a bug leaves its traceback on stderr


def test_serve_loop_answers_every_line_and_stops_at_eof():
    lines = b'{"op": "ask", "n": 0}\n\n' + b"y" * (protocol.MAX_LINE_BYTES + 5) + b"\n[]"  # no final newline
    out, err = io.StringIO(), io.StringIO()
    counts = protocol.serve(None, io.BytesIO(lines), out, err)
    codes = [json.loads(line)["error"]["code"] for line in out.getvalue().splitlines()]
    assert codes == ["bad_field", "bad_json", "line_too_long", "not_an_object"]
    assert counts["requests"] == 4 and counts["ok"] == 0
    assert err.getvalue().count("\n") == 5  # one line per error, and the end


def test_a_line_of_exactly_the_limit_is_accepted():
    request = b'{"op": "ask", "n": 0, "id": "' + b"a" * protocol.MAX_LINE_BYTES
    request = request[: protocol.MAX_LINE_BYTES - 2] + b'"}'
    assert len(request) == protocol.MAX_LINE_BYTES
    out = io.StringIO()
    protocol.serve(None, io.BytesIO(request + b"\r\n"), out, io.StringIO())
    assert json.loads(out.getvalue())["error"]["code"] == "bad_field"  # parsed, not too long


def test_error_codes_are_documented():
    doc = (ROOT / "docs" / "protocol.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.M))
    assert documented == set(protocol.ERROR_CODES)


# ----------------------------------------------------------------------------- kill -9


def test_kill_9_loses_no_acknowledged_tell_and_a_new_serve_resumes(tmp_path):
    study, space = tmp_path / "killed.db", write_space(tmp_path)
    server = Server(study, space)
    trials = server.ok({"op": "ask", "n": 30})["trials"]
    values = {t["number"]: objective(t["params"]) for t in trials}
    # 25 tells written at once; kill -9 after 12 acknowledgements, with the rest in flight
    for t in trials[:25]:
        server.write({"op": "tell", "number": t["number"], "value": values[t["number"]], "id": t["number"]})
    acked = [server.read()["id"] for _ in range(12)]
    server.kill()

    server = Server(study)  # no --space: the study file carries everything
    recorded = {t["number"]: t for t in server.ok({"op": "trials"})["trials"]}
    assert set(recorded) == set(values)  # every asked trial is there
    for number in acked:
        assert recorded[number]["state"] == "complete" and recorded[number]["value"] == values[number]
    running = [n for n, t in recorded.items() if t["state"] == "running"]
    assert set(running) >= {t["number"] for t in trials[25:]}  # never told: still running
    assert "still running from earlier sessions" in server.stderr()
    # pending trials of the dead session can be told now; new trials get new numbers
    for number in running:
        server.ok({"op": "tell", "number": number, "value": values[number]})
    new = _ask_one(server)
    assert new["number"] == max(values) + 1
    assert server.ok({"op": "best"})["trial"]["value"] == min(values.values())
    assert server.close() == 0


# ----------------------------------------------------------------------------- ask / tell CLI


def _assert_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def test_ask_and_tell_commands(tmp_path):
    study, space = str(tmp_path / "cli.db"), write_space(tmp_path)

    _assert_error(npopt("ask", "--study", study), r"no study at .*cli\.db; pass --space")
    result = npopt("ask", "--study", study, "--space", str(space), "--n", "2", "--surrogate", "random", "--seed", "1")
    assert result.returncode == 0, result.stderr
    first = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["number"] for t in first] == [0, 1] and all(set(t) == {"number", "params"} for t in first)

    # later calls reuse the study, with or without the same --space
    again = npopt("ask", "--study", study, "--space", str(space))
    assert [json.loads(line)["number"] for line in again.stdout.splitlines()] == [2]

    tell = npopt("tell", "--study", study, "--number", "0", "--value", "0.5")
    assert (tell.returncode, tell.stdout) == (0, "")
    failed = npopt("tell", "--study", study, "--number", "1", "--state", "failed", "--reason", "no licence")
    assert failed.returncode == 0, failed.stderr

    _assert_error(npopt("tell", "--study", study, "--number", "0", "--value", "1"), r"already")
    _assert_error(npopt("tell", "--study", study, "--number", "2", "--value", "nan"), r"finite")
    _assert_error(npopt("tell", "--study", study, "--number", "2", "--value", "abc"), r"not a string")
    _assert_error(npopt("tell", "--study", study, "--number", "7", "--value", "1"), r"no trial")
    _assert_error(npopt("tell", "--study", study, "--number", "2", "--state", "failed", "--value", "1"), r"no value")
    _assert_error(npopt("tell", "--study", study, "--number", "2"), r"needs a \"value\"")
    other = write_space(tmp_path, "space:\n  x: {type: float, low: 0, high: 1}\n", "other.yaml")
    _assert_error(npopt("ask", "--study", study, "--space", str(other)), r"space")

    shown = _trials(study)
    assert shown[0]["state"] == "complete" and shown[0]["value"] == 0.5
    assert shown[1]["state"] == "failed" and shown[1]["reason"] == "no licence"
    assert shown[2]["state"] == "running"  # every refused tell left it alone


def test_a_space_file_without_direction_keeps_the_stored_direction(tmp_path):
    study = str(tmp_path / "max.db")
    maximize = write_space(tmp_path, "direction: maximize\nspace:\n  x: {type: float, low: 0, high: 1}\n", "max.yaml")
    unset = write_space(tmp_path, "space:\n  x: {type: float, low: 0, high: 1}\n", "nodir.yaml")
    first = npopt("ask", "--study", study, "--space", str(maximize), "--surrogate", "random")
    assert first.returncode == 0, first.stderr
    again = npopt("ask", "--study", study, "--space", str(unset))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["number"] == 1
    minimize = write_space(tmp_path, "direction: minimize\nspace:\n  x: {type: float, low: 0, high: 1}\n", "min.yaml")
    _assert_error(npopt("ask", "--study", study, "--space", str(minimize)), r"direction 'maximize', not 'minimize'")
    assert [t["state"] for t in _trials(study).values()] == ["running", "running"]


CATEGORICAL_YAML = """\
space:
  x: {type: float, low: 0, high: 1}
  kernel: {type: categorical, choices: [rbf, null, true, 2, 0.5]}
  loss: [l2]
"""


def test_categorical_values_travel_as_json_through_serve_and_ask(tmp_path):
    choices = ["rbf", None, True, 2, 0.5]
    study = tmp_path / "cat.db"
    server = Server(study, write_space(tmp_path, CATEGORICAL_YAML), surrogate="random", seed=4)
    trials = server.ok({"op": "ask", "n": 8})["trials"]
    for t in trials:
        k = t["params"]["kernel"]
        assert any(k == c and type(k) is type(c) for c in choices), k  # null, true, 2 and 0.5 as they are
        assert t["params"]["loss"] == "l2"
        server.ok({"op": "tell", "number": t["number"], "value": choices.index(k) + t["params"]["x"]})
    assert len({json.dumps(t["params"]["kernel"]) for t in trials}) >= 4
    best = server.ok({"op": "best"})["trial"]
    expected = min(trials, key=lambda t: choices.index(t["params"]["kernel"]) + t["params"]["x"])
    assert best["params"] == expected["params"]
    assert [t["params"] for t in server.ok({"op": "trials"})["trials"]] == [t["params"] for t in trials]
    assert server.close() == 0
    result = npopt("ask", "--study", str(study))
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["params"]["kernel"] in choices


def _trials(study) -> dict[int, dict]:
    """The trials in the study file, read in process."""
    from npopt.study import Study

    return {t.number: t.to_dict() for t in Study.open(study).trials}


# ----------------------------------------------------------------------------- examples


def test_external_loop_example_runs_end_to_end(tmp_path):
    study = tmp_path / "loop.db"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(ROOT / "examples" / "external_loop.sh"), str(study), "4"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=100,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"best: trial \d+, value -?\d", result.stdout), result.stdout
    trials = _trials(study).values()
    assert len(trials) == 4 and all(t["state"] in ("complete", "failed") for t in trials)
    assert all(math.isfinite(t["value"]) for t in trials if t["state"] == "complete")


def test_external_client_example_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "external_client.py"), "--study", str(tmp_path / "c.db"),
         "--trials", "6"],
        capture_output=True, text=True, cwd=tmp_path, timeout=100,
    )
    assert result.returncode == 0, result.stderr
    assert "best:" in result.stdout and "median round trip" in result.stdout
