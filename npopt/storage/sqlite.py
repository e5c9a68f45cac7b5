"""SQLite persistence of a study: one file, one committed transaction per state change.

The file holds two tables:

* ``meta``: ``key -> JSON value`` -- ``format_version``, ``space``, ``direction``,
  ``surrogate``, ``seed``, ``created_at``, ``npopt_version``;
* ``trials``: one row per trial -- ``number``, ``state`` (running/complete/failed),
  ``params`` (JSON), ``value``, ``reason``, ``started_at``, ``finished_at`` and ``owner``
  (JSON ``{"host", "pid", "start"}`` of the process that asked for it, or NULL for a trial
  handed to another program).

The database runs in WAL mode with ``synchronous=FULL``; every change happens inside
``BEGIN IMMEDIATE ... COMMIT``, which takes the file's write lock first, so two processes
sharing a study see each other's trials and never interleave a read-then-write. A
``kill -9`` at any moment leaves the file at the last commit. No torch here.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from npopt.errors import StudyError

FORMAT_VERSION = 1
#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 120.0

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE trials (
    number      INTEGER PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    params      TEXT NOT NULL,
    value       REAL,
    reason      TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    owner       TEXT
);
"""
_COLUMNS = ("number", "state", "params", "value", "reason", "started_at", "finished_at", "owner")
_SELECT = ", ".join(_COLUMNS)


def _decode(row: tuple) -> dict[str, Any]:
    """A trial row as a dict, ``params`` and ``owner`` decoded from JSON."""
    d = dict(zip(_COLUMNS, row, strict=True))
    d["params"] = json.loads(d["params"])
    d["owner"] = json.loads(d["owner"]) if d["owner"] else None
    return d


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------- process identity


def _proc_start(pid: int) -> str | None:
    """The start time of ``pid`` (Linux clock ticks since boot), to tell reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]  # a zombie counts as not running


def this_process() -> dict[str, Any]:
    """The owner record of the current process."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _proc_start(os.getpid())}


def process_alive(owner: dict[str, Any]) -> bool:
    """Whether the process in an owner record may still be running.

    A process on another host cannot be checked and counts as alive.
    """
    if owner.get("host") != socket.gethostname():
        return True
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


# ---------------------------------------------------------------- the database


class Storage:
    """A connection to one study file. Use :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def _connect(cls, path: Path, create: bool) -> Storage:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            target, uri = str(path), False
        else:
            target, uri = path.resolve().as_uri() + "?mode=rw", True
        try:
            conn = sqlite3.connect(target, uri=uri, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise StudyError(f"cannot open study file {path}: {exc}") from None
        storage = cls(path, conn)
        try:
            with storage._errors():
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
        except StudyError:
            conn.close()
            raise
        return storage

    @classmethod
    def create(cls, path: str | Path, meta: dict[str, Any]) -> tuple[Storage, bool]:
        """Open ``path``, writing the schema and ``meta`` if it holds no study yet.

        Returns:
            The storage and whether this call created the study (``False``: another
            process or an earlier run already had).

        Raises:
            StudyError: the file is not an SQLite database or holds other tables.
        """
        path = Path(path)
        storage = cls._connect(path, create=True)
        with storage.transaction() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:  # statement by statement: executescript() would COMMIT early
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                meta = {"format_version": FORMAT_VERSION, "created_at": now(), **meta}
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in meta.items()],
                )
        if "meta" in tables:
            return storage, False
        if tables:
            storage.close()
            raise StudyError(f"{path} holds an SQLite database that is not an npopt study")
        return storage, True

    @classmethod
    def open(cls, path: str | Path) -> Storage:
        """Open an existing study file.

        Raises:
            StudyError: the file is missing, not a database, not a study, or from a newer npopt.
        """
        path = Path(path)
        if not path.is_file():
            raise StudyError(f"no study at {path} (the file does not exist)")
        storage = cls._connect(path, create=False)
        try:
            meta = storage.meta()
        except StudyError:
            storage.close()
            raise
        if not meta:
            storage.close()
            raise StudyError(f"{path} is not an npopt study (it has no meta table)")
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            storage.close()
            raise StudyError(
                f"{path} was written by a newer npopt (study format {version}); "
                f"this npopt reads format {FORMAT_VERSION}: upgrade npopt"
            )
        return storage

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn sqlite3 errors into StudyErrors naming the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StudyError(
                    f"study file {self.path} stayed locked by another process for "
                    f"{BUSY_TIMEOUT_S:.0f} s; try again"
                ) from None
            raise StudyError(f"study file {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StudyError(f"{self.path} is not an npopt study ({exc})") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception (Ctrl-C included)."""
        with self._errors():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    # ------------------------------------------------------------ reads

    def meta(self) -> dict[str, Any]:
        """The meta table as a dict (empty if the file has no meta table)."""
        with self._errors():
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "meta" not in tables:
                return {}
            return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def trials(self, conn: sqlite3.Connection | None = None) -> list[dict[str, Any]]:
        """All trial rows in number order (``params``/``owner`` decoded)."""
        with self._errors():
            cursor = (conn or self.conn).execute(f"SELECT {_SELECT} FROM trials ORDER BY number")
            return [_decode(r) for r in cursor.fetchall()]

    @staticmethod
    def trial(conn: sqlite3.Connection, number: int) -> dict[str, Any] | None:
        """One trial row, or ``None`` if there is no trial ``number``."""
        r = conn.execute(f"SELECT {_SELECT} FROM trials WHERE number = ?", (number,)).fetchone()
        return None if r is None else _decode(r)

    # ------------------------------------------------------------ writes (inside transaction())

    @staticmethod
    def insert_running(
        conn: sqlite3.Connection, params: list[dict[str, Any]], owner: dict[str, Any] | None
    ) -> list[int]:
        """Insert RUNNING trials with consecutive new numbers; returns the numbers."""
        (last,) = conn.execute("SELECT COALESCE(MAX(number), -1) FROM trials").fetchone()
        started, owner_json = now(), json.dumps(owner) if owner else None
        numbers = list(range(last + 1, last + 1 + len(params)))
        conn.executemany(
            "INSERT INTO trials (number, state, params, started_at, owner) VALUES (?, 'running', ?, ?, ?)",
            [(n, json.dumps(p), started, owner_json) for n, p in zip(numbers, params, strict=True)],
        )
        return numbers

    @staticmethod
    def finish(
        conn: sqlite3.Connection, number: int, state: str, value: float | None, reason: str | None
    ) -> None:
        """Move trial ``number`` from running to ``state``."""
        conn.execute(
            "UPDATE trials SET state = ?, value = ?, reason = ?, finished_at = ? "
            "WHERE number = ? AND state = 'running'",
            (state, value, reason, now(), number),
        )
