"""Surrogates: ``np`` (meta-trained Neural Process), ``gp`` (BoTorch), ``random``."""

from __future__ import annotations

from npopt.errors import NpoptError

SURROGATES = ("np", "gp", "random")


def make_surrogate(name: str, dim: int, **kwargs):
    """Build the surrogate called ``name`` for a ``dim``-dimensional space."""
    if name == "np":
        from npopt.surrogates.np import NPSurrogate

        return NPSurrogate.for_dim(dim, **kwargs)
    if name == "gp":
        from npopt.surrogates.gp import GPSurrogate

        return GPSurrogate(**kwargs)
    if name == "random":
        from npopt.surrogates.random import RandomSurrogate

        return RandomSurrogate()
    raise NpoptError(
        f"unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}", code="bad_surrogate"
    )
