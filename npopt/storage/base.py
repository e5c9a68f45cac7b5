"""The storage protocol: what a study keeps and how it changes, whatever holds it.

A study is its meta record -- ``format_version``, ``space``, ``direction``, ``surrogate``,
``seed``, ``created_at``, ``npopt_version`` (and ``prior``) -- and one row per trial:
``number``, ``state`` (running/complete/failed), ``params`` (JSON), ``value``, ``reason``,
``started_at``, ``finished_at``, ``owner`` (JSON ``{"host", "pid", "start"}`` of the
process that asked for it, or NULL for a trial handed to another program) and ``outcomes``
(JSON: a complete trial's value per declared objective and constraint, NULL in a study that
declares only its one objective; studies made before the column have none and read NULL).

:class:`Storage` holds everything the backends share: opening and the format check, reading
and numbering trials, finishing them. A backend supplies only what differs: connecting, its
SQL dialect (placeholder, trials table, the columns that pick one study), the transaction
that takes the study's write lock, creating the schema, and turning driver errors into
:class:`~npopt.errors.StudyError`. Every state change is one transaction under that lock,
so a process killed at any moment leaves the study at its last commit. No torch here.
"""

from __future__ import annotations

import json
import math
import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from npopt.errors import StudyError

#: The study format this npopt writes and reads. A study that declares several objectives or
#: constraints is written as format 2 (an npopt from before them must refuse it, not ignore
#: them); every other study stays format 1, which older npopt versions still open.
FORMAT_VERSION = 2
PLAIN_FORMAT = 1
COLUMNS = ("number", "state", "params", "value", "reason", "started_at", "finished_at", "owner", "outcomes")
#: The columns of trial rows written before ``outcomes`` existed (read with ``outcomes`` NULL).
OLD_COLUMNS = COLUMNS[:-1]


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def stamped(meta: dict[str, Any]) -> dict[str, Any]:
    """The meta record a new study starts with: ``meta`` plus the format version and the time
    (format 2 only where ``meta`` declares objectives or constraints)."""
    version = FORMAT_VERSION if ("objectives" in meta or "constraints" in meta) else PLAIN_FORMAT
    return {"format_version": version, "created_at": now(), **meta}


def damaged_trial(where: Path | str, number: Any, detail: str) -> StudyError:
    """The error for a trial row edited outside npopt (unreadable, or not fitting the space)."""
    return StudyError(f"{where}: trial {number} is damaged ({detail}); the study was edited outside npopt: "
                      "restore it from a copy, or delete that trial's row")


def damaged_meta(where: Path | str, detail: str) -> StudyError:
    """The error for a study's meta record edited outside npopt."""
    return StudyError(f"{where}: the study's meta record is damaged ({detail}); restore the study from a copy")


def decode(row: tuple, where: Path | str = "the study") -> dict[str, Any]:
    """A trial row (in :data:`COLUMNS` order) as a dict, ``params`` and ``owner`` decoded from JSON.

    Raises:
        StudyError: the row was edited or damaged (naming the study, the trial and the column).
    """
    d = dict(zip(COLUMNS, row, strict=True))
    column = "params"
    try:
        d["params"] = json.loads(d["params"])
        if not isinstance(d["params"], dict):
            raise ValueError("not a JSON object")
        column = "owner"
        d["owner"] = json.loads(d["owner"]) if d["owner"] else None
        if d["owner"] is not None and not isinstance(d["owner"], dict):
            raise ValueError("not a JSON object")
        column = "outcomes"
        d["outcomes"] = json.loads(d["outcomes"]) if d["outcomes"] else None
        if d["outcomes"] is not None and (not isinstance(d["outcomes"], dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in d["outcomes"].values())):
            raise ValueError("not a JSON object of numbers")
        column = "value"
        if d["value"] is not None and (not isinstance(d["value"], (int, float)) or isinstance(d["value"], bool)):
            raise ValueError(f"{d['value']!r:.40} is not a number")
    except (TypeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise damaged_trial(where, d["number"], f"its {column}: {str(exc)[:80]}") from None
    return d


# ---------------------------------------------------------------- process identity


def _proc_start(pid: int) -> str | None:
    """The start time of ``pid`` (Linux clock ticks since boot), to tell reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]  # a zombie counts as not running


#: A trial whose owner on another host has not beaten for this many of its own heartbeat
#: intervals counts as dead (Optuna's default grace period is two intervals as well).
GRACE_INTERVALS = 2


def this_process(heartbeat: float | None = None) -> dict[str, Any]:
    """The owner record of the current process; with ``heartbeat`` (seconds), also the
    interval and the time of its first beat (:meth:`Storage.beat` renews it)."""
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "start": _proc_start(os.getpid())}
    if heartbeat is not None:
        owner.update(interval=heartbeat, beat=now())
    return owner


def process_alive(owner: dict[str, Any]) -> bool:
    """Whether the process in an owner record may still be running.

    On this host: its pid (and start time) says. On another host: alive while its last
    heartbeat is at most :data:`GRACE_INTERVALS` of its intervals old (clocks of the hosts
    are compared, so keep them synchronised); an owner without heartbeats counts as alive.
    """
    if owner.get("host") != socket.gethostname():
        try:
            age = (datetime.now(timezone.utc) - datetime.fromisoformat(owner["beat"])).total_seconds()
            interval = float(owner["interval"])
        except (KeyError, TypeError, ValueError):  # no heartbeat, or a record edited by hand
            return True
        return not math.isfinite(interval) or age <= GRACE_INTERVALS * interval
    pid = int(owner.get("pid", -1))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    start = _proc_start(pid)
    if owner.get("start") is not None and start != owner["start"]:
        return False  # pid reused by another process (or a zombie)
    return True


# ---------------------------------------------------------------- the protocol


class Storage(ABC):
    """One study in a database. Use :meth:`create` or :meth:`open`; close with :meth:`close`.

    Writes happen inside :meth:`transaction`, which yields the connection the read and write
    methods take as ``conn``.
    """

    #: The dialect: the query placeholder and the table of trial rows.
    PLACEHOLDER: ClassVar[str]
    TRIALS: ClassVar[str]

    conn: Any
    #: Whether the trials table has the ``outcomes`` column (``None``: not asked yet).
    _outcomes_column: bool | None = None
    #: What messages call the study: a file's Path, or a URL without its password.
    path: Path | str
    #: Where the study is, to open it again (a file's Path, or the URL as given).
    location: Path | str

    # ------------------------------------------------------------ what a backend supplies

    @classmethod
    @abstractmethod
    def _connect(cls, location: str | Path, create: bool) -> Storage:
        """A connected storage (StudyError if it cannot connect, or if ``create`` is false
        and the location plainly holds nothing)."""

    @abstractmethod
    def _create_study(self, meta: dict[str, Any]) -> bool:
        """Write the schema and the meta record (see :func:`stamped`) unless the study exists,
        under the write lock; whether this call created it."""

    @abstractmethod
    def _locked(self) -> AbstractContextManager[None]:
        """One transaction that first takes the study's write lock; rolled back on any exception."""

    @abstractmethod
    def _errors(self) -> AbstractContextManager[None]:
        """Turn the driver's errors into one-line StudyErrors naming the study."""

    @abstractmethod
    def _read_meta(self) -> dict[str, Any]:
        """The meta record (empty if there is none)."""

    @abstractmethod
    def _missing(self) -> str:
        """The message for a location that holds no study."""

    @abstractmethod
    def _check_tables(self) -> None:
        """StudyError if the database holds tables of npopt's names that are not npopt's."""

    @abstractmethod
    def _has_outcomes(self) -> bool:
        """Whether the trials table has the ``outcomes`` column (tables made before it do not)."""

    def _select(self) -> str:
        """The trial columns to select, in :data:`COLUMNS` order (``outcomes`` NULL where the
        table predates it)."""
        if self._outcomes_column is None:
            self._outcomes_column = self._has_outcomes()
        return ", ".join(COLUMNS if self._outcomes_column else (*OLD_COLUMNS, "NULL AS outcomes"))

    def _check_connection(self) -> None:
        """Before each transaction and read: StudyError if the study this storage opened is
        no longer where it was (a file deleted or replaced); a backend whose connection can
        drop reconnects here. Nothing to check by default."""
        return None

    def _scope(self) -> dict[str, Any]:
        """Columns and values that pick this study's rows of :attr:`TRIALS` (none in a study file)."""
        return {}

    # ------------------------------------------------------------ opening

    @classmethod
    def create(cls, location: str | Path, meta: dict[str, Any]) -> tuple[Storage, bool]:
        """Open ``location``, creating the study with ``meta`` if there is none yet.

        Returns:
            The storage and whether this call created the study (``False``: another
            process or an earlier run already had).

        Raises:
            StudyError: the location cannot be reached or holds data that is not an npopt study.
        """
        storage = cls._connect(location, create=True)
        try:
            with storage._errors():
                created = storage._create_study(meta)  # waits for a concurrent creator to commit
        except BaseException:
            storage.close()
            raise
        return storage, created

    @classmethod
    def open(cls, location: str | Path) -> Storage:
        """Open an existing study.

        Raises:
            StudyError: the study is missing, the location holds something else, or the
                study was written by a newer npopt.
        """
        storage = cls._connect(location, create=False)
        try:
            with storage._errors():
                storage._check_tables()
            meta = storage.meta()
            if not meta:
                raise StudyError(storage._missing())
            version = meta.get("format_version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                raise StudyError(
                    f"{storage.path} was written by a newer npopt (study format {version}); "
                    f"this npopt reads format {FORMAT_VERSION}: upgrade npopt"
                )
        except BaseException:
            storage.close()
            raise
        return storage

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One transaction holding the study's write lock; rolled back on any exception (Ctrl-C included)."""
        with self._errors(), self._locked():
            yield self.conn

    # ------------------------------------------------------------ reads

    def meta(self) -> dict[str, Any]:
        """The study's meta record as a dict (empty if there is none).

        Raises:
            StudyError: the record is not JSON (edited or damaged).
        """
        with self._errors():
            try:
                return self._read_meta()
            except ValueError as exc:  # json.JSONDecodeError
                raise damaged_meta(self.path, str(exc)[:80]) from None

    def trials(self, conn: Any = None) -> list[dict[str, Any]]:
        """All trial rows in number order (``params``/``owner`` decoded)."""
        where, args = self._where()
        with self._errors():
            if conn is None:
                self._check_connection()
            rows = (conn or self.conn).execute(f"SELECT {self._select()} FROM {self.TRIALS}{where} ORDER BY number",
                                               args).fetchall()
        return [decode(r, self.path) for r in rows]

    def trial(self, conn: Any, number: int) -> dict[str, Any] | None:
        """One trial row, or ``None`` if there is no trial ``number``."""
        where, args = self._where(number=number)
        r = conn.execute(f"SELECT {self._select()} FROM {self.TRIALS}{where}", args).fetchone()
        return None if r is None else decode(r, self.path)

    # ------------------------------------------------------------ writes (inside transaction())

    def insert_running(self, conn: Any, params: list[dict[str, Any]], owner: dict[str, Any] | None) -> list[int]:
        """Insert RUNNING trials with consecutive new numbers; returns the numbers."""
        where, args = self._where()
        (last,) = conn.execute(f"SELECT COALESCE(MAX(number), -1) FROM {self.TRIALS}{where}", args).fetchone()
        started, owner_json = now(), json.dumps(owner) if owner else None
        numbers = list(range(last + 1, last + 1 + len(params)))
        scope = self._scope()
        columns = ", ".join((*scope, "number", "state", "params", "started_at", "owner"))
        mark = self.PLACEHOLDER
        values = ", ".join([mark] * len(scope) + [mark, "'running'", mark, mark, mark])
        rows = [(*scope.values(), n, json.dumps(x), started, owner_json) for n, x in zip(numbers, params, strict=True)]
        cursor = conn.cursor()
        try:
            cursor.executemany(f"INSERT INTO {self.TRIALS} ({columns}) VALUES ({values})", rows)
        finally:
            cursor.close()
        return numbers

    def finish(self, conn: Any, number: int, state: str, value: float | None, reason: str | None,
               outcomes: dict[str, float] | None = None) -> None:
        """Move trial ``number`` from running to ``state`` (``outcomes``: its values per
        declared outcome, for a study that declares more than one objective)."""
        where, args = self._where(number=number)
        mark = self.PLACEHOLDER
        extra, more = "", ()
        if outcomes is not None:
            self._select()  # knows whether the column exists
            if not self._outcomes_column:
                raise StudyError(f"{self.path} was made by an older npopt and has no column for "
                                 "several outcomes; create a new study for objectives or constraints")
            extra, more = f", outcomes = {mark}", (json.dumps(outcomes),)
        conn.execute(
            f"UPDATE {self.TRIALS} SET state = {mark}, value = {mark}, reason = {mark}, finished_at = {mark}{extra}"
            f"{where} AND state = 'running'",
            (state, value, reason, now(), *more, *args),
        )

    def beat(self, conn: Any, number: int, owner: dict[str, Any]) -> None:
        """Renew the heartbeat of running trial ``number`` owned by ``owner``."""
        where, args = self._where(number=number)
        mark = self.PLACEHOLDER
        conn.execute(f"UPDATE {self.TRIALS} SET owner = {mark}{where} AND state = 'running'",
                     (json.dumps({**owner, "beat": now()}), *args))

    def _where(self, **columns: Any) -> tuple[str, tuple]:
        """`` WHERE a = ? AND ...`` over this study's scope and ``columns``, and its arguments."""
        match = {**self._scope(), **columns}
        if not match:
            return "", ()
        return " WHERE " + " AND ".join(f"{c} = {self.PLACEHOLDER}" for c in match), tuple(match.values())
