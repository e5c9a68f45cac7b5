"""Where a study lives: one protocol (:mod:`.base`), an SQLite file (:mod:`.sqlite`) or a
PostgreSQL database (:mod:`.postgres`, psycopg imported only when one is opened). No torch here."""

from __future__ import annotations

from pathlib import Path

from npopt.storage.base import FORMAT_VERSION, Storage, now, process_alive, this_process
from npopt.storage.postgres import PostgresStorage, is_url, parse
from npopt.storage.sqlite import SQLiteStorage

__all__ = [
    "FORMAT_VERSION", "PostgresStorage", "SQLiteStorage", "Storage", "is_url", "locate", "now", "parse",
    "process_alive", "storage_for", "this_process",
]


def locate(location: str | Path) -> str | Path:
    """A study location: a PostgreSQL URL stays a string (``Path`` would fold its ``//``),
    anything else is a file's Path."""
    return location if is_url(location) else Path(location)


def storage_for(location: str | Path) -> type[Storage]:
    """The backend for a location: :class:`PostgresStorage` for a URL, :class:`SQLiteStorage` for a file."""
    return PostgresStorage if is_url(location) else SQLiteStorage
