"""Opening a project database: WAL, a busy timeout, and the schema brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import ProjectNotFound, SchemaTooNew
from .paths import project_path
from .schema import SCHEMA_VERSION, ensure_schema

BUSY_TIMEOUT_S = 30.0


def open_project(project: str, root: Path) -> sqlite3.Connection:
    """`project`'s database under the data directory `root`, which must exist: the one
    "no project named 'p' in DIR" (ProjectNotFound) of every local reader and command."""
    path = project_path(project, root)
    if not path.exists():
        raise ProjectNotFound(f"no project named {project!r} in {root}")
    return connect(path)


def connect(path: Path, *, create: bool = False, project: str | None = None) -> sqlite3.Connection:
    """Open `path`, creating it (and its directory) only when `create` is true.

    Every connection runs in autocommit mode (transactions are explicit), waits up to
    BUSY_TIMEOUT_S for another writer, and finds the schema at the current version.
    Without `create`, a file that is not a trackio_nb database raises ProjectNotFound and
    one written by a newer trackio_nb raises SchemaTooNew (messages name the file, not its
    directory).
    """
    if not create and not path.exists():
        raise ProjectNotFound(f"no project database {path.name}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        if not create and conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            raise ProjectNotFound(f"{path.name} is not a trackio_nb database")
        ensure_schema(conn, project=project)
    except SchemaTooNew as exc:
        conn.close()
        raise SchemaTooNew(f"{path.name}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        if type(exc) is sqlite3.DatabaseError:  # "file is not a database" (not: locked, I/O errors)
            raise ProjectNotFound(f"{path.name} is not a trackio_nb database ({exc})") from None
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def probe(path: Path) -> str | None:
    """Why `path` is not a readable trackio_nb database (for listings), or None if it is one.

    Opens the file read-only and changes nothing; a newer schema still counts as a database.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            return "not a trackio_nb database (no schema)"
        if version > SCHEMA_VERSION:
            return None
        conn.execute("SELECT value FROM meta WHERE key = 'project'").fetchone()
    except sqlite3.Error as exc:
        return f"not a trackio_nb database ({exc})"
    finally:
        conn.close()
    return None


def project_name(path: Path) -> str | None:
    """The project name a database records (None if it records none)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'project'").fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]


__all__ = ["ProjectNotFound", "SchemaTooNew", "connect", "probe", "project_name"]
