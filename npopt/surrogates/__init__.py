"""Surrogates, in one registry: ``np`` (meta-trained Neural Process), ``gp`` (BoTorch), ``random``.

The CLI's ``--surrogate`` choices, :func:`make_surrogate` and the benchmark's methods all
come from :data:`REGISTRY`. Building a surrogate imports its module (and torch) only then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from npopt.errors import NpoptError


@dataclass(frozen=True)
class Registered:
    """A surrogate by name: how to build it for a space, and one line for help texts."""

    build: Callable[..., object]  # (dim, choices, **kwargs) -> Surrogate
    help: str


def _np(dim: int, choices: tuple[int, ...], **kwargs):
    from npopt.surrogates.np import NPSurrogate

    return NPSurrogate.for_dim(dim, choices=choices, **kwargs)


def _gp(dim: int, choices: tuple[int, ...], **kwargs):
    from npopt.surrogates.gp import GPSurrogate

    return GPSurrogate(choices=choices, **kwargs)


def _random(dim: int, choices: tuple[int, ...], **kwargs):
    from npopt.surrogates.random import RandomSurrogate

    return RandomSurrogate(choices=choices, **kwargs)


REGISTRY: dict[str, Registered] = {
    "np": Registered(_np, "the meta-trained Neural Process (the shipped prior for the space, or --prior)"),
    "gp": Registered(_gp, "BoTorch's GP, refitted at every ask"),
    "random": Registered(_random, "uniform random search"),
}
#: The surrogates' names, in the order help texts list them.
SURROGATES = tuple(REGISTRY)


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


def check_acquisition(rule: str, surrogate: str) -> str:
    """``rule`` if the surrogate called ``surrogate`` can use it (NpoptError naming the fix otherwise)."""
    from npopt.acquisition.options import RULES

    if rule not in RULES:
        raise NpoptError(f"unknown acquisition {rule!r}; choose one of {', '.join(RULES)}", code="bad_acquisition")
    if rule == "logei" and surrogate == "random":
        raise NpoptError("random search has no predictive for --acquisition logei; use --surrogate np or gp",
                         code="bad_acquisition")
    return rule


def make_surrogate(name: str, dim: int, choices: Sequence[int] | None = None, acquisition: str | None = None,
                   **kwargs):
    """Build the surrogate called ``name`` for a ``dim``-dimensional space.

    Args:
        name: one of :data:`SURROGATES`.
        dim: number of unit-cube coordinates.
        choices: per coordinate, the number of choices of a categorical parameter (0 for
            float and int), as ``Space.choices`` gives it; ``None`` or all zeros: none.
        acquisition: the acquisition rule (:data:`npopt.acquisition.options.RULES`); ``None``:
            Thompson sampling.
        kwargs: passed to the surrogate's constructor (e.g. ``checkpoint`` for ``np``).
    """
    if name not in REGISTRY:
        raise NpoptError(f"unknown surrogate {name!r}; choose one of {', '.join(SURROGATES)}", code="bad_surrogate")
    if acquisition is not None:
        check_acquisition(acquisition, name)
    surrogate = REGISTRY[name].build(dim, _check_choices(dim, choices), **kwargs)
    if acquisition is not None and acquisition != surrogate.acquisition.rule:
        from dataclasses import replace

        surrogate.acquisition = replace(surrogate.acquisition, rule=acquisition)
    return surrogate
