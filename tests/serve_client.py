"""A test client for ``npopt serve`` as a real subprocess over real pipes.

Shared by test_protocol.py and test_protocol_fuzz.py (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SPACE_YAML = """\
direction: minimize
space:
  x: {type: float, low: -2, high: 2}
  layers: {type: int, low: 1, high: 8}
"""


def objective(params: dict) -> float:
    """A black box with its minimum 0 at x = 0.5, layers = 3."""
    return (params["x"] - 0.5) ** 2 + 0.1 * (params["layers"] - 3) ** 2


def npopt_cmd(*args: str) -> list[str]:
    """The command line running ``npopt`` with this interpreter."""
    return [sys.executable, "-m", "npopt", *args]


def write_space(tmp_path: Path, text: str = SPACE_YAML, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class Server:
    """``npopt serve`` in a subprocess; stderr goes to a file so it can never block."""

    def __init__(self, study: Path | str, space: Path | None = None, surrogate: str = "random", seed: int = 0,
                 log: Path | None = None):
        """``study``: a file, or a PostgreSQL URL (then ``log`` names the stderr file)."""
        args = ["serve", "--study", str(study), "--surrogate", surrogate, "--seed", str(seed)]
        if space is not None:
            args += ["--space", str(space)]
        self.stderr_path = log if log is not None else study.with_name(study.name + f".serve{id(self)}.log")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                npopt_cmd(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=ROOT
            )

    def write(self, line: bytes | dict) -> None:
        """Send one request line (a dict is encoded as JSON) without waiting for the reply."""
        data = json.dumps(line).encode() if isinstance(line, dict) else line
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def read(self) -> dict:
        """Read one reply line; it must be one complete line of JSON."""
        raw = self.proc.stdout.readline()
        assert raw.endswith(b"\n"), f"no reply (server stderr: {self.stderr()!r})"
        assert raw.count(b"\n") == 1
        return json.loads(raw)

    def send(self, line: bytes | dict) -> dict:
        """One request, one reply."""
        self.write(line)
        return self.read()

    def ok(self, request: dict) -> dict:
        reply = self.send(request)
        assert reply["ok"] is True, reply
        return reply

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def close(self, timeout: float = 30) -> int:
        """Close stdin; the server must then stop with nothing more on stdout."""
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        assert rest == b"", rest
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except BrokenPipeError:
                pass
