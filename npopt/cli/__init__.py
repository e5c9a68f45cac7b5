"""The ``npopt`` command line: a thin Typer wrapper over the library.

Each command group lives in its own module and registers itself on :data:`npopt.cli.app.app`.
Command bodies import torch/botorch lazily so that ``npopt --help`` stays fast.
Library errors (:class:`npopt.errors.NpoptError`) become one line ``Error: ...`` on
stderr and exit code 1 -- never a traceback.
"""

from __future__ import annotations

# Command modules register their commands on `app` when imported.
from npopt.cli import (
    commands_benchmark,  # noqa: F401
    commands_core,  # noqa: F401
    commands_protocol,  # noqa: F401
    commands_run,  # noqa: F401
)
from npopt.cli.app import app


def main() -> None:
    """Console entry point (``npopt`` and ``python -m npopt``)."""
    app()
