"""Opening a project database: WAL, a busy timeout, and the schema brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import ProjectNotFound
from .schema import ensure_schema

BUSY_TIMEOUT_S = 30.0


def connect(path: Path, *, create: bool = False, project: str | None = None) -> sqlite3.Connection:
    """Open `path`, creating it (and its directory) only when `create` is true.

    Every connection runs in autocommit mode (transactions are explicit), waits up to
    BUSY_TIMEOUT_S for another writer, and finds the schema at the current version.
    """
    if not create and not path.exists():
        raise ProjectNotFound(f"no project database at {path}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")
    ensure_schema(conn, project=project)
    return conn
