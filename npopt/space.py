"""Search spaces: parameter types, the unit-cube map, directions and space files.

This module is the only place that knows about parameter types and directions (its ~600
lines are the four types, each with its checks, unit map and file form, kept together so
that a type is read in one place). Everything downstream of it (through
:mod:`npopt.encoding`) sees points in the unit cube ``[0, 1]^d`` (one coordinate per free
parameter, in declaration order) and values to be *minimised*.

* ``Float(low, high, log=False)``: a real number in ``[low, high]``; with ``log=True`` the
  unit coordinate is linear in ``log(value)``.
* ``Int(low, high, log=False)``: an integer in ``[low, high]`` (both inclusive). Each integer
  owns an equal slice of the unit interval (the range ``[low - 0.5, high + 0.5]`` is mapped,
  on a log scale if asked), so rounding favours no value, the ends included.
* ``Categorical(choices)``: one of a list of distinct strings, numbers, booleans or ``None``.
  With ``C >= 2`` choices, choice ``i`` owns the slice ``[i / C, (i + 1) / C)`` of its unit
  coordinate and sits at its centre ``(i + 0.5) / C``; a single choice is a constant and
  takes no coordinate.
* ``Fixed(value)``: a constant passed to the objective but not optimised.

A space is declared either in Python (``{"x": Float(-2, 2), "n": Int(1, 8)}``) or in a YAML
or JSON file::

    direction: minimize
    space:
      x: {type: float, low: -2, high: 2}
      lr: {type: float, low: 1e-5, high: 1e-1, log: true}
      layers: {type: int, low: 1, high: 8}
      kernel: {type: categorical, choices: [rbf, linear, poly]}   # or `kernel: [rbf, linear, poly]`
      batch: {type: fixed, value: 64}      # or simply `batch: 64`

Every malformed space raises :class:`~npopt.errors.SpaceError` naming the parameter and the
problem. No torch here (numpy only): this module is imported by ``import npopt`` and the CLI.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from npopt.errors import SpaceError, first_line

DIRECTIONS = ("minimize", "maximize")
_DIRECTION_ALIASES = {
    "minimize": "minimize",
    "minimise": "minimize",
    "min": "minimize",
    "maximize": "maximize",
    "maximise": "maximize",
    "max": "maximize",
}
_CATEGORICAL = ("categorical", "choice", "category", "categories", "enum")


# ---------------------------------------------------------------- directions (one place)


def check_direction(direction: Any) -> str:
    """``"minimize"`` or ``"maximize"`` (British spellings and min/max accepted)."""
    key = direction.strip().lower() if isinstance(direction, str) else None
    if key not in _DIRECTION_ALIASES:
        raise SpaceError(
            f"direction must be 'minimize' or 'maximize', not {_short(direction)}", code="bad_direction"
        )
    return _DIRECTION_ALIASES[key]


def to_minimise(value: float, direction: str) -> float:
    """The value in npopt's internal convention, where smaller is always better."""
    return -value if check_direction(direction) == "maximize" else value


# ---------------------------------------------------------------- parameter types


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Range:
    """The unit-cube map shared by :class:`Float` and :class:`Int`.

    ``[low - pad, high + pad]`` (on a log scale if asked) maps linearly onto ``[0, 1]``.
    """

    low: float
    high: float
    log: bool
    _pad = 0.0
    _kind = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self._kind, "low": self.low, "high": self.high, "log": self.log}

    def _edges(self) -> tuple[float, float]:
        a, b = self.low - self._pad, self.high + self._pad
        return (math.log(a), math.log(b)) if self.log else (a, b)

    def _position(self, name: str, value: float) -> float:
        if not self.low <= value <= self.high:
            raise SpaceError(f"parameter {_short(name)}: {_short(value)} is outside [{self.low:g}, {self.high:g}]")
        a, b = self._edges()
        return ((math.log(value) if self.log else value) - a) / (b - a)

    def _unscaled(self, u: float) -> float:
        a, b = self._edges()
        t = a + min(max(u, 0.0), 1.0) * (b - a)
        return math.exp(t) if self.log else t


@dataclass(frozen=True)
class Float(_Range):
    """A real parameter in ``[low, high]``, optionally on a log scale."""

    low: float
    high: float
    log: bool = False
    _kind = "float"

    def _check(self, name: str) -> Float:
        low = _bound(name, "low", self.low)
        high = _bound(name, "high", self.high)
        _check_range(name, low, high, self.log)
        return Float(low, high, self.log)

    def _to_unit(self, name: str, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise SpaceError(f"parameter {_short(name)}: expected a finite number, got {_short(value)}")
        return self._position(name, value)

    def _from_unit(self, u: float) -> float:
        return min(max(self._unscaled(u), self.low), self.high)

    def _snap_unit(self, u: np.ndarray) -> np.ndarray:
        """``m`` unit coordinates, clipped to ``[0, 1]`` (floats need no other snapping)."""
        return np.clip(u, 0.0, 1.0)


@dataclass(frozen=True)
class Int(_Range):
    """An integer parameter in ``[low, high]`` (both inclusive), optionally on a log scale.

    Each integer owns an equal slice of the (log-)range, the ends included.
    """

    low: int
    high: int
    log: bool = False
    _pad = 0.5
    _kind = "int"

    def _check(self, name: str) -> Int:
        low = _bound(name, "low", self.low)
        high = _bound(name, "high", self.high)
        for field, v in (("low", low), ("high", high)):
            if v != int(v):
                raise SpaceError(f"parameter {_short(name)}: int {field} must be a whole number, not {_short(v)}")
        _check_range(name, low, high, self.log)
        return Int(int(low), int(high), self.log)

    def _to_unit(self, name: str, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value) or value != int(value):
            raise SpaceError(f"parameter {_short(name)}: expected an integer, got {_short(value)}")
        return self._position(name, value)

    def _from_unit(self, u: float) -> int:
        return min(max(round(self._unscaled(u)), self.low), self.high)

    def _snap_unit(self, u: np.ndarray) -> np.ndarray:
        """``m`` unit coordinates moved to the position of the integer each rounds to;
        the vectorised ``_position(_from_unit(u))`` (numpy rounds half to even, as ``round``)."""
        a, b = self._edges()
        t = a + np.clip(u, 0.0, 1.0) * (b - a)
        n = np.clip(np.round(np.exp(t) if self.log else t), self.low, self.high)  # m integers
        return ((np.log(n) if self.log else n) - a) / (b - a)


def _choice_key(value: Any) -> tuple[str, Any]:
    """What makes two choices the same: ``1`` and ``1.0`` are, ``1`` and ``True`` are not."""
    if value is None or isinstance(value, (bool, str)):
        return (type(value).__name__, value)
    return ("number", value)


class Categorical:
    """One of a list of distinct choices: strings, numbers, booleans or ``None``.

    The objective receives the choice itself. With ``C >= 2`` choices the parameter takes
    one unit coordinate, choice ``i`` at ``(i + 0.5) / C``; with one choice it is a
    constant. Numbers match regardless of int/float (``1`` is ``1.0``), never booleans.

    Args:
        choices: the choices, in the order that defines their indices (kept as the list
            :attr:`choices`).
    """

    def __init__(self, choices: Sequence[Any]) -> None:
        # any ordered collection (list, tuple, range, numpy array) becomes a list; a set has
        # no order and a string is not a list of choices: both are refused by _check
        ordered = not isinstance(choices, (str, bytes, set, frozenset, Mapping)) and hasattr(choices, "__iter__") \
            and hasattr(choices, "__len__")
        self.choices: list[Any] = list(choices) if ordered else choices

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Categorical):
            return NotImplemented
        try:
            return [_choice_key(c) for c in self.choices] == [_choice_key(c) for c in other.choices]
        except TypeError:  # an unchecked choice list that is not a list
            return self.choices == other.choices

    def __hash__(self) -> int:
        return hash(tuple(_choice_key(c) for c in self.choices))

    def __repr__(self) -> str:
        return f"Categorical({self.choices!r})"

    def _check(self, name: str) -> Categorical:
        choices = self.choices
        if not isinstance(choices, list):
            raise SpaceError(
                f"parameter {_short(name)}: choices must be a list, not {type(choices).__name__}; "
                "e.g. choices: [rbf, linear]"
            )
        if not choices:
            raise SpaceError(
                f"parameter {_short(name)}: a categorical needs at least one choice, e.g. choices: [rbf, linear]"
            )
        seen: dict[tuple[str, Any], Any] = {}
        checked = []
        for c in choices:
            if isinstance(c, (list, tuple, set, dict, Mapping)):
                raise SpaceError(
                    f"parameter {_short(name)}: choice {_short(c)} is a {type(c).__name__}; choices must be strings, "
                    "numbers, booleans or null (write a structured choice as a string)"
                )
            if isinstance(c, np.bool_):
                c = bool(c)
            if isinstance(c, numbers.Real) and not isinstance(c, bool):  # numpy scalars too
                c = int(c) if isinstance(c, numbers.Integral) else float(c)
            if c is not None and not isinstance(c, (str, bool, int, float)):
                raise SpaceError(
                    f"parameter {_short(name)}: choice {_short(c)} is a {type(c).__name__}; choices must be strings, "
                    "numbers, booleans or null"
                )
            if isinstance(c, float) and not math.isfinite(c):
                raise SpaceError(
                    f"parameter {_short(name)}: choice {_short(c)} is not finite; choices must be finite numbers"
                )
            key = _choice_key(c)
            if key in seen:
                raise SpaceError(
                    f"parameter {_short(name)}: choice {_short(c)} is listed twice (also as {_short(seen[key])}); "
                    "list each choice once"
                )
            seen[key] = c
            checked.append(c)
        return Categorical(checked)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "categorical", "choices": list(self.choices)}

    def _index(self, name: str, value: Any) -> int:
        """The index of ``value`` among the choices (a SpaceError listing them if none)."""
        try:
            key = _choice_key(value)
            for i, c in enumerate(self.choices):
                if _choice_key(c) == key:
                    return i
        except TypeError:  # unhashable values compare unequal to every choice
            pass
        raise SpaceError(
            f"parameter {_short(name)}: {_short(value)} is not one of its choices; "
            f"use one of {', '.join(map(repr, self.choices))}"
        )

    def _to_unit(self, name: str, value: Any) -> float:
        return (self._index(name, value) + 0.5) / len(self.choices)

    def _from_unit(self, u: float) -> Any:
        c = len(self.choices)
        return self.choices[min(int(math.floor(min(max(u, 0.0), 1.0) * c)), c - 1)]

    def _snap_unit(self, u: np.ndarray) -> np.ndarray:
        """``m`` unit coordinates moved to the centre of the choice each falls in."""
        c = len(self.choices)
        i = np.minimum(np.floor(np.clip(u, 0.0, 1.0) * c), c - 1)  # m choice indices
        return (i + 0.5) / c


@dataclass(frozen=True)
class Fixed:
    """A constant passed to the objective unchanged (a number, string or boolean)."""

    value: Any

    def _check(self, name: str) -> Fixed:
        v = self.value
        if isinstance(v, float) and not math.isfinite(v):
            raise SpaceError(f"parameter {_short(name)}: fixed value must be finite, not {_short(v)}")
        if not isinstance(v, (int, float, str, bool)):
            raise SpaceError(
                f"parameter {_short(name)}: fixed value must be a number, string or boolean, "
                f"not {type(v).__name__}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"type": "fixed", "value": self.value}


Param = Float | Int | Categorical | Fixed


def _is_free(p: Param) -> bool:
    """Whether a parameter takes a unit-cube coordinate (not a constant)."""
    return not isinstance(p, Fixed) and not (isinstance(p, Categorical) and len(p.choices) == 1)


def _bound(name: str, field: str, value: Any) -> float:
    """A finite numeric bound (numeric strings, as PyYAML reads ``1e-5``, are accepted)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpaceError(f"parameter {_short(name)}: {field} must be a number, not {_short(value)}") from None
    if not _is_number(value):
        raise SpaceError(f"parameter {_short(name)}: {field} must be a number, not {_short(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range, e.g. 10**400
        number = math.inf
    if not math.isfinite(number):
        raise SpaceError(f"parameter {_short(name)}: {field} must be finite, not {_short(value)}")
    return number


def _check_range(name: str, low: float, high: float, log: Any) -> None:
    if not isinstance(log, bool):
        raise SpaceError(f"parameter {_short(name)}: log must be true or false, not {_short(log)}")
    if low >= high:
        raise SpaceError(
            f"parameter {_short(name)}: low ({low:g}) must be less than high ({high:g}); "
            "use a fixed value for a constant"
        )
    if log and low <= 0:
        raise SpaceError(f"parameter {_short(name)}: log scale needs low > 0, got low={low:g}")
    if not math.isfinite(high - low):
        raise SpaceError(
            f"parameter {_short(name)}: the range [{low:g}, {high:g}] is wider than the largest float; "
            "narrow it, or use log: true for a positive range"
        )


def _parse_param(name: Any, spec: Any) -> Param:
    """One parameter from a Python object or a space-file entry, checked."""
    if not isinstance(name, str) or not name:
        raise SpaceError(f"parameter names must be non-empty strings, not {_short(name)}")
    if isinstance(spec, (Float, Int, Categorical, Fixed)):
        return spec._check(name)
    if isinstance(spec, (list, tuple)):
        return Categorical(spec)._check(name)  # a bare list of choices
    if isinstance(spec, (set, frozenset)):
        raise SpaceError(
            f"parameter {_short(name)}: write the choices as a list (a set has no order), e.g. [rbf, linear]"
        )
    if not isinstance(spec, Mapping):
        return Fixed(spec)._check(name)  # a bare constant
    kind = spec.get("type")
    kind = kind.lower() if isinstance(kind, str) else kind
    if kind is not None and not isinstance(kind, str):
        raise SpaceError(f"parameter {_short(name)}: type must be one word (float, int, categorical or fixed), "
                         f"not {_short(kind)}")
    if kind in _CATEGORICAL or (kind is None and "choices" in spec):
        kind = "categorical"
    fields = {
        "float": ("low", "high", "log"), "int": ("low", "high", "log"), "categorical": ("choices",),
        "fixed": ("value",),
    }
    if kind not in fields:
        expected = "float, int, categorical or fixed"
        problem = "has no type" if kind is None else f"unknown type {_short(kind)}"
        raise SpaceError(f"parameter {_short(name)}: {problem} (expected {expected})")
    unknown = [k for k in spec if k != "type" and k not in fields[kind]]
    if unknown:
        raise SpaceError(
            f"parameter {_short(name)}: unknown field {_short(unknown[0])} for type {kind} "
            f"(expected {', '.join(fields[kind])})"
        )
    missing = [k for k in fields[kind] if k != "log" and k not in spec]
    if missing:
        raise SpaceError(f"parameter {_short(name)}: missing {_short(missing[0])}")
    if kind == "fixed":
        return Fixed(spec["value"])._check(name)
    if kind == "categorical":
        return Categorical(spec["choices"])._check(name)
    cls = Float if kind == "float" else Int
    return cls(spec["low"], spec["high"], spec.get("log", False))._check(name)


# ---------------------------------------------------------------- the space


class Space:
    """An ordered set of named parameters and the map to and from the unit cube.

    Args:
        params: ``{name: Float | Int | Categorical | Fixed | file-style dict | list of
            choices | constant}``; the order of the free parameters (all but fixed values
            and one-choice categoricals) is the order of the unit-cube coordinates.

    Raises:
        SpaceError: the space is empty, has no free parameter, or a parameter is malformed.
    """

    def __init__(self, params: Mapping[str, Any]) -> None:
        if isinstance(params, Space):
            params = params.params
        if not isinstance(params, Mapping):
            raise SpaceError(
                f"a space must be a mapping of parameter names to parameters, not {type(params).__name__}"
            )
        if not params:
            raise SpaceError("the space is empty: declare at least one Float, Int or Categorical parameter")
        self.params: dict[str, Param] = {name: _parse_param(name, spec) for name, spec in params.items()}
        #: Names of the free parameters, in unit-cube coordinate order.
        self.names: list[str] = [n for n, p in self.params.items() if _is_free(p)]
        if not self.names:
            raise SpaceError(
                "the space has only fixed values: declare at least one Float, Int or Categorical "
                "parameter (with two or more choices)"
            )

    @property
    def dim(self) -> int:
        """Number of free parameters (the unit cube's dimension)."""
        return len(self.names)

    @property
    def choices(self) -> tuple[int, ...]:
        """Per unit-cube coordinate: the number of choices ``C >= 2`` of a categorical, 0 for
        a float or int (``d`` entries), so that a model knows which inputs are categorical."""
        return tuple(
            len(p.choices) if isinstance(p, Categorical) else 0 for p in (self.params[n] for n in self.names)
        )

    @property
    def has_discrete(self) -> bool:
        """Whether some coordinate is an int or a categorical, so that distinct unit points
        may stand for the same parameters (candidates are then snapped, see :meth:`snap_unit`)."""
        return any(isinstance(self.params[n], (Int, Categorical)) for n in self.names)

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A complete, checked parameter dict (constants filled in, ints as ``int``, floats as
        ``float``, a categorical value as its choice as declared, e.g. ``1`` for ``1.0``).

        Raises:
            SpaceError: a value is missing, unknown, of the wrong type, out of bounds or not
                one of a categorical's choices.
        """
        if not isinstance(params, Mapping):
            raise SpaceError(f"parameters must be a mapping, not {type(params).__name__}")
        unknown = [k for k in params if k not in self.params]
        if unknown:
            raise SpaceError(f"unknown parameter {_short(unknown[0])} (the space has {', '.join(self.params)})")
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if isinstance(p, Fixed):
                if name in params and params[name] != p.value:
                    raise SpaceError(
                        f"parameter {_short(name)} is fixed at {_short(p.value)}, got {_short(params[name])}"
                    )
                out[name] = p.value
                continue
            if isinstance(p, Categorical) and len(p.choices) == 1 and name not in params:
                out[name] = p.choices[0]  # a constant
                continue
            if name not in params:
                raise SpaceError(f"parameter {_short(name)} is missing")
            if isinstance(p, Categorical):
                out[name] = p.choices[p._index(name, params[name])]
                continue
            p._to_unit(name, params[name])  # checks type and bounds
            out[name] = int(params[name]) if isinstance(p, Int) else float(params[name])
        return out

    def to_unit(self, params: Mapping[str, Any]) -> list[float]:
        """The unit-cube point (``d`` coordinates) of a parameter dict; see :meth:`validate`."""
        checked = self.validate(params)
        return [self.params[n]._to_unit(n, checked[n]) for n in self.names]

    def from_unit(self, u: Sequence[float]) -> dict[str, Any]:
        """The parameter dict of a unit-cube point (clipped to the cube; constants included)."""
        if len(u) != self.dim:
            raise SpaceError(f"expected a point with {self.dim} coordinates, got {len(u)}")
        coords = dict(zip(self.names, (float(v) for v in u), strict=True))
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if isinstance(p, Fixed):
                out[name] = p.value
            elif name not in coords:  # a one-choice categorical
                out[name] = p.choices[0]
            else:
                out[name] = p._from_unit(coords[name])
        return out

    def snap(self, u: Sequence[float]) -> list[float]:
        """The unit point of the parameters that ``u`` maps to (integers and choices at the
        centre of their slice); one point at a time, see :meth:`snap_unit` for many.

        Points that round to the same parameters snap to the same unit point, so distance
        checks in the unit cube see them as duplicates.
        """
        return self.to_unit(self.from_unit(u))

    def snap_unit(self, U: np.ndarray) -> np.ndarray:
        """:meth:`snap` for many points at once, without building parameter dicts.

        Float coordinates are clipped to ``[0, 1]``; int coordinates move to the unit
        position of the integer they round to; categorical ones to ``(i + 0.5) / C``.

        Args:
            U: ``m x d`` points (any real values; clipped to the cube first).

        Returns:
            ``m x d`` snapped points (float64, a new array).
        """
        U = np.asarray(U, dtype=np.float64)
        if U.ndim != 2 or U.shape[1] != self.dim:
            raise SpaceError(f"expected an m x {self.dim} array of points, got shape {U.shape}")
        out = np.empty_like(U)  # m x d
        for j, name in enumerate(self.names):
            out[:, j] = self.params[name]._snap_unit(U[:, j])
        return out

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-serialisable form, the ``space:`` section of a space file."""
        return {name: p.to_dict() for name, p in self.params.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Space:
        """Inverse of :meth:`to_dict` (accepts everything a space file accepts)."""
        return cls(d)

    def __eq__(self, other: object) -> bool:
        # parameter by parameter: a categorical's True is not its 1 (dict equality would say so)
        return isinstance(other, Space) and self.params == other.params

    def __repr__(self) -> str:
        return f"Space({self.params!r})"

    def difference(self, given: Space) -> str:
        """The first way ``given`` differs from this (stored) space, for messages:
        ``parameter 'x': stored {...}, given {...}``, or ``parameter order differs``."""
        a, b = self.to_dict(), given.to_dict()
        for name in list(a) + [n for n in b if n not in a]:
            if name not in b:
                return f"stored parameter {_short(name)} is missing"
            if name not in a:
                return f"parameter {_short(name)} is new"
            if self.params[name] != given.params[name]:  # not a[name] != b[name]: True == 1 there
                return f"parameter {name!r}: stored {a[name]}, given {b[name]}"
        return "parameter order differs"

    def describe(self) -> str:
        """One line per parameter, for messages: ``x: float in [-2, 2] (log)``,
        ``kernel: categorical ['rbf', 'linear']``."""
        lines = []
        for name, p in self.params.items():
            if isinstance(p, Fixed):
                lines.append(f"{name}: fixed {p.value!r}")
            elif isinstance(p, Categorical):
                lines.append(f"{name}: categorical {p.choices!r}")
            else:
                kind = "float" if isinstance(p, Float) else "int"
                lines.append(f"{name}: {kind} in [{p.low:g}, {p.high:g}]" + (" (log)" if p.log else ""))
        return "\n".join(lines)


# ---------------------------------------------------------------- space files


#: The keys of a space file: the space, and what the study measures (:mod:`npopt.outcomes`).
SPACE_FILE_KEYS = ("space", "direction", "objectives", "constraints")


def read_space_file(path: str | Path) -> tuple[Space, str | None]:
    """The space and the direction (``None`` if the file names none) of a YAML/JSON file.

    Raises:
        SpaceError: the file is missing, unreadable, or does not hold a valid space.
    """
    space, rest = read_space_data(path)
    return space, rest["direction"]


def read_space_data(path: str | Path) -> tuple[Space, dict[str, Any]]:
    """The space of a YAML/JSON file and its other keys of :data:`SPACE_FILE_KEYS` (``None``
    where absent; ``direction`` checked, ``objectives`` and ``constraints`` as written, for
    :func:`npopt.outcomes.read_declaration`).

    Raises:
        SpaceError: the file is missing, unreadable, or does not hold a valid space.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpaceError(f"cannot read space file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SpaceError(f"space file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError, RecursionError
        raise SpaceError(f"space file {path} is not valid {_kind(path)}: {first_line(exc, 200)}") from None
    if not isinstance(data, Mapping) or "space" not in data:
        raise SpaceError(
            f"space file {path} must be a mapping with a 'space' key "
            "(and optionally 'direction'), e.g. {space: {x: {type: float, low: 0, high: 1}}}"
        )
    unknown = [k for k in data if k not in SPACE_FILE_KEYS]
    if unknown:
        raise SpaceError(f"space file {path}: unknown key {_short(unknown[0])} (expected {', '.join(SPACE_FILE_KEYS)})")
    try:
        direction = check_direction(data["direction"]) if data.get("direction") is not None else None
    except SpaceError as exc:
        raise SpaceError(f"space file {path}: {exc.message}", code=exc.code) from None
    try:
        space = Space(data["space"])
    except SpaceError as exc:
        raise SpaceError(f"space file {path}: {exc.message}") from None
    return space, {"direction": direction, "objectives": data.get("objectives"),
                   "constraints": data.get("constraints")}


def load_space_file(path: str | Path) -> tuple[Space, str]:
    """The space and direction of a YAML/JSON space file (direction defaults to minimize)."""
    space, direction = read_space_file(path)
    return space, direction or "minimize"


def load_yaml(text: str) -> Any:
    """Plain data from YAML text, as ``yaml.safe_load`` but refusing aliases (``*name``: a
    few hundred bytes of nested aliases expand to gigabytes, the "billion laughs") and
    duplicate keys (the second would silently win).

    Raises:
        yaml.YAMLError: naming the line of the first alias or duplicate key.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"aliases (*name) are not allowed (line {mark.line + 1}); write the value out", None)
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: the base class says so
                    break
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {_short(key)} (line {key_node.start_mark.line + 1})", None)
            return super().construct_mapping(node, deep)

    return yaml.load(text, Loader=Loader)  # a SafeLoader: plain data only


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages that echo user input."""
    try:
        text = repr(value)
    except Exception:  # a __repr__ that raises
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"
