"""What a trial measures: one or several objectives, and constraints on other outcomes.

A study declares its outcomes once, at creation, as it declares its space::

    objectives:  {loss: minimize, latency_ms: minimize}     # one objective: the default
    constraints: {memory_gb: {max: 16}, recall: {min: 0.9}}

Without ``objectives`` a study has one objective named ``value`` (its ``direction``,
minimize by default): every study made before constraints existed is such a study. A
trial's ``values`` is a dict with one number per objective and per constraint; a trial is
*feasible* when every constraint holds. The objective returns a number (one objective, no
constraints) or a dict with those keys (a single objective's under ``value`` unless
``objectives`` names it).

This module knows the declarations; nothing downstream of :mod:`npopt.encoding` sees
names, directions or bounds. No torch here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from npopt.errors import SpaceError, StudyError, TrialError
from npopt.space import check_direction
from npopt.trial import Trial, TrialState, best_of

#: The name of the objective of a study that declares none.
VALUE = "value"


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


@dataclass(frozen=True)
class Constraint:
    """An outcome that must stay in ``[low, high]`` (``None``: unbounded on that side)."""

    name: str
    low: float | None = None
    high: float | None = None

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bounds (0 inside), in the outcome's units."""
        over = value - self.high if self.high is not None else 0.0
        under = self.low - value if self.low is not None else 0.0
        return max(0.0, over, under)

    @property
    def goal(self) -> str:
        """What titles and headers say the study does: its direction for a plain study
        (``minimize``), else :meth:`describe`."""
        return self.direction if self.plain else self.describe()

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g} <= {self.name} <= {self.high:g}"
        return f"{self.name} >= {self.low:g}" if self.low is not None else f"{self.name} <= {self.high:g}"

    def to_dict(self) -> dict[str, float]:
        return {k: v for k, v in (("min", self.low), ("max", self.high)) if v is not None}


@dataclass(frozen=True)
class Outcomes:
    """A study's objectives (name, direction), in order, and its constraints.

    Use :meth:`declare` (checks a user's declaration) or :meth:`from_meta` (a stored study's)."""

    objectives: tuple[tuple[str, str], ...] = ((VALUE, "minimize"),)
    constraints: tuple[Constraint, ...] = ()

    # ------------------------------------------------------------ declaring

    @classmethod
    def declare(cls, objectives: Any = None, constraints: Any = None, direction: Any = None,
                where: str = "") -> Outcomes:
        """The outcomes of a declaration (a space file's or an objective file's keys).

        Args:
            objectives: ``{name: direction}`` (``None``: one objective, ``value``).
            constraints: ``{name: {min: a, max: b}}`` with one or both bounds (``None``: none).
            direction: the single objective's direction (``None``: minimize); not with ``objectives``.
            where: what to name in errors (a file), with a trailing ``": "``.

        Raises:
            SpaceError: a malformed declaration, naming the key and the fix.
        """
        if objectives is None:
            pairs = ((VALUE, check_direction(direction) if direction is not None else "minimize"),)
        else:
            if direction is not None:
                raise SpaceError(f"{where}give the direction inside 'objectives' ({{loss: minimize}}) "
                                 "or 'direction' alone, not both")
            if not isinstance(objectives, Mapping) or not objectives:
                raise SpaceError(f"{where}objectives must be a mapping of names to directions, "
                                 f"e.g. {{loss: minimize, latency_ms: minimize}}, not {_short(objectives)}")
            pairs = []
            for name, d in objectives.items():
                _check_name(name, "objective", where)
                try:
                    pairs.append((name, check_direction(d)))
                except SpaceError as exc:
                    raise SpaceError(f"{where}objective {name!r}: {exc.message}") from None
            pairs = tuple(pairs)
        bounds = []
        if constraints is not None:
            if not isinstance(constraints, Mapping):
                raise SpaceError(f"{where}constraints must be a mapping such as "
                                 f"{{memory_gb: {{max: 16}}, recall: {{min: 0.9}}}}, not {_short(constraints)}")
            for name, spec in constraints.items():
                _check_name(name, "constraint", where)
                if name in dict(pairs):
                    raise SpaceError(f"{where}{name!r} is both an objective and a constraint; rename one")
                bounds.append(_constraint(name, spec, where))
        return cls(pairs, tuple(bounds))

    @classmethod
    def single(cls, direction: str = "minimize") -> Outcomes:
        """One objective, ``value``, and no constraints: a study that declares nothing more."""
        return cls(((VALUE, check_direction(direction)),))

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Outcomes:
        """A stored study's outcomes: its ``objectives`` and ``constraints`` keys where it
        has them, else one objective in its ``direction`` (studies made before them)."""
        if "objectives" not in meta and "constraints" not in meta:
            return cls.single(meta["direction"])
        return cls.declare(meta.get("objectives"), meta.get("constraints"))

    def to_meta(self) -> dict[str, Any]:
        """The keys a study's meta record stores beside ``direction`` (none for a plain study)."""
        if self.plain:
            return {}
        return {"objectives": dict(self.objectives),
                "constraints": {c.name: c.to_dict() for c in self.constraints}}

    # ------------------------------------------------------------ what it is

    @property
    def plain(self) -> bool:
        """One objective named ``value`` and no constraints: what every older study is."""
        return len(self.objectives) == 1 and self.objectives[0][0] == VALUE and not self.constraints

    @property
    def multi(self) -> bool:
        """Several objectives: there is no single best trial, but a Pareto front."""
        return len(self.objectives) > 1

    @property
    def direction(self) -> str:
        """The direction of the first objective (the only one unless :attr:`multi`)."""
        return self.objectives[0][1]

    @property
    def names(self) -> tuple[str, ...]:
        """Every outcome's name: the objectives', then the constraints'."""
        return tuple(n for n, _ in self.objectives) + tuple(c.name for c in self.constraints)

    @property
    def goal(self) -> str:
        """What titles and headers say the study does: its direction for a plain study
        (``minimize``), else :meth:`describe`."""
        return self.direction if self.plain else self.describe()

    def describe(self) -> str:
        """One line: the objectives and their directions, then the constraints."""
        text = ", ".join(f"{d} {n}" for n, d in self.objectives)
        if self.constraints:
            text += "; subject to " + ", ".join(c.describe() for c in self.constraints)
        return text

    # ------------------------------------------------------------ a trial's values

    def values_of(self, raw: Any) -> tuple[float | None, dict[str, float] | None, str | None]:
        """An objective's return value as ``(value, values, None)``, or ``(None, None, reason)``.

        ``value`` is the single objective's value (``None`` with several objectives);
        ``values`` has one finite number per declared outcome (``None`` for a plain study,
        whose ``value`` says it all). A number stands for ``{value: number}``."""
        if not isinstance(raw, Mapping):
            if not self.plain:
                return None, None, (f"objective returned {_short(raw)}, not a dict with "
                                    f"{', '.join(self.names)}")
            if not _number(raw):
                return None, None, f"objective returned {type(raw).__name__} {_short(raw)}, not a number"
            raw = {VALUE: raw}
        try:
            values = self.check(raw)
        except TrialError as exc:
            return None, None, exc.message
        return self.value_in(values), (None if self.plain else values), None

    def check(self, values: Any) -> dict[str, float]:
        """``values`` as one float per declared outcome.

        Raises:
            TrialError (``bad_value``): not a mapping, a key missing or unknown, a value
                not a finite number; the message names the key."""
        if not isinstance(values, Mapping):
            raise TrialError(f"values must be a mapping of {', '.join(self.names)} to numbers, not {_short(values)}",
                             code="bad_value")
        unknown = [k for k in values if k not in self.names]
        if unknown:
            raise TrialError(f"unknown outcome {_short(unknown[0])}; this study's outcomes are "
                             f"{', '.join(self.names)}", code="bad_value")
        out = {}
        for name in self.names:
            if name not in values:
                raise TrialError(f"missing value for {name!r} (this study's outcomes are {', '.join(self.names)})",
                                 code="bad_value")
            v = values[name]
            if not _number(v) or not math.isfinite(v):
                raise TrialError(f"{name} must be a finite number, not {_short(v)}", code="bad_value")
            out[name] = float(v)
        return out

    def value_in(self, values: Mapping[str, float]) -> float | None:
        """The single objective's value in ``values`` (``None`` with several objectives)."""
        return None if self.multi else float(values[self.objectives[0][0]])

    def values(self, trial: Trial) -> dict[str, float]:
        """A complete trial's values (a plain study's trial: ``{value: its value}``)."""
        if trial.values is not None:
            return dict(trial.values)
        return {VALUE: trial.value}

    def violation(self, values: Mapping[str, float]) -> float:
        """The summed violation of the constraints (0 when every one holds)."""
        return sum(c.violation(values[c.name]) for c in self.constraints)

    def signed_constraints(self, values: Mapping[str, float]) -> tuple[float, ...]:
        """The constraints as one number per bound, feasible when at most 0 (``v - max``,
        ``min - v``): the form Optuna's ``constraints_func`` returns."""
        out = []
        for c in self.constraints:
            if c.high is not None:
                out.append(values[c.name] - c.high)
            if c.low is not None:
                out.append(c.low - values[c.name])
        return tuple(out)

    def feasible(self, trial: Trial) -> bool:
        """Whether a complete trial meets every constraint."""
        return not self.constraints or self.violation(self.values(trial)) == 0.0

    def violated(self, trial: Trial) -> list[str]:
        """The constraints a complete trial breaks, as ``"memory_gb 18 > 16"``."""
        values, out = self.values(trial), []
        for c in self.constraints:
            v = values[c.name]
            if c.high is not None and v > c.high:
                out.append(f"{c.name} {v:g} > {c.high:g}")
            elif c.low is not None and v < c.low:
                out.append(f"{c.name} {v:g} < {c.low:g}")
        return out

    def minimised(self, trial: Trial) -> list[float]:
        """The trial's objective values with every direction turned to minimisation."""
        values = self.values(trial)
        return [-values[n] if d == "maximize" else values[n] for n, d in self.objectives]

    # ------------------------------------------------------------ the best trials

    def best(self, trials: Sequence[Trial]) -> Trial | None:
        """The feasible complete trial with the best value (earliest on ties), or ``None``.

        Raises:
            StudyError: the study has several objectives (use :meth:`pareto_front`)."""
        if self.multi:
            raise StudyError("a study with several objectives has no single best trial; "
                             "use its Pareto front (best_trials, `npopt best` lists it)")
        return best_of([t for t in trials if t.state is TrialState.COMPLETE and self.feasible(t)], self.direction)

    def pareto_front(self, trials: Sequence[Trial]) -> list[Trial]:
        """The feasible complete trials no other feasible trial dominates (better or equal in
        every objective, better in one), in number order; of trials with equal values,
        the earliest. One objective: the best trial (none if no trial is feasible)."""
        if not self.multi:
            best = self.best(trials)
            return [] if best is None else [best]
        ok = [(t, self.minimised(t)) for t in trials if t.state is TrialState.COMPLETE and self.feasible(t)]
        front, seen = [], set()
        for t, v in ok:
            dominated = any(all(a <= b for a, b in zip(w, v, strict=True)) and w != v for _, w in ok)
            if not dominated and tuple(v) not in seen:
                seen.add(tuple(v))
                front.append(t)
        return front


def _check_name(name: Any, what: str, where: str) -> None:
    if not isinstance(name, str) or not name.strip() or "=" in name or "," in name:
        raise SpaceError(f"{where}{what} names must be non-empty strings without '=' or ',', not {_short(name)}")


def _constraint(name: str, spec: Any, where: str) -> Constraint:
    if not isinstance(spec, Mapping) or not spec or set(spec) - {"min", "max"}:
        raise SpaceError(f"{where}constraint {name!r} must be a mapping with 'min', 'max' or both, "
                         f"e.g. {{max: 16}}, not {_short(spec)}")
    bounds = {}
    for key in ("min", "max"):
        v = spec.get(key)
        if v is not None and (not _number(v) or not math.isfinite(v)):
            raise SpaceError(f"{where}constraint {name!r}: {key} must be a finite number, not {_short(v)}")
        bounds[key] = None if v is None else float(v)
    if bounds["min"] is None and bounds["max"] is None:
        raise SpaceError(f"{where}constraint {name!r} needs 'min', 'max' or both")
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise SpaceError(f"{where}constraint {name!r}: min {bounds['min']:g} is above max {bounds['max']:g}")
    return Constraint(name, bounds["min"], bounds["max"])


def read_declaration(path) -> tuple[Any, str | None, Outcomes | None]:
    """A space file's space, direction (``None``: unset) and outcomes (``None``: neither
    ``objectives`` nor ``constraints`` declared, so the study has one objective).

    Raises:
        SpaceError: the file or its declaration is malformed (naming the file)."""
    from npopt.space import read_space_data

    space, rest = read_space_data(path)
    if rest["objectives"] is None and rest["constraints"] is None:
        return space, rest["direction"], None
    outcomes = Outcomes.declare(rest["objectives"], rest["constraints"], rest["direction"],
                                where=f"space file {path}: ")
    return space, outcomes.direction, outcomes
