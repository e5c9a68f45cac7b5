"""Trials as the rest of npopt sees them: frozen records with a short state enum.

This module imports nothing else from npopt, so the storage, the suggestion and the
display can all depend on it without depending on each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

#: Reason given to trials whose process stopped before they finished.
INTERRUPTED = "interrupted"


class TrialState(str, Enum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class Trial:
    """One evaluation: its parameters (user units), state and, once complete, its value
    (the single objective's; ``None`` with several objectives) and ``values`` (one number
    per declared objective and constraint, :mod:`npopt.outcomes`; ``None`` in a study that
    declares only its one objective, whose ``value`` says it all)."""

    number: int
    state: TrialState
    params: dict[str, Any]
    value: float | None
    reason: str | None
    started_at: str
    finished_at: str | None
    values: dict[str, float] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Trial:
        """A trial from a storage row (a mapping with the same field names)."""
        return cls(
            number=row["number"],
            state=TrialState(row["state"]),
            params=row["params"],
            value=row["value"],
            reason=row["reason"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            values=row.get("outcomes"),
        )

    @property
    def interrupted(self) -> bool:
        return self.state is TrialState.FAILED and self.reason == INTERRUPTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state.value,
            "params": dict(self.params),
            "value": self.value,
            "values": self.values if self.values is not None or self.value is None else {"value": self.value},
            "reason": self.reason,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def counts_towards_budget(trial: Trial) -> bool:
    """Complete, failed or still running -- everything but interrupted trials."""
    return not trial.interrupted


def best_of(trials: Sequence[Trial], direction: str) -> Trial | None:
    """The complete trial with the best value (the earliest on ties), or ``None``.

    ``direction`` is a study's stored direction, ``"minimize"`` or ``"maximize"``."""
    sign = -1.0 if direction == "maximize" else 1.0
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    return min(complete, key=lambda t: (sign * t.value, t.number), default=None)
