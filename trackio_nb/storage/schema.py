"""The schema, versioned with `PRAGMA user_version`, and its ordered migrations.

Each migration takes a database at version N-1 to version N inside one transaction. A
database written by any older version upgrades in place when it is next opened;
tests/test_core_storage.py builds a database at every older version and upgrades it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..errors import SchemaTooNew
from .codec import unpack_floats, unpack_ints
from .summary import dedupe_last, summarize

# meta key counting renames and deletions of runs: a follower re-reads every run's name only when it moved
# (new runs need no mark: their keys only grow).
RUNS_CHANGED = "runs_changed"

V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    group_name TEXT,
    status TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    finished_at REAL,
    heartbeat_at REAL,
    host TEXT,
    pid INTEGER,
    stop_requested_at REAL
);
CREATE INDEX runs_by_name ON runs (name);
CREATE TABLE metric_names (key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
-- One row per (run, metric, batch written): steps int64, timestamps and values float64, packed.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    run_key INTEGER NOT NULL REFERENCES runs (key),
    metric_key INTEGER NOT NULL REFERENCES metric_names (key),
    n INTEGER NOT NULL,
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    steps BLOB NOT NULL,
    timestamps BLOB NOT NULL,
    "values" BLOB NOT NULL
);
CREATE INDEX chunks_by_series ON chunks (run_key, metric_key);
-- Values that are not numbers, kept as JSON text (numeric queries never read them).
CREATE TABLE text_values (
    id INTEGER PRIMARY KEY,
    run_key INTEGER NOT NULL REFERENCES runs (key),
    metric_key INTEGER NOT NULL REFERENCES metric_names (key),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX text_values_by_series ON text_values (run_key, metric_key);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_key INTEGER NOT NULL REFERENCES runs (key),
    timestamp REAL NOT NULL,
    step INTEGER,
    level TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT,
    data TEXT
);
CREATE INDEX alerts_by_run ON alerts (run_key, id);
"""

V2 = """
CREATE TABLE summaries (
    run_key INTEGER NOT NULL REFERENCES runs (key),
    metric_key INTEGER NOT NULL REFERENCES metric_names (key),
    count INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    last_timestamp REAL NOT NULL,
    last_value REAL,
    min_value REAL,
    min_step INTEGER,
    max_value REAL,
    max_step INTEGER,
    PRIMARY KEY (run_key, metric_key)
) WITHOUT ROWID;
"""

V3 = """
-- Ids of the batches a tracking server applied, so a retried batch is never stored twice.
CREATE TABLE applied_batches (id TEXT PRIMARY KEY, applied_at REAL NOT NULL) WITHOUT ROWID;
"""

V4 = """
-- Logged media (images, tables, histograms, text, audio, video, traces), one row per key and step.
-- Small objects are inline JSON in `value`, files live content-addressed in the project's media
-- folder beside the database: `file` is the row's own file, `files` (JSON list) every file it uses.
CREATE TABLE media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_key INTEGER NOT NULL REFERENCES runs (key),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    caption TEXT,
    value TEXT,
    file TEXT,
    files TEXT,
    meta TEXT
);
CREATE INDEX media_by_run ON media (run_key, key, step);
"""


def _v1(conn: sqlite3.Connection) -> None:
    _run_script(conn, V1)


def _v2(conn: sqlite3.Connection) -> None:
    """Add per-series aggregates and fill them from the chunks already stored."""
    _run_script(conn, V2)
    series = conn.execute("SELECT DISTINCT run_key, metric_key FROM chunks").fetchall()
    for run_key, metric_key in series:
        write_summary_from_chunks(conn, run_key, metric_key)


def _v3(conn: sqlite3.Connection) -> None:
    """Add the table of applied remote batch ids (exactly-once delivery to a server)."""
    _run_script(conn, V3)


def _v4(conn: sqlite3.Connection) -> None:
    """Add the table of logged media."""
    _run_script(conn, V4)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the open transaction; run statement by statement instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)


def ensure_schema(conn: sqlite3.Connection, project: str | None = None) -> None:
    """Bring the database to SCHEMA_VERSION, one migration at a time, safely under concurrency."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database has schema version {version}, newer than this trackio_nb's ({SCHEMA_VERSION});"
            " upgrade trackio_nb to read it"
        )
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        for number in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(f"PRAGMA user_version = {number}")
        if project is not None:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('project', ?)", (project,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def write_summary_from_chunks(conn: sqlite3.Connection, run_key: int, metric_key: int) -> None:
    """Recompute one series' summary from all its chunks (used when a step was logged twice)."""
    steps: list[int] = []
    stamps: list[float] = []
    values: list[float] = []
    rows = conn.execute(
        'SELECT steps, timestamps, "values" FROM chunks WHERE run_key = ? AND metric_key = ? ORDER BY id',
        (run_key, metric_key),
    )
    for s, t, v in rows:
        steps.extend(unpack_ints(s))
        stamps.extend(unpack_floats(t))
        values.extend(unpack_floats(v))
    if not steps:
        return
    row = summarize(*dedupe_last(steps, stamps, values)).as_row(run_key, metric_key)
    conn.execute(
        "INSERT OR REPLACE INTO summaries (run_key, metric_key, count, last_step, last_timestamp, last_value,"
        " min_value, min_step, max_value, max_step) VALUES (:run_key, :metric_key, :count, :last_step,"
        " :last_timestamp, :last_value, :min_value, :min_step, :max_value, :max_step)",
        row,
    )
