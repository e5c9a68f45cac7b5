"""PostgreSQL persistence of a study, for workers on many machines sharing one database.

A study is addressed as ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME?study=NAME``
(``study`` defaults to ``default``; one database holds any number of studies). Two tables,
created on first use:

* ``npopt_studies``: ``name -> meta`` (the JSON object the SQLite file's meta table holds);
* ``npopt_trials``: one row per trial and study, with the SQLite file's columns.

Every state change is one transaction that first takes a transaction-scoped advisory lock
on the study (``pg_advisory_xact_lock``), the PostgreSQL counterpart of SQLite's ``BEGIN
IMMEDIATE``: writers of one study take turns, so the exclusion step of an ask sees every
point another worker took, on any machine. Commits are durable: a worker killed at any
moment leaves the study at its last commit. Trials left running by a dead process are found
as in SQLite, by host and pid (a process on another host counts as alive).

Needs the ``postgres`` extra (psycopg 3): ``pip install 'npopt[postgres]'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from npopt.errors import StudyError
from npopt.storage import FORMAT_VERSION, now

SCHEMES = ("postgresql", "postgres")
_COLUMNS = ("number", "state", "params", "value", "reason", "started_at", "finished_at", "owner")
_SELECT = ", ".join(_COLUMNS)
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS npopt_studies (
        name TEXT PRIMARY KEY,
        meta TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS npopt_trials (
        study       TEXT NOT NULL REFERENCES npopt_studies (name),
        number      INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
        params      TEXT NOT NULL,
        value       DOUBLE PRECISION,
        reason      TEXT,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        owner       TEXT,
        PRIMARY KEY (study, number)
    )""",
)
#: Advisory-lock key that serialises creating the tables (any study, any database user).
_SCHEMA_LOCK = 0x6E706F7074


def is_url(location: Any) -> bool:
    """Whether a ``--study`` value names a PostgreSQL study rather than a file."""
    return isinstance(location, str) and location.split("://", 1)[0] in SCHEMES and "://" in location


def parse(url: str) -> tuple[str, str, str]:
    """``(connection URL without the study parameter, study name, URL shown to people)``.

    Raises:
        StudyError: not a PostgreSQL URL, no database name, or an empty study name.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.netloc:
        raise StudyError(f"{url!r} is not a PostgreSQL study URL: use postgresql://USER@HOST/DBNAME?study=NAME")
    if not parts.path.strip("/"):
        raise StudyError(f"{_shown(parts)} names no database: use postgresql://USER@HOST/DBNAME?study=NAME")
    query = parse_qs(parts.query, keep_blank_values=True)
    names = query.pop("study", ["default"])
    if len(names) != 1 or not names[0]:
        raise StudyError(f"{_shown(parts)}: give the study one non-empty name (?study=NAME)")
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, doseq=True), ""))
    return conninfo, unquote(names[0]), _shown(parts)


def _shown(parts) -> str:
    """The URL without its password, for messages and titles."""
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _decode(row: tuple) -> dict[str, Any]:
    d = dict(zip(_COLUMNS, row, strict=True))
    d["params"] = json.loads(d["params"])
    d["owner"] = json.loads(d["owner"]) if d["owner"] else None
    return d


class PostgresStorage:
    """One study in a PostgreSQL database; the same methods as :class:`npopt.storage.Storage`.
    Use :meth:`create` or :meth:`open`."""

    def __init__(self, conn, study: str, shown: str) -> None:
        self.conn, self.study = conn, study
        #: What messages call the study (the URL without its password).
        self.path = shown

    # ------------------------------------------------------------ opening

    @classmethod
    def _connect(cls, url: str) -> PostgresStorage:
        try:
            import psycopg
        except ImportError:
            raise StudyError(
                "studies on PostgreSQL need psycopg: pip install 'npopt[postgres]'"
            ) from None
        conninfo, study, shown = parse(url)
        try:
            conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StudyError(f"cannot connect to {shown}: {_first_line(exc)}") from None
        return cls(conn, study, shown)

    @classmethod
    def create(cls, url: str, meta: dict[str, Any]) -> tuple[PostgresStorage, bool]:
        """Connect, creating the tables and the study if they do not exist yet.

        Returns:
            The storage and whether this call created the study.
        """
        storage = cls._connect(url)
        try:
            with storage._errors(), storage.conn.transaction():
                storage.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                storage._check_format()
                for statement in _SCHEMA:
                    storage.conn.execute(statement)
                meta = {"format_version": FORMAT_VERSION, "created_at": now(), **meta}
                created = storage.conn.execute(
                    "INSERT INTO npopt_studies (name, meta) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                    (storage.study, json.dumps(meta)),
                ).rowcount == 1
        except BaseException:
            storage.close()
            raise
        return storage, created

    @classmethod
    def open(cls, url: str) -> PostgresStorage:
        """Connect to an existing study.

        Raises:
            StudyError: the server is unreachable or refuses the credentials, the database
                holds no npopt tables or they are of another format, or there is no such study.
        """
        storage = cls._connect(url)
        try:
            with storage._errors():
                storage._check_format()
                meta = storage.meta()
            if not meta:
                raise StudyError(
                    f"no study {storage.study!r} at {storage.path}; create it with npopt run, or with --space FILE "
                    "(ask, serve)"
                )
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

    def _check_format(self) -> None:
        """StudyError if tables of npopt's names exist with other columns."""
        rows = self.conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name IN ('npopt_studies', 'npopt_trials')"
        ).fetchall()
        found: dict[str, set[str]] = {}
        for table, column in rows:
            found.setdefault(table, set()).add(column)
        expected = {"npopt_studies": {"name", "meta"}, "npopt_trials": {"study", *_COLUMNS}}
        for table, columns in found.items():
            if columns != expected[table]:
                raise StudyError(
                    f"{self.path} has a table {table} that is not an npopt study table "
                    f"(columns {', '.join(sorted(columns))}); use another database"
                )

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:  # a lost connection, a failed statement: one line naming the study
            raise StudyError(f"{self.path}: {_first_line(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One transaction holding the study's advisory lock; rolled back on any exception."""
        with self._errors(), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("npopt:" + self.study,))
            yield self.conn

    # ------------------------------------------------------------ reads

    def meta(self) -> dict[str, Any]:
        with self._errors():
            tables = self.conn.execute("SELECT to_regclass('npopt_studies') IS NOT NULL").fetchone()[0]
            if not tables:
                return {}
            row = self.conn.execute("SELECT meta FROM npopt_studies WHERE name = %s", (self.study,)).fetchone()
        return json.loads(row[0]) if row else {}

    def trials(self, conn=None) -> list[dict[str, Any]]:
        with self._errors():
            rows = (conn or self.conn).execute(
                f"SELECT {_SELECT} FROM npopt_trials WHERE study = %s ORDER BY number", (self.study,)
            ).fetchall()
        return [_decode(r) for r in rows]

    def trial(self, conn, number: int) -> dict[str, Any] | None:
        r = conn.execute(f"SELECT {_SELECT} FROM npopt_trials WHERE study = %s AND number = %s",
                         (self.study, number)).fetchone()
        return None if r is None else _decode(r)

    # ------------------------------------------------------------ writes (inside transaction())

    def insert_running(self, conn, params: list[dict[str, Any]], owner: dict[str, Any] | None) -> list[int]:
        (last,) = conn.execute("SELECT COALESCE(MAX(number), -1) FROM npopt_trials WHERE study = %s",
                               (self.study,)).fetchone()
        started, owner_json = now(), json.dumps(owner) if owner else None
        numbers = list(range(last + 1, last + 1 + len(params)))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO npopt_trials (study, number, state, params, started_at, owner) "
                "VALUES (%s, %s, 'running', %s, %s, %s)",
                [(self.study, n, json.dumps(p), started, owner_json) for n, p in zip(numbers, params, strict=True)],
            )
        return numbers

    def finish(self, conn, number: int, state: str, value: float | None, reason: str | None) -> None:
        conn.execute(
            "UPDATE npopt_trials SET state = %s, value = %s, reason = %s, finished_at = %s "
            "WHERE study = %s AND number = %s AND state = 'running'",
            (state, value, reason, now(), self.study, number),
        )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
