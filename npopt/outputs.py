"""Files a command writes (checkpoints, JSON, CSV, PNG, runs files): never over a study,
never over the command's own input, and whole or not at all. No torch here.

A command checks every output it will write with :func:`check_output` before it starts
work, and writes through :func:`atomic_write` (a temporary file beside the target, fsynced,
then renamed over it), so a crash or Ctrl-C leaves the old file or the new one, never half.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from npopt.errors import NpoptError

#: The first 16 bytes of every SQLite database (and so of every npopt study file).
SQLITE_HEADER = b"SQLite format 3\x00"


class OutputError(NpoptError):
    """An output file that must not be written (a study, an input, a directory)."""

    code = "bad_output"


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is an SQLite database (an npopt study is one)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(path: Path | None, option: str, inputs: Iterable[str | Path] = ()) -> None:
    """OutputError if ``path`` (given as ``option``) is a directory, an SQLite database or one
    of the command's ``inputs`` (files; URLs are skipped); nothing for ``None``."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a directory; give a file name")
    for given in inputs:
        if isinstance(given, str) and "://" in given:
            continue
        if _same(path, Path(given)):
            raise OutputError(f"{option} {path} is also an input of this command; write the output elsewhere")
    if is_sqlite(path):
        raise OutputError(
            f"{option} {path} is an SQLite database (an npopt study?); refusing to overwrite it: "
            "choose another file name"
        )


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it and rename it over
    ``path``: readers see the old file or the whole new one. The temporary file is removed
    if ``write`` fails."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # no permission, a parent that is a file, a full disk, ...
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """``path.write_text(text)``, atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


_NUMBERS = re.compile(r"\[\s*(-?[0-9][-+0-9eE.]*(?:,\s*-?[0-9][-+0-9eE.]*)*)\s*\]")


def summary_json(summary: Any) -> str:
    """``summary`` as JSON indented by two, except that a list of numbers stays on one line
    (a benchmark's curves and final scores: one number per line made its files ten times
    longer than their content). Loads back to the same object."""
    text = json.dumps(summary, indent=2)
    return _NUMBERS.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text) + "\n"
