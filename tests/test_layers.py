"""Imports flow one way: each module imports only from its own layer or the layers below,
there is no import cycle (function-level imports included), and the light layers load no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "npopt"

#: Bottom to top; a module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, ...]] = [
    ("npopt.errors", "npopt.trial", "npopt.seeds", "npopt.gpmath", "npopt.optim", "npopt.space", "npopt.outputs",
     "npopt.outcomes"),
    ("npopt.storage", "npopt.encoding", "npopt.acquisition.options"),
    ("npopt.neural",),
    ("npopt.acquisition", "npopt.surrogates"),
    ("npopt.suggest",),
    ("npopt.study", "npopt.objective"),
    ("npopt.runner", "npopt.protocol", "npopt.transfer", "npopt.integration"),
    ("npopt.display", "npopt.benchmarks"),
    ("npopt.cli", "npopt.__main__"),
]
#: The public facade imports its names lazily (by string), so it sits outside the layers.
FACADE = "npopt"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def layer(module: str) -> int:
    best, rank = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    assert rank is not None, f"{module} is in no layer: add it to LAYERS"
    return rank


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Every npopt module ``module`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known and n != module}
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(m, p, set(mods)) for m, p in mods.items()}


def test_every_import_goes_to_the_same_layer_or_below():
    upward = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
              for m, targets in graph().items() if m != FACADE
              for t in sorted(targets) if t != FACADE and layer(t) > layer(m)]
    assert not upward, "\n".join(upward)


def test_there_is_no_import_cycle_even_through_function_level_imports():
    g = {m: {t for t in ts if t != FACADE} for m, ts in graph().items() if m != FACADE}
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in g:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


@pytest.mark.parametrize("rank", range(len(LAYERS)))
def test_importing_a_layer_alone_loads_no_higher_layer(rank):
    """Every module of one layer imported together in a fresh interpreter (the static test
    above covers each import statement; this one catches what runs at import time)."""
    mine = sorted(m for m in modules() if m not in (FACADE, "npopt.__main__") and layer(m) == rank)
    loaded = {m for m in _loaded_after("; ".join(f"import {m}" for m in mine)) if m.startswith("npopt.")}
    higher = sorted(m for m in loaded if m in modules() and layer(m) > rank
                    and not any(own.startswith(m + ".") for own in mine))  # a module's packages load first
    assert not higher, f"importing layer {rank} ({', '.join(mine)}) loaded {higher}"


@pytest.mark.parametrize("module", ["npopt.space", "npopt.trial", "npopt.storage", "npopt.storage.sqlite",
                                    "npopt.study", "npopt.surrogates", "npopt.cli"])
def test_the_light_modules_load_no_torch(module):
    assert "torch" not in _loaded_after(f"import {module}")


def test_the_cli_help_loads_neither_torch_nor_botorch():
    loaded = _loaded_after("from npopt.cli import app; from typer.testing import CliRunner; "
                           "assert CliRunner().invoke(app, ['--help']).exit_code == 0")
    assert "torch" not in loaded and "botorch" not in loaded
