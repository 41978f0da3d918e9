"""The PostgreSQL schema: every project in one database, versioned in `schema_version`.

The versions follow SQLite's (storage.schema): version N holds what SQLite's version N
holds, so a server reports one SCHEMA_VERSION whichever backend it runs on. Each migration
runs in one transaction under an advisory lock, so replicas starting together migrate once.
Differences from SQLite: a `projects` table (the file name's job), per-project id counters
for chunks, alerts and media (ids grow in commit order per project, as SQLite's do: the cursor of
a live tail never skips a row a slower transaction commits later), and an alert `reason`
column (SQLite reads it with json_extract; alert data may hold NaN, which jsonb refuses),
and media files kept in the database (SQLite keeps them in a folder beside its file).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from ...errors import SchemaTooNew
from ..codec import unpack_floats, unpack_ints
from ..summary import dedupe_last, summarize

V1 = """
CREATE TABLE projects (
    key serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at float8 NOT NULL,
    chunk_seq bigint NOT NULL DEFAULT 0,
    alert_seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE runs (
    key bigserial PRIMARY KEY,
    project_key integer NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    id text NOT NULL,
    name text NOT NULL,
    group_name text,
    status text NOT NULL,
    config text NOT NULL DEFAULT '{}',
    created_at float8 NOT NULL,
    finished_at float8,
    heartbeat_at float8,
    host text,
    pid bigint,
    stop_requested_at float8,
    UNIQUE (project_key, id)
);
CREATE INDEX runs_by_name ON runs (project_key, name);
CREATE TABLE metric_names (key serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE chunks (
    project_key integer NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    id bigint NOT NULL,
    run_key bigint NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    metric_key integer NOT NULL REFERENCES metric_names (key),
    n integer NOT NULL,
    first_step bigint NOT NULL,
    last_step bigint NOT NULL,
    steps bytea NOT NULL,
    timestamps bytea NOT NULL,
    "values" bytea NOT NULL,
    PRIMARY KEY (project_key, id)
);
CREATE INDEX chunks_by_series ON chunks (run_key, metric_key);
-- Packed float64/int64 arrays barely compress: store them out of line as they are (2-3x faster writes).
ALTER TABLE chunks ALTER COLUMN steps SET STORAGE EXTERNAL, ALTER COLUMN timestamps SET STORAGE EXTERNAL,
    ALTER COLUMN "values" SET STORAGE EXTERNAL;
CREATE TABLE text_values (
    id bigserial PRIMARY KEY,
    run_key bigint NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    metric_key integer NOT NULL REFERENCES metric_names (key),
    step bigint NOT NULL,
    timestamp float8 NOT NULL,
    value text NOT NULL
);
CREATE INDEX text_values_by_series ON text_values (run_key, metric_key);
CREATE TABLE alerts (
    project_key integer NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    id bigint NOT NULL,
    run_key bigint NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    timestamp float8 NOT NULL,
    step bigint,
    level text NOT NULL,
    title text NOT NULL,
    text text,
    data text,
    reason text,
    PRIMARY KEY (project_key, id)
);
CREATE INDEX alerts_by_run ON alerts (run_key, id);
"""

V2 = """
CREATE TABLE summaries (
    run_key bigint NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    metric_key integer NOT NULL REFERENCES metric_names (key),
    count bigint NOT NULL,
    last_step bigint NOT NULL,
    last_timestamp float8 NOT NULL,
    last_value float8,
    min_value float8,
    min_step bigint,
    max_value float8,
    max_step bigint,
    PRIMARY KEY (run_key, metric_key)
);
"""

V3 = """
-- Ids of the batches any server process applied, so a retried batch is never stored twice.
CREATE TABLE applied_batches (
    project_key integer NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    id text NOT NULL,
    applied_at float8 NOT NULL,
    PRIMARY KEY (project_key, id)
);
"""

V4 = """
-- Logged media, one row per key and step (SQLite's v4). Files live in the database too
-- (content-addressed, one copy per project), so no server process needs a shared disk.
ALTER TABLE projects ADD COLUMN media_seq bigint NOT NULL DEFAULT 0;
CREATE TABLE media (
    project_key integer NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    id bigint NOT NULL,
    run_key bigint NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    step bigint NOT NULL,
    timestamp float8 NOT NULL,
    key text NOT NULL,
    kind text NOT NULL,
    caption text,
    value text,
    file text,
    files text,
    meta text,
    PRIMARY KEY (project_key, id)
);
CREATE INDEX media_by_run ON media (run_key, key, step);
CREATE TABLE media_files (
    project_key integer NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    name text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (project_key, name)
);
"""

UPSERT_SUMMARY = """
INSERT INTO summaries AS s (run_key, metric_key, count, last_step, last_timestamp, last_value,
                            min_value, min_step, max_value, max_step)
VALUES (%(run_key)s, %(metric_key)s, %(count)s, %(last_step)s, %(last_timestamp)s, %(last_value)s,
        %(min_value)s, %(min_step)s, %(max_value)s, %(max_step)s)
ON CONFLICT (run_key, metric_key) DO UPDATE SET
    count = excluded.count, last_step = excluded.last_step, last_timestamp = excluded.last_timestamp,
    last_value = excluded.last_value, min_value = excluded.min_value, min_step = excluded.min_step,
    max_value = excluded.max_value, max_step = excluded.max_step
"""


def _v1(conn: psycopg.Connection) -> None:
    conn.execute(V1)


def _v2(conn: psycopg.Connection) -> None:
    """Add per-series aggregates and fill them from the chunks already stored."""
    conn.execute(V2)
    for run_key, metric_key in conn.execute("SELECT DISTINCT run_key, metric_key FROM chunks").fetchall():
        write_summary(conn, run_key, metric_key)


def _v3(conn: psycopg.Connection) -> None:
    conn.execute(V3)


def _v4(conn: psycopg.Connection) -> None:
    conn.execute(V4)


MIGRATIONS: list[Callable[[psycopg.Connection], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)
_LOCK = 0x74_6E_62_5F_6D_69_67  # pg_advisory_xact_lock key: "tnb_mig"


def version(conn: psycopg.Connection) -> int:
    """The database's schema version (0 for an empty database)."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else row[0]


def migrate(conn: psycopg.Connection, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Bring the database to `target` one migration at a time; returns (from, to).

    Several processes may call this at once: the advisory lock lets one migrate and the
    others find the work done. A database newer than this code raises SchemaTooNew.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        start = version(conn)
        if start > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"database schema version {start} is newer than this trackio_nb ({SCHEMA_VERSION}); upgrade trackio_nb"
            )
        for number in range(start + 1, target + 1):
            MIGRATIONS[number - 1](conn)
        if target > start:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (target,))
    return start, max(start, target)


def write_summary(conn: psycopg.Connection, run_key: int, metric_key: int, extra=None) -> None:
    """Recompute one series' summary from its chunks (+ `extra` (steps, stamps, values) not stored yet)."""
    steps: list[int] = []
    stamps: list[float] = []
    values: list[float] = []
    for s, t, v in conn.execute(
        'SELECT steps, timestamps, "values" FROM chunks WHERE run_key = %s AND metric_key = %s ORDER BY id',
        (run_key, metric_key),
        binary=True,
    ):
        steps.extend(unpack_ints(s))
        stamps.extend(unpack_floats(t))
        values.extend(unpack_floats(v))
    if extra is not None:
        steps.extend(extra[0])
        stamps.extend(extra[1])
        values.extend(extra[2])
    if steps:
        conn.execute(UPSERT_SUMMARY, summarize(*dedupe_last(steps, stamps, values)).as_row(run_key, metric_key))
