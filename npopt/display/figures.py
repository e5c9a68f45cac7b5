"""matplotlib, loaded on demand (an optional extra: ``pip install 'npopt[plot]'``), and saving figures."""

from __future__ import annotations

from pathlib import Path

from npopt.errors import NpoptError


def pyplot():
    """matplotlib's pyplot on the Agg backend, or a clear error if it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NpoptError("plots need matplotlib: pip install 'npopt[plot]'", code="missing_extra") from None
    return plt


def save(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` (folders created), laid out tightly, at 120 dpi."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
