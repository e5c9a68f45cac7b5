"""Hostile and careless inputs against one npopt checkout: how many end in a clear error,
the correct behaviour, a traceback, a hang (or runaway memory), silently wrong output, or
lost data.

Each case runs real commands in a fresh folder with the interpreter given (``--python``)
and the checkout given (``--checkout``, put first on PYTHONPATH), so the same catalogue
measures an older commit and today's code:

    git worktree add /tmp/before 1f1c75f
    python benchmarks/hostile.py --checkout /tmp/before --json before.json
    python benchmarks/hostile.py --json after.json
    python benchmarks/hostile.py --compare before.json after.json

Cases that need PostgreSQL start a throwaway server (tests/pg_cluster.py) where one can run.
A case is judged by what the user must see: ``expect="error"`` wants a non-zero exit with
one ``Error: ...`` line (or a protocol error reply), ``expect="ok"`` wants success; either
way a check of the files afterwards decides "data lost" or "wrong".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hostile_inputs import alias_bomb, inline_alias_bomb  # noqa: E402

OUTCOMES = ("clear error", "correct", "traceback", "hang/memory", "wrong", "data lost")
MEMORY_LIMIT_KB = 3_000_000
SPACE = "direction: minimize\nspace:\n  x: {type: float, low: -2, high: 2}\n  layers: {type: int, low: 1, high: 8}\n"


@dataclass
class Result:
    rc: int | None
    out: str
    err: str
    hung: bool = False


class Context:
    """A fresh folder and the npopt under test."""

    def __init__(self, python: str, checkout: Path | None, folder: Path, cluster=None) -> None:
        self.python, self.dir, self.cluster = python, folder, cluster
        self.env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
        if checkout is not None:
            self.env["PYTHONPATH"] = str(checkout)

    def run(self, *cmd: str, stdin: bytes | None = None, timeout: float = 90, **popen) -> Result:
        """Run ``cmd``; a process over ``timeout`` seconds or MEMORY_LIMIT_KB of RSS is killed (hung)."""
        proc = subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdin=subprocess.PIPE if stdin is not None else
                                subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        deadline, hung = time.monotonic() + timeout, False
        while proc.poll() is None:
            if time.monotonic() > deadline or _rss_kb(proc.pid) > MEMORY_LIMIT_KB:
                proc.kill()
                hung = True
                break
            time.sleep(0.05)
        out, err = proc.communicate()
        return Result(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), hung)

    def npopt(self, *args: str, **kw) -> Result:
        return self.run(self.python, "-m", "npopt", *map(str, args), **kw)

    def py(self, code: str, *args: str, **kw) -> Result:
        return self.run(self.python, "-c", textwrap.dedent(code), *map(str, args), **kw)

    def file(self, name: str, text: str | bytes) -> Path:
        path = self.dir / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    def study(self, name: str, n: int = 3) -> Path:
        """A study file with ``n`` complete trials (random surrogate)."""
        r = self.py("""
            import sys, npopt
            st = npopt.Study.create(sys.argv[1], {"x": npopt.Float(0.0, 1.0)}, surrogate="random", seed=0)
            for _ in range(int(sys.argv[2])):
                (t,) = st.ask(); st.tell(t.number, t.params["x"])
            st.close()
        """, name, str(n))
        assert r.rc == 0, r.err
        return self.dir / name

    def trials(self, location: str | Path) -> list[dict] | None:
        """The trials of a study as JSON, or None when it cannot be read."""
        r = self.npopt("show", "--study", location, "--format", "json")
        try:
            return json.loads(r.out) if r.rc == 0 else None
        except ValueError:
            return None


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def judge(r: Result, expect: str, intact: bool = True, right: bool = True, secret: str | None = None) -> str:
    """The outcome of one case (see the module docstring)."""
    text = r.out + r.err
    if r.hung:
        return "hang/memory"
    if not intact:
        return "data lost"
    if "Traceback (most recent call last)" in text:
        return "traceback"
    if secret is not None and secret in text:
        return "wrong"
    if expect == "error":
        lines = [x for x in r.err.splitlines() if x.strip()]
        one_line = r.rc not in (0, None) and len(lines) == 1 and lines[0].startswith("Error: ")
        return "clear error" if one_line and right else "wrong"
    return "correct" if r.rc == 0 and right else "wrong"


CASES: list[tuple[str, str, callable]] = []


def case(klass: str, name: str):
    def register(fn):
        CASES.append((klass, name, fn))
        return fn
    return register


# ---------------------------------------------------------------- data loss


@case("data loss", "a study file copied after kill -9 holds every told trial")
def _(c: Context) -> str:
    r = c.py("""
        import os, signal, npopt
        st = npopt.Study.create("live.db", {"x": npopt.Float(0.0, 1.0)}, surrogate="random", seed=0)
        for _ in range(5):
            (t,) = st.ask(); st.tell(t.number, t.params["x"])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    shutil.copyfile(c.dir / "live.db", c.dir / "backup.db")
    trials = c.trials("backup.db")
    return judge(Result(0, "", "", r.hung), "ok", intact=trials is not None and len(trials) == 5)


def _output_case(command: list[str]):
    def run(c: Context) -> str:
        paths = {k: c.study(f"{k}.db", n=12) for k in "abc"}
        before = {k: p.read_bytes() for k, p in paths.items()}
        r = c.npopt(*[part.format(**{k: str(p) for k, p in paths.items()}) for part in command], timeout=300)
        after = {k: p.read_bytes() if p.exists() else b"" for k, p in paths.items()}
        return judge(r, "error", intact=after == before)
    return run


for _label, _command in [
    ("train --from-studies a b --out b", ["train", "--from-studies", "{a}", "{b}", "--out", "{b}"]),
    ("train --from-studies a b --out c (another study)", ["train", "--from-studies", "{a}", "{b}", "--out", "{c}"]),
    ("prior eval --json STUDY", ["prior", "eval", "np1d", "--tasks", "1", "--json", "{b}"]),
    ("benchmark --json STUDY", ["benchmark", "--suite", "gp1d", "--functions", "1", "--json", "{b}"]),
    ("benchmark --runs STUDY", ["benchmark", "--suite", "gp1d", "--functions", "1", "--runs", "{b}"]),
    ("plot --out STUDY", ["plot", "--study", "{a}", "--out", "{b}"]),
]:
    case("data loss", f"an output onto a study: {_label}")(_output_case(_command))


def _serve(c: Context, study: str, requests: list[bytes], between=None) -> tuple[list[dict], Result]:
    """Send requests to `npopt serve` one at a time; ``between(i)`` runs before request i."""
    space = c.file("s.yaml", SPACE)
    proc = subprocess.Popen([c.python, "-m", "npopt", "serve", "--study", study, "--space", str(space),
                             "--surrogate", "random"], cwd=c.dir, env=c.env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    replies = []
    try:
        for i, line in enumerate(requests):
            if between is not None:
                between(i)
            proc.stdin.write(line + b"\n")
            proc.stdin.flush()
            raw = proc.stdout.readline()
            replies.append(json.loads(raw) if raw.strip() else {"ok": None})
        proc.stdin.close()
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(60)
    except (subprocess.TimeoutExpired, BrokenPipeError, ValueError):
        proc.kill()
        proc.wait()
        return replies, Result(proc.returncode, "", proc.stderr.read().decode(errors="replace"), hung=True)
    return replies, Result(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


@case("data loss", "serve after its study file was deleted")
def _(c: Context) -> str:
    def between(i):
        if i == 2:
            for p in c.dir.glob("del.db*"):
                p.unlink()
    replies, r = _serve(c, "del.db", [b'{"op": "ask"}', b'{"op": "tell", "number": 0, "value": 1}',
                                      b'{"op": "ask"}', b'{"op": "tell", "number": 1, "value": 2}'], between)
    refused = all(rep.get("ok") is False and rep["error"]["code"] == "bad_study" for rep in replies[2:])
    return judge(Result(0, "", r.err, r.hung), "ok", intact=refused)


@case("data loss", "serve after its study file was replaced (mv)")
def _(c: Context) -> str:
    c.study("other.db", n=1)
    before = c.trials("other.db")

    def between(i):
        if i == 2:
            os.replace(c.dir / "other.db", c.dir / "mv.db")
    replies, r = _serve(c, "mv.db", [b'{"op": "ask"}', b'{"op": "tell", "number": 0, "value": 1}',
                                     b'{"op": "tell", "number": 0, "value": 1}', b'{"op": "ask"}'], between)
    refused = all(rep.get("ok") is False for rep in replies[2:])
    return judge(Result(0, "", r.err, r.hung), "ok", intact=refused and c.trials("mv.db") == before)


# ---------------------------------------------------------------- a study broken for good


def _huge(surrogate: str):
    def run(c: Context) -> str:
        space = c.file("s.yaml", SPACE)
        for i, v in enumerate(["1.7e308", "1.7e308", "0.5"]):
            c.npopt("ask", "--study", "h.db", "--space", space, "--surrogate", surrogate)
            c.npopt("tell", "--study", "h.db", "--number", i, "--value", v)
        r = c.npopt("ask", "--study", "h.db", timeout=180)
        right = r.rc == 0 and -2 <= json.loads(r.out.splitlines()[-1])["params"]["x"] <= 2 if r.rc == 0 else False
        return judge(r, "ok", right=right)
    return run


case("broken study", "two tells of 1.7e308, then an NP ask")(_huge("np"))
case("broken study", "two tells of 1.7e308, then a GP ask")(_huge("gp"))


@case("broken study", "plot after values of 1.7e308")
def _(c: Context) -> str:
    space = c.file("s.yaml", SPACE)
    for i, v in enumerate(["1.7e308", "1.7e308", "0.5"]):
        c.npopt("ask", "--study", "h.db", "--space", space, "--surrogate", "random")
        c.npopt("tell", "--study", "h.db", "--number", i, "--value", v)
    r = c.npopt("plot", "--study", "h.db", "--out", "h.png", "--kind", "history")
    return judge(r, "ok", right=(c.dir / "h.png").exists())


def _refused_space(name: str, text: str | bytes):
    """``ask --space`` with this space file must be one clear error."""
    def run(c: Context) -> str:
        space = c.file(name, text)
        return judge(c.npopt("ask", "--study", "b.db", "--space", space, "--surrogate", "random"), "error")
    return run


case("broken study", "a space Float(-1.7e308, 1.7e308)")(_refused_space(
    "s.json", '{"space": {"x": {"type": "float", "low": -1.7e308, "high": 1.7e308}}}'))
case("broken study", "an int bound of 10**400")(_refused_space(
    "s.json", '{"space": {"x": {"type": "int", "low": 0, "high": 1' + "0" * 400 + "}}}"))


# ---------------------------------------------------------------- hangs and memory


@case("hangs and memory", "a YAML alias bomb beside the space")
def _(c: Context) -> str:
    space = c.file("s.yaml", "space:\n  x: {type: float, low: 0, high: 1}\n" + alias_bomb())
    r = c.npopt("ask", "--study", "b.db", "--space", space, "--surrogate", "random", timeout=60)
    return judge(r, "error", right=len(r.err) < 500)


@case("hangs and memory", "a YAML alias bomb under log:")
def _(c: Context) -> str:
    space = c.file("s.yaml", "space:\n  x: {type: float, low: 0.1, high: 1, log: " + inline_alias_bomb() + "}\n")
    r = c.npopt("ask", "--study", "b.db", "--space", space, "--surrogate", "random", timeout=60)
    return judge(r, "error", right=len(r.err) < 500)


@case("hangs and memory", "a YAML alias bomb as a categorical's choices")
def _(c: Context) -> str:
    space = c.file("s.yaml", "space:\n  x: {type: categorical, choices: " + inline_alias_bomb() + "}\n")
    r = c.npopt("ask", "--study", "b.db", "--space", space, "--surrogate", "random", timeout=60)
    return judge(r, "error", right=len(r.err) < 500)


@case("hangs and memory", "a YAML alias bomb as a training config")
def _(c: Context) -> str:
    config = c.file("c.yaml", alias_bomb())
    return judge(c.npopt("train", config, "--out", "m.pt", timeout=60), "error")


@case("hangs and memory", "a checkpoint nesting one list 2**64 times, as --prior")
def _(c: Context) -> str:
    r = c.py("""
        import torch
        from npopt.neural.checkpoints import FORMAT, FORMAT_VERSION, prior_path, read_checkpoint
        nested = []
        for _ in range(64):
            nested = [nested, nested]
        ck = read_checkpoint(prior_path("np1d"))
        torch.save({**ck, "transfer": {"space": nested}}, "bomb.pt")
    """)
    assert r.rc == 0, r.err
    space = c.file("s.yaml", "space:\n  x: {type: float, low: 0, high: 1}\n")
    return judge(c.npopt("ask", "--study", "b.db", "--space", space, "--prior", "bomb.pt", timeout=60), "error")


# ---------------------------------------------------------------- the password


for _url in ["postgresql://u:pa%ss@127.0.0.1:1/db?study=s", "postgresql://u:secretpw@[::1:1/db",
             "postgresql://u:secretpw@127.0.0.1:1/db?study=s&bogus=1", "postgresql://u:secretpw@127.0.0.1:99999/db"]:
    def _malformed(c: Context, url=_url) -> str:
        secret = "pa%ss" if "pa%ss" in url else "secretpw"
        return judge(c.npopt("show", "--study", url, timeout=60), "error", secret=secret)
    case("password and prior", f"a malformed URL: {_url.split('@', 1)[1]}")(_malformed)


@case("password and prior", "a --prior file replaced after the study was made")
def _(c: Context) -> str:
    r = c.py("""
        import torch, npopt
        from npopt.neural.checkpoints import prior_path, read_checkpoint
        ck = read_checkpoint(prior_path("np1d"))
        space = npopt.Space({"x": npopt.Float(0.0, 1.0)})
        torch.save({**ck, "transfer": {"space": space.to_dict()}}, "mine.pt")
        with npopt.Study.create("p.db", {"x": npopt.Float(0.0, 1.0)}, surrogate="np", seed=0, prior="mine.pt") as st:
            st.ask()
        other = npopt.Space({"lr": npopt.Float(0.0, 1.0)})
        torch.save({**ck, "transfer": {"space": other.to_dict()}}, "mine.pt")
    """)
    assert r.rc == 0, r.err
    return judge(c.npopt("ask", "--study", "p.db"), "error")


# ---------------------------------------------------------------- tracebacks and silent wrongness


def _tampered(sql: str):
    def run(c: Context) -> str:
        c.study("t.db", n=2)
        c.py("import sqlite3, sys; con = sqlite3.connect('t.db'); con.execute(sys.argv[1]); con.commit()", sql)
        return judge(c.npopt("ask", "--study", "t.db"), "error")
    return run


for _label, _sql in [("meta not JSON", "UPDATE meta SET value = '{x' WHERE key = 'space'"),
                     ("params not JSON", "UPDATE trials SET params = '{oops' WHERE number = 0"),
                     ("value a string", "UPDATE trials SET value = 'abc' WHERE number = 0"),
                     ("params missing", "UPDATE trials SET params = '{}' WHERE number = 0"),
                     ("direction 3", "UPDATE meta SET value = '3' WHERE key = 'direction'")]:
    case("tracebacks", f"a tampered study row: {_label}")(_tampered(_sql))


case("tracebacks", "a space file that is not UTF-8")(_refused_space(
    "s.yaml", b"space:\n  x: {type: float, low: 0, high: 1}\n# caf\xe9\n"))
case("tracebacks", "type: [float]")(_refused_space("s.yaml", "space:\n  x: {type: [float], low: 0, high: 1}\n"))
case("tracebacks", "YAML duplicate keys")(_refused_space(
    "s.yaml", "space:\n  x: {type: float, low: 0, high: 1}\n  x: {type: int, low: 0, high: 3}\n"))


def _objective_case(body: str, check):
    """``body`` defines ``hostile(x)``; the objective calls it on odd calls and returns x otherwise."""
    def run(c: Context) -> str:
        obj = c.file("obj.py", "import os, sys, npopt\nspace = {'x': npopt.Float(0.0, 1.0)}\ncalls = []\n"
                     + textwrap.dedent(body)
                     + "def objective(x):\n    calls.append(x)\n    return hostile(x) if len(calls) % 2 else x\n")
        r = c.npopt("run", obj, "--study", "o.db", "--budget", "4", "--surrogate", "random", timeout=120)
        trials = c.trials("o.db") or []
        return judge(r, "ok", right=check(trials))
    return run


def _half_failed(reason: str):
    """Four trials: the 1st and 3rd failed naming ``reason``, the others complete."""
    def check(ts: list[dict]) -> bool:
        states = [(t["state"], reason in (t["reason"] or "")) for t in ts]
        return states == [("failed", True), ("complete", False)] * 2
    return check


def _all_complete(ts: list[dict]) -> bool:
    return len(ts) == 4 and all(t["state"] == "complete" for t in ts)


for _label, _body, _check in [
    ("returns 10**400", "def hostile(x):\n    return 10**400\n", _half_failed("float range")),
    ("raises GeneratorExit", "def hostile(x):\n    raise GeneratorExit\n", _half_failed("GeneratorExit")),
    ("raises an exception whose __str__ raises",
     "class E(Exception):\n    def __str__(self):\n        raise RuntimeError\ndef hostile(x):\n    raise E()\n",
     _half_failed("E")),
    ("calls sys.exit(0)", "def hostile(x):\n    sys.exit(0)\n", _half_failed("SystemExit")),
    ("forks", "def hostile(x):\n    os.fork()\n    return x\n", _all_complete),
    ("closes fd 1", "def hostile(x):\n    os.close(1)\n    return x\n", _all_complete),
]:
    case("tracebacks", f"an objective that {_label}")(_objective_case(_body, _check))


@case("tracebacks", "--study file.db/x.db")
def _(c: Context) -> str:
    c.file("file.db", "")
    return judge(c.npopt("ask", "--study", "file.db/x.db", "--space", c.file("s.yaml", SPACE)), "error")


@case("tracebacks", "--study naming a directory")
def _(c: Context) -> str:
    return judge(c.npopt("show", "--study", "."), "error")


@case("tracebacks", "train --out DIR")
def _(c: Context) -> str:
    (c.dir / "out").mkdir()
    return judge(c.npopt("train", ROOT / "npopt/neural/configs/np1d.yaml", "--out", "out", "--steps", "1"), "error")


@case("tracebacks", "train --steps 0")
def _(c: Context) -> str:
    return judge(c.npopt("train", ROOT / "npopt/neural/configs/np1d.yaml", "--out", "m.pt", "--steps", "0",
                         timeout=120), "error", right=not (c.dir / "m.pt").exists())


@case("tracebacks", "train --from-studies x x x")
def _(c: Context) -> str:
    c.study("x.db", n=6)
    return judge(c.npopt("train", "--from-studies", "x.db", "x.db", "x.db", "--out", "m.pt", "--steps", "2",
                         timeout=300), "error")


@case("tracebacks", "plot --out noext")
def _(c: Context) -> str:
    c.study("p.db", n=4)
    r = c.npopt("plot", "--study", "p.db", "--out", "noext")
    return judge(r, "ok", right=(c.dir / "noext").exists() and not (c.dir / "noext.png").exists())


@case("tracebacks", "serve: a 4,000-digit id")
def _(c: Context) -> str:
    replies, r = _serve(c, "i.db", [b'{"op": "ask", "id": ' + b"9" * 4000 + b"}"])
    clear = bool(replies) and replies[0].get("ok") is False and replies[0]["error"]["code"] != "internal"
    return judge(Result(0, "", r.err, r.hung), "ok", right=clear)


@case("tracebacks", "serve with stderr closed (2>&-)")
def _(c: Context) -> str:
    space = c.file("s.yaml", SPACE)
    r = c.run("bash", "-c", f"printf '%s\\n' '{{\"op\": \"ask\"}}' | {c.python} -m npopt serve --study c.db "
              f"--space {space} --surrogate random 2>&-")
    lines = [x for x in r.out.splitlines() if x.strip()]
    return judge(r, "ok", right=len(lines) == 1 and json.loads(lines[0]).get("ok") is True)


@case("tracebacks", "ask --n 0 leaves no study file")
def _(c: Context) -> str:
    r = c.npopt("ask", "--study", "n0.db", "--space", c.file("s.yaml", SPACE), "--n", "0")
    return judge(r, "error", right=not (c.dir / "n0.db").exists())


# ---------------------------------------------------------------- the Optuna plug-in


def _optuna(code: str, expect_text: str):
    def run(c: Context) -> str:
        r = c.py("import optuna\noptuna.logging.set_verbosity(optuna.logging.ERROR)\n"
                 "from npopt.integration.optuna import NPSampler\n" + textwrap.dedent(code), timeout=300)
        return judge(r, "ok", right=expect_text in r.out)
    return run


for _label, _code, _text in [
    ("an infinite value, then model trials", """
        study = optuna.create_study(sampler=NPSampler(seed=0))
        vals = iter([float("inf"), 1.0, float("inf"), 0.5, 2.0, 0.3, 0.2, 0.1])
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)) and next(vals), n_trials=8)
        pts = {(t.params["x"], t.params["y"]) for t in study.trials}
        print("OK" if len(pts) == 8 and all(t.state.name == "COMPLETE" for t in study.trials) else "BAD")
    """, "OK"),
    ("several objectives, refused before an evaluation", """
        calls = []
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=NPSampler(seed=0))
        try:
            study.optimize(lambda t: (t.suggest_float("x", 0, 1), calls.append(1) or 1.0), n_trials=3)
        except ValueError:
            pass
        print("OK" if not calls else f"BAD {len(calls)} evaluations spent")
    """, "OK"),
    ("seed=None gives different draws", """
        def pts(s):
            st = optuna.create_study(sampler=s)
            st.enqueue_trial({"x": 0.2}); st.enqueue_trial({"x": 0.7})
            st.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.4) ** 2, n_trials=4)
            return [t.params["x"] for t in st.trials[2:]]
        print("OK" if pts(NPSampler()) != pts(NPSampler()) else "BAD")
    """, "OK"),
]:
    case("optuna", _label)(_optuna(_code, _text))


# ---------------------------------------------------------------- PostgreSQL (needs a local server)


def _pg(fn):
    def run(c: Context) -> str:
        if c.cluster is None:
            return "skipped"
        return fn(c)
    return run


@case("postgres", "the password in show, run, ask, tell, serve (URL and ?password=)")
@_pg
def _(c: Context) -> str:
    from pg_cluster import PASSWORD

    obj = c.file("obj.py", "import npopt\nspace = {'x': npopt.Float(0.0, 1.0)}\ndef objective(x):\n    return x\n")
    outcomes = []
    for url in (c.cluster.url("pw1"), c.cluster.url("pw2").replace(f":{PASSWORD}@", "@") + f"&password={PASSWORD}"):
        for args in (["run", obj, "--study", url, "--budget", "2", "--surrogate", "random"], ["show", "--study", url],
                     ["ask", "--study", url], ["tell", "--study", url, "--number", "9", "--value", "1"]):
            r = c.npopt(*args)
            outcomes.append(PASSWORD in r.out + r.err or "Traceback" in r.err)
    return "wrong" if any(outcomes) else "correct"


@case("postgres", "serve across a server restart")
@_pg
def _(c: Context) -> str:
    replies, r = _serve(c, c.cluster.url("restart"), [b'{"op": "ask"}', b'{"op": "tell", "number": 0, "value": 1}',
                                                      b'{"op": "ask"}'], lambda i: i == 1 and c.cluster.restart())
    return judge(Result(0, "", r.err, r.hung), "ok", right=all(rep.get("ok") for rep in replies))


@case("postgres", "?study=a+b, a%20b and a%2520b are three studies")
@_pg
def _(c: Context) -> str:
    base = c.cluster.url("x").rsplit("=", 1)[0] + "="
    space = c.file("s.yaml", SPACE)
    for q in ("a+b", "a%20b", "a%2520b"):
        c.npopt("ask", "--study", base + q, "--space", space, "--surrogate", "random")
    counts = [len(c.trials(base + q) or []) for q in ("a+b", "a%20b", "a%2520b")]
    return "correct" if counts == [1, 1, 1] else "wrong"


# ---------------------------------------------------------------- running


def run_all(python: str, checkout: Path | None, only: str | None) -> list[dict]:
    cluster = None
    try:
        from pg_cluster import Cluster, available

        if available() is None:
            cluster = Cluster()
    except Exception as exc:  # no server here: the PostgreSQL cases are skipped
        print(f"PostgreSQL cases skipped: {exc}", file=sys.stderr)
    rows = []
    try:
        for klass, name, fn in CASES:
            if only and only not in name:
                continue
            folder = Path(tempfile.mkdtemp(prefix="npopt-hostile-"))
            t0 = time.perf_counter()
            try:
                outcome = fn(Context(python, checkout, folder, cluster))
            except Exception as exc:  # a broken setup is reported, not fatal
                outcome = f"setup failed: {type(exc).__name__}: {exc}"[:120]
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            rows.append({"class": klass, "case": name, "outcome": outcome,
                         "seconds": round(time.perf_counter() - t0, 1)})
            print(f"{outcome:>12}  {klass}: {name}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
    return rows


def table(rows: list[dict]) -> str:
    classes = list(dict.fromkeys(r["class"] for r in rows))
    lines = ["| class | cases | " + " | ".join(OUTCOMES) + " |", "| --- | --- |" + " --- |" * len(OUTCOMES)]
    for k in [*classes, "all"]:
        mine = [r for r in rows if k in ("all", r["class"]) and r["outcome"] != "skipped"]
        counts = Counter(r["outcome"] for r in mine)
        lines.append(f"| {k} | {len(mine)} | " + " | ".join(str(counts.get(o, 0)) for o in OUTCOMES) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--checkout", type=Path, help="an npopt checkout to test (default: the installed one)")
    ap.add_argument("--only", help="run the cases whose name contains this")
    ap.add_argument("--json", type=Path, help="write the outcomes here")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        print("before\n" + table(before) + "\n\nafter\n" + table(after))
        old = {r["case"]: r["outcome"] for r in before}
        print("\n| case | before | after |\n| --- | --- | --- |")
        for r in after:
            print(f"| {r['class']}: {r['case']} | {old.get(r['case'], '-')} | {r['outcome']} |")
        return
    rows = run_all(args.python, args.checkout, args.only)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
