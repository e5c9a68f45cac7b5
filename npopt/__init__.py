"""npopt: Bayesian optimisation with a meta-trained Neural Process surrogate.

    import npopt

    space = {"x": npopt.Float(-2, 2), "lr": npopt.Float(1e-5, 1e-1, log=True), "n": npopt.Int(1, 8),
             "act": npopt.Categorical(["relu", "tanh"])}
    with npopt.Study.create("my.study.db", space, surrogate="gp") as study:
        summary = npopt.run(study, lambda x, lr, n, act: (x - 1) ** 2 + n * lr + (act == "tanh"), budget=20)
        print(study.best)

``import npopt`` is light: the space types and errors are imported at once, everything
else (studies, surrogates -- and so torch) on first use.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from npopt.errors import (
    CheckpointError,
    ConfigError,
    NoPriorError,
    NpoptError,
    ObjectiveError,
    SpaceError,
    StudyError,
    TrialError,
)
from npopt.space import Categorical, Fixed, Float, Int, Space, load_space_file, to_minimise

try:  # one place for the version: pyproject.toml, read from the installed metadata
    __version__ = version("npopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "unknown"

# name -> module that defines it, imported on first access
_LAZY = {
    "Study": "npopt.study",
    "Trial": "npopt.study",
    "TrialState": "npopt.study",
    "RunSummary": "npopt.runner",
    "run": "npopt.runner",
    "load_objective": "npopt.objective",
    "make_surrogate": "npopt.surrogates",
}

__all__ = [
    "Float",
    "Int",
    "Categorical",
    "Fixed",
    "Space",
    "load_space_file",
    "to_minimise",
    *_LAZY,
    "NpoptError",
    "SpaceError",
    "StudyError",
    "TrialError",
    "ObjectiveError",
    "NoPriorError",
    "CheckpointError",
    "ConfigError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'npopt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
