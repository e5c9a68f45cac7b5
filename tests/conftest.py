"""Shared by the tests: the ``npopt`` command in a subprocess, a throwaway PostgreSQL server
for the session, and study locations on both storages.

``npopt`` is a plain function (``from conftest import npopt``; pytest puts tests/ on sys.path).
A test that takes ``study_location`` (or ``new_location``, for several studies) runs twice:
``[sqlite]`` on a file under ``tmp_path``, ``[postgres]`` on a new study in the session's server.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pg_cluster import Cluster, available
from serve_client import ROOT, npopt_cmd


def npopt(*args: str, cwd: Path = ROOT, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run ``npopt ARGS`` with this interpreter; its output captured as text."""
    return subprocess.run(npopt_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="session")
def cluster():
    """A PostgreSQL server for the whole session (started on first use); skips where it cannot
    run, and fails in CI, which installs everything it needs."""
    reason = available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}")
        pytest.skip(reason)
    server = Cluster()
    yield server
    server.stop()


_STUDIES = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def new_location(request, tmp_path) -> Callable[[str], Path | str]:
    """``new_location(name)``: a study location no test has used, on the parametrised storage
    (the same name gives the same location within one test)."""
    if request.param == "sqlite":
        return lambda name="s": tmp_path / f"{name}.db"
    server, prefix = request.getfixturevalue("cluster"), f"t{next(_STUDIES)}"
    return lambda name="s": server.url(f"{prefix}-{name}")


@pytest.fixture
def study_location(new_location) -> Path | str:
    """A study location (a file or a PostgreSQL URL) that holds no study yet."""
    return new_location()
