"""The JSON-lines protocol behind ``npopt serve`` (and ``npopt ask`` / ``npopt tell``).

One request is one line holding one JSON object; its reply is exactly one JSON line::

    {"op": "ask", "n": 2, "id": 7}
    -> {"id": 7, "ok": true, "trials": [{"number": 0, "params": {...}}, {"number": 1, ...}]}
    {"op": "tell", "number": 0, "value": 1.25}                          -> {"ok": true}
    {"op": "tell", "number": 1, "state": "failed", "reason": "crashed"}  -> {"ok": true}
    {"op": "tell", "number": 2, "values": {"loss": 0.3, "memory_gb": 12}} -> {"ok": true}
    {"op": "best"}    -> {"ok": true, "trial": {"number": 0, "params": {...}, "value": 1.25, "values": {...}}}
    {"op": "trials"}  -> {"ok": true, "trials": [{"number": 0, "state": "complete", ...}, ...]}

A request that cannot be carried out is answered ``{"ok": false, "error": {"code": ...,
"message": ...}}`` with a code from :data:`ERROR_CODES`; the session goes on and nothing
already recorded changes. :func:`handle` turns one line into one reply and knows nothing of
pipes; :func:`serve` is the loop over an input and an output stream. ``docs/protocol.md``
is the user-facing description; keep the two in step.
"""

from __future__ import annotations

import json
import math
import sqlite3
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from typing import IO, Any

from npopt.errors import NpoptError

#: The largest request line accepted, in bytes (newline excluded).
MAX_LINE_BYTES = 1 << 20
#: The most trials one ``ask`` may request.
MAX_ASK = 256
#: The longest failure reason accepted, in characters.
MAX_REASON_CHARS = 10_000

#: Every error code a reply can carry, with what it means. Codes are stable: clients may
#: branch on them. ``docs/protocol.md`` documents the same table.
ERROR_CODES: dict[str, str] = {
    "line_too_long": f"the request line is longer than {MAX_LINE_BYTES} bytes",
    "bad_encoding": "the request line is not valid UTF-8 text",
    "bad_json": "the line is not one JSON value (an empty line included)",
    "not_an_object": "the JSON value is not an object",
    "missing_field": "a field the op requires is absent (op itself included)",
    "unknown_op": "op is not one of ask, tell, best, trials",
    "unknown_field": "the request has a field its op does not take (a typo, usually)",
    "bad_field": "a field has the wrong type or is out of range",
    "bad_value": "a tell's value is not a finite number (NaN, infinity, a string, ...)",
    "unknown_trial": "the study has no trial with this number",
    "already_finished": "the trial was already told; a trial is told once",
    "bad_study": "the study could not carry out the request (file locked too long, deleted, ...)",
    "internal": "a bug in npopt; the message and the server's stderr say more",
}

OPS = ("ask", "tell", "best", "trials")
#: The fields each op takes besides ``op`` and ``id``.
_FIELDS: dict[str, frozenset[str]] = {
    "ask": frozenset({"n"}),
    "tell": frozenset({"number", "value", "values", "state", "reason"}),
    "best": frozenset(),
    "trials": frozenset(),
}
_STATES = ("complete", "failed")
_MAX_TRIAL_NUMBER = 2**63 - 1  # SQLite's INTEGER range
_NO_ID = object()


class ProtocolError(NpoptError):
    """A request that breaks the protocol; ``code`` is a key of :data:`ERROR_CODES`."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message, code=code)


# ----------------------------------------------------------------------------- parsing


def parse_line(line: bytes | str) -> dict[str, Any]:
    """Decode one request line into a JSON object.

    Raises:
        ProtocolError: ``line_too_long``, ``bad_encoding``, ``bad_json`` or ``not_an_object``.
    """
    text = line.rstrip(b"\r\n" if isinstance(line, bytes) else "\r\n")
    if len(text) > MAX_LINE_BYTES:
        raise ProtocolError("line_too_long", ERROR_CODES["line_too_long"])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("bad_encoding", f"the line is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise ProtocolError("bad_json", "empty line; send one JSON object per line")
    try:
        request = json.loads(text)
    except RecursionError:
        raise ProtocolError("bad_json", "the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and ints of too many digits
        raise ProtocolError("bad_json", f"not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise ProtocolError(
            "not_an_object",
            f'a request is a JSON object like {{"op": "ask"}}, not {_json_type(request)}',
        )
    return request


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _read_id(request: dict[str, Any]) -> Any:
    """The request's ``id`` (or :data:`_NO_ID`); only a string, a finite number or null."""
    if "id" not in request:
        return _NO_ID
    rid = request["id"]
    if isinstance(rid, int) and not isinstance(rid, bool) and abs(rid) > 2**63:
        raise ProtocolError("bad_field", "id is an integer beyond 64 bits; use a string for long ids")
    finite_number = isinstance(rid, (int, float)) and not isinstance(rid, bool) and math.isfinite(rid)
    if rid is None or isinstance(rid, str) or finite_number:
        return rid
    raise ProtocolError("bad_field", f"id must be a string, a finite number or null, not {_json_type(rid)}")


def _int_field(request: dict[str, Any], name: str, low: int, high: int) -> int:
    value = request[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError("bad_field", f"{name} must be an integer, not {_json_type(value)}")
    if not low <= value <= high:
        raise ProtocolError("bad_field", f"{name} must be from {low} to {high}, got {value}")
    return value


def _trial_number(request: dict[str, Any]) -> int:
    if "number" not in request:
        raise ProtocolError("missing_field", "tell needs the trial's number")
    number = request["number"]
    if not isinstance(number, int) or isinstance(number, bool):
        raise ProtocolError("bad_field", f"number must be an integer, not {_json_type(number)}")
    if not 0 <= number <= _MAX_TRIAL_NUMBER:
        raise ProtocolError("unknown_trial", f"the study has no trial number {str(number)[:40]}")
    return number


def _finite_value(value: Any, key: str | None = None) -> float:
    hint = 'to record a failed evaluation, tell it with state "failed" (and a reason) instead'
    what = "value" if key is None else f"values[{json.dumps(key)[:40]}]"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ProtocolError("bad_value", f"{what} must be a number, not {_json_type(value)}; {hint}")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ProtocolError("bad_value", f"{what} must be a finite number, got {value}; {hint}")
    return value


def _reason(request: dict[str, Any]) -> str | None:
    reason = request.get("reason")
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ProtocolError("bad_field", f"reason must be a string, not {_json_type(reason)}")
    if len(reason) > MAX_REASON_CHARS:
        raise ProtocolError("bad_field", f"reason is longer than {MAX_REASON_CHARS} characters")
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError("bad_field", "reason holds an unpaired surrogate (\\ud800-\\udfff)") from None
    return reason


# ----------------------------------------------------------------------------- ops


def _op_ask(study, request: dict[str, Any]) -> dict[str, Any]:
    n = _int_field(request, "n", 1, MAX_ASK) if "n" in request else 1
    # detached: the client evaluates, so the trials outlive this process (see docs/protocol.md)
    return {"trials": [{"number": t.number, "params": t.params} for t in study.ask(n, detached=True)]}


def _op_tell(study, request: dict[str, Any]) -> dict[str, Any]:
    number = _trial_number(request)
    state = request.get("state", "complete")
    if state not in _STATES:
        raise ProtocolError("bad_field", f"state must be one of {', '.join(_STATES)}, got {json.dumps(state)[:80]}")
    value = values = reason = None
    if state == "complete":
        if "value" in request and "values" in request:
            raise ProtocolError("bad_field", 'give "value" (one objective) or "values" (one per outcome), not both')
        if "value" not in request and "values" not in request:
            raise ProtocolError("missing_field", 'tell needs a "value" or "values" (or "state": "failed")')
        if request.get("reason") is not None:
            raise ProtocolError("bad_field", 'reason goes with "state": "failed" only')
        if "values" in request:
            values = request["values"]
            if not isinstance(values, dict):
                raise ProtocolError("bad_value", f"values must be an object of numbers, not {_json_type(values)}")
            values = {k: _finite_value(v, k) for k, v in values.items()}
        else:
            value = _finite_value(request["value"])
    else:
        if request.get("value") is not None:
            raise ProtocolError("bad_field", "a failed trial takes no value; leave value out")
        if request.get("values") is not None:
            raise ProtocolError("bad_field", "a failed trial takes no values; leave values out")
        reason = _reason(request)

    from npopt.trial import TrialState

    study.tell(number, value=value, state=TrialState(state), reason=reason, values=values)
    return {}


def _best_record(trial) -> dict[str, Any]:
    record = trial.to_dict()
    return {k: record[k] for k in ("number", "params", "value", "values")}


def _op_best(study, request: dict[str, Any]) -> dict[str, Any]:
    if study.outcomes.multi:  # several objectives: the Pareto front of the feasible trials
        return {"trials": [_best_record(t) for t in study.best_trials]}
    best = study.best
    return {"trial": None if best is None else _best_record(best)}


def _op_trials(study, request: dict[str, Any]) -> dict[str, Any]:
    return {"trials": [t.to_dict() for t in study.trials]}


_HANDLERS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "ask": _op_ask,
    "tell": _op_tell,
    "best": _op_best,
    "trials": _op_trials,
}


def dispatch(study, request: dict[str, Any]) -> dict[str, Any]:
    """Check a parsed request's op and fields, carry it out, return the reply's payload.

    Raises:
        NpoptError: the request is invalid or the study refused it.
    """
    if "op" not in request:
        raise ProtocolError("missing_field", f'a request needs "op", one of {", ".join(OPS)}')
    op = request["op"]
    if not isinstance(op, str) or op not in _FIELDS:
        raise ProtocolError("unknown_op", f"unknown op {json.dumps(op)[:80]}; use one of {', '.join(OPS)}")
    extra = sorted(set(request) - _FIELDS[op] - {"op", "id"})
    if extra:
        takes = ", ".join(sorted(_FIELDS[op])) or "no other fields"
        raise ProtocolError(
            "unknown_field", f"{op} does not take {', '.join(map(json.dumps, extra))[:200]}; it takes {takes}"
        )
    return _HANDLERS[op](study, request)


# ----------------------------------------------------------------------------- replies


def error_reply(code: str, message: str) -> dict[str, Any]:
    """``{"ok": false, "error": {"code": code, "message": message}}``."""
    return {"ok": False, "error": {"code": code, "message": message}}


def _reply_for(exc: Exception, log: Callable[[str], None]) -> dict[str, Any]:
    if isinstance(exc, NpoptError):  # codes outside the table fall back to bad_study
        return error_reply(exc.code if exc.code in ERROR_CODES else "bad_study", exc.message)
    if isinstance(exc, sqlite3.Error):
        return error_reply("bad_study", f"the study file could not be used: {exc}")
    log("internal error:\n" + "".join(traceback.format_exception(exc)).rstrip())
    return error_reply("internal", f"{type(exc).__name__}: {exc}")


def handle(study, line: bytes | str, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Answer one request line with one reply object (never raises for a bad request).

    Args:
        study: the :class:`~npopt.study.Study` the requests act on.
        line: one line as read (bytes or text; a trailing newline is fine).
        log: where to report internal errors (default: stderr).

    Returns:
        The reply; it carries the request's ``id`` first whenever the id could be read.
    """
    log = log or log_to(sys.stderr)
    rid = _NO_ID
    try:
        request = parse_line(line)
        rid = _read_id(request)
        body = {"ok": True, **dispatch(study, request)}
    except Exception as exc:  # every failure becomes an error reply; KeyboardInterrupt passes
        body = _reply_for(exc, log)
    return body if rid is _NO_ID else {"id": rid, **body}


def encode(reply: dict[str, Any]) -> str:
    """One reply as one line of strict, ASCII-only JSON (no newline)."""
    return json.dumps(reply, allow_nan=False)


def log_to(stream: IO[str]) -> Callable[[str], None]:
    """A logger writing ``npopt serve: <message>`` lines to ``stream``, flushed at once."""
    return lambda message: print(f"npopt serve: {message}", file=stream, flush=True)


# ----------------------------------------------------------------------------- the loop

_TOO_LONG = object()  # read_lines yields this marker for a line over MAX_LINE_BYTES


def read_lines(stream: IO) -> Iterator[bytes | str | object]:
    """Yield the lines of ``stream`` without ever holding more than ``MAX_LINE_BYTES`` of one.

    A longer line is read to its end, discarded, and yielded as :data:`_TOO_LONG`.
    """
    while True:
        line = stream.readline(MAX_LINE_BYTES + 2)  # room for "\r\n"
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and line[-1:] not in ("\n", b"\n"):
            while True:
                rest = stream.readline(MAX_LINE_BYTES)
                if not rest or rest[-1:] in ("\n", b"\n"):
                    break
            yield _TOO_LONG
        else:
            yield line


def serve(study, in_stream: IO, out_stream: IO[str], err_stream: IO[str] | None = None) -> Counter:
    """Answer requests from ``in_stream`` on ``out_stream`` until end of input.

    Every reply is written and flushed before the next line is read; a tell is committed
    to the study before its reply is written. Logs go to ``err_stream`` only.

    Args:
        study: the study the requests act on.
        in_stream: binary (preferred: invalid UTF-8 is then answered, not fatal) or text.
        out_stream: text stream for the replies, one JSON line each.
        err_stream: text stream for logs (default: ``sys.stderr``).

    Returns:
        Counts: ``"requests"``, ``"ok"`` and one entry per error code answered.
    """
    log = log_to(err_stream or sys.stderr)
    counts: Counter = Counter()
    for line in read_lines(in_stream):
        if line is _TOO_LONG:
            reply = error_reply("line_too_long", ERROR_CODES["line_too_long"])
        else:
            reply = handle(study, line, log)
        counts["requests"] += 1
        if reply["ok"]:
            counts["ok"] += 1
        else:
            code, message = reply["error"]["code"], reply["error"]["message"]
            counts[code] += 1
            log(f"request {counts['requests']}: {code}: {message[:200]}")
        try:
            out_stream.write(encode(reply) + "\n")
            out_stream.flush()
        except BrokenPipeError:
            log("the client closed the reply stream; stopping")
            break
    else:
        errors = counts["requests"] - counts["ok"]
        log(f"end of input after {counts['requests']} requests ({errors} answered with an error)")
    return counts
