"""A study in one SQLite file: one committed transaction per state change.

The file holds two tables: ``meta`` (``key -> JSON value``, the study's meta record) and
``trials`` (one row per trial, the columns of :data:`npopt.storage.base.COLUMNS`).

The database runs in WAL mode with ``synchronous=FULL``; every change happens inside
``BEGIN IMMEDIATE ... COMMIT``, which takes the file's write lock first, so two processes
sharing a study see each other's trials and never interleave a read-then-write. A
``kill -9`` at any moment leaves the file at the last commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from npopt.errors import StudyError
from npopt.storage.base import Storage, stamped

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


class SQLiteStorage(Storage):
    """A connection to one study file. Use :meth:`create` or :meth:`open`."""

    PLACEHOLDER = "?"
    TRIALS = "trials"

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def _connect(cls, location: str | Path, create: bool) -> SQLiteStorage:
        path = Path(location)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            target, uri = str(path), False
        else:
            if not path.is_file():
                raise StudyError(f"no study at {path} (the file does not exist)")
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

    def _create_study(self, meta: dict[str, Any]) -> bool:
        with self.transaction() as conn:
            tables = self._tables()
            if "meta" in tables:
                return False
            if tables:
                raise StudyError(f"{self.path} holds an SQLite database that is not an npopt study")
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript() would COMMIT early
                conn.execute(statement)
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)", [(k, json.dumps(v)) for k, v in stamped(meta).items()]
            )
        return True

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` (the file's write lock) ... ``COMMIT``."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

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

    def _check_tables(self) -> None:
        """Nothing to check: a file whose tables are not npopt's has no meta table (:meth:`_missing`)."""

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _read_meta(self) -> dict[str, Any]:
        if "meta" not in self._tables():
            return {}
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def _missing(self) -> str:
        return f"{self.path} is not an npopt study (it has no meta table)"
