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
#: Copy each commit from the -wal into the study file at once (what this costs four
#: concurrent workers: benchmarks/wal_cost.py). False only to measure that cost.
CHECKPOINT_EACH_COMMIT = True

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
    owner       TEXT,
    outcomes    TEXT
);
"""


class SQLiteStorage(Storage):
    """A connection to one study file. Use :meth:`create` or :meth:`open`."""

    PLACEHOLDER = "?"
    TRIALS = "trials"

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.location = path.absolute()  # the same file after the process changes directory
        self.conn = conn
        self.identity: tuple[int, int] | None = None  # (device, inode) of the file once open

    @classmethod
    def _connect(cls, location: str | Path, create: bool) -> SQLiteStorage:
        path = Path(location)
        if path.is_dir():
            raise StudyError(f"{path} is a directory; give a study file such as {path / 'study.db'}")
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise StudyError(f"cannot create study file {path}: {exc.filename} is a file, not a folder") from None
            except OSError as exc:  # no permission, read-only disk, ...
                raise StudyError(f"cannot create study file {path}: {exc.strerror or exc}") from None
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
            storage.identity = storage._identity()
        except StudyError:
            conn.close()
            raise
        return storage

    @classmethod
    def copy(cls, source: Path, target: Path) -> None:
        """Copy the study in ``source`` to the new file ``target`` through SQLite's online
        backup (consistent even while other processes write); written beside ``target``
        and renamed, so an interrupted copy leaves no half study."""
        from npopt.outputs import atomic_write

        storage = cls.open(source)

        def write(tmp: Path) -> None:
            with storage._errors():
                dest = sqlite3.connect(str(tmp))
                try:
                    storage.conn.backup(dest)
                    dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                finally:
                    dest.close()

        try:
            atomic_write(target, write)
        finally:
            storage.close()

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = self.location.stat()
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _check_connection(self) -> None:
        """StudyError if the file this connection opened was deleted or replaced since: its
        writes would go to a file nobody will open again (or mix into another study)."""
        if self.identity is not None and self._identity() != self.identity:
            raise StudyError(
                f"study file {self.path} was deleted or replaced while this process had it open; "
                "nothing more is written to it: restart the command"
            )

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
            self._check_connection()
            yield
        except BaseException:
            self._rollback()
            raise
        self.conn.execute("COMMIT")
        if CHECKPOINT_EACH_COMMIT:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the commit into the study file now (rather than after 1,000 pages) and empty
        the -wal: a study file copied (or its -wal lost) after a kill -9 then holds every
        acknowledged change, and a -wal left beside a file that was replaced (``mv``) has no
        frames to mix into the new one. It never waits: while another process reads, the
        checkpoint stops short and the next commit finishes it."""
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # busy: a later commit checkpoints
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def _rollback(self) -> None:
        """ROLLBACK, never masking the error that caused it (a failed rollback has nothing to undo)."""
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

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

    def _has_outcomes(self) -> bool:
        return any(r[1] == "outcomes" for r in self.conn.execute("PRAGMA table_info(trials)"))

    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _read_meta(self) -> dict[str, Any]:
        self._check_connection()
        if "meta" not in self._tables():
            return {}
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def _missing(self) -> str:
        return f"{self.path} is not an npopt study (it has no meta table)"
