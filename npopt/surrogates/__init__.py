"""Surrogates: ``np`` (meta-trained Neural Process), ``gp`` (BoTorch), ``random``."""

from __future__ import annotations

from collections.abc import Sequence

from npopt.errors import NpoptError

SURROGATES = ("np", "gp", "random")


def _check_choices(dim: int, choices: Sequence[int] | None) -> tuple[int, ...]:
    """``choices`` as a tuple of ``dim`` ints (``()`` when no dimension is categorical)."""
    if choices is None:
        return ()
    choices = tuple(int(c) for c in choices)
    if len(choices) != dim:
        raise ValueError(f"choices has {len(choices)} entries for a {dim}-dimensional space")
    if any(c == 1 or c < 0 for c in choices):
        raise ValueError(f"choices must be 0 (not categorical) or at least 2, got {choices}")
    return choices if any(choices) else ()


def make_surrogate(name: str, dim: int, choices: Sequence[int] | None = None, **kwargs):
    """Build the surrogate called ``name`` for a ``dim``-dimensional space.

    Args:
        name: one of :data:`SURROGATES`.
        dim: number of unit-cube coordinates.
        choices: per coordinate, the number of choices of a categorical parameter (0 for
            float and int), as ``Space.choices`` gives it; ``None`` or all zeros: none.
        kwargs: passed to the surrogate's constructor (e.g. ``checkpoint`` for ``np``).
    """
    choices = _check_choices(dim, choices)
    if name == "np":
        from npopt.surrogates.np import NPSurrogate

        return NPSurrogate.for_dim(dim, choices=choices, **kwargs)
    if name == "gp":
        from npopt.surrogates.gp import GPSurrogate

        return GPSurrogate(choices=choices, **kwargs)
    if name == "random":
        from npopt.surrogates.random import RandomSurrogate

        return RandomSurrogate(choices=choices)
    raise NpoptError(
        f"unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}", code="bad_surrogate"
    )
