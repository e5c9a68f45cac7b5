"""Loading a user's ``objective.py`` and evaluating it safely.

An objective file is plain Python::

    import npopt

    space = {"x": npopt.Float(-2, 2), "lr": npopt.Float(1e-5, 1e-1, log=True)}
    direction = "minimize"          # optional; "maximize" to maximise

    def objective(x, lr):           # another name: npopt run file.py --function NAME
        return ...

The space may instead come from a YAML/JSON file (``--space FILE``), which then takes
precedence over a ``space`` in the module.

:class:`Evaluator` turns one call into ``(value, None)`` or ``(None, reason)``: an
exception, a non-number, NaN or inf all become a reason, so a bad evaluation fails its
trial instead of the run. Without a timeout the objective runs in this process. With a
timeout it runs in a worker process (started with ``spawn``, so a torch objective keeps
all its threads and may use CUDA); the worker is killed when an evaluation overruns and a
fresh one is started for the next trial. The worker's start-up (importing the objective
file) is not counted against the timeout.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import math
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from npopt.errors import NpoptError, ObjectiveError, SpaceError
from npopt.space import Space, check_direction

#: Seconds a worker process may take to import the objective file before a trial fails.
WORKER_START_TIMEOUT_S = 300.0


# ---------------------------------------------------------------- loading


def _import_file(path: Path):
    """Import ``path`` afresh as a module, its folder first on ``sys.path``."""
    name = "_npopt_objective_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ObjectiveError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # as `python objective.py` would: sibling imports work
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        del sys.modules[name]
        raise
    except SyntaxError as exc:
        del sys.modules[name]
        raise ObjectiveError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except BaseException as exc:  # SystemExit too: the file must import cleanly
        del sys.modules[name]
        raise ObjectiveError(f"importing {path} failed: {_describe(exc)}") from None
    return module


class ObjectiveFile:
    """The objective function of a file, with its space and direction (``None`` if the
    file and its space file leave it unset).

    Calling it calls the function with the params as keyword arguments. It pickles as
    ``(path, function, space file)``, so a worker process re-imports the file itself.
    """

    def __init__(self, path: str | Path, function: str = "objective", space_file: str | Path | None = None):
        self.path = Path(path).resolve()
        self.function_name = function
        self.space_file = None if space_file is None else Path(space_file).resolve()
        if not self.path.is_file():
            raise ObjectiveError(f"no objective file at {path}")
        module = _import_file(self.path)
        self.function: Callable[..., Any] = _get_function(module, self.path, function)
        self.space, self.direction, self.outcomes = _declarations(module, self.path, self.space_file)
        _check_signature(self.function, self.path, function, self.space)

    def __call__(self, **params: Any) -> Any:
        return self.function(**params)

    def __reduce__(self):
        return (ObjectiveFile, (str(self.path), self.function_name, self.space_file))

    def __repr__(self) -> str:
        return f"ObjectiveFile({str(self.path)!r}, function={self.function_name!r})"


def load_objective(
    path: str | Path, function: str = "objective", space_file: str | Path | None = None
) -> ObjectiveFile:
    """Load ``function`` from the objective file ``path`` (see the module docstring).

    Raises:
        ObjectiveError: the file is missing or fails to import, the function is missing or
            cannot take the space's parameters, there is no space, or directions conflict.
        SpaceError: the space is malformed.
    """
    return ObjectiveFile(path, function, space_file)


def _get_function(module, path: Path, name: str) -> Callable[..., Any]:
    fn = getattr(module, name, None)
    if callable(fn):
        return fn
    found = sorted(
        n for n, v in vars(module).items()
        if inspect.isfunction(v) and v.__module__ == module.__name__ and not n.startswith("_")
    )
    hint = f"; functions defined there: {', '.join(found)} (pick one with --function NAME)" if found else ""
    what = "no function" if fn is None else "a non-callable"
    raise ObjectiveError(f"{path} has {what} {name!r}{hint}")


def _declarations(module, path: Path, space_file: Path | None):
    """The space, direction and outcomes (:class:`~npopt.outcomes.Outcomes`) the file (or
    its space file) declares; direction ``None`` when neither says, so that a stored study
    keeps its own and a new one minimises; outcomes ``None`` when neither declares
    ``objectives`` or ``constraints`` (one objective)."""
    from npopt.outcomes import Outcomes, read_declaration

    module_direction = getattr(module, "direction", None)
    declared_objectives = getattr(module, "objectives", None)
    declared_constraints = getattr(module, "constraints", None)
    try:
        if module_direction is not None and declared_objectives is None:
            module_direction = check_direction(module_direction)
        module_outcomes = None
        if declared_objectives is not None or declared_constraints is not None:
            module_outcomes = Outcomes.declare(declared_objectives, declared_constraints, module_direction)
            module_direction = module_outcomes.direction
    except SpaceError as exc:
        raise ObjectiveError(f"{path}: {exc.message}") from None
    if space_file is not None:
        space, file_direction, file_outcomes = read_declaration(space_file)
        if file_direction and module_direction and file_direction != module_direction:
            raise ObjectiveError(
                f"{path} says direction {module_direction!r} but {space_file} says "
                f"{file_direction!r}; keep one of them"
            )
        if file_outcomes is not None and module_outcomes is not None and file_outcomes != module_outcomes:
            raise ObjectiveError(f"{path} and {space_file} declare different objectives or constraints; "
                                 "keep one declaration")
        return space, file_direction or module_direction, file_outcomes or module_outcomes
    declared = getattr(module, "space", None)
    if declared is None:
        raise ObjectiveError(
            f"{path} defines no `space`; add e.g. space = {{\"x\": npopt.Float(0, 1)}} "
            "or pass --space FILE"
        )
    try:
        return Space(declared), module_direction, module_outcomes
    except SpaceError as exc:
        raise SpaceError(f"{path}: {exc.message}") from None


def _check_signature(fn: Callable[..., Any], path: Path, name: str, space: Space) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: nothing to check
        return
    try:
        signature.bind(**{n: None for n in space.params})
    except TypeError as exc:
        raise ObjectiveError(
            f"{path}: {name}{signature} cannot be called with the space's parameters "
            f"({', '.join(space.params)}): {exc}"
        ) from None


# ---------------------------------------------------------------- evaluating


def _describe(exc: BaseException) -> str:
    """``ValueError: message (file.py:12)`` -- the innermost frame of the traceback."""
    try:
        message = str(exc)
    except Exception:  # an exception whose __str__ raises
        message = "<its message could not be printed>"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if isinstance(exc, SystemExit):
        text += " (sys.exit() called in the objective)"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        text += f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})"
    return text[:500]


def as_value(raw: Any) -> tuple[float | dict[str, float] | None, str | None]:
    """``(value, None)`` for a finite number, ``(values, None)`` for a dict of finite numbers
    (a study's several outcomes, :mod:`npopt.outcomes`), else ``(None, reason)``."""
    if isinstance(raw, Mapping):
        values = {}
        for key, entry in raw.items():
            if not isinstance(key, str):
                return None, f"objective returned a dict with the key {key!r:.40}; name outcomes with strings"
            value, reason = as_value(None if isinstance(entry, Mapping) else entry)
            if reason is not None:
                return None, f"{key}: " + reason.replace("(expected a number)", "(expected a number per key)")
            values[key] = value
        return values, None
    if raw is None:
        return None, "objective returned None (expected a number)"
    if isinstance(raw, (bool, str, bytes)):
        return None, f"objective returned {type(raw).__name__} {raw!r} (expected a number)"
    try:
        value = float(raw)
    except OverflowError:  # an int such as 10**400
        return None, f"objective returned an {type(raw).__name__} beyond the float range (expected a number)"
    except Exception:  # TypeError, ValueError, or a __float__ that raises anything else
        return None, f"objective returned {type(raw).__name__} (expected a number)"
    if not math.isfinite(value):
        return None, f"objective returned {value}"
    return value, None


def evaluate_here(objective: Callable[..., Any], params: dict[str, Any]) -> tuple[float | None, str | None]:
    """Call ``objective(**params)`` in this process; exceptions become reasons.

    The objective cannot take the process down with it: a child it forks and that returns
    here exits at once (only the parent records the trial), and a stdout or stderr it closes
    is given back afterwards.
    """
    pid, saved = os.getpid(), {fd: os.dup(fd) for fd in (1, 2) if _is_open(fd)}
    try:
        raw = objective(**params)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit and GeneratorExit too: they fail the trial, the run goes on
        _child_exits(pid)
        return None, _describe(exc)
    finally:
        for fd, copy in saved.items():
            if not _is_open(fd):
                os.dup2(copy, fd)
            os.close(copy)
    _child_exits(pid)
    return as_value(raw)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _child_exits(parent: int) -> None:
    """In a process the objective forked (it returned here too), exit without cleanup."""
    if os.getpid() != parent:
        os._exit(0)


def _worker(objective: Callable[..., Any], conn) -> None:
    """Worker process: evaluate params received on ``conn`` until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    conn.send("ready")
    while True:
        try:
            params = conn.recv()
        except EOFError:
            return
        if params is None:
            return
        conn.send(evaluate_here(objective, params))


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` if it is ``None`` or a positive number of seconds, else NpoptError."""
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0 and math.isfinite(timeout)):
        raise NpoptError(f"timeout must be a positive number of seconds, not {timeout:g}"
                         if isinstance(timeout, (int, float)) else f"timeout must be a number, not {timeout!r}",
                         code="bad_timeout")
    return timeout


class Evaluator:
    """Evaluates an objective, in a killable worker process when ``timeout`` is set.

    Use as a context manager; calling it returns ``(value, None)`` or ``(None, reason)``.
    """

    def __init__(self, objective: Callable[..., Any], timeout: float | None = None) -> None:
        self.objective = objective
        self.timeout = check_timeout(timeout)
        self._process = None
        self._conn = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, params: dict[str, Any]) -> tuple[float | None, str | None]:
        if self.timeout is None:
            return evaluate_here(self.objective, params)
        try:
            if self._process is None:
                reason = self._start()
                if reason is not None:
                    return None, reason
            self._conn.send(params)
            if not self._conn.poll(self.timeout):
                self._stop()
                return None, f"timed out after {self.timeout:g} s"
            return self._conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self._stop()
            return None, f"objective process died (exit code {code})"
        except BaseException:  # Ctrl-C: do not leave the worker running
            self._stop()
            raise

    def _start(self) -> str | None:
        """Start a worker; a reason if it does not come up."""
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_worker, args=(self.objective, child), daemon=True)
        try:
            self._process.start()
        except Exception as exc:  # typically: the objective cannot be pickled
            self._process = None
            raise NpoptError(
                f"cannot run the objective in a worker process for the timeout ({_describe(exc)}); "
                "use a module-level function, or no timeout",
                code="bad_objective",
            ) from None
        finally:
            child.close()
        if not self._conn.poll(WORKER_START_TIMEOUT_S) or self._conn.recv() != "ready":
            self._stop()
            return f"objective process did not start within {WORKER_START_TIMEOUT_S:g} s"
        return None

    def _stop(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Stop the worker process, if any."""
        if self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(2)
            except (OSError, EOFError):
                pass
        self._stop()
