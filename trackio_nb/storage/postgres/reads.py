"""The read side of the PostgreSQL store: the same frames LocalReader builds from SQLite.

SQL differs (one database, so every query names its project), the frames do not: rows go
through the same assembly functions as SQLite's (queries.runs_frame, history_frame,
tail.points_frame, states_frame). Names sort with COLLATE "C" (byte order, as SQLite's
BINARY collation). Rows come back through psycopg in binary format (see docs/remote.md for
the measurement against ADBC that chose it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import polars as pl
import psycopg

from .. import queries
from ..queries import FINAL_COLUMNS, READ_ALERTS_SCHEMA, READ_FINAL_SCHEMA, check_level, check_mode, last_nan
from ..tail import POINTS_SCHEMA, Tail, points_frame, states_frame

_RUN_COLUMNS = (
    "key, id, name, group_name, status, config, created_at, finished_at, heartbeat_at, host, pid, stop_requested_at"
)
_LAST_SCHEMA = {
    "run_id": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "step": pl.Int64,
    "timestamp": pl.Float64,
}
_ALERTS_SQL = (
    "SELECT a.id, a.run_key, r.id, r.name, a.timestamp, a.step, a.level, a.title, a.text, a.data"
    " FROM alerts a JOIN runs r ON r.key = a.run_key WHERE a.project_key = %s"
)


def _rows(conn: psycopg.Connection, sql: str, params: Sequence, schema: dict) -> pl.DataFrame:
    return pl.DataFrame(conn.execute(sql, params, binary=True).fetchall(), schema=schema, orient="row")


def projects(conn: psycopg.Connection) -> list[str]:
    return sorted(r[0] for r in conn.execute("SELECT name FROM projects").fetchall())


def raw_runs(conn: psycopg.Connection, pkey: int, now: float) -> pl.DataFrame:
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE project_key = %s ORDER BY created_at, key", (pkey,), binary=True
    ).fetchall()
    return queries.runs_frame(rows, now)


def runs(conn: psycopg.Connection, pkey: int) -> pl.DataFrame:
    return raw_runs(conn, pkey, time.time()).select(
        "id", "name", "group", "status", "config", "created_at", "finished_at", "heartbeat_at"
    )


def _run_keys_sql(run_ids: list[str] | None) -> str:
    return "SELECT key FROM runs WHERE project_key = %s" + (" AND id = ANY(%s)" if run_ids is not None else "")


def _run_params(pkey: int, run_ids: list[str] | None) -> list:
    return [pkey] if run_ids is None else [pkey, run_ids]


def metrics(conn: psycopg.Connection, pkey: int, run_ids: list[str] | None) -> list[str]:
    keys = _run_keys_sql(run_ids)
    sql = (
        f"SELECT name FROM metric_names WHERE key IN (SELECT metric_key FROM summaries WHERE run_key IN ({keys})"
        f' UNION SELECT metric_key FROM text_values WHERE run_key IN ({keys})) ORDER BY name COLLATE "C"'
    )
    params = _run_params(pkey, run_ids)
    return [r[0] for r in conn.execute(sql, params + params).fetchall()]


def final_values(
    conn: psycopg.Connection,
    pkey: int,
    run_ids: list[str] | None,
    metric_names: list[str] | None,
    mode: str,
    *,
    with_timestamp: bool = False,
) -> pl.DataFrame:
    """One row per (run, metric): run_id, metric, value, step (+ timestamp), runs in creation order."""
    check_mode(mode)
    schema = _LAST_SCHEMA if with_timestamp else READ_FINAL_SCHEMA
    if (run_ids is not None and not run_ids) or (metric_names is not None and not metric_names):
        return pl.DataFrame(schema=schema)
    value, step, stamp = FINAL_COLUMNS[mode]
    sql = (
        f"SELECT r.id, m.name, {value}, {step}{f', {stamp}' if with_timestamp else ''}"
        " FROM summaries s JOIN runs r ON r.key = s.run_key JOIN metric_names m ON m.key = s.metric_key"
        " WHERE r.project_key = %s"
    )
    params: list = [pkey]
    if run_ids is not None:
        sql += " AND r.id = ANY(%s)"
        params.append(run_ids)
    if metric_names is not None:
        sql += " AND m.name = ANY(%s)"
        params.append(metric_names)
    sql += ' ORDER BY s.run_key, m.name COLLATE "C"'
    return last_nan(_rows(conn, sql, params, schema), mode)


def history(conn: psycopg.Connection, pkey: int, run_key: int, names: list[str] | None) -> pl.DataFrame:
    if names is None:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM metric_names WHERE key IN (SELECT metric_key FROM summaries WHERE run_key = %s"
                ' UNION SELECT metric_key FROM text_values WHERE run_key = %s) ORDER BY name COLLATE "C"',
                (run_key, run_key),
            ).fetchall()
        ]
    names = [n for n in names if n not in queries.RESERVED]
    wanted = dict(conn.execute("SELECT key, name FROM metric_names WHERE name = ANY(%s)", (names,)).fetchall())
    chunks: list = []
    if wanted:
        chunks = conn.execute(
            'SELECT metric_key, steps, timestamps, "values" FROM chunks WHERE run_key = %s AND metric_key = ANY(%s)'
            " ORDER BY project_key, id",
            (run_key, list(wanted)),
            binary=True,
        ).fetchall()

    def texts(numeric: set[str]) -> list:
        keys = [k for k, n in wanted.items() if n not in numeric]
        return conn.execute(
            "SELECT metric_key, step, timestamp, value FROM text_values WHERE run_key = %s AND metric_key = ANY(%s)"
            " ORDER BY id",
            (run_key, keys),
        ).fetchall()

    return queries.history_frame(names, wanted, chunks, texts)


def alerts(
    conn: psycopg.Connection,
    pkey: int,
    *,
    run_ids: list[str] | None = None,
    level: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    after_id: int | None = None,
    upto_id: int | None = None,
) -> pl.DataFrame:
    """queries.ALERT_SCHEMA rows (run_key included), in id order."""
    check_level(level)
    if run_ids is not None and not run_ids:
        return pl.DataFrame(schema=queries.ALERT_SCHEMA)
    sql, params = _ALERTS_SQL, [pkey]
    for clause, value in (
        ("r.id = ANY(%s)", run_ids),
        ("a.level = %s", level),
        ("a.reason = %s", reason),
        # Whole microseconds, rounded as SQLite's round() does for positive numbers.
        ("floor(a.timestamp * 1000000 + 0.5)::bigint >= %s", None if since is None else queries.since_micros(since)),
        ("a.id > %s", after_id),
        ("a.id <= %s", upto_id),
    ):
        if value is not None:
            sql += " AND " + clause
            params.append(value)
    return _rows(conn, sql + " ORDER BY a.id", params, queries.ALERT_SCHEMA)


def reader_alerts(conn: psycopg.Connection, pkey: int, **filters) -> pl.DataFrame:
    return alerts(conn, pkey, **filters).select(list(READ_ALERTS_SCHEMA))


def tail(
    conn: psycopg.Connection,
    pkey: int,
    *,
    chunk_after: int | None,
    alert_after: int | None,
    metrics: list[str] | None,
    exclude_run_ids: Sequence[str],
    now: float,
) -> Tail:
    """storage.tail.tail on PostgreSQL: everything up to the current largest ids, nothing committed later."""
    chunk_max, alert_max = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM chunks WHERE project_key = %s),"
        " (SELECT coalesce(max(id), 0) FROM alerts WHERE project_key = %s)",
        (pkey, pkey),
    ).fetchone()
    raw = raw_runs(conn, pkey, now)
    last = dict(
        conn.execute(
            "SELECT s.run_key, max(s.last_step) FROM summaries s JOIN runs r ON r.key = s.run_key"
            " WHERE r.project_key = %s GROUP BY s.run_key",
            (pkey,),
        ).fetchall()
    )
    grown = None  # as storage.tail.tail: after a cursor, only the series that grew
    if chunk_after:
        grown = [
            rid
            for (rid,) in conn.execute(
                "SELECT DISTINCT r.id FROM chunks c JOIN runs r ON r.key = c.run_key"
                " WHERE c.project_key = %s AND c.id > %s AND c.id <= %s",
                (pkey, chunk_after, chunk_max),
            )
        ]
    last_values = final_values(conn, pkey, grown, None, "last", with_timestamp=True)
    if chunk_after is None:
        points, chunk_cursor = pl.DataFrame(schema=POINTS_SCHEMA), None
    else:
        points = _points(conn, pkey, chunk_after, chunk_max, metrics, exclude_run_ids)
        chunk_cursor = max(chunk_max, chunk_after)
    if alert_after is None:
        found, alert_cursor = pl.DataFrame(schema=queries.ALERT_SCHEMA), None
    else:
        found = alerts(conn, pkey, after_id=alert_after, upto_id=alert_max)
        alert_cursor = max(alert_max, alert_after)
    return Tail(states_frame(raw, last), last_values, points, found, chunk_cursor, alert_cursor)


def _points(
    conn: psycopg.Connection,
    pkey: int,
    after_id: int,
    upto_id: int,
    metrics: list[str] | None,
    exclude_run_ids: Sequence[str],
) -> pl.DataFrame:
    if metrics is not None and not metrics:
        return pl.DataFrame(schema=POINTS_SCHEMA)
    sql = (
        'SELECT r.id, m.name, c.steps, c.timestamps, c."values" FROM chunks c'
        " JOIN runs r ON r.key = c.run_key JOIN metric_names m ON m.key = c.metric_key"
        " WHERE c.project_key = %s AND c.id > %s AND c.id <= %s"
    )
    params: list = [pkey, after_id, upto_id]
    if metrics is not None:
        sql += " AND m.name = ANY(%s)"
        params.append(metrics)
    if exclude_run_ids:
        sql += " AND NOT r.id = ANY(%s)"
        params.append(list(exclude_run_ids))
    return points_frame(conn.execute(sql + " ORDER BY c.id", params, binary=True).fetchall())


def run_key(conn: psycopg.Connection, pkey: int, run_id: str) -> int | None:
    row = conn.execute("SELECT key FROM runs WHERE project_key = %s AND id = %s", (pkey, run_id)).fetchone()
    return None if row is None else row[0]


def media(
    conn: psycopg.Connection, pkey: int, run_ids: list[str] | None, key: str | None, after_id: int | None
) -> pl.DataFrame:
    """queries.MEDIA_SCHEMA rows in id order (`after_id` is a cursor, as on SQLite)."""
    if run_ids is not None and not run_ids:
        return pl.DataFrame(schema=queries.MEDIA_SCHEMA)
    sql = (
        "SELECT m.id, r.id, r.name, m.step, m.timestamp, m.key, m.kind, m.caption, m.value, m.file, m.meta"
        " FROM media m JOIN runs r ON r.key = m.run_key WHERE m.project_key = %s"
    )
    params: list = [pkey]
    for clause, value in (("r.id = ANY(%s)", run_ids), ("m.key = %s", key), ("m.id > %s", after_id)):
        if value is not None:
            sql += " AND " + clause
            params.append(value)
    return _rows(conn, sql + " ORDER BY m.id", params, queries.MEDIA_SCHEMA)


def media_file(conn: psycopg.Connection, pkey: int, name: str) -> bytes | None:
    row = conn.execute(
        "SELECT data FROM media_files WHERE project_key = %s AND name = %s", (pkey, name), binary=True
    ).fetchone()
    return None if row is None else bytes(row[0])
