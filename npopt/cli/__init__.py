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
    commands_export,  # noqa: F401
    commands_protocol,  # noqa: F401
    commands_run,  # noqa: F401
)
from npopt.cli.app import app


def main() -> None:
    """Console entry point (``npopt`` and ``python -m npopt``)."""
    _standard_streams()
    app()


def _standard_streams() -> None:
    """Give a closed stdin, stdout or stderr (``2>&-``) /dev/null: otherwise the next file
    opened (the study) would take its descriptor, and Python would print stderr's lines to
    stdout (``print(file=None)``), between a server's replies."""
    import os
    import sys

    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, mode, closefd=False))  # kept for the life of the process
