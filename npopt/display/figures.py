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


def save(fig, path: Path, dpi: int = 120) -> None:
    """Write ``fig`` to exactly ``path`` (folders created, atomically), laid out tightly.

    The format follows the suffix where matplotlib knows it and is PNG otherwise (matplotlib
    alone would write ``out.png`` when asked for ``out``)."""
    from npopt.outputs import atomic_write

    path = Path(path)
    known = fig.canvas.get_supported_filetypes()
    fmt = path.suffix[1:].lower() if path.suffix[1:].lower() in known else "png"
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))
