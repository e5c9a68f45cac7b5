"""The ``npopt`` command line: a thin Typer wrapper over the library.

Each command group lives in its own module and registers itself on :data:`app`.
Command bodies import torch/botorch lazily so that ``npopt --help`` stays fast.
Library errors (:class:`npopt.errors.NpoptError`) become one line ``Error: ...`` on
stderr and exit code 1 -- never a traceback.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from npopt.errors import NpoptError


class _Group(TyperGroup):
    """Turns every NpoptError raised by a command into ``Error: ...`` and exit code 1."""

    def invoke(self, ctx):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except NpoptError as exc:
            typer.echo(f"Error: {exc.message}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    name="npopt",
    help="Bayesian optimisation with a meta-trained Neural Process surrogate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """Bayesian optimisation with a meta-trained Neural Process surrogate.

    Example: npopt run examples/quickstart.py --budget 20
    """


def fail(message: str, code: int = 1) -> None:
    """Print ``Error: message`` to stderr and exit with ``code``."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


# Command modules register their commands on `app` when imported.
from npopt.cli import (  # noqa: E402
    commands_benchmark,  # noqa: F401
    commands_core,  # noqa: F401
    commands_protocol,  # noqa: F401
    commands_run,  # noqa: F401
)


def main() -> None:
    """Console entry point (``npopt`` and ``python -m npopt``)."""
    app()
