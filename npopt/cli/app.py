"""The Typer application every command module registers on, and the one error boundary:
library errors (:class:`npopt.errors.NpoptError`) become ``Error: ...`` and exit code 1."""

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
