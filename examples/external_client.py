"""Drive ``npopt serve`` through a pipe, as a program in any language could.

The client starts ``npopt serve`` once, writes one JSON request per line to its stdin and
reads exactly one JSON reply line per request from its stdout. The objective below is a
stand-in for something npopt cannot call itself: an instrument, a cluster job, a binary.

    python examples/external_client.py [--study PATH] [--trials N] [--surrogate random|gp|np]

At the end it prints the best trial and the median time of an ask and of a tell round trip.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = {
    "direction": "minimize",
    "space": {
        "x": {"type": "float", "low": -3, "high": 3},
        "y": {"type": "float", "low": -3, "high": 3},
    },
}


def black_box(x: float, y: float) -> float:
    """The expensive thing being optimised; raises where it 'cannot measure'."""
    if x > 2.8:
        raise RuntimeError("out of the calibrated range")
    return (x - 1) ** 2 + (y + 0.5) ** 2 + 0.3 * math.sin(3 * x)


def npopt_command() -> list[str]:
    """``python -m npopt`` when npopt is importable here, else ``npopt`` from PATH."""
    if importlib.util.find_spec("npopt") is not None:
        return [sys.executable, "-m", "npopt"]
    found = shutil.which("npopt")
    if found is None:
        sys.exit("npopt not found: install it or run this with .venv/bin/python")
    return [found]


class NpoptServer:
    """One ``npopt serve`` process; :meth:`request` is one line out, one line back."""

    def __init__(self, study: Path, space_file: Path, surrogate: str, seed: int) -> None:
        args = ["serve", "--study", str(study), "--space", str(space_file)]
        args += ["--surrogate", surrogate, "--seed", str(seed)]
        # stderr is inherited: the server's logs show up on ours and can never fill a pipe
        self.proc = subprocess.Popen(
            npopt_command() + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.last_id = 0

    def request(self, op: str, **fields) -> dict:
        self.last_id += 1
        self.proc.stdin.write(json.dumps({"op": op, "id": self.last_id, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"npopt serve exited with code {self.proc.wait()}")
        reply = json.loads(line)
        assert reply.get("id") == self.last_id, reply
        if not reply["ok"]:
            raise RuntimeError(f"{reply['error']['code']}: {reply['error']['message']}")
        return reply

    def close(self) -> int:
        self.proc.stdin.close()  # end of input: the server stops
        return self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=Path("external_client.db"))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--surrogate", default="random", choices=("random", "gp", "np"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        space_file = Path(tmp) / "space.json"
        space_file.write_text(json.dumps(SPACE))
        server = NpoptServer(args.study, space_file, args.surrogate, args.seed)
        ask_s, tell_s = [], []
        for _ in range(args.trials):
            start = time.perf_counter()
            trial = server.request("ask")["trials"][0]
            ask_s.append(time.perf_counter() - start)
            params = trial["params"]
            try:
                outcome = {"value": black_box(params["x"], params["y"])}
            except RuntimeError as exc:
                outcome = {"state": "failed", "reason": str(exc)}
            start = time.perf_counter()
            server.request("tell", number=trial["number"], **outcome)
            tell_s.append(time.perf_counter() - start)
            print(f"trial {trial['number']}: {json.dumps(params)} -> {outcome.get('value', 'failed')}")
        best = server.request("best")["trial"]
        server.close()

    if best is None:
        print("best: none yet (every trial failed)")
    else:
        print(f"best: trial {best['number']}, value {best['value']:.6g} at {json.dumps(best['params'])}")
    print(
        f"median round trip ({args.surrogate}): ask {1e3 * statistics.median(ask_s):.1f} ms, "
        f"tell {1e3 * statistics.median(tell_s):.1f} ms"
    )


if __name__ == "__main__":
    main()
