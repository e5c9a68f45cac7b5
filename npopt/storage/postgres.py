"""A study in a PostgreSQL database, for workers on many machines sharing one study.

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

Needs the ``postgres`` extra (psycopg 3): ``pip install 'npopt[postgres]'``; psycopg is
imported only when a study is opened here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from npopt.errors import StudyError, first_line
from npopt.storage.base import COLUMNS, OLD_COLUMNS, Storage, stamped

SCHEMES = ("postgresql", "postgres")
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
#: Added to the trials table when a study declaring objectives or constraints is created (not
#: before: a database holding only one-objective studies stays readable by older npopt versions).
_OUTCOMES_COLUMN = "ALTER TABLE npopt_trials ADD COLUMN IF NOT EXISTS outcomes TEXT"
#: Advisory-lock key that serialises creating the tables (any study, any database user).
_SCHEMA_LOCK = 0x6E706F7074
#: Seconds to keep trying to reconnect after the server went away (a restart, a failover),
#: waiting 0.5 s, then 1 s, 2 s, ... up to 5 s between tries.
RECONNECT_S = 60.0


def is_url(location: Any) -> bool:
    """Whether a ``--study`` value names a PostgreSQL study rather than a file."""
    return isinstance(location, str) and location.split("://", 1)[0] in SCHEMES and "://" in location


def parse(url: str) -> tuple[str, str, str]:
    """``(connection URL without the study parameter, study name, URL shown to people)``.

    Raises:
        StudyError: not a PostgreSQL URL, no database name, or an empty study name.
    """
    head, _, tail = url.split("://", 1)[-1].partition("/")
    if ":" in head and "@" not in head and "@" in tail and not set("?#") & set(tail.split("@", 1)[0]):
        # user:pa/ss@host: a / inside the password ends the host part early
        raise StudyError(
            f"{redact(url)} is not a valid PostgreSQL URL: percent-encode the password's reserved "
            "characters (/ as %2F, @ as %40, # as %23, ? as %3F, % as %25)"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- validates the port (ValueError when out of range or not a number)
    except ValueError as exc:
        raise StudyError(
            f"{redact(url)} is not a valid PostgreSQL URL ({_scrub(str(exc), url)}); "
            "use postgresql://USER:PASSWORD@HOST:PORT/DBNAME?study=NAME (IPv6 hosts in [brackets])"
        ) from None

    if parts.scheme not in SCHEMES or not parts.netloc:
        raise StudyError(f"{redact(url)!r} is not a PostgreSQL study URL: use postgresql://USER@HOST/DBNAME?study=NAME")
    if not parts.path.strip("/"):
        raise StudyError(f"{_shown(parts)} names no database: use postgresql://USER@HOST/DBNAME?study=NAME")
    # Percent-escapes are decoded once and '+' stays '+' (parse_qs would read it as a space):
    # ?study=a+b, ?study=a%20b and ?study=a%2520b name three different studies.
    pairs = [item.partition("=") for item in parts.query.split("&") if item]
    names = [unquote(value) for key, _, value in pairs if unquote(key) == "study"] or ["default"]
    if len(names) != 1 or not names[0]:
        raise StudyError(f"{_shown(parts)}: give the study one non-empty name (?study=NAME)")
    rest = "&".join(f"{key}={value}" for key, _, value in pairs if unquote(key) != "study")
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    return conninfo, names[0], _shown(parts)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, even when the URL does not parse."""
    url = re.sub(r"(://[^/@:]*:).*@", r"\1***@", url) if "@" in url else url  # up to the last @
    return re.sub(r"([?&])password=[^&]*", r"\1password=***", url)


def _scrub(text: str, url: str) -> str:
    """``text`` (a driver's message) with the password of ``url`` (raw or decoded) removed."""
    secrets = re.findall(r"://[^/@:]*:(.*)@", url) + re.findall(r"[?&]password=([^&]*)", url)
    for secret in filter(None, secrets):
        for form in {secret, unquote(secret)}:
            text = text.replace(form, "***")
    return text


def _shown(parts) -> str:
    """The URL without its password, for messages and titles."""
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)  # libpq takes ?password= too
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class PostgresStorage(Storage):
    """One study in a PostgreSQL database. Use :meth:`create` or :meth:`open`."""

    PLACEHOLDER = "%s"
    TRIALS = "npopt_trials"

    def __init__(self, conn, study: str, shown: str, conninfo: str = "") -> None:
        self.conn, self.study = conn, study
        self.path = shown
        self.conninfo = conninfo

    @staticmethod
    def _open_connection(conninfo: str, shown: str, location: str):
        import psycopg

        try:
            return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StudyError(f"cannot connect to {shown}: {_scrub(first_line(exc), location)}") from None
        except (psycopg.Error, ValueError) as exc:  # an unknown ?option, a bad %-escape, ...
            hint = "; write a % in a password as %25" if "percent" in str(exc) else ""
            raise StudyError(
                f"{shown} is not a usable PostgreSQL URL: {_scrub(first_line(exc), location)}{hint}"
            ) from None

    def _check_connection(self) -> None:
        """Reconnect if the server closed this connection (a restart): one ``SELECT 1``
        first, then new connections for up to :data:`RECONNECT_S` seconds."""
        import time

        import psycopg

        try:
            self.conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            pass
        deadline, wait, last = time.monotonic() + RECONNECT_S, 0.5, ""
        while True:
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                last = _scrub(first_line(exc), self.conninfo)
            else:
                try:
                    self.conn.close()
                finally:
                    self.conn = conn
                return
            if time.monotonic() + wait > deadline:
                raise StudyError(f"lost the connection to {self.path} and could not reconnect within "
                                 f"{RECONNECT_S:.0f} s ({last}); try again when the server is back")
            time.sleep(wait)
            wait = min(2 * wait, 5.0)

    @classmethod
    def _connect(cls, location: str, create: bool) -> PostgresStorage:
        try:
            import psycopg  # noqa: F401 -- only to say which extra is missing
        except ImportError:
            raise StudyError("studies on PostgreSQL need psycopg: pip install 'npopt[postgres]'") from None
        conninfo, study, shown = parse(location)
        storage = cls(cls._open_connection(conninfo, shown, location), study, shown, conninfo)
        storage.location = location
        return storage

    def _create_study(self, meta: dict[str, Any]) -> bool:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._check_tables()
            for statement in _SCHEMA:
                self.conn.execute(statement)
            if "objectives" in meta or "constraints" in meta:
                self.conn.execute(_OUTCOMES_COLUMN)
                self._outcomes_column = True
            return self.conn.execute(
                "INSERT INTO npopt_studies (name, meta) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                (self.study, json.dumps(stamped(meta))),
            ).rowcount == 1

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """A transaction holding the study's advisory lock (``pg_advisory_xact_lock``)."""
        self._check_connection()
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("npopt:" + self.study,))
            yield

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:  # a lost connection, a failed statement: one line naming the study
            raise StudyError(f"{self.path}: {first_line(exc)}") from None

    def _check_tables(self) -> None:
        rows = self.conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name IN ('npopt_studies', 'npopt_trials')"
        ).fetchall()
        found: dict[str, set[str]] = {}
        for table, column in rows:
            found.setdefault(table, set()).add(column)
        expected = {"npopt_studies": [{"name", "meta"}],
                    "npopt_trials": [{"study", *COLUMNS}, {"study", *OLD_COLUMNS}]}
        for table, columns in found.items():
            if columns not in expected[table]:
                raise StudyError(
                    f"{self.path} has a table {table} that is not an npopt study table "
                    f"(columns {', '.join(sorted(columns))}); use another database"
                )

    def _has_outcomes(self) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'npopt_trials' AND column_name = 'outcomes'").fetchone() is not None

    def _scope(self) -> dict[str, Any]:
        return {"study": self.study}

    def _read_meta(self) -> dict[str, Any]:
        self._check_connection()
        if not self.conn.execute("SELECT to_regclass('npopt_studies') IS NOT NULL").fetchone()[0]:
            return {}
        row = self.conn.execute("SELECT meta FROM npopt_studies WHERE name = %s", (self.study,)).fetchone()
        return json.loads(row[0]) if row else {}

    def _missing(self) -> str:
        return (
            f"no study {self.study!r} at {self.path}; create it with npopt run, or with --space FILE (ask, serve)"
        )
