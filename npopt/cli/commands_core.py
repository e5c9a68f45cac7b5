"""CLI commands (core). Registered on npopt.cli.app at import."""

from __future__ import annotations

from npopt.cli import app  # noqa: F401
