"""Help texts that were wrong: the plot extra's name, the benchmark suites, `prior list` at 80 columns."""

from __future__ import annotations

import os
import subprocess
import sys

from npopt.cli.commands_benchmark import SUITES


def _npopt(*args: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb", "NO_COLOR": "1"}
    out = subprocess.run([sys.executable, "-m", "npopt", *args], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_plot_help_names_the_plot_extra():
    assert "pip install 'npopt[plot]'" in _npopt("plot", "--help")


def test_benchmark_help_lists_every_suite():
    shown = " ".join(_npopt("--help", columns=200).split())
    line = next(x for x in shown.split("│") if "benchmark" in x and "Compare" in x)
    assert all(suite in line for suite in SUITES), line


def test_prior_list_fits_80_columns_without_folding_words():
    shown = _npopt("prior", "list")
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 80
    for name in ("np1d", "np6d", "np16d"):
        assert any(line.strip() == name for line in lines), shown
    assert any("128 ARD sinusoids" in line for line in lines)  # a value on one line, not folded into cells
