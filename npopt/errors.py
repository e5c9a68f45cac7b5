"""npopt's exceptions.

Every error a user can cause is an :class:`NpoptError` whose message names the problem
and the fix. The CLI prints it as one line ``Error: <message>`` and exits with code 1;
the JSON-lines server answers ``{"ok": false, "error": {"code": ..., "message": ...}}``
using :attr:`NpoptError.code`.
"""

from __future__ import annotations


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type's name if it has none), cut to
    ``limit`` characters: what a one-line ``Error: ...`` quotes of another library's error."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


class NpoptError(Exception):
    """Base class of every error npopt raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class SpaceError(NpoptError):
    """A search space is malformed (bad bounds, unknown type, ...)."""

    code = "bad_space"


class StudyError(NpoptError):
    """A study file cannot be used as asked (mismatched space, unknown trial, ...)."""

    code = "bad_study"


class TrialError(NpoptError):
    """A tell/ask about a trial is invalid (unknown number, told twice, bad value)."""

    code = "bad_trial"


class ObjectiveError(NpoptError):
    """The user's objective file cannot be loaded."""

    code = "bad_objective"


class CheckpointError(NpoptError):
    """A checkpoint file is missing, corrupt, truncated or from an incompatible version."""

    code = "bad_checkpoint"


class NoPriorError(NpoptError):
    """No shipped Neural Process prior covers the requested dimension."""

    code = "no_prior"


class ConfigError(NpoptError):
    """A training or benchmark configuration is invalid."""

    code = "bad_config"
