"""CLI commands (core). Registered on npopt.cli.app at import."""

from __future__ import annotations

import typer

from npopt.cli import app


@app.command()
def version() -> None:
    """Print npopt's version.

    Example: npopt version
    """
    from importlib.metadata import version as _v

    typer.echo(_v("npopt"))
