"""Search spaces: parameter types, the unit-cube map, directions and space files.

This module is the only place that knows about parameter types and directions. Everything
downstream of it sees points in the unit cube ``[0, 1]^d`` (one coordinate per free
parameter, in declaration order) and values to be *minimised*.

* ``Float(low, high, log=False)``: a real number in ``[low, high]``; with ``log=True`` the
  unit coordinate is linear in ``log(value)``.
* ``Int(low, high, log=False)``: an integer in ``[low, high]`` (both inclusive). Each integer
  owns an equal slice of the unit interval (the range ``[low - 0.5, high + 0.5]`` is mapped,
  on a log scale if asked), so rounding favours no value, the ends included.
* ``Fixed(value)``: a constant passed to the objective but not optimised.

A space is declared either in Python (``{"x": Float(-2, 2), "n": Int(1, 8)}``) or in a YAML
or JSON file::

    direction: minimize
    space:
      x: {type: float, low: -2, high: 2}
      lr: {type: float, low: 1e-5, high: 1e-1, log: true}
      layers: {type: int, low: 1, high: 8}
      batch: {type: fixed, value: 64}      # or simply `batch: 64`

Every malformed space raises :class:`~npopt.errors.SpaceError` naming the parameter and the
problem. No torch here: this module is imported by ``import npopt`` and the CLI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from npopt.errors import SpaceError

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
            f"direction must be 'minimize' or 'maximize', not {direction!r}", code="bad_direction"
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
            raise SpaceError(f"parameter {name!r}: {value!r} is outside [{self.low:g}, {self.high:g}]")
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

    def _check(self, name: str) -> "Float":
        low = _bound(name, "low", self.low)
        high = _bound(name, "high", self.high)
        _check_range(name, low, high, self.log)
        return Float(low, high, self.log)

    def _to_unit(self, name: str, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value):
            raise SpaceError(f"parameter {name!r}: expected a finite number, got {value!r}")
        return self._position(name, value)

    def _from_unit(self, u: float) -> float:
        return min(max(self._unscaled(u), self.low), self.high)


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

    def _check(self, name: str) -> "Int":
        low = _bound(name, "low", self.low)
        high = _bound(name, "high", self.high)
        for field, v in (("low", low), ("high", high)):
            if v != int(v):
                raise SpaceError(f"parameter {name!r}: int {field} must be a whole number, not {v!r}")
        _check_range(name, low, high, self.log)
        return Int(int(low), int(high), self.log)

    def _to_unit(self, name: str, value: Any) -> float:
        if not _is_number(value) or not math.isfinite(value) or value != int(value):
            raise SpaceError(f"parameter {name!r}: expected an integer, got {value!r}")
        return self._position(name, value)

    def _from_unit(self, u: float) -> int:
        return min(max(round(self._unscaled(u)), self.low), self.high)


@dataclass(frozen=True)
class Fixed:
    """A constant passed to the objective unchanged (a number, string or boolean)."""

    value: Any

    def _check(self, name: str) -> "Fixed":
        v = self.value
        if isinstance(v, float) and not math.isfinite(v):
            raise SpaceError(f"parameter {name!r}: fixed value must be finite, not {v!r}")
        if not isinstance(v, (int, float, str, bool)):
            raise SpaceError(
                f"parameter {name!r}: fixed value must be a number, string or boolean, "
                f"not {type(v).__name__}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"type": "fixed", "value": self.value}


Param = Union[Float, Int, Fixed]


def _bound(name: str, field: str, value: Any) -> float:
    """A finite numeric bound (numeric strings, as PyYAML reads ``1e-5``, are accepted)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SpaceError(f"parameter {name!r}: {field} must be a number, not {value!r}") from None
    if not _is_number(value):
        raise SpaceError(f"parameter {name!r}: {field} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise SpaceError(f"parameter {name!r}: {field} must be finite, not {value}")
    return float(value)


def _check_range(name: str, low: float, high: float, log: Any) -> None:
    if not isinstance(log, bool):
        raise SpaceError(f"parameter {name!r}: log must be true or false, not {log!r}")
    if low >= high:
        raise SpaceError(
            f"parameter {name!r}: low ({low:g}) must be less than high ({high:g}); "
            "use a fixed value for a constant"
        )
    if log and low <= 0:
        raise SpaceError(f"parameter {name!r}: log scale needs low > 0, got low={low:g}")


def _parse_param(name: Any, spec: Any) -> Param:
    """One parameter from a Python object or a space-file entry, checked."""
    if not isinstance(name, str) or not name:
        raise SpaceError(f"parameter names must be non-empty strings, not {name!r}")
    if isinstance(spec, (Float, Int, Fixed)):
        return spec._check(name)
    if isinstance(spec, (list, tuple, set)):
        raise SpaceError(
            f"parameter {name!r}: categorical parameters (a list of choices) are not "
            "supported yet; use an int index or a fixed value"
        )
    if not isinstance(spec, Mapping):
        return Fixed(spec)._check(name)  # a bare constant
    kind = spec.get("type")
    kind = kind.lower() if isinstance(kind, str) else kind
    if kind in _CATEGORICAL or "choices" in spec:
        raise SpaceError(
            f"parameter {name!r}: categorical parameters are not supported yet; "
            "use an int index or a fixed value"
        )
    fields = {"float": ("low", "high", "log"), "int": ("low", "high", "log"), "fixed": ("value",)}
    if kind not in fields:
        expected = "float, int or fixed"
        problem = "has no type" if kind is None else f"unknown type {kind!r}"
        raise SpaceError(f"parameter {name!r}: {problem} (expected {expected})")
    unknown = [k for k in spec if k != "type" and k not in fields[kind]]
    if unknown:
        raise SpaceError(
            f"parameter {name!r}: unknown field {unknown[0]!r} for type {kind} "
            f"(expected {', '.join(fields[kind])})"
        )
    missing = [k for k in fields[kind] if k != "log" and k not in spec]
    if missing:
        raise SpaceError(f"parameter {name!r}: missing {missing[0]!r}")
    if kind == "fixed":
        return Fixed(spec["value"])._check(name)
    cls = Float if kind == "float" else Int
    return cls(spec["low"], spec["high"], spec.get("log", False))._check(name)


# ---------------------------------------------------------------- the space


class Space:
    """An ordered set of named parameters and the map to and from the unit cube.

    Args:
        params: ``{name: Float | Int | Fixed | file-style dict | constant}``; the order of
            the free (non-fixed) parameters is the order of the unit-cube coordinates.

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
            raise SpaceError("the space is empty: declare at least one Float or Int parameter")
        self.params: dict[str, Param] = {name: _parse_param(name, spec) for name, spec in params.items()}
        #: Names of the free parameters, in unit-cube coordinate order.
        self.names: list[str] = [n for n, p in self.params.items() if not isinstance(p, Fixed)]
        if not self.names:
            raise SpaceError("the space has only fixed values: declare at least one Float or Int parameter")

    @property
    def dim(self) -> int:
        """Number of free parameters (the unit cube's dimension)."""
        return len(self.names)

    @property
    def has_int(self) -> bool:
        """Whether some coordinate is rounded (so distinct unit points may coincide)."""
        return any(isinstance(self.params[n], Int) for n in self.names)

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A complete, checked parameter dict (fixed values filled in, ints as ``int``).

        Raises:
            SpaceError: a value is missing, unknown, of the wrong type or out of bounds.
        """
        if not isinstance(params, Mapping):
            raise SpaceError(f"parameters must be a mapping, not {type(params).__name__}")
        unknown = [k for k in params if k not in self.params]
        if unknown:
            raise SpaceError(f"unknown parameter {unknown[0]!r} (the space has {', '.join(self.params)})")
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if isinstance(p, Fixed):
                if name in params and params[name] != p.value:
                    raise SpaceError(f"parameter {name!r} is fixed at {p.value!r}, got {params[name]!r}")
                out[name] = p.value
                continue
            if name not in params:
                raise SpaceError(f"parameter {name!r} is missing")
            p._to_unit(name, params[name])  # checks type and bounds
            out[name] = int(params[name]) if isinstance(p, Int) else float(params[name])
        return out

    def to_unit(self, params: Mapping[str, Any]) -> list[float]:
        """The unit-cube point (``d`` coordinates) of a parameter dict; see :meth:`validate`."""
        checked = self.validate(params)
        return [self.params[n]._to_unit(n, checked[n]) for n in self.names]

    def from_unit(self, u: Sequence[float]) -> dict[str, Any]:
        """The parameter dict of a unit-cube point (clipped to the cube; fixed values included)."""
        if len(u) != self.dim:
            raise SpaceError(f"expected a point with {self.dim} coordinates, got {len(u)}")
        coords = dict(zip(self.names, (float(v) for v in u)))
        return {
            name: p.value if isinstance(p, Fixed) else p._from_unit(coords[name])
            for name, p in self.params.items()
        }

    def snap(self, u: Sequence[float]) -> list[float]:
        """The unit point of the parameters that ``u`` maps to (integers at their slice centre).

        Points that round to the same parameters snap to the same unit point, so distance
        checks in the unit cube see them as duplicates.
        """
        return self.to_unit(self.from_unit(u))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-serialisable form, the ``space:`` section of a space file."""
        return {name: p.to_dict() for name, p in self.params.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Space":
        """Inverse of :meth:`to_dict` (accepts everything a space file accepts)."""
        return cls(d)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Space({self.params!r})"

    def describe(self) -> str:
        """One line per parameter, for messages: ``x: float in [-2, 2] (log)``."""
        lines = []
        for name, p in self.params.items():
            if isinstance(p, Fixed):
                lines.append(f"{name}: fixed {p.value!r}")
            else:
                kind = "float" if isinstance(p, Float) else "int"
                lines.append(f"{name}: {kind} in [{p.low:g}, {p.high:g}]" + (" (log)" if p.log else ""))
        return "\n".join(lines)


# ---------------------------------------------------------------- space files


def read_space_file(path: str | Path) -> tuple[Space, str | None]:
    """The space and the direction (``None`` if the file names none) of a YAML/JSON file.

    Raises:
        SpaceError: the file is missing, unreadable, or does not hold a valid space.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpaceError(f"cannot read space file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpaceError(f"space file {path} is not valid {_kind(path)}: {first}") from None
    if not isinstance(data, Mapping) or "space" not in data:
        raise SpaceError(
            f"space file {path} must be a mapping with a 'space' key "
            "(and optionally 'direction'), e.g. {space: {x: {type: float, low: 0, high: 1}}}"
        )
    unknown = [k for k in data if k not in ("space", "direction")]
    if unknown:
        raise SpaceError(f"space file {path}: unknown key {unknown[0]!r} (expected space, direction)")
    direction = check_direction(data["direction"]) if data.get("direction") is not None else None
    try:
        return Space(data["space"]), direction
    except SpaceError as exc:
        raise SpaceError(f"space file {path}: {exc.message}") from None


def load_space_file(path: str | Path) -> tuple[Space, str]:
    """The space and direction of a YAML/JSON space file (direction defaults to minimize)."""
    space, direction = read_space_file(path)
    return space, direction or "minimize"


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "YAML"
